# check: check_idle_time(idle_time)


def idle_time(points, words_per_s=4.0):
    """Seconds a reader spends with nothing new to read.

    points: (t, words visible at t) pairs, sorted by t; the counts never fall.
    The reader starts at t = 0 and reads at words_per_s whatever is visible.
    """
    clock = 0.0  # when the reader will have read everything shown so far
    idle = 0.0
    shown = 0
    for t, words in points:
        new = words - shown
        if new <= 0:
            continue  # nothing new to read (e.g. a whitespace token)
        if clock < t:  # caught up with the text: the reader waits
            idle += t - clock
            clock = t
        clock += new / words_per_s
        shown = words
    return idle
