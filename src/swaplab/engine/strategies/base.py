"""The one interface every exploration strategy implements.

A strategy is asked, in turn: is there another execution to run (:meth:`next_execution`),
which enabled thread takes the next step (:meth:`pick`), which value a choice takes
(:meth:`choose`), and is told how the execution ended (:meth:`finished`).  The driver in
:mod:`swaplab.engine.explore` owns the loop and the executor; strategies own only decisions.
"""
from __future__ import annotations


class Strategy:
    name = "strategy"
    exhaustive = False          # True when running out of executions means every one was seen

    def start(self, program) -> None:
        """A new search begins."""

    def next_execution(self) -> bool:
        """Prepare the next execution; False when the search is over."""
        raise NotImplementedError

    def pick(self, ex, enabled: list[int]) -> int | None:
        """The thread that takes the next step; None abandons the execution (sleep-set blocked)."""
        raise NotImplementedError

    def choose(self, ex, tid: int, n: int) -> int:
        """The value of a nondeterministic choice among n."""
        return 0

    def finished(self, ex) -> None:
        """The execution ended (completed, failed or abandoned)."""

    def describe(self) -> str:
        return self.name

    # Set by strategies whose verdict holds only up to a bound.
    bound: int | None = None
    guarantee: str = ""


def independent(a: tuple, b: tuple) -> bool:
    """Two access tuples ``((oid, is_write), ...)`` commute: no common object that one writes."""
    if not a or not b:
        return True
    for oa, wa in a:
        for ob, wb in b:
            if oa == ob and (wa or wb):
                return False
    return True
