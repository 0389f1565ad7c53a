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


class Bounded(Strategy):
    name = "bounded"
    exhaustive = True

    def __init__(self, max_bound: int = 2):
        self.max_bound = max_bound

    def start(self, program) -> None:
        self.level = 0
        self.work: list[list[tuple[int, int]]] = [[]]    # prefixes for this level
        self.next_work: list[list[tuple[int, int]]] = []
        self.prefix: list[tuple[int, int]] = []
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
            if not self.next_work:
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
        if d < np:
            return self.prefix[d][0]
        k = d - np
        if k < len(self.stack):
            return self.stack[k].tid
        last = ex.last_tid
        if last in enabled:
            # Continuing costs nothing; every switch is a preemption, deferred to the next level.
            base = [(t, c) for t, c in self._path(ex)]
            for t in enabled:
                if t != last:
                    self.next_work.append(base + [(t, -1)])
            alts = [last]
        else:
            alts = list(enabled)
        node = _Node(alts)
        self.stack.append(node)
        return node.tid

    def _path(self, ex):
        """The decisions taken so far in this execution: (thread, choice or -1)."""
        return [(t, ex.choices.get(i, -1)) for i, t in enumerate(ex.ev_tid)]

    def choose(self, ex, tid, n):
        d = ex.seq
        np = len(self.prefix)
        if d < np and self.prefix[d][1] >= 0:
            return self.prefix[d][1]
        if d < np:
            # a deferred switch lands on a choice: explore its values here as a fresh node
            node = _Node([tid])
            node.choice_n, node.choice_val = n, 0
            self.prefix = self.prefix[:d]
            self.stack.insert(0, node)
            return 0
        node = self.stack[d - np]
        if node.choice_n == 0:
            node.choice_n, node.choice_val = n, 0
        return node.choice_val

    def finished(self, ex):
        pass
