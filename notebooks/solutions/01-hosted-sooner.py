# check: check_prediction("01-hosted-sooner", prediction, measured)
from urllib.parse import urlencode

from sse_lab import metrics
from sse_lab.client import fetch_blocking_sync, record_sync
from sse_lab.model import SimulatedLLM
from sse_lab.server import ServerConfig, start_server

# Hosted profile: ~0.35 s prefill, then ~56 tokens at ~133 tokens/s (~0.4 s):
# blocking waits ~0.8 s, streaming ~0.35 s.
prediction = (0.35 + 56 / 133) / 0.35

fast = start_server(config=ServerConfig(model=SimulatedLLM.profile("hosted")))
query = urlencode({"prompt": "Why do AI chats stream their answers?", "seed": 0, "speed": 1})
try:
    stream = record_sync(f"{fast.url}/chat?{query}")
    block = fetch_blocking_sync(f"{fast.url}/complete?{query}")
finally:
    fast.stop()
measured = metrics.summarize(block).ttft / metrics.summarize(stream).ttft
