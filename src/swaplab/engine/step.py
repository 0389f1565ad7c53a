"""A visible step: the unit of work the executor schedules.

A model thread announces each step by yielding a :class:`Step` *before* it acts.  When the
scheduler picks that thread, the executor resumes the generator, and the code that runs up to
the thread's next ``yield`` is the step's body: it runs atomically and may touch only the
objects the step declared.
"""
from __future__ import annotations

from typing import Callable, Iterable

# Step kinds.  The executor only cares about "choice" and "retry"; the timed simulator maps
# kinds to durations; everything else is a label for traces.
ACCESS = "access"
LOCK = "lock"
UNLOCK = "unlock"
SLEEP = "sleep"        # schedule_timeout and friends: may be woken by timeout or wake-up
WAIT = "wait"          # sleep until a condition holds (folio_wait_locked, wait queue)
IO = "io"              # device I/O (zram read/write)
CHOICE = "choice"      # nondeterministic choice among n values
RETRY = "retry"        # start of a retry attempt (see Executor: parking)
ALLOC = "alloc"


class Step:
    """One visible operation.

    ``accesses`` is a tuple of ``(shared_object, is_write)`` pairs.  Two steps of different
    threads are *dependent* when they touch a common object and at least one of them writes it.
    ``guard`` (optional) returns True when the step can run; it may read only the declared
    objects, so that only a dependent step can enable or disable it.
    """

    __slots__ = ("accesses", "label", "guard", "kind", "n", "might_sleep", "cost")
    # A pending step's label is text for traces (and a retry loop's name for its record, which
    # pictures leave out: dpor_cache.state_picture).  What the step does is its accesses, its
    # guard and the frame that yielded it, all pictured; a label that names a per-CPU object
    # ("reader[1]") would only keep apart the mirror images of symmetric threads' states.
    fingerprint_skip = ("label",)

    def __init__(self, accesses, label: str = "", guard: Callable[[], bool] | None = None,
                 kind: str = ACCESS, n: int = 0, might_sleep: bool = False, cost: str | None = None):
        self.accesses = accesses
        self.label = label
        self.guard = guard
        self.kind = kind
        self.n = n                    # number of values of a CHOICE step
        self.might_sleep = might_sleep
        self.cost = cost              # key into the timed simulator's cost table

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        objs = ",".join(("W:" if w else "R:") + o.name for o, w in self.accesses)
        return f"Step({self.label or self.kind} {objs})"


def step(obj, write: bool, label: str = "", **kw) -> Step:
    """A step on a single object."""
    return Step(((obj, write),), label, **kw)


def atomic(*accesses: tuple, label: str = "", **kw) -> Iterable[Step]:
    """``yield from atomic((a, False), (b, True), label=...)``: one step touching several objects.

    The body that follows (up to the next yield) runs atomically; use it for hardware-atomic
    operations such as a CPU store through a page-table walk.
    """
    yield Step(tuple(accesses), label, **kw)
