# check: check_broadcast(broadcast)
from sse_lab.protocol import encode_event


def broadcast(clients, message):
    """Send `message` to every client in the set; drop the ones that fail."""
    payload = encode_event(message)  # one data: line per line of the message
    reached = 0
    for client in list(clients):  # a copy: we remove from the set as we go
        try:
            client.write(payload)
            reached += 1
        except OSError:  # BrokenPipeError, ConnectionResetError...
            clients.discard(client)
    return reached
