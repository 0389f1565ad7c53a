"""One design on one scenario: choose the search, run it, say what it proves.

The default plan ("auto") first runs preemption-bounded search up to a small bound, which finds
shallow races quickly and returns them with the fewest preemptions, then stateful DPOR (DPOR with
state caching) for the rest of the budget.  The verdict says exactly what was explored: complete
(the search exhausted every trace), complete up to K preemptions (bounded search exhausted every
schedule with at most K), sampled (pct and random ran every execution asked for), or
incomplete (a budget ran out first).

A design is untrusted code.  The whole check (search and minimization) keeps to its time limit
(engine/deadline.py); a Python exception in the design is a ``design-error`` verdict pointing
at the design's own file and line (the engine's ``model-error``); a thread that loops past the
step bound is a ``step-bound`` violation saying where.  ``crash`` stays the kernel BUGs the
model reports.
"""
from __future__ import annotations

import inspect
import os
import time
from dataclasses import dataclass, field

from .engine import MODEL_ERROR, Deadline, SearchResult, explore
from .kernel import make_program

DESIGN_ERROR = "design-error"
# Verdicts that are not a property the model checks failing.
NOT_FOUND = ("ok", "died")


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
    error: str | None = None          # status "died": what happened to the worker
    bound_asked: int | None = None    # the preemption bound a bounded search was asked to reach

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def found(self) -> bool:
        """A property failed (a violation, a design error): not ok, not a lost cell."""
        return self.status not in NOT_FOUND

    @property
    def finished(self) -> bool:
        """The verdict covers what was asked: a violation found, or the search complete, at
        its bound, or every sampled run done.  False when interrupted, cut by a budget, or
        the worker died."""
        if self.interrupted or self.status == "died":
            return False
        if self.found:
            return True
        if self.complete.startswith("bound"):
            # complete for a lower bound than asked (a budget ran out first) is not finished
            return self.bound_asked is None or int(self.complete.split()[-1]) >= self.bound_asked
        return self.complete != "incomplete"

    def short(self) -> str:
        if self.status == "died":
            return "died"
        if not self.ok:
            return self.status
        if self.interrupted:
            return "cut"
        return {"complete": "ok", "incomplete": "ok?", "sampled": "ok~"}.get(
            self.complete, f"ok≤{self.complete.split()[-1]}")

    def describe(self) -> str:
        if self.status == "died":
            return f"NO VERDICT: {self.error}"
        if self.status == DESIGN_ERROR:
            return f"DESIGN ERROR: {self.violation.message}"
        if not self.ok:
            return f"VIOLATION: {self.status}"
        if self.interrupted:
            return "no violation found before Ctrl-C (INTERRUPTED: the search did not finish)"
        if self.complete == "complete":
            return "no violation (every interleaving explored)"
        if self.complete.startswith("bound"):
            head = f"no violation with up to {self.complete.split()[-1]} preemptions (complete for that bound)"
            return head if self.finished else head + f", but INCOMPLETE: a budget ran out before bound {self.bound_asked}"
        if self.complete == "sampled":
            return "no violation in the runs asked for (a sample: no guarantee beyond them)"
        return "no violation found, but the search is INCOMPLETE (a budget ran out)"

    def to_json(self) -> dict:
        doc = {"design": self.design, "scenario": self.scenario, "verdict": self.status,
               "coverage": self.complete, "executions": self.executions, "steps": self.steps,
               "seconds": round(self.seconds, 3), "interrupted": self.interrupted,
               "error": self.error,
               "searches": [{"strategy": r.strategy, **r.stats.to_json(), "bound": r.bound,
                             "guarantee": r.guarantee} for r in self.results],
               "violation": None}
        if self.violation is not None:
            v = self.violation
            f = v.where[-1] if v.where else None
            doc["violation"] = {"kind": self.status, "message": v.message, "preemptions": v.preemptions,
                                "steps": len(v.schedule) if v.schedule else None,
                                "minimal": v.minimal is not False,
                                "thread": v.thread or None,
                                "where": {"file": f[0], "line": f[1], "function": f[2]} if f else None,
                                "schedule": v.schedule.to_json() if v.schedule else None}
        return doc


def design_file(design_cls) -> str | None:
    """The file a design class is defined in (None if it cannot be told)."""
    try:
        return os.path.abspath(inspect.getfile(design_cls))
    except (TypeError, OSError):
        return None


def _point_at_design(design_cls, outcome) -> None:
    """Order ``outcome.where`` so that its last frame is the innermost one in the design's own
    file (where a user's exception or loop is), and say so in the message."""
    path = design_file(design_cls)
    mine = [f for f in outcome.where if path and os.path.abspath(f[0]) == path]
    if not mine:
        return
    f = mine[-1]
    outcome.where = outcome.where[:outcome.where.index(f) + 1]
    at = f"{f[0]}:{f[1]} in {f[2]}"
    if at not in outcome.message:
        outcome.message += f" [in the design: {at}]"


def check(design_cls, scenario, *, strategy: str = "auto", max_executions: int | None = 20000,
          time_limit: float | None = None, preemptions: int = 1, seed: int = 0, depth: int = 3,
          bounded_budget: int = 4000, progress=None, deadline: Deadline | None = None,
          max_steps: int = 10000) -> Verdict:
    """``time_limit`` (or ``deadline``) bounds the whole check, minimization included;
    ``max_steps`` bounds one execution (beyond it: a step-bound violation naming the loop)."""
    deadline = Deadline.of(deadline, time_limit)
    t0 = time.perf_counter()
    v = Verdict(design_cls.name, scenario.name, "ok", "incomplete")
    if strategy in ("auto", "bounded"):
        v.bound_asked = preemptions
    program = make_program(design_cls, scenario)
    plan = [("bounded", min(bounded_budget, max_executions or bounded_budget)), ("stateful", max_executions)] \
        if strategy == "auto" else [(strategy, max_executions)]
    for name, budget in plan:
        r = explore(program, name, max_executions=budget, deadline=deadline, preemptions=preemptions,
                    seed=seed, depth=depth, progress=progress, max_steps=max_steps)
        v.results.append(r)
        v.executions += r.stats.executions
        v.steps += r.stats.steps
        if r.stats.interrupted:
            v.interrupted = True
        if r.violations:
            v.violation = r.violations[0]
            v.status = DESIGN_ERROR if v.violation.kind == MODEL_ERROR else v.violation.kind
            _point_at_design(design_cls, v.violation)
            v.complete = "n/a"
            break
        if name == "bounded" and r.bound is not None:
            v.complete = f"bound {r.bound}"
        elif r.stats.complete:
            v.complete = "complete"
            break
        elif name in ("pct", "random") and r.stats.stopped_by in ("", "max-executions"):
            v.complete = "sampled"      # every run asked for (max_executions) was made
        if v.interrupted or r.stats.stopped_by == "time-limit":
            break
    v.seconds = time.perf_counter() - t0
    return v


# --- many cells at once ------------------------------------------------------------------------
def _died(cells, i: int, message: str) -> Verdict:
    d, s = cells[i]
    return Verdict(d.name, s.name, "died", "incomplete", error=message)


def _cut(cells, i: int) -> Verdict:
    d, s = cells[i]
    return Verdict(d.name, s.name, "ok", "incomplete", interrupted=True,
                   error="stopped by Ctrl-C before it finished")


def check_many(cells, *, jobs: int = 1, on_done=None, isolate: bool = True, **kw) -> dict:
    """check() every (design class, scenario) of ``cells``, ``jobs`` at a time, each in a
    worker process of its own (each cell is independent; a process per core is the only way
    past the GIL, and a process per cell keeps a design that kills its process from taking
    other cells with it: swaplab.cells).  ``on_done(index, verdict)`` is called as each one
    finishes.  Ctrl-C stops the workers and raises KeyboardInterrupt; the verdicts finished
    so far, and the cut ones of the cells that were running, have been passed to ``on_done``.
    ``isolate=False`` checks the cells one after the other in this process instead."""
    from .cells import run_cells
    out: dict = {}

    def done(i, v):
        out[i] = v
        if on_done:
            on_done(i, v)
    if not isolate:
        for i, (d, s) in enumerate(cells):
            v = check(d, s, **kw)
            done(i, v)
            if v.interrupted:
                raise KeyboardInterrupt
        return out
    run_cells(cells, check, jobs=jobs, on_done=done, died=lambda i, m: _died(cells, i, m),
              cut=lambda i: _cut(cells, i), **kw)
    return out
