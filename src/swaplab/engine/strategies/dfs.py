"""Naive exhaustive depth-first search: every interleaving, no reduction.  The reference."""
from __future__ import annotations

from .base import Strategy


class _Node:
    __slots__ = ("alts", "i", "choice_n", "choice_val", "pre")

    def __init__(self, alts: list[int], pre: int = 0):
        self.alts = alts          # threads to try here, in order
        self.i = 0                # index of the one being explored
        self.choice_n = 0
        self.choice_val = 0
        self.pre = pre            # preemptions before this node (used by bounded search)

    @property
    def tid(self) -> int:
        return self.alts[self.i]


def order_alternatives(ex, enabled: list[int]) -> list[int]:
    """Try the thread that just ran first: fewer preemptions in what is found first."""
    last = ex.last_tid
    if last in enabled:
        return [last] + [t for t in enabled if t != last]
    return list(enabled)


class DFS(Strategy):
    name = "dfs"
    exhaustive = True

    def start(self, program) -> None:
        self.stack: list[_Node] = []
        self.first = True

    def next_execution(self) -> bool:
        if self.first:
            self.first = False
            return True
        return backtrack_tree(self.stack)

    def pick(self, ex, enabled):
        d = ex.seq
        if d < len(self.stack):
            return self.stack[d].tid
        node = _Node(order_alternatives(ex, enabled))
        self.stack.append(node)
        return node.tid

    def choose(self, ex, tid, n):
        node = self.stack[ex.seq]
        if node.choice_n == 0:
            node.choice_n = n
            node.choice_val = 0
        return node.choice_val


def backtrack_tree(stack: list[_Node]) -> bool:
    """Move to the next unexplored branch of a DFS tree; False when the tree is exhausted."""
    while stack:
        node = stack[-1]
        if node.choice_n and node.choice_val + 1 < node.choice_n:
            node.choice_val += 1
            return True
        if node.i + 1 < len(node.alts):
            node.i += 1
            node.choice_n = 0
            node.choice_val = 0
            return True
        stack.pop()
    return False
