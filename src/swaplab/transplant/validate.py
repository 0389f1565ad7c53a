"""`make validate`: hold the model against real kernels.

For every built-in scenario: the model's verdict for each design that has a kernel counterpart
(kernels.py), and for each counterexample a violating one of those designs has, the kernel's
result when the counterexample runs on each of those kernels with the same delay points.  For
slot-reuse, also the controls: the same race paused one model step earlier, at each delay point
before the read, where the model predicts no loss.  Prints a Markdown table (docs/validation.md
holds the last one) and writes every figure as JSON.

    python -m swaplab.transplant.validate [--iterations N] [--json FILE] [--scenarios a,b]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time

from ..designs import get_design
from ..engine import Schedule, replay
from ..kernel import make_program
from ..report.files import write_atomic
from ..report.transplant import validation_markdown
from ..scenarios import builtin_names, get_scenario
from ..verify import check
from . import run
from .kernels import COUNTERPARTS
from .machine import MachineError
from .plan import TransplantError, check_transplantable, make_plan

KERNEL_DESIGNS = tuple(COUNTERPARTS)


def sequential_schedule(design_cls, scenario, parts) -> Schedule:
    """A schedule from parts (thread index, steps; None = until that thread finishes)."""
    prog = make_program(design_cls, scenario)
    steps: list[int] = []
    for tid, n in parts:
        if n is not None:
            steps += [tid] * n
            continue
        k = 1
        while k < 2000:
            ex, div = replay(prog, Schedule(steps=steps + [tid] * k), tracing=False)
            if (div and not div.startswith("the schedule ends")) or ex.threads[tid].done or ex.outcome is not None:
                break
            k += 1
        steps += [tid] * k
    return Schedule(steps=steps, threads=[t.name for t in scenario.threads],
                    meta={"design": design_cls.name, "scenario": scenario.name})


def model_on_schedule(design_cls, scenario, sched: Schedule) -> str:
    """What the model says when the schedule is replayed under a design: the violation, "ok",
    or "diverges" (the design does not allow that order; its verdict over all orders stands)."""
    ex, div = replay(make_program(design_cls, scenario), sched, tracing=False)
    if ex.outcome is not None:
        return ex.outcome.kind
    return "diverges" if div else "ok"


# T0's steps in bypass × slot-reuse, counted in its trace when it runs first and alone
# (sequential_schedule(d, s, [(0, None), (1, None)]), replayed with tracing): 1 the refault point,
# 2 the load, down_read(mmap_lock) and find_vma (one step: nobody takes mmap_lock for write or
# unmaps, so neither has a scheduling point of its own), 3 the orig_pte read and get_swap_device,
# 4 the swap cache lookup, 5 the skip-swapcache set-up, 6 the read, 7 the PTE lock.  Paused
# after 1-2 it has not read the PTE (plan.py holds it in user space); after 3-6 it parks at
# each delay point before the PTE lock.
CONTROL_CUTS = range(3, 7)


def control_schedules():
    """(design, scenario, schedule) for bypass × slot-reuse with T0 paused after each step of
    CONTROL_CUTS while T1 runs to its end."""
    d, s = get_design("bypass"), get_scenario("slot-reuse")
    for cut in CONTROL_CUTS:
        yield d, s, sequential_schedule(d, s, [(0, cut), (1, None), (0, None)])


def controls(iterations: int, say) -> list[dict]:
    """bypass × slot-reuse with T0 paused at each delay point before the PTE lock."""
    rows = []
    for d, s, sched in control_schedules():
        plan = make_plan(d, s, sched)
        point = plan.arms[0][1]
        verdict = model_on_schedule(d, s, sched)
        say(f"control: bypass × slot-reuse paused at {point} (model: {verdict})")
        r = _run(plan, "bypass", iterations, say)
        rows.append({"scenario": "slot-reuse", "design": "bypass", "point": point, "model": verdict,
                     "kernel": r})
    return rows


def _run(plan, against, iterations, say):
    try:
        return run(plan, against, iterations=iterations, say=say).to_json()
    except MachineError as e:
        return {"error": str(e)}


def validate(scenarios, iterations: int, say, time_limit: float = 60.0) -> dict:
    rows = []
    for name in scenarios:
        s = get_scenario(name)
        try:
            check_transplantable(s)
        except TransplantError as e:
            # nothing runs on a kernel: the model's verdicts are in README's matrix
            rows.append({"scenario": name, "model": None, "runs": [], "cannot": str(e)})
            say(f"{name}: cannot transplant: {e}")
            continue
        verdicts = {}
        for dn in KERNEL_DESIGNS:
            v = check(get_design(dn), s, time_limit=time_limit, max_executions=200000)
            verdicts[dn] = {"verdict": v.status, "coverage": v.complete, "schedule": v.violation.schedule
                            if v.violation is not None else None}
        row = {"scenario": name, "model": {dn: {"verdict": x["verdict"], "coverage": x["coverage"]}
                                           for dn, x in verdicts.items()}, "runs": []}
        for dn, x in verdicts.items():
            if x["schedule"] is None:
                continue
            sched = x["schedule"]
            sched.meta.update({"design": dn, "scenario": name})
            try:
                plan = make_plan(get_design(dn), s, sched)
            except TransplantError as e:
                row["runs"].append({"counterexample": dn, "cannot": str(e)})
                continue
            for against in KERNEL_DESIGNS:
                say(f"{name}: {dn}'s counterexample on the {against} kernel")
                row["runs"].append({"counterexample": dn, "against": against, "points": plan.points,
                                    "model": model_on_schedule(get_design(against), s, sched),
                                    "kernel": _run(plan, against, iterations, say)})
        rows.append(row)
    return {"rows": rows}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m swaplab.transplant.validate", description=__doc__.split("\n")[0])
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--scenarios", help="comma-separated (default: every built-in scenario)")
    ap.add_argument("--json", dest="json_file", default="build/validation.json")
    ap.add_argument("--no-controls", action="store_true")
    a = ap.parse_args(argv)
    say = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    t0 = time.perf_counter()
    names = a.scenarios.split(",") if a.scenarios else builtin_names()
    doc = validate(names, a.iterations, say)
    doc["controls"] = [] if a.no_controls else controls(a.iterations, say)
    doc["date"] = datetime.date.today().isoformat()
    doc["iterations"] = a.iterations
    doc["seconds"] = round(time.perf_counter() - t0, 1)
    os.makedirs(os.path.dirname(a.json_file) or ".", exist_ok=True)
    write_atomic(a.json_file, json.dumps(doc, indent=1) + "\n")
    print(validation_markdown(doc))
    failures = [r for r in _all_runs(doc) if "error" in r]
    return 1 if failures else 0


def _all_runs(doc):
    for row in doc["rows"]:
        for r in row["runs"]:
            if "kernel" in r:
                yield r["kernel"]
    for c in doc["controls"]:
        yield c["kernel"]


if __name__ == "__main__":
    sys.exit(main())
