# check: check_bytes_per_token(bytes_per_token)
from sse_lab.protocol import DONE


def bytes_per_token(rec):
    """Bytes received per token, heads and framing included; None if no token came."""
    tokens = [
        a for a in rec.arrivals
        # Only plain `message` events carry tokens; [DONE] only marks the end.
        if a.event.event == "message" and a.event.data != DONE
    ]
    if not tokens:
        return None
    # These are WireRecordings: bytes_received already counts every byte of
    # the exchange (response heads, chunked framing or WebSocket frames, bodies).
    return rec.bytes_received / len(tokens)
