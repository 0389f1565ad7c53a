"""spinlock_t: spin_lock, spin_unlock, spin_trylock.

Sleeping while holding a spinlock is reported (the kernel's "BUG: sleeping function called from
invalid context"): the executor refuses any ``might_sleep`` step of a thread that holds one.
"""
from __future__ import annotations

from ..errors import Violation
from ..objects import Shared
from ..runtime import CTX
from ..step import LOCK, UNLOCK, Step


class SpinLock(Shared):
    __slots__ = ("owner",)

    def __init__(self, name: str):
        super().__init__(name)
        self.owner = -1

    def snapshot(self):
        return self.owner

    def _free(self) -> bool:
        return self.owner < 0

    def lock(self, label: str = ""):
        yield Step(((self, True),), label or f"spin_lock({self.name})", guard=self._free, kind=LOCK,
                   cost="spin_lock")
        self.owner = CTX.tid
        CTX.execution.spin_held[CTX.tid] += 1

    def trylock(self, label: str = ""):
        yield Step(((self, True),), label or f"spin_trylock({self.name})", kind=LOCK, cost="spin_lock")
        if self.owner >= 0:
            return False
        self.owner = CTX.tid
        CTX.execution.spin_held[CTX.tid] += 1
        return True

    def unlock(self, label: str = ""):
        yield Step(((self, True),), label or f"spin_unlock({self.name})", kind=UNLOCK, cost="spin_unlock")
        if self.owner != CTX.tid:
            raise Violation("crash", f"spin_unlock({self.name}) by a thread that does not hold it")
        self.owner = -1
        CTX.execution.spin_held[CTX.tid] -= 1

    def locked_step(self, accesses, label: str, cost: str | None = None):
        """``spin_lock; <one step on accesses>; spin_unlock`` as a single step.

        A critical section that is one step long needs no separate lock and unlock steps: it
        waits until the lock is free and runs atomically.  It only *reads* the lock, so two such
        sections on different objects under the same lock stay independent, while a longer
        section (which takes the lock) still excludes them.  What is lost: a spin_trylock by
        another thread can no longer see the lock held during such a section.
        """
        yield Step(((self, False),) + tuple(accesses), label, guard=self._free, kind=LOCK, cost=cost)

    def held_by_me(self) -> bool:
        return self.owner == CTX.tid
