# check: check_bounded_publish(publish)
import asyncio

from sse_lab.protocol import encode_event


def publish(queues, message):
    """Put the event into every subscriber's bounded queue; drop the ones that are full."""
    data = encode_event(message)  # encoded once, one data: line per line
    stalled = []
    for q in queues:
        try:
            q.put_nowait(data)  # never waits
        except asyncio.QueueFull:
            stalled.append(q)  # this reader stopped reading
    for q in stalled:
        queues.discard(q)  # after the loop: never change a set while looping over it
    return len(queues)
