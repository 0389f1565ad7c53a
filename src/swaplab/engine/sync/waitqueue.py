"""wait_queue_head_t and timed sleeps.

add_wait_queue / remove_wait_queue / wake_up / waitqueue_active behave as in the kernel.
schedule_timeout(ticks): in an untimed search the sleeper may be woken at any moment (its
timeout may expire, or a wake-up may come), so the step is always enabled; what matters for
correctness is only that the thread gives up the CPU and comes back.  The timed simulator gives
it a duration and lets wake_up cut it short.  schedule() is schedule_timeout(0): a yield.
"""
from __future__ import annotations

from ..objects import Cell, Shared
from ..runtime import CTX
from ..step import SLEEP, Step
from ..symmetry import PerThread, per_thread


class WaitQueue(Shared):
    """wait_queue_head_t.  Each task's entry is its own cell, as each task's wait_queue_entry
    is its own: adding and removing oneself touch only that cell, so two sleepers do not
    depend on each other (and one coming and going does not look, to the other's retry loop,
    like a change it saw), while waitqueue_active and wake_up read every entry.  Waking wakes
    every sleeper (no exclusive waits), so the order of the list does not matter."""

    __slots__ = ("entries",)

    def __init__(self, name: str):
        super().__init__(name)
        self.entries: PerThread = PerThread()     # one per thread, made at first use

    def snapshot(self):
        return tuple(t for t, c in self.entries.items() if c._v)

    def _all(self) -> list[Cell]:
        if not self.entries:
            self.entries = per_thread(lambda t: Cell(f"{self.name}.entry[{t}]", False))
            for c in self.entries:
                c.creator = -1            # the queue's, not the thread's that happened to be first
        return self.entries

    def add_wait_queue(self, label: str = ""):
        me = self._all()[CTX.tid]
        yield Step(((me, True),), label or f"add_wait_queue({self.name})", cost="waitqueue")
        me.value = True

    def remove_wait_queue(self, label: str = ""):
        me = self._all()[CTX.tid]
        yield Step(((me, True),), label or f"remove_wait_queue({self.name})", cost="waitqueue")
        me.value = False

    def waitqueue_active(self, label: str = ""):
        entries = self._all()
        yield Step(tuple((c, False) for c in entries), label or f"waitqueue_active({self.name})",
                   cost="read")
        return any(c.value for c in entries)

    def wake_up(self, label: str = ""):
        entries = self._all()
        yield Step(tuple((c, False) for c in entries), label or f"wake_up({self.name})",
                   cost="wake_up")
        waiters = [t for t, c in entries.items() if c.value]
        ex = CTX.execution
        if ex is not None:
            ex.on_wake(self, waiters)


def schedule_timeout(ticks: int, label: str = ""):
    """schedule_timeout_uninterruptible(ticks)."""
    yield Step((), label or f"schedule_timeout_uninterruptible({ticks})", kind=SLEEP, n=ticks,
               might_sleep=True, cost="schedule_timeout")


def schedule(label: str = ""):
    """schedule(): give up the CPU; the thread stays runnable."""
    yield Step((), label or "schedule()", kind=SLEEP, n=0, might_sleep=True, cost="schedule")
