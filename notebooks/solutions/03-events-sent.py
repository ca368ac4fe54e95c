# check: check_prediction("03-events-sent", prediction, measured, total=total)
import time
from urllib.parse import urlencode

from sse_lab.client import record_sync

# SSEHandler cancels the generation task when the reader leaves: about 3 events.
prediction = 3

prompt, seed = "What is SSE?", 0
total = len(server.config.model.tokens(prompt, seed))
slow_url = f"{server.url}/chat?" + urlencode({"prompt": prompt, "seed": seed, "speed": 1})
base_tasks = server.stats()["generation_tasks"]
sent_before = server.stats()["events_sent"]
record_sync(slow_url, max_events=3)
deadline = time.perf_counter() + 3
while server.stats()["generation_tasks"] > base_tasks and time.perf_counter() < deadline:
    time.sleep(0.005)
measured = server.stats()["events_sent"] - sent_before
