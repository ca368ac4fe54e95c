# check: check_tokens_per_second(tokens_per_second)
from sse_lab.protocol import DONE


def tokens_per_second(rec):
    """Decode rate: tokens after the first per second from first to last token."""
    times = [
        a.t for a in rec.arrivals
        if a.event.event == "message" and a.event.data != DONE
    ]
    if len(times) < 2 or times[-1] <= times[0]:
        return None  # no rate to measure: one token, or all in one read
    return (len(times) - 1) / (times[-1] - times[0])
