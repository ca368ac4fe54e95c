"""Checkers for the notebooks' exercises.

Each exercise cell is followed by a ``check_...`` call from here. A checker
never raises on a wrong answer: it returns a :class:`CheckResult` that the
notebook displays, listing in plain words what is right and what is not, so
a notebook with unsolved exercises still runs top to bottom. Solutions live
in ``notebooks/solutions/`` and the test suite runs each through its checker.

Layout: :mod:`~sse_lab.exercises.result` (the verdict type),
:mod:`~sse_lab.exercises.sandbox` (running a learner's code with a time
limit) and one ``nbXX`` module per notebook. This package only re-exports;
the ``nbXX`` modules never import it back.
"""

from __future__ import annotations

from sse_lab.exercises import nb00, nb01, nb02, nb03, nb04, nb05, nb06, nb07, nb08, nb09, nb10
from sse_lab.exercises.nb00 import *  # noqa: F403
from sse_lab.exercises.nb01 import *  # noqa: F403
from sse_lab.exercises.nb02 import *  # noqa: F403
from sse_lab.exercises.nb03 import *  # noqa: F403
from sse_lab.exercises.nb04 import *  # noqa: F403
from sse_lab.exercises.nb05 import *  # noqa: F403
from sse_lab.exercises.nb06 import *  # noqa: F403
from sse_lab.exercises.nb07 import *  # noqa: F403
from sse_lab.exercises.nb08 import *  # noqa: F403
from sse_lab.exercises.nb09 import *  # noqa: F403
from sse_lab.exercises.nb10 import *  # noqa: F403
from sse_lab.exercises.result import CheckResult, result

__all__ = ["CheckResult", "result"] + [
    name
    for mod in (nb00, nb01, nb02, nb03, nb04, nb05, nb06, nb07, nb08, nb09, nb10)
    for name in mod.__all__
]

# Checkers that several notebooks share (predictions) or that teach one task
# each (UTF-8 emitter, resume handler, bounded broadcast, markdown closer).
from sse_lab.exercises import bounded, mdclose, predict, resume, utf8  # noqa: E402
from sse_lab.exercises.bounded import *  # noqa: E402,F403
from sse_lab.exercises.mdclose import *  # noqa: E402,F403
from sse_lab.exercises.predict import *  # noqa: E402,F403
from sse_lab.exercises.resume import *  # noqa: E402,F403
from sse_lab.exercises.utf8 import *  # noqa: E402,F403

__all__ += [name for mod in (bounded, mdclose, predict, resume, utf8) for name in mod.__all__]
