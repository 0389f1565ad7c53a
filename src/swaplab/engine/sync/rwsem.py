"""A reader/writer semaphore, as mmap_lock: down_read, up_read, down_write, up_write and
downgrade_write (the writer becomes a reader in one step).

Each thread has its own reader cell, as if the reader count were per-CPU: two readers touch
different objects and so are independent (the search need not order them), while a writer's
down_write reads every reader cell and waits for all to be zero.  Simplification: no writer
preference (a waiting writer does not hold off new readers).
"""
from __future__ import annotations

from ..errors import Violation
from ..objects import FROZEN, Cell, Shared
from ..runtime import CTX
from ..step import LOCK, UNLOCK, Step
from ..symmetry import PerThread, per_thread


class RWSem(Shared):
    __slots__ = ("writer", "readers")

    def __init__(self, name: str):
        super().__init__(name)
        self.writer = -1
        self.readers: PerThread = PerThread()      # one per thread, made at first use

    def snapshot(self):
        return self.writer

    def _reader(self, tid: int) -> Cell:
        if not self.readers:
            self.readers = per_thread(lambda t: Cell(f"{self.name}.reader[{t}]", 0))
        return self.readers[tid]

    def _no_writer(self) -> bool:
        return self.writer < 0

    def declare_no_writer(self) -> None:
        """Nobody takes this rwsem for write in this program: the writer field is frozen and
        each reader cell is its own thread's, so down_read and up_read touch nothing another
        thread can observe and need no scheduling point (the executor runs them as part of
        the step before).  A down_write after this is a model error: the executor refuses a
        write to a frozen object.  Call it once the program's threads exist."""
        self._reader(0)               # every thread's reader cell
        self.private = FROZEN
        for t, cell in self.readers.items():
            cell.private = t

    def down_read(self, label: str = ""):
        me = self._reader(CTX.tid if CTX.tid >= 0 else 0)
        # frozen: no writer now or ever, so nothing to wait for (and no guard to evaluate)
        guard = None if self.private == FROZEN else self._no_writer
        yield Step(((self, False), (me, True)), label or f"down_read({self.name})", guard=guard,
                   kind=LOCK, might_sleep=True, cost="rwsem")
        me._v += 1

    def up_read(self, label: str = ""):
        me = self._reader(CTX.tid)
        yield Step(((me, True),), label or f"up_read({self.name})", kind=UNLOCK, cost="rwsem")
        if me._v <= 0:
            raise Violation("crash", f"up_read({self.name}) without a reader")
        me._v -= 1

    def down_write(self, label: str = ""):
        self._reader(0)
        readers = self.readers
        yield Step(((self, True),) + tuple((r, False) for r in readers), label or f"down_write({self.name})",
                   guard=lambda: self.writer < 0 and not any(r._v for r in readers), kind=LOCK,
                   might_sleep=True, cost="rwsem")
        self.writer = CTX.tid

    def up_write(self, label: str = ""):
        yield Step(((self, True),), label or f"up_write({self.name})", kind=UNLOCK, cost="rwsem")
        if self.writer != CTX.tid:
            raise Violation("crash", f"up_write({self.name}) by a thread that does not hold it")
        self.writer = -1

    def downgrade_write(self, label: str = ""):
        """The writer becomes a reader atomically, as the kernel's downgrade_write(): in the
        same step the writer field is cleared and the thread's reader cell counted, so no other
        writer can slip in between, while waiting readers may now enter.  The thread then
        releases it with up_read.  A release of the write hold (DPOR treats it as one)."""
        me = self._reader(CTX.tid)
        yield Step(((self, True), (me, True)), label or f"downgrade_write({self.name})", kind=UNLOCK,
                   cost="rwsem")
        if self.writer != CTX.tid:
            raise Violation("crash", f"downgrade_write({self.name}) by a thread that does not hold it for write")
        self.writer = -1
        me._v += 1
