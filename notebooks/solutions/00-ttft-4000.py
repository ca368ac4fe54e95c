# check: check_prediction("00-ttft-4000", prediction, measured)
from urllib.parse import urlencode

from sse_lab.client import record_sync
from sse_lab.lab.experiments import prompt_with_tokens

# The default ("article") profile reads a prompt in 0.25 s + 0.2 ms per token:
prediction = 0.25 + 4000 * 0.0002  # 1.05 s

first = record_sync(server.url + "/chat?" + urlencode({"prompt": prompt_with_tokens(4000),
                                                       "speed": 1}), max_events=1)
measured = first.token_times[0]
