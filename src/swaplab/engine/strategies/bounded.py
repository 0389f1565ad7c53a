"""Preemption-bounded search with iterative deepening (Musuvathi & Qadeer, PLDI 2007).

Level b explores every schedule with exactly b preemptions (a preemption is a switch away from
a thread that could still run).  A branch that would need one more preemption is not pruned: it
is saved as a prefix and becomes work for level b+1.  So each schedule is run once, and the
verdict "no violation up to K preemptions" is exact.  This is plain bounded DFS, not DPOR with
a bound (which is unsound: Coons, Musuvathi, McKinley, OOPSLA 2013).
"""
from __future__ import annotations

from .base import Strategy
from .dfs import _Node, backtrack_tree


class _Prefix:
    """Work for a later level: replay the first ``n - 1`` decisions of a finished execution,
    then switch to thread ``last`` (``last`` -1: replay ``n`` decisions, no switch).  Every
    switch deferred from one execution shares that execution's path (its thread list and
    choices), so the work list costs a few words per deferred switch and one path per
    execution, not a copy of the path per switch (which grew with the square of the
    execution's length)."""

    __slots__ = ("tids", "choices", "n", "last")

    def __init__(self, tids, choices, n: int, last: int):
        self.tids, self.choices, self.n, self.last = tids, choices, n, last

    def __len__(self) -> int:
        return self.n

    def tid(self, d: int) -> int:
        return self.last if d == self.n - 1 and self.last >= 0 else self.tids[d]

    def choice(self, d: int) -> int:
        return -1 if d == self.n - 1 and self.last >= 0 else self.choices.get(d, -1)


_EMPTY = _Prefix((), {}, 0, -1)


class Bounded(Strategy):
    name = "bounded"
    exhaustive = True

    def __init__(self, max_bound: int = 2):
        self.max_bound = max_bound

    def start(self, program) -> None:
        self.level = 0
        self.work: list[_Prefix] = [_EMPTY]     # prefixes for this level
        self.next_work: list[_Prefix] = []
        self.more = False                       # a switch was deferred beyond the last level
        self.deferred: list[tuple[int, int]] = []   # this execution's switches: (depth, thread)
        self.prefix: _Prefix = _EMPTY
        self.stack: list[_Node] = []
        self.active = False
        self.bound = 0
        self.levels_done: list[int] = []
        self.saturated = False          # no work left at any level: every schedule explored

    def describe(self) -> str:
        return f"bounded (preemptions ≤ {self.max_bound})"

    def next_execution(self) -> bool:
        if self.active and self._backtrack():
            return True
        while True:
            if self.work:
                self.prefix = self.work.pop()
                self.stack = []
                self.active = True
                return True
            # level finished
            self.levels_done.append(self.level)
            self.bound = self.level
            if not self.next_work and not self.more:
                self.saturated = True
                return False
            if self.level >= self.max_bound:
                return False
            self.level += 1
            self.work, self.next_work = self.next_work[::-1], []

    def _backtrack(self) -> bool:
        return backtrack_tree(self.stack)

    def pick(self, ex, enabled):
        d = ex.seq
        np = len(self.prefix)
        if d == 0:
            self.deferred = []
        if d < np:
            return self.prefix.tid(d)
        k = d - np
        if k < len(self.stack):
            return self.stack[k].tid
        last = ex.last_tid
        if last in enabled:
            # Continuing costs nothing; every switch is a preemption, deferred to the next level
            # (recorded when the execution ends, with its path; beyond the last level only
            # whether there is any, which decides whether every schedule was explored).
            for t in enabled:
                if t != last:
                    if self.level < self.max_bound:
                        self.deferred.append((d, t))
                    else:
                        self.more = True
            alts = [last]
        else:
            alts = list(enabled)
        node = _Node(alts)
        self.stack.append(node)
        return node.tid

    def choose(self, ex, tid, n):
        d = ex.seq
        np = len(self.prefix)
        if d < np and self.prefix.choice(d) >= 0:
            return self.prefix.choice(d)
        if d < np:
            # a deferred switch lands on a choice: explore its values here as a fresh node
            node = _Node([tid])
            node.choice_n, node.choice_val = n, 0
            p = self.prefix
            self.prefix = _Prefix(p.tids, p.choices, d, -1)
            self.stack.insert(0, node)
            return 0
        node = self.stack[d - np]
        if node.choice_n == 0:
            node.choice_n, node.choice_val = n, 0
        return node.choice_val

    def finished(self, ex):
        if self.deferred:
            tids, choices = tuple(ex.ev_tid), dict(ex.choices)
            self.next_work.extend(_Prefix(tids, choices, d + 1, t) for d, t in self.deferred)
            self.deferred = []
