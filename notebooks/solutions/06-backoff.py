# check: check_backoff(backoff)
import random


def backoff(attempt, base=0.25, cap=5.0):
    """Seconds to wait before reconnection attempt `attempt` (0, 1, 2, ...)."""
    ceiling = min(cap, base * 2**attempt)  # doubles per attempt, up to the cap
    return random.uniform(0, ceiling)  # full jitter: anywhere below the ceiling
