# check: check_prediction("04-polls", prediction, measured, tokens=56)
from sse_lab.client import run_sync
from sse_lab.client.transports import record_poll
from sse_lab.model import SimulatedLLM

PROMPT, SEED, SPEED = "Why do AI chats stream their answers?", 0, 10
plan = SimulatedLLM(speed=SPEED).plan(PROMPT, SEED)
# A poll every 0.05 s for as long as the answer takes, plus the last one:
prediction = round(plan.total / 0.05) + 1

# run_sync, not asyncio.run: a notebook cell already runs inside an event loop.
rec = run_sync(
    lambda: record_poll(server.url, prompt=PROMPT, seed=SEED, speed=SPEED, interval=0.05)
)
measured = rec.requests
