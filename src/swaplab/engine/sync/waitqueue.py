"""wait_queue_head_t and timed sleeps.

add_wait_queue / remove_wait_queue / wake_up / waitqueue_active behave as in the kernel.
schedule_timeout(ticks): in an untimed search the sleeper may be woken at any moment (its
timeout may expire, or a wake-up may come), so the step is always enabled; what matters for
correctness is only that the thread gives up the CPU and comes back.  The timed simulator gives
it a duration and lets wake_up cut it short.  schedule() is schedule_timeout(0): a yield.
"""
from __future__ import annotations

from ..objects import Shared
from ..runtime import CTX
from ..step import SLEEP, Step


class WaitQueue(Shared):
    __slots__ = ("waiters", "woken")

    def __init__(self, name: str):
        super().__init__(name)
        self.waiters: list[int] = []
        self.woken: set[int] = set()     # read by the timed simulator to end sleeps early

    def snapshot(self):
        return tuple(self.waiters)

    def add_wait_queue(self, label: str = ""):
        yield Step(((self, True),), label or f"add_wait_queue({self.name})", cost="waitqueue")
        self.waiters.append(CTX.tid)
        self.woken.discard(CTX.tid)

    def remove_wait_queue(self, label: str = ""):
        yield Step(((self, True),), label or f"remove_wait_queue({self.name})", cost="waitqueue")
        if CTX.tid in self.waiters:
            self.waiters.remove(CTX.tid)

    def waitqueue_active(self, label: str = ""):
        yield Step(((self, False),), label or f"waitqueue_active({self.name})", cost="read")
        return bool(self.waiters)

    def wake_up(self, label: str = ""):
        yield Step(((self, True),), label or f"wake_up({self.name})", cost="wake_up")
        self.woken.update(self.waiters)
        ex = CTX.execution
        if ex is not None:
            ex.on_wake(self, list(self.waiters))


def schedule_timeout(ticks: int, label: str = ""):
    """schedule_timeout_uninterruptible(ticks)."""
    yield Step((), label or f"schedule_timeout_uninterruptible({ticks})", kind=SLEEP, n=ticks,
               might_sleep=True, cost="schedule_timeout")


def schedule(label: str = ""):
    """schedule(): give up the CPU; the thread stays runnable."""
    yield Step((), label or "schedule()", kind=SLEEP, n=0, might_sleep=True, cost="schedule")
