# check: check_smooth(smooth)


def smooth(arrivals, interval=0.05, max_lag=0.5):
    """Display times: an even pace, never before arrival, at most max_lag after it."""
    shown = []
    for i, arrived in enumerate(arrivals):
        if i == 0:
            t = arrived  # the first token: at once
        else:
            t = max(arrived, shown[-1] + interval)  # the pace, but not before it arrived
            t = min(t, arrived + max_lag)  # and never held back too long
        shown.append(t)
    return shown
