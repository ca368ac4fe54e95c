# check: check_prediction("07-max-lag", prediction, measured)
from sse_lab.model import SimulatedLLM
from sse_lab.smoothing import smooth_schedule

# Bursty arrivals as the notebook's stream: spreading a burst holds tokens back,
# up to the bound.
prediction = 0.2

arrived = SimulatedLLM(cadence="bursty", speed=3).plan("Why do AI chats stream?", 0).emit_times()
shown = smooth_schedule(arrived, max_lag=0.2)
measured = max(d - a for a, d in zip(arrived, shown, strict=True))
