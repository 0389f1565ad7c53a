"""swaplab.testing: each assertion passes and fails when it should, and says why.  Which cells
violate comes from the kernel history (docs/findings.md): bypass loses data on slot-reuse with
one preemption (13ddaf26's race); the swap-cache design is safe on two-faults."""
from __future__ import annotations

import pytest

from swaplab.designs.bypass import Bypass
from swaplab.testing import assert_safe, assert_violates, load_design, load_scenario, scenario_from_toml


def test_assert_safe_fails_with_the_counterexample_and_writes_the_report(tmp_path):
    with pytest.raises(AssertionError) as e:
        assert_safe(Bypass, "slot-reuse", report_dir=tmp_path)
    msg = str(e.value)
    assert "expected no violation, found data-loss" in msg
    assert "CPU0 (T0)" in msg and "CPU1 (T1)" in msg and "=> data-loss" in msg
    report = tmp_path / "bypass--slot-reuse.html"
    assert str(report) in msg and report.read_text().startswith("<!doctype html>")


def test_assert_safe_passes_only_on_a_complete_search():
    v = assert_safe("swapcache", "two-faults")
    assert v.ok and v.complete == "complete"
    with pytest.raises(AssertionError, match="INCOMPLETE"):
        assert_safe("swapcache", "two-faults", max_executions=5)
    v = assert_safe("swapcache", "two-faults", max_executions=5, allow_incomplete=True)
    assert v.ok and v.complete != "complete"


def test_assert_violates():
    v = assert_violates("bypass", "slot-reuse", "data-loss")
    assert v.violation.kind == "data-loss" and v.violation.preemptions == 1
    with pytest.raises(AssertionError, match="expected crash, found data-loss"):
        assert_violates("bypass", "slot-reuse", "crash")
    with pytest.raises(AssertionError, match="expected a violation, found none"):
        assert_violates("swapcache", "two-faults")


def test_designs_and_scenarios_in_every_form(tmp_path):
    assert load_design("bypass") is Bypass and load_design(Bypass) is Bypass
    f = tmp_path / "mine.py"
    f.write_text("from swaplab.designs.bypass import Bypass\nclass Mine(Bypass):\n    name = 'mine'\n")
    assert load_design(f"{f}:Mine").name == "mine"
    with pytest.raises(ValueError, match="no design 'nope'"):
        load_design("nope")
    assert load_scenario("two-faults").name == "two-faults"
    with pytest.raises(ValueError, match=r"<scenario>:3:"):
        scenario_from_toml("[device]\nslots = 1\n[[mm]]\nname = 3\n")
