"""A reader/writer semaphore, as mmap_lock: down_read, up_read, down_write, up_write.

Simplification: no writer preference (a waiting writer does not hold off new readers), so a
reader never blocks behind a queued writer.  Both ends of every operation are writes to the
semaphore's state, so all operations on one rwsem are dependent.
"""
from __future__ import annotations

from ..errors import Violation
from ..objects import Shared
from ..runtime import CTX
from ..step import LOCK, UNLOCK, Step


class RWSem(Shared):
    __slots__ = ("readers", "writer")

    def __init__(self, name: str):
        super().__init__(name)
        self.readers = 0
        self.writer = -1

    def snapshot(self):
        return (self.readers, self.writer)

    def _no_writer(self) -> bool:
        return self.writer < 0

    def _free(self) -> bool:
        return self.writer < 0 and self.readers == 0

    def down_read(self, label: str = ""):
        yield Step(((self, True),), label or f"down_read({self.name})", guard=self._no_writer, kind=LOCK,
                   might_sleep=True, cost="rwsem")
        self.readers += 1

    def up_read(self, label: str = ""):
        yield Step(((self, True),), label or f"up_read({self.name})", kind=UNLOCK, cost="rwsem")
        if self.readers <= 0:
            raise Violation("crash", f"up_read({self.name}) without a reader")
        self.readers -= 1

    def down_write(self, label: str = ""):
        yield Step(((self, True),), label or f"down_write({self.name})", guard=self._free, kind=LOCK,
                   might_sleep=True, cost="rwsem")
        self.writer = CTX.tid

    def up_write(self, label: str = ""):
        yield Step(((self, True),), label or f"up_write({self.name})", kind=UNLOCK, cost="rwsem")
        if self.writer != CTX.tid:
            raise Violation("crash", f"up_write({self.name}) by a thread that does not hold it")
        self.writer = -1
