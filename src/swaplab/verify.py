"""One design on one scenario: choose the search, run it, say what it proves.

The default plan ("auto") first runs preemption-bounded search up to a small bound, which finds
shallow races quickly and returns them with the fewest preemptions, then stateful DPOR (DPOR with
state caching) for the rest of the budget.  The verdict says exactly what was explored: complete
(the search exhausted every trace), complete up to K preemptions (bounded search exhausted every
schedule with at most K), or incomplete (a budget ran out first).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from .engine import SearchResult, explore
from .kernel import make_program


@dataclass
class Verdict:
    design: str
    scenario: str
    status: str                       # "ok" or a violation kind
    complete: str                     # "complete", "bound K", "incomplete"
    executions: int = 0
    steps: int = 0
    seconds: float = 0.0
    results: list[SearchResult] = field(default_factory=list)
    violation: object = None          # engine Outcome
    interrupted: bool = False
    stats: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def short(self) -> str:
        if not self.ok:
            return self.status
        return {"complete": "ok", "incomplete": "ok?"}.get(self.complete, f"ok≤{self.complete.split()[-1]}")

    def describe(self) -> str:
        if not self.ok:
            return f"VIOLATION: {self.status}"
        if self.complete == "complete":
            return "no violation (every interleaving explored)"
        if self.complete.startswith("bound"):
            return f"no violation with up to {self.complete.split()[-1]} preemptions (complete for that bound)"
        return "no violation found, but the search is INCOMPLETE (a budget ran out)"

    def to_json(self) -> dict:
        doc = {"design": self.design, "scenario": self.scenario, "verdict": self.status,
               "coverage": self.complete, "executions": self.executions, "steps": self.steps,
               "seconds": round(self.seconds, 3), "interrupted": self.interrupted,
               "searches": [{"strategy": r.strategy, **r.stats.to_json(), "bound": r.bound,
                             "guarantee": r.guarantee} for r in self.results]}
        if self.violation is not None:
            v = self.violation
            doc["violation"] = {"kind": v.kind, "message": v.message, "preemptions": v.preemptions,
                                "steps": len(v.schedule) if v.schedule else None,
                                "schedule": v.schedule.to_json() if v.schedule else None}
        return doc


def check(design_cls, scenario, *, strategy: str = "auto", max_executions: int | None = 20000,
          time_limit: float | None = None, preemptions: int = 1, seed: int = 0, depth: int = 3,
          bounded_budget: int = 4000, progress=None) -> Verdict:
    program = make_program(design_cls, scenario)
    t0 = time.perf_counter()
    v = Verdict(design_cls.name, scenario.name, "ok", "incomplete")
    plan = [("bounded", min(bounded_budget, max_executions or bounded_budget)), ("stateful", max_executions)] \
        if strategy == "auto" else [(strategy, max_executions)]
    for name, budget in plan:
        left = None if time_limit is None else max(0.05, time_limit - (time.perf_counter() - t0))
        r = explore(program, name, max_executions=budget, time_limit=left, preemptions=preemptions,
                    seed=seed, depth=depth, progress=progress)
        v.results.append(r)
        v.executions += r.stats.executions
        v.steps += r.stats.steps
        if r.stats.interrupted:
            v.interrupted = True
        if r.violations:
            v.violation = r.violations[0]
            v.status = v.violation.kind
            v.complete = "n/a"
            break
        if name == "bounded" and r.bound is not None:
            v.complete = f"bound {r.bound}"
        elif r.stats.complete:
            v.complete = "complete"
            break
        if v.interrupted:
            break
    v.seconds = time.perf_counter() - t0
    return v


# --- many cells at once ------------------------------------------------------------------------
_CELLS: list = []          # (design class, scenario) per cell, set before the workers fork


def _check_cell(i: int, kw: dict) -> tuple[int, Verdict]:
    d, s = _CELLS[i]
    return i, check(d, s, **kw)


def _quiet_worker() -> None:
    # Ctrl-C goes to the whole process group; the parent decides what stops (it terminates the
    # workers), so a worker neither dies with a traceback nor returns a half-searched cell.
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _size(scenario) -> tuple:
    """A guess at how long a scenario takes to explore: its threads, then its operations."""
    threads = getattr(scenario, "threads", ())
    return len(threads), sum(len(t.ops) for t in threads)


def check_many(cells, *, jobs: int = 1, on_done=None, **kw) -> dict:
    """check() every (design class, scenario) of ``cells``, ``jobs`` at a time in worker
    processes (each cell is independent; a process per core is the only way past the GIL).
    ``on_done(index, verdict)`` is called as each one finishes.  Ctrl-C stops the workers and
    raises KeyboardInterrupt; the verdicts finished so far have been passed to ``on_done``."""
    out: dict = {}
    if jobs <= 1 or len(cells) <= 1:
        for i, (d, s) in enumerate(cells):
            v = check(d, s, **kw)
            out[i] = v
            if on_done:
                on_done(i, v)
            if v.interrupted:
                break
        return out
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed
    _CELLS[:] = list(cells)
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("fork"),
                               initializer=_quiet_worker)
    futures = []
    try:
        # Biggest first (more threads, then more operations): a long cell started last would
        # run alone at the end while the other workers sit idle.
        order = sorted(range(len(cells)), key=lambda i: _size(cells[i][1]), reverse=True)
        futures = [pool.submit(_check_cell, i, kw) for i in order]
        for f in as_completed(futures):
            i, v = f.result()
            out[i] = v
            if on_done:
                on_done(i, v)
    except KeyboardInterrupt:
        for f in futures:
            f.cancel()
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.terminate()            # cells still running are dropped, not half-reported
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return out
