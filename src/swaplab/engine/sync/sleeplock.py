"""A sleeping lock with waiters, as the folio lock (PG_locked).

lock() sleeps until the lock is free and takes it (folio_lock); trylock() never sleeps
(folio_trylock); unlock() wakes every waiter (folio_unlock; the kernel's exclusive/non-exclusive
wake-up distinction is not modeled: a woken waiter that loses the race simply stays blocked);
wait_unlocked() sleeps until the lock is free *without* taking it (folio_wait_locked, and
migration_entry_wait_on_locked).  Unlike a mutex, any context may unlock (I/O completion does).
"""
from __future__ import annotations

from ..errors import ModelError
from ..objects import Shared
from ..runtime import CTX
from ..step import LOCK, UNLOCK, WAIT, Step


class SleepLock(Shared):
    __slots__ = ("owner", "guards")
    fingerprint_skip = ("guards",)

    def __init__(self, name: str, locked_by: int = -1):
        super().__init__(name)
        self.owner = locked_by
        self.guards = False        # some object is guarded_by this lock

    def snapshot(self):
        return self.owner

    def _free(self) -> bool:
        return self.owner < 0

    def is_locked_now(self) -> bool:
        return self.owner >= 0

    def lock(self, label: str = ""):
        yield Step(((self, True),), label or f"lock {self.name}", guard=self._free, kind=LOCK,
                   might_sleep=True, cost="folio_lock")
        self.owner = CTX.tid

    def trylock(self, label: str = ""):
        # A failing trylock changes nothing, so it is declared as a read of the lock when the
        # lock is held: failed trylocks then commute with each other and with waiters.  If the
        # lock was released before the step ran, declare again.
        while True:
            held = self.owner >= 0
            yield Step(((self, not held),), label or f"trylock {self.name}", kind=LOCK, cost="folio_lock")
            if held:
                if self.owner >= 0:
                    return False
                continue
            if self.owner >= 0:          # cannot happen: the write was declared
                return False
            self.owner = CTX.tid
            return True

    def lock_new(self) -> None:
        """__folio_set_locked on a folio nobody else can see yet (no step needed)."""
        self.owner = CTX.tid

    def unlock(self, label: str = ""):
        yield Step(((self, True),), label or f"unlock {self.name}", kind=UNLOCK, cost="folio_unlock")
        if self.guards and self.owner != CTX.tid:
            # guarded_by lets the owner read without a scheduling point: that holds only if
            # nobody else can end its critical section
            raise ModelError(f"{self.name} unlocked by a thread that does not hold it, "
                             "but it guards objects (guarded_by)")
        self.owner = -1

    def wait_unlocked(self, label: str = ""):
        yield Step(((self, False),), label or f"wait for {self.name}", guard=self._free, kind=WAIT,
                   might_sleep=True, cost="wait_wakeup")

    def is_locked(self, label: str = ""):
        yield Step(((self, False),), label or f"test {self.name}", cost="read")
        return self.owner >= 0
