"""swaplab in a kernel developer's own pytest files.

    from swaplab.testing import assert_safe, assert_violates
    from my_patch import MyDesign            # subclasses swaplab.kernel.Kernel or a built-in design

    def test_my_patch_closes_the_race():
        assert_safe(MyDesign, "slot-reuse")

    def test_the_old_code_had_it():
        assert_violates("bypass", "slot-reuse", "data-loss")

A design is a class, a built-in name or "path/to/file.py:Class"; a scenario is a built-in
name, a .toml file, a Scenario, or TOML text (``scenario_from_toml``).  Each assertion runs the
same search as ``swaplab check`` (bounded search up to ``preemptions``, then stateful DPOR) and
fails with the counterexample drawn in CPU columns, as ``check`` prints it.  ``assert_safe``
also fails when the search did not finish (a budget ran out): "no violation found" is not
"safe".  With ``report_dir`` (or the SWAPLAB_REPORT_DIR environment variable) a failing
assertion also writes the HTML report with the step-through view there and names the file.
"""
from __future__ import annotations

import os
from pathlib import Path

from .designs import DesignError, get_design
from .engine import replay
from .kernel import Kernel, make_program
from .report.files import write_atomic
from .report.trace import format_columns
from .scenarios import ScenarioError, get_scenario
from .scenarios.loader import Scenario, parse_scenario
from .verify import Verdict, check

__all__ = ["assert_safe", "assert_violates", "load_design", "load_scenario", "scenario_from_toml"]


def load_design(design) -> type[Kernel]:
    """A design class from a class, a built-in name or "path/to/file.py:Class"."""
    if isinstance(design, type) and issubclass(design, Kernel):
        return design
    try:
        return get_design(str(design))
    except DesignError as e:
        raise ValueError(str(e)) from None


def scenario_from_toml(text: str, name: str = "scenario") -> Scenario:
    """A scenario written inline in a test (docs/scenarios.md: the format)."""
    try:
        return parse_scenario(text, f"<{name}>", default_name=name)
    except ScenarioError as e:
        raise ValueError(str(e)) from None


def load_scenario(scenario) -> Scenario:
    """A Scenario from a Scenario, a built-in name, a .toml path, or TOML text."""
    if isinstance(scenario, Scenario):
        return scenario
    text = str(scenario)
    if "\n" in text or "[[thread]]" in text:
        return scenario_from_toml(text)
    try:
        return get_scenario(text)
    except ScenarioError as e:
        raise ValueError(str(e)) from None


def _search(design, scenario, preemptions: int, time_limit: float | None, max_executions: int):
    d, s = load_design(design), load_scenario(scenario)
    v = check(d, s, preemptions=preemptions, time_limit=time_limit, max_executions=max_executions)
    return d, s, v


def _counterexample(d, s, v: Verdict) -> str:
    ex, _ = replay(make_program(d, s), v.violation.schedule)
    head = f"{d.name} on {s.name}: {v.violation.kind} ({v.violation.preemptions} preemption(s), " \
           f"{len(v.violation.schedule)} steps)"
    return format_columns(ex, title=head) + f"\n\n=> {v.violation.kind}: {v.violation.message}"


def _report(d, s, v: Verdict, report_dir) -> str:
    """Write the HTML report of a failing assertion, if asked; the sentence naming it."""
    where = report_dir or os.environ.get("SWAPLAB_REPORT_DIR")
    if not where:
        return ""
    from .report.html import check_html
    p = Path(where)
    p.mkdir(parents=True, exist_ok=True)
    f = p / f"{d.name}--{s.name}.html"
    write_atomic(f, check_html(d, s, v))
    return f"\nHTML report with a step-through view: {f}"


def _explored(v: Verdict) -> str:
    return "; ".join(f"{r.strategy}: {r.stats.executions} executions, "
                     f"{'complete' if r.stats.complete else 'stopped: ' + (r.stats.stopped_by or 'budget')}"
                     for r in v.results)


def assert_safe(design, scenario, *, preemptions: int = 1, time_limit: float | None = 60.0,
                max_executions: int = 200000, allow_incomplete: bool = False, report_dir=None) -> Verdict:
    """Every interleaving of ``scenario`` under ``design`` ends without a violation.

    Fails with the counterexample if one is found, and, unless ``allow_incomplete``, when the
    search stopped on a budget before exploring everything.  Returns the Verdict."""
    d, s, v = _search(design, scenario, preemptions, time_limit, max_executions)
    if v.violation is not None:
        raise AssertionError(f"{d.name} on {s.name}: expected no violation, found {v.status}\n\n"
                             + _counterexample(d, s, v) + _report(d, s, v, report_dir))
    if v.interrupted:
        raise AssertionError(f"{d.name} on {s.name}: the search was interrupted ({_explored(v)})")
    if v.complete != "complete" and not allow_incomplete:
        raise AssertionError(f"{d.name} on {s.name}: no violation found, but the search is INCOMPLETE "
                             f"({v.complete}; {_explored(v)}): raise time_limit or max_executions, "
                             f"or pass allow_incomplete=True")
    return v


def assert_violates(design, scenario, kind: str | None = None, *, preemptions: int = 1,
                    time_limit: float | None = 60.0, max_executions: int = 200000, report_dir=None) -> Verdict:
    """Some interleaving of ``scenario`` under ``design`` ends in a violation (of ``kind``, if
    given: "data-loss", "crash", ...).  Returns the Verdict; its ``violation`` holds the
    minimal counterexample (kind, message, preemptions, schedule)."""
    d, s, v = _search(design, scenario, preemptions, time_limit, max_executions)
    if v.violation is None:
        raise AssertionError(f"{d.name} on {s.name}: expected a violation{f' ({kind})' if kind else ''}, "
                             f"found none: {v.describe()} ({_explored(v)})")
    if kind is not None and v.status != kind:
        raise AssertionError(f"{d.name} on {s.name}: expected {kind}, found {v.status}\n\n"
                             + _counterexample(d, s, v) + _report(d, s, v, report_dir))
    return v
