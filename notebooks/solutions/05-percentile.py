# check: check_percentile(percentile)
import math


def percentile(values, q):
    """The q-th percentile (0-100) of values, interpolating linearly (like numpy)."""
    data = sorted(values)  # sorted() leaves the caller's list alone
    rank = (len(data) - 1) * q / 100  # fractional position in the sorted data
    lo = math.floor(rank)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (rank - lo)
