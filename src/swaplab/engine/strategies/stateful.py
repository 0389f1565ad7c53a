"""Depth-first search of the state graph with state caching.

Explores every transition of every reachable state once: a state met again (same picture, see
:mod:`swaplab.engine.statehash`) is not expanded twice.  Generators cannot be copied, so each
new branch re-runs the program from the start along the recorded path (no pictures are taken
on the way), then pictures each new state it reaches.  Where DPOR pays for every combination of
independent races with an execution, this pays once per distinct state, which wins when many
interleavings converge (transient differences — a refcount read as 3 or 4, a trylock that
fails then succeeds — that leave the same state behind).
"""
from __future__ import annotations

from ..statehash import Unhashable, picture
from .base import Strategy
from .dfs import _Node, backtrack_tree, order_alternatives


def state_picture(ex):
    """(hash of the state's picture, canonical number of each shared object by oid)."""
    objects = ex.objects
    roots = (tuple((t.done, t.gen, t.pending,
                    tuple((label, rec[2], tuple(tuple(e) for e in rec[1].values()),
                           tuple(o for o in objects[rec[0]:] if not o.dead()))
                          for label, rec in t.loops.items() if rec[3].gi_frame is not None))
                   for t in ex.threads),
             tuple(ex.spin_held), tuple(ex.final_checks))
    pic, oids = picture(roots)
    return hash(pic), oids


class Stateful(Strategy):
    name = "stateful"
    exhaustive = True

    def start(self, program) -> None:
        self.stack: list[_Node] = []
        self.first = True
        self.seen: set = set()
        self.states = 0
        self.unhashable = 0

    def next_execution(self) -> bool:
        if self.first:
            self.first = False
            return True
        return backtrack_tree(self.stack)

    def pick(self, ex, enabled):
        d = ex.seq
        st = self.stack
        if d < len(st):
            return st[d].tid
        try:
            key = state_picture(ex)[0]
        except Unhashable:
            self.unhashable += 1
            key = None
        if key is not None:
            if key in self.seen:
                return None            # met before: everything after it is explored (or will be)
            self.seen.add(key)
        self.states += 1
        node = _Node(order_alternatives(ex, enabled))
        st.append(node)
        return node.tid

    def choose(self, ex, tid, n):
        node = self.stack[ex.seq]
        if node.choice_n == 0:
            node.choice_n = n
            node.choice_val = 0
        return node.choice_val
