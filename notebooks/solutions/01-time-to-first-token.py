# check: check_time_to_first_token(time_to_first_token)
from sse_lab.protocol import DONE


def time_to_first_token(rec):
    """Seconds from the request to the first token, or None if no token came."""
    for arrival in rec.arrivals:
        event = arrival.event
        # A token is a plain `message` event; other event types (status, ping)
        # and the [DONE] sentinel are not part of the answer.
        if event.event == "message" and event.data != DONE:
            return arrival.t
    return None
