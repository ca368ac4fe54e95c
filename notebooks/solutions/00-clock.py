# check: check_prediction("00-clock", prediction, measured)
from sse_lab.client import record_sync

# The clock waits one interval before each tick, then sends [DONE] at once:
prediction = 4 * 0.25

clock = record_sync(server.url + "/sse?count=4&interval=0.25")
measured = clock.arrivals[-1].t
