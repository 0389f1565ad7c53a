"""Count Mazurkiewicz traces independently of DPOR.

Two executions are in the same trace when they order every pair of dependent steps the same
way.  ``trace_key`` names a trace by the set of ordered dependent pairs, each step identified by
(thread, index within the thread); ``count_traces`` runs naive DFS over every interleaving and
counts distinct keys.  This is the reference the DPOR counts are checked against.
"""
from __future__ import annotations

from swaplab.engine.strategies import DFS
from swaplab.engine.explore import run_execution


def trace_key(ex) -> frozenset:
    tids, accs = ex.ev_tid, ex.ev_acc
    count: dict[int, int] = {}
    ids = []
    for t in tids:
        k = count.get(t, 0)
        ids.append((t, k))
        count[t] = k + 1
    pairs = []
    n = len(tids)
    for j in range(n):
        for i in range(j):
            if tids[i] == tids[j]:
                continue
            if any(oa == ob and (wa or wb) for oa, wa in accs[i] for ob, wb in accs[j]):
                pairs.append((ids[i], ids[j]))
    return frozenset(pairs)


def count_traces(program, strategy=None, limit: int = 2_000_000) -> tuple[int, int]:
    """(distinct traces, executions) seen by ``strategy`` (naive DFS by default)."""
    strat = strategy or DFS()
    strat.start(program)
    keys = set()
    runs = 0
    while runs < limit and strat.next_execution():
        ex = run_execution(program, strat)
        strat.finished(ex)
        runs += 1
        if not ex.abandoned:
            keys.add(trace_key(ex))
    return len(keys), runs
