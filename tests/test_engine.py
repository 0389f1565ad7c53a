"""Engine tests on programs with known answers (tests/programs.py).

Where each expected number comes from:
- writers(n): every pair of writes to x is dependent, so each of the n! orders is its own
  Mazurkiewicz trace; the final value is the last writer: n distinct final states.
- distinct_writers(n): no two steps are dependent: 1 trace, n! interleavings.
- readers_writers(r, 1): each read is before or after the one write: 2^r traces.
- lastzero, philosophers, lost_update, the retry programs: the trace count is computed by
  tests/traces.py, which runs naive DFS over every interleaving and counts distinct sets of
  ordered dependent pairs (independent of DPOR).
- indexer(12): 8 traces, indexer(13): 64 (Abdulla et al., POPL 2014, Table 1; 8^(n-11)).
- philosophers(n) deadlocks with 1 preemption: p0 takes fork 0 and is preempted (1); p(n-1)
  takes fork n-1 and blocks on fork 0, so switching away from it is free; likewise down to p1.
  With 0 preemptions each philosopher runs to completion before the next starts: no deadlock.
- lost_update needs 1 preemption (a read, a switch, the other thread's increment, the write).
- retry_can_livelock livelocks with 0 preemptions: A reads x == 0, is parked, B runs both
  writes (A's switch to B is free because A is parked), A sees 0 again and parks for good.
"""
from __future__ import annotations

import json
import math

import pytest

from programs import (distinct_writers, indexer, lastzero, locked_counter, lost_update, philosophers,
                      readers_writers, retry_can_livelock, retry_no_livelock, retry_progress_undone,
                      retry_sees_two_states, writers)
from swaplab.engine import Schedule, explore, replay
from swaplab.engine.objects import FROZEN
from swaplab.engine.strategies import DPOR
from traces import count_traces

SMALL = [writers(3), writers(4), distinct_writers(3), readers_writers(2, 1), readers_writers(2, 2),
         lastzero(3), lastzero(4), philosophers(2), philosophers(3), lost_update(2), lost_update(3),
         locked_counter(2), locked_counter(3), retry_can_livelock(), retry_no_livelock()]


def _full(prog, strategy, **kw):
    return explore(prog, strategy, stop_on_first=False, minimize=False, **kw)


@pytest.mark.parametrize("prog", SMALL, ids=lambda p: p.name)
def test_dpor_and_dfs_agree(prog):
    dfs = _full(prog, "dfs")
    dpor = _full(prog, "dpor")
    assert dfs.stats.complete and dpor.stats.complete
    assert dpor.stats.final_states == dfs.stats.final_states
    assert {v.signature() for v in dpor.violations} == {v.signature() for v in dfs.violations}


@pytest.mark.parametrize("prog,expected", [
    (writers(3), math.factorial(3)), (writers(4), math.factorial(4)),
    (distinct_writers(3), 1), (distinct_writers(5), 1),
    (readers_writers(2, 1), 2 ** 2), (readers_writers(3, 1), 2 ** 3),
], ids=lambda x: getattr(x, "name", str(x)))
def test_dpor_explores_exactly_the_closed_form_trace_count(prog, expected):
    assert count_traces(prog)[0] == expected        # the reference agrees with the closed form
    r = _full(prog, "dpor")
    assert r.stats.executions == expected
    assert r.stats.sleep_blocked == 0


@pytest.mark.parametrize("prog", [lastzero(3), lastzero(4), philosophers(3), lost_update(3),
                                  retry_can_livelock(), readers_writers(2, 2)], ids=lambda p: p.name)
def test_dpor_explores_every_trace_once(prog):
    """Every trace is explored and no trace twice; the only excess is sleep-set-blocked runs
    (source-set DPOR is not optimal: see docs/engine.md for the measured ratios)."""
    traces, _ = count_traces(prog)
    seen, runs = count_traces(prog, DPOR())
    r = _full(prog, "dpor")
    assert seen == traces
    assert r.stats.executions - r.stats.sleep_blocked == traces
    assert runs <= 2.5 * traces


@pytest.mark.parametrize("n,expected", [(12, 8), (13, 64)])
def test_indexer(n, expected):
    seen, runs = count_traces(indexer(n), DPOR())
    assert seen == expected
    r = _full(indexer(n), "dpor")
    assert r.stats.executions - r.stats.sleep_blocked == expected
    assert r.stats.executions <= 1.15 * expected


def test_distinct_writers_dfs_runs_every_interleaving():
    assert _full(distinct_writers(3), "dfs").stats.executions == math.factorial(3)


@pytest.mark.parametrize("prog,kind,bound", [
    (lost_update(2), "lost-update", 1), (philosophers(2), "deadlock", 1), (philosophers(3), "deadlock", 1),
    (philosophers(4), "deadlock", 1), (retry_can_livelock(), "livelock", 0),
], ids=lambda x: getattr(x, "name", str(x)))
def test_bounded_finds_bug_at_its_minimal_bound(prog, kind, bound):
    if bound > 0:
        below = explore(prog, "bounded", preemptions=bound - 1, minimize=False)
        assert below.ok and below.bound == bound - 1
    r = explore(prog, "bounded", preemptions=bound, minimize=False)
    assert [v.kind for v in r.violations] == [kind]
    assert r.violations[0].preemptions == bound


@pytest.mark.parametrize("prog", [retry_no_livelock(), retry_sees_two_states(), retry_progress_undone(),
                                  locked_counter(3)], ids=lambda p: p.name)
def test_correct_programs_have_no_violation(prog):
    for s in ("dpor", "dfs", "bounded"):
        r = explore(prog, s, preemptions=3)
        assert r.ok and r.stats.complete


@pytest.mark.parametrize("prog", [lost_update(3), philosophers(3), retry_can_livelock()], ids=lambda p: p.name)
def test_counterexamples_are_minimal_and_replay(prog, tmp_path):
    r = explore(prog, "dpor")
    (v,) = r.violations
    assert v.preemptions == explore(prog, "bounded", preemptions=3, minimize=False).violations[0].preemptions
    path = tmp_path / "ce.json"
    path.write_text(v.schedule.dumps())
    again = Schedule.loads(path.read_text())
    ex, divergence = replay(prog, again)
    assert divergence is None
    assert ex.outcome is not None and ex.outcome.signature() == v.signature()


def test_schedule_json_is_versioned_and_plain():
    r = explore(lost_update(2), "dpor")
    doc = json.loads(r.violations[0].schedule.dumps())
    assert doc["format"] == "swaplab-schedule" and doc["version"] == 1
    assert doc["threads"] == ["t0", "t1"]
    assert all(isinstance(s, int) for s in doc["steps"])


@pytest.mark.parametrize("strategy", ["pct", "random"])
def test_randomized_strategies_find_the_lost_update_and_are_reproducible(strategy):
    a = explore(lost_update(2), strategy, max_executions=200, seed=7, minimize=False)
    b = explore(lost_update(2), strategy, max_executions=200, seed=7, minimize=False)
    assert a.violations and a.violations[0].schedule.steps == b.violations[0].schedule.steps
    assert not a.stats.complete


def test_pct_reports_its_guarantee():
    r = explore(locked_counter(2), "pct", max_executions=20, depth=2)
    assert "1/(" in r.guarantee and r.ok and not r.stats.complete


def test_limits_make_the_search_incomplete():
    r = explore(writers(5), "dpor", max_executions=10)
    assert r.stats.executions == 10 and not r.stats.complete and r.stats.stopped_by == "max-executions"
    assert "incomplete" in r.verdict()


def test_checking_mode_catches_undeclared_access():
    from swaplab.engine import Cell, Program

    def setup(w):
        x, y = Cell("x", 0), Cell("y", 0)

        def bad():
            yield from x.read()
            y.value = 1          # touched inside the step that declared only x
        w.thread("bad", bad())
    r = explore(Program(setup, "bad"), "dfs", checking=True)
    assert r.violations and "did not declare" in r.violations[0].message


def _unshared_program(declare):
    from swaplab.engine import Cell, Program

    def setup(w):
        mine, ro, x = Cell("mine", 0), Cell("ro", 1), Cell("x", 0)

        def owner():
            yield from x.write(1)
            yield from ro.read()         # frozen: no scheduling point of its own
            yield from mine.write(1)     # private: none either
            yield from x.write(2)

        def other():
            yield from x.read()
            yield from declare["other"](mine, ro)
        w.thread("owner", owner())
        w.thread("other", other())
        mine.private = 0
        ro.private = FROZEN
    return Program(setup, "unshared")


def test_steps_on_private_or_frozen_objects_fold_into_the_step_before():
    def reads_ro(mine, ro):
        yield from ro.read()
    r = explore(_unshared_program({"other": reads_ro}), "dfs", stop_on_first=False)
    assert not r.violations
    # owner has two scheduling points (x = 1 with the folded steps, x = 2) and other one (its
    # frozen read folds into its read of x): DFS runs every interleaving of 2 + 1 steps,
    # C(3, 1) = 3, where unfolded 4 + 2 steps would give C(6, 2) = 15
    assert r.stats.executions == 3


@pytest.mark.parametrize("wrong", ["touches another thread's private object", "writes a frozen one"])
def test_a_wrong_unshared_declaration_is_a_model_error(wrong):
    def touch(mine, ro):
        if wrong.startswith("touches"):
            yield from mine.read()
        else:
            yield from ro.write(0)
    r = explore(_unshared_program({"other": touch}), "dfs", stop_on_first=False)
    assert r.violations and "model error" in r.violations[0].message
    assert ("private to owner" if wrong.startswith("touches") else "declared frozen") \
        in r.violations[0].message


def test_sleeping_with_a_spinlock_held_is_reported():
    from swaplab.engine import Program, SleepLock, SpinLock

    def setup(w):
        s, m = SpinLock("ptl"), SleepLock("folio")

        def t():
            yield from s.lock()
            yield from m.lock()
        w.thread("t", t())
    r = explore(Program(setup, "sleep-in-atomic"), "dfs")
    assert "sleeping function called from invalid context" in r.violations[0].message


def test_progress_callback_and_stats():
    calls = []
    r = explore(writers(4), "dpor", progress=calls.append, progress_every=0.0, stop_on_first=False)
    assert calls and r.stats.steps == 4 * r.stats.executions


def test_the_worked_example_runs():
    import runpy
    from pathlib import Path
    runpy.run_path(str(Path(__file__).parent.parent / "examples" / "lost_update.py"), run_name="__main__")
