"""What a worker does: check one scenario under some designs and return plain data.

Two phases.  "cheap": preemption-bounded search (≤ 2 preemptions) within a small budget, under
coverage.py, so the coordinator learns which arcs the scenario reached.  "full": the stateful
search (DPOR with state caching) within a per-scenario budget, for scenarios that added coverage
or look suspicious.  A search that ran out of budget says so ("incomplete").

A violation is described by its kind, the kernel function where it was detected, and how the
reference design (``swapcache``, the kernel's own) behaves on the same schedule: where it
diverges (``swaplab replay --design`` reports the same), or that it runs the schedule through.
Nothing here touches the store: the result is a dict of strings, numbers and lists.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass

from ..designs import get_design
from ..engine import Schedule, explore, replay
from ..engine.executor import _stack
from ..kernel import make_program
from ..scenarios.loader import parse_scenario
from ..verify import Verdict
from .signal import Tracer, measured_files

REFERENCE = "swapcache"
# designs that must agree on safety (differential check): the three variants of 13ddaf26 differ
# only in how a loser of swapcache_prepare waits
MUST_AGREE = [("prepare-busy", "prepare-schedule", "prepare-sleep")]
LIVENESS = ("ok", "deadlock", "livelock", "step-bound")


@dataclass
class Budget:
    """Per-scenario budgets of the two phases (per design)."""
    cheap_executions: int = 400
    cheap_seconds: float = 4.0
    cheap_preemptions: int = 2
    full_executions: int = 20000
    full_seconds: float = 20.0
    signal_executions: int = 30
    minimize_executions: int = 1000
    signal_preemptions: int = 1

    def to_json(self) -> dict:
        return dict(vars(self))


_TRACERS: dict = {}


def _tracer(design_classes) -> Tracer:
    files = tuple(measured_files(design_classes))
    if files not in _TRACERS:
        _TRACERS[files] = Tracer(files)
    return _TRACERS[files]


def violation_function(program, outcome) -> str:
    """The kernel function in which ``outcome`` was detected: the innermost model frame of the
    step that failed; "final-check" when the oracle found it after every thread finished; for a
    deadlock or livelock, where the first stuck thread waits."""
    if outcome.detail:
        return outcome.detail[0].rsplit(" in ", 1)[-1].split("/")[-1]
    ex, _ = replay(program, outcome.schedule)
    if outcome.step < len(ex.trace) and ex.trace[outcome.step]["stack"]:
        return ex.trace[outcome.step]["stack"][-1]
    return "final-check"


def reference_divergence(reference_cls, scenario, schedule: Schedule) -> str:
    """Where the reference design leaves the schedule (its function chain), or what it does
    when it follows the whole schedule."""
    ex, divergence = replay(make_program(reference_cls, scenario), schedule, tracing=False)
    if divergence:
        steps = schedule.steps
        t = ex.threads[steps[ex.seq]] if ex.seq < len(steps) and steps[ex.seq] < len(ex.threads) else None
        if t is not None and not t.done:
            chain = _stack(t.gen)[2:]
            return "diverges in " + ("/".join(chain[-2:]) if chain else "?")
        if "ends after" in divergence:
            return "diverges: runs on past the schedule's end"
        what = divergence.split(":", 1)[-1].split(";")[0].strip()
        return "diverges: " + re.sub(r"\bT\d+\b", "T", what)[:60]
    if ex.outcome is not None:
        return f"follows, fails too ({ex.outcome.kind})"
    return "follows, no violation"


def _run(design_cls, scenario, phase: str, budget: Budget) -> Verdict:
    """One phase's search, as verify.check reports it, with the minimization of a counterexample
    capped too (the engine's default, 20,000 executions, took minutes on 3-thread scenarios)."""
    if phase == "cheap":
        strategy, kw = "bounded", dict(preemptions=budget.cheap_preemptions, max_executions=budget.cheap_executions,
                                       time_limit=budget.cheap_seconds)
    else:
        strategy, kw = "stateful", dict(max_executions=budget.full_executions, time_limit=budget.full_seconds)
    t0 = time.perf_counter()
    r = explore(make_program(design_cls, scenario), strategy, minimize_budget=budget.minimize_executions, **kw)
    v = Verdict(design_cls.name, scenario.name, "ok", "incomplete", executions=r.stats.executions,
                steps=r.stats.steps, results=[r], interrupted=r.stats.interrupted)
    if r.violations:
        v.violation, v.status, v.complete = r.violations[0], r.violations[0].kind, "n/a"
    elif strategy == "bounded" and r.bound is not None:
        v.complete = f"bound {r.bound}"       # every schedule with at most that many preemptions
    elif r.stats.complete:
        v.complete = "complete"
    v.seconds = time.perf_counter() - t0
    return v


def describe(design_cls, scenario, v, reference_cls) -> dict:
    doc = {"status": v.status, "complete": v.complete, "executions": v.executions, "steps": v.steps,
           "seconds": round(v.seconds, 3), "interrupted": v.interrupted}
    if v.violation is not None:
        o = v.violation
        program = make_program(design_cls, scenario)
        doc["violation"] = {
            "kind": o.kind, "message": o.message, "preemptions": o.preemptions, "steps": len(o.schedule),
            "schedule": o.schedule.to_json(), "function": violation_function(program, o),
            "reference": reference_divergence(reference_cls, scenario, o.schedule)}
    return doc


def check_scenario(task: dict) -> dict:
    """Check ``task["toml"]`` under each of ``task["designs"]`` (names or path.py:Class).
    task: toml, designs, phase ("cheap" or "full"), budget (dict of Budget), coverage (bool).
    Returns {"results": {design: {...}}, "arcs": {file: [[from, to], ...]}, "seconds": s,
    "reference": {...} or None, "differential": [...] }."""
    t0 = time.perf_counter()
    scenario = parse_scenario(task["toml"], "<hunt>")
    budget = Budget(**task.get("budget", {}))
    phase = task.get("phase", "cheap")
    classes = {name: get_design(name) for name in task["designs"]}
    reference_cls = get_design(REFERENCE)
    raw = {}
    for name, cls in classes.items():
        raw[name] = _run(cls, scenario, phase, budget)
        if raw[name].interrupted:
            break
    arcs: dict = {}
    signal_interrupted = False
    if task.get("coverage", True) and not any(v.interrupted for v in raw.values()):
        # coverage.py roughly halves the speed of a search, so the signal comes from a short
        # search of its own (the first executions of a bounded search reach most arcs)
        def signal():
            for cls in classes.values():
                r = explore(make_program(cls, scenario), "bounded", preemptions=budget.signal_preemptions,
                            max_executions=budget.signal_executions, minimize=False)
                if r.stats.interrupted:         # explore keeps Ctrl-C to itself: pass it on
                    return True
            return False
        signal_interrupted, arcs = _tracer(list(classes.values())).measure(signal)
    results = {name: describe(classes[name], scenario, v, reference_cls) for name, v in raw.items()}
    reference = None
    if any(r["status"] != "ok" for r in results.values()):
        if REFERENCE in results:
            reference = results[REFERENCE]
        else:
            v = _run(reference_cls, scenario, phase, budget)
            reference = describe(reference_cls, scenario, v, reference_cls)
    return {"results": results, "arcs": {f: [list(a) for a in v] for f, v in arcs.items()},
            "seconds": time.perf_counter() - t0, "reference": reference,
            "differential": differential(results),
            "interrupted": any(r["interrupted"] for r in results.values()) or signal_interrupted
            or bool(reference and reference["interrupted"])}


def safety(status: str) -> str:
    return "safe" if status in LIVENESS else status


def differential(results: dict) -> list[dict]:
    """Designs that must agree on safety but do not, on this scenario (complete searches only
    disagree for sure; an incomplete one is reported all the same, marked)."""
    out = []
    for group in MUST_AGREE:
        present = [d for d in group if d in results]
        verdicts = {d: safety(results[d]["status"]) for d in present}
        if len(set(verdicts.values())) > 1:
            out.append({"designs": present, "verdicts": {d: results[d]["status"] for d in present},
                        "complete": all(results[d]["complete"] != "incomplete" for d in present)})
    return out


def signature(design: str, violation: dict) -> str:
    """One finding per (design, kind, kernel function, what the reference does there)."""
    return f"{design}|{violation['kind']}|{violation['function']}|{violation['reference']}"
