# check: check_prediction("06-retry-gap", prediction, measured)
from sse_lab.client import record_sync
from sse_lab.server import ServerConfig, start_server

# The client waits retry (800 ms, real time: speed does not divide it), then one
# model delay (~0.1 s / 4) for token 5.
prediction = 0.8 + 0.025

patient = start_server(config=ServerConfig(retry_ms=800))
try:
    cut = record_sync(f"{patient.url}/chat?prompt=Why do AI chats stream?&seed=0&speed=4"
                      "&drop_after=5", reconnect=True)
finally:
    patient.stop()
measured = cut.token_times[5] - cut.token_times[4]
