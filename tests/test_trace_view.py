"""The default trace view (report/trace.py) hides steps that change nothing a reader needs, but
always shows the step where the violation was detected, every step whose check failed (it says
so in a note), and the own steps of fork and swapoff (issue 12, "Traces and findings")."""
from __future__ import annotations

from types import SimpleNamespace

from swaplab.report.trace import format_columns


def _rec(tid, label, stack, notes=(), failed=None):
    r = {"tid": tid, "label": label, "stack": list(stack), "notes": list(notes), "changes": []}
    if failed:
        r["failed"] = failed
    return r


def _view(*recs):
    ex = SimpleNamespace(threads=[SimpleNamespace(name="T0"), SimpleNamespace(name="T1")], trace=list(recs))
    return format_columns(ex)


def test_a_step_that_changes_nothing_is_hidden():
    assert "spin_lock(A.ptl)" not in _view(_rec(0, "spin_lock(A.ptl)", ["do_swap_page", "lock"]))


def test_the_violating_step_is_shown_even_when_it_changes_nothing():
    out = _view(_rec(0, "swap_free(offset 0)", ["do_swap_page", "swap_free"], failed="use-after-free"))
    assert "swap_free(offset 0)" in out and "<= use-after-free detected in this step" in out


def test_a_failed_check_is_shown_through_its_note():
    out = _view(_rec(0, "get_swap_device", ["do_swap_page", "get_swap_device"],
                     notes=["get_swap_device fails: swapoff has killed si->users"]))
    assert "get_swap_device fails" in out


def test_fork_and_swapoff_steps_are_shown_even_when_they_change_nothing():
    out = _view(_rec(0, "down_write(A.mmap_lock)", ["fork", "down_write"]),
                _rec(1, "percpu_ref_kill(&si->users)", ["swapoff", "write"]),
                _rec(1, "wait_for_completion(&si->comp)", ["swapoff"]))
    for label in ("down_write(A.mmap_lock)", "percpu_ref_kill", "wait_for_completion"):
        assert label in out
