"""A finding, from first sight to the files that reproduce it.

``shrink_finding`` runs in a worker: delta debugging over the scenario while the design still
fails with the same signature (kind, kernel function, what the reference does), then one more
check for the engine's minimal schedule and the reference design's verdict.  ``write_files``
runs in the coordinator: the scenario as TOML (with its ``[expect]``, so ``swaplab check -d D -s
FILE`` says "as expected") and the schedule in the ``--save-trace`` format.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from ..designs import get_design
from ..engine import Schedule
from ..report.files import write_atomic
from ..scenarios.loader import parse_scenario
from .check import REFERENCE, Budget, _run, describe, signature
from .lang import to_toml
from .shrink import Shrinker


def _run_or_stop(cls, s, phase, budget):
    """A check; Ctrl-C (which the engine turns into an interrupted verdict) stops the shrinking
    instead of reading as "this candidate does not fail"."""
    v = _run(cls, s, phase, budget)
    if v.interrupted:
        raise KeyboardInterrupt
    return v


def shrink_finding(task: dict) -> dict:
    """task: toml, design, signature, phase, budget, max_tries, seconds.  Returns the smallest
    scenario found with the same signature, its violation and the reference's verdict."""
    s = parse_scenario(task["toml"], "<finding>")
    cls, ref = get_design(task["design"]), get_design(REFERENCE)
    budget = Budget(**task.get("budget", {}))
    phase = task.get("phase", "cheap")
    sig = task["signature"]

    def fails(c) -> bool:
        v = _run_or_stop(cls, c, phase, budget)
        if v.violation is None:
            return False
        return signature(task["design"], describe(cls, c, v, ref)["violation"]) == sig

    shrinker = Shrinker(fails, max_tries=task.get("max_tries", 300), time_limit=task.get("seconds", 60.0))
    small = shrinker.run(s) if task.get("shrink", True) else s
    v = _run_or_stop(cls, small, phase, budget)
    doc = describe(cls, small, v, ref)
    if v.violation is None:        # cannot happen unless a budget cut the last check: keep the original
        small = s
        v = _run_or_stop(cls, s, phase, budget)
        doc = describe(cls, s, v, ref)
    rv = _run_or_stop(ref, small, phase, budget) if task["design"] != REFERENCE else v
    return {"toml": to_toml(small), "violation": doc.get("violation"), "tries": shrinker.tries,
            "reference_status": rv.status, "reference_complete": rv.complete}


def finding_id(signature: str) -> str:
    return hashlib.sha1(signature.encode()).hexdigest()[:10]


def write_files(directory: Path, design: str, signature: str, toml: str, violation: dict) -> tuple[str, str]:
    """Write the scenario and its schedule; returns their paths."""
    fid = finding_id(signature)
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{design.replace('/', '_').replace(':', '_')}-{violation['kind']}-{fid}"
    scen_path = directory / f"{stem}.toml"
    trace_path = directory / f"{stem}.json"
    s = parse_scenario(toml, str(scen_path))
    s.name = f"hunt-{fid}"
    s.description = f"found by swaplab hunt: {design} {violation['kind']} in {violation['function']}"
    s.probes = f"signature: {signature}"
    s.expect = {design: violation["kind"]} if ":" not in design else {}
    write_atomic(scen_path, to_toml(s))
    sched = Schedule.from_json(violation["schedule"])
    sched.meta.update({"design": design, "scenario": str(scen_path), "verdict": violation["kind"],
                       "message": violation["message"]})
    write_atomic(trace_path, sched.dumps() + "\n")
    return str(scen_path), str(trace_path)
