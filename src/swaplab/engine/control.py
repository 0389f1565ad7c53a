"""Control steps: retry points and nondeterministic choices."""
from __future__ import annotations

from .step import CHOICE, RETRY, Step


def retry(label: str = "retry", first: bool = False):
    """Mark the start of an attempt of a retry loop.

    Put it at the top of the loop body, with ``first=True`` on the loop's first attempt (a new
    entry into the loop: nothing to compare with, and no dependency on the last time the thread
    ran this loop).  When an attempt changed nothing and nobody else wrote what it looked at, the
    thread is parked here until somebody does; see :mod:`swaplab.engine.executor`.  The contract:
    an attempt's effect depends only on the shared state it reads (it keeps no counters that make
    attempts differ).
    """
    yield Step((), label, kind=RETRY, n=1 if first else 0, cost="retry")


def choose(n: int, label: str = "choose"):
    """A nondeterministic choice among ``0..n-1``; every value is explored."""
    if n <= 1:
        return 0
    value = yield Step((), label, kind=CHOICE, n=n, cost="choice")
    return value
