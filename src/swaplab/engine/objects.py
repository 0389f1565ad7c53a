"""Shared objects: cells, arrays and maps with read, write and read-modify-write steps.

Every shared object has a stable identity (``oid``, its creation order in the execution) and a
name used in traces.  Identities never depend on memory addresses or hash seeds, so a schedule
recorded in one process replays in another.
"""
from __future__ import annotations

from typing import Any, Callable

from .errors import ModelError
from .runtime import CTX, register
from .step import ACCESS, Step


# Shared.private: -1 (any thread may touch it), a thread id (only that thread can reach it), or
# FROZEN: no thread writes it any more, so reading it commutes with everything.
FROZEN = -2


class Shared:
    """Base of every object the executor tracks."""

    __slots__ = ("oid", "name", "born", "private", "creator", "guarded")
    # identity and labels: pictured by position; ``guarded`` is fixed at creation
    fingerprint_skip = ("oid", "name", "born", "creator", "guarded")

    def __init__(self, name: str):
        self.name = name
        self.born = 0                  # sequence number at creation (set by the executor)
        self.private = -1              # a thread id while only that thread can reach it; FROZEN
        self.creator = -1              # the thread that made it (-1: the program's setup)
        self.guarded = None            # (lock every write must hold, lockless) (see guarded_by)
        self.oid = register(self)

    def snapshot(self) -> Any:
        """A hashable picture of the object's state (for retry parking and fingerprints)."""
        raise NotImplementedError

    def dead(self) -> bool:
        """True once the object can never be reached again (e.g. its folio was freed)."""
        return False

    def _check(self, write: bool) -> None:
        # Contract-checking mode: the running step must have declared this object.
        step = CTX.step
        if CTX.tid < 0 or step is None:
            return
        for obj, w in step.accesses:
            if obj is self and (w or not write):
                return
        raise ModelError(
            f"thread {CTX.tid} {'wrote' if write else 'read'} {self.name} inside step "
            f"'{step.label}', which did not declare it: yield a step that names it first")

    def __repr__(self) -> str:
        return self.name


def guarded_by(lock, *objects, lockless=None) -> None:
    """Declare that every write of ``objects`` holds ``lock`` (a kernel "protected by" rule,
    as lockdep_assert_held states it).  ``lockless(obj)``, if given, says in which states a
    writer may change ``obj`` *without* the lock (the MMU setting a PTE's dirty bit); it may
    read only ``obj`` and other objects guarded by ``lock``, so that while the lock is held a
    state where it is false stays so.  The executor refuses any other change by a thread
    that does not hold the lock (a one-step critical section of ``lock`` counts; so does a
    write while the object is still private to the writer).  What the search gains: a thread
    holding ``lock`` reads such an object, in a state where ``lockless`` is false, with no
    scheduling point of its own — nobody can change it before the lock is released, so the
    read commutes with every step that can run meanwhile."""
    if hasattr(lock, "guards"):
        lock.guards = True          # a sleeping lock: only its owner may release it now
    for o in objects:
        o.guarded = (lock, lockless)


class Cell(Shared):
    """One shared value: a word of memory, a PTE, a swap_map byte."""

    __slots__ = ("_v", "fmt")
    fingerprint_skip = ("fmt",)

    def __init__(self, name: str, value: Any = None, fmt: Callable[[Any], str] | None = None):
        super().__init__(name)
        self._v = value
        self.fmt = fmt              # how traces print the value

    # Access from inside an atomic step body.
    @property
    def value(self) -> Any:
        if CTX.checking:
            self._check(False)
        return self._v

    @value.setter
    def value(self, v: Any) -> None:
        if CTX.checking:
            self._check(True)
        self._v = v

    def peek(self) -> Any:
        """Read without a step: only for setup, final checks and traces."""
        return self._v

    def snapshot(self) -> Any:
        return self._v

    # Steps.
    def read(self, label: str = "", cost: str | None = None):
        yield Step(((self, False),), label or f"read {self.name}", kind=ACCESS, cost=cost)
        return self._v

    def write(self, value: Any, label: str = "", cost: str | None = None):
        yield Step(((self, True),), label or f"write {self.name}", kind=ACCESS, cost=cost)
        self._v = value

    def rmw(self, fn: Callable[[Any], Any], label: str = "", cost: str | None = None):
        """Atomic read-modify-write; returns the old value."""
        yield Step(((self, True),), label or f"rmw {self.name}", kind=ACCESS, cost=cost)
        old = self._v
        self._v = fn(old)
        return old


class Array:
    """A fixed-size array of independent cells (``swap_map``, ``zram`` slots)."""

    __slots__ = ("name", "cells")

    def __init__(self, name: str, values):
        self.name = name
        self.cells = [Cell(f"{name}[{i}]", v) for i, v in enumerate(values)]

    def __getitem__(self, i: int) -> Cell:
        return self.cells[i]

    def __len__(self) -> int:
        return len(self.cells)

    def peek(self) -> list:
        return [c._v for c in self.cells]


class Map:
    """A map whose every key is its own cell, created on first use (an xarray's slots)."""

    __slots__ = ("name", "cells", "default")

    def __init__(self, name: str, default: Any = None):
        self.name = name
        self.cells: dict[Any, Cell] = {}
        self.default = default

    def slot(self, key) -> Cell:
        c = self.cells.get(key)
        if c is None:
            c = self.cells[key] = Cell(f"{self.name}[{key}]", self.default)
        return c

    def peek(self, key) -> Any:
        c = self.cells.get(key)
        return self.default if c is None else c._v
