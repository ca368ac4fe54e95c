# check: check_clock_tokens(clock_tokens)
from sse_lab.client import record_sync

# record_sync works in a plain script and in a notebook cell; in a cell
# `rec = await record(url)` does the same.
rec = record_sync(server.url + "/sse?count=3&interval=0.1")
clock_tokens = rec.tokens  # [DONE] is not a token, so it is not in here
print(clock_tokens)
