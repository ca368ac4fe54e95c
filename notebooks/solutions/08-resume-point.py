# check: check_resume_point(resume_point)
"""Notebook 08, exercise 1: where a reconnecting reader resumes."""


def resume_point(last_event_id, after=None):
    """``(answer_id, offset)`` to replay after; ``(None, k)`` for an old numeric id."""
    raw = last_event_id or after  # the header wins; an empty one is no id
    if not raw:
        return None, -1  # a first connection: a new answer from token 0

    def offset(k):
        # int() alone would accept '-1', ' 41', '+41', '4_1' and '٤١'.
        if not (k.isascii() and k.isdigit() and len(k) <= 9):
            raise ValueError(f"offset must be 1 to 9 ASCII digits, got {k!r}")
        return int(k)

    if ":" not in raw:
        return None, offset(raw)  # an old numeric id: a new answer from k + 1
    answer, _, k = raw.rpartition(":")
    if not (answer.isascii() and answer.isalnum() and len(answer) <= 64):
        raise ValueError(f"answer id must be 1 to 64 ASCII letters and digits, got {answer!r}")
    return answer, offset(k)
