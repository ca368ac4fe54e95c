# check: check_prediction("05-hosted-rate", prediction, measured)
import asyncio

from sse_lab import metrics
from sse_lab.lab import experiments
from sse_lab.model import SimulatedLLM
from sse_lab.server import ServerConfig, start_server

# ~133 model tokens/s, but each event carries 1-3 tokens (2 on average), and a
# rare 200-300 ms stall slows a short answer further: about 50 events/s.
prediction = 133 / 2 * 0.8

hosted = start_server(config=ServerConfig(model=SimulatedLLM.profile("hosted")))
try:
    runs = asyncio.run(experiments.many_runs(hosted.url, prompt="Tell me something about this lab",
                                             seeds=range(8), speed=1, concurrency=4))
finally:
    hosted.stop()
measured = metrics.percentile([metrics.summarize(r).tokens_per_s for r in runs], 50)
