"""Every built-in cell (design × scenario) against its scenario's [expect] table, and the
README's matrix against the same tables.

The expected verdicts, and why each holds, are written in src/swaplab/scenarios/*.toml.  What is
checked here, to keep the suite fast:
- an "ok" cell: no violation among every schedule with at most one preemption (bounded search run
  to completion for that bound; `swaplab compare` explores each cell completely);
- a violation: the search finds that kind of violation; with bounded search (every cell whose
  race needs at most two preemptions) also that it needs exactly the preemptions the TOML
  comment derives, since every schedule with fewer is explored first and shows nothing.
Three cells whose race needs three preemptions, and pte-marker on two-pages-swap-slots (two
preemptions, but bounded search needs 7,065 executions and about a minute to show it, measured
2026-12-03), run the stateful search up to its first violation instead.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from swaplab.designs import BUILTIN, DESIGNS
from swaplab.engine import explore
from swaplab.kernel import make_program
from swaplab.scenarios import builtin_names, get_scenario

README = Path(__file__).parent.parent / "README.md"

# The preemptions each violation needs, as derived in the scenario files' comments (None: the
# stateful search, which does not bound preemptions, looks for it instead).
NEEDS = {
    ("bypass", "slot-reuse"): 1, ("bypass", "dontneed-refault"): 1, ("bypass", "two-pages-swap-slots"): 1,
    ("count-pin", "slot-reuse"): 1, ("count-pin", "two-pages-swap-slots"): 1,
    ("count-pin", "dontneed-refault"): 2, ("count-pin", "willneed-then-faults"): 2,
    ("pte-marker", "slot-reuse"): 2, ("pte-marker", "dontneed-refault"): 2,
    ("pte-marker", "two-pages-swap-slots"): None,
    # marker-cache-reuse (fidelity round two): bypass and count-pin as on slot-reuse, T0 preempted
    # once after its cache-bypass decision; pte-marker once more, before its step (2), as on
    # slot-reuse (docs/findings.md)
    ("bypass", "marker-cache-reuse"): 1, ("count-pin", "marker-cache-reuse"): 1,
    ("pte-marker", "marker-cache-reuse"): 2,
    ("count-pin", "two-faults"): None, ("count-pin", "swapoff-vs-fault"): None, ("count-pin", "three-faults"): None,
    # read-error-writers (hunt, session 6): no preemption at all (bounded search reports no bound
    # for a violation at 0, so the stateful search looks for it)
    ("swapmap-inflight", "read-error-writers"): None,
}

CELLS = [(d.name, s) for s in builtin_names() for d in BUILTIN]


def _expected(design: str, scenario: str) -> str:
    return get_scenario(scenario).expect[design]


def test_every_builtin_cell_has_an_expectation():
    for s in builtin_names():
        assert set(get_scenario(s).expect) == set(DESIGNS), s


def test_the_violation_table_matches_the_expectations():
    # NEEDS names exactly the cells the scenario files expect to fail
    assert {c for c in CELLS if _expected(*c) != "ok"} == set(NEEDS)


@pytest.mark.parametrize("design,scenario", CELLS, ids=[f"{d}-{s}" for d, s in CELLS])
def test_cell_verdict_is_as_expected(design, scenario):
    expected = _expected(design, scenario)
    program = make_program(DESIGNS[design], get_scenario(scenario))
    if expected == "ok":
        r = explore(program, "bounded", preemptions=1, minimize=False, max_executions=20000)
        assert not r.violations, r.violations[0].message
        assert r.stats.complete and r.bound in (1, None)    # None: every schedule at all
        return
    k = NEEDS[(design, scenario)]
    if k is None:
        r = explore(program, "stateful", minimize=False, max_executions=20000)
    else:
        r = explore(program, "bounded", preemptions=k, minimize=False, max_executions=20000)
    assert r.violations, f"no violation found ({r.stats.executions} executions, stopped by {r.stats.stopped_by!r})"
    v = r.violations[0]
    assert v.kind == expected, v.message
    if k is not None:
        # bounded search ran every schedule with fewer preemptions first and found nothing
        assert v.preemptions == k and r.bound == k - 1


# --- the README's matrix -----------------------------------------------------------------------
def _readme_matrix(path: Path) -> dict:
    """{(design, scenario): verdict} from the matrix block of a README."""
    text = path.read_text()
    block = text[text.index("## The matrix"):]
    block = block[block.index("```") + 3:]
    block = block[:block.index("```")]
    lines = block.strip("\n").splitlines()
    names = dict(re.findall(r"^(S\d+) = (\S+)$", block, re.M))
    header = next(i for i, line in enumerate(lines) if line.startswith("design"))
    columns = [names[c] for c in lines[header].split()[1:]]
    out = {}
    for line in lines[header + 1:]:
        words = line.split()
        if words and words[0] in DESIGNS:
            assert len(words) == 1 + len(columns), line
            for scenario, verdict in zip(columns, words[1:]):
                out[(words[0], scenario)] = verdict
        if re.match(r"\s+\d", line) and "✗" in line:      # a row of executions and marks
            raise AssertionError(f"README's matrix marks a cell as differing from [expect]: {line.strip()}")
    return out


def _check_readme(path: Path) -> None:
    shown = _readme_matrix(path)
    assert set(shown) == set(CELLS)          # every design and every scenario, once
    for (design, scenario), verdict in shown.items():
        # "ok≤K" and "ok?" (a search that stopped short) show no violation, so they agree with "ok"
        seen = "ok" if verdict.startswith("ok") else verdict
        assert seen == _expected(design, scenario), (design, scenario, verdict)


def test_the_readme_matrix_agrees_with_the_expectations():
    _check_readme(README)


def test_the_readme_check_can_fail(tmp_path):
    # the same parser on a copy of the README with one verdict changed finds the difference
    text = README.read_text()
    row = next(line for line in text.splitlines() if line.startswith("bypass "))
    changed = text.replace(row, row.replace("data-loss", "ok       ", 1))
    copy = tmp_path / "README.md"
    copy.write_text(changed)
    with pytest.raises(AssertionError, match="bypass"):
        _check_readme(copy)
    # and a cell the matrix run itself marked as differing from [expect]
    assert re.search(r"\d+ ✓", text)
    copy.write_text(re.sub(r"(\d+) ✓", r"\1 ✗", text, count=1))
    with pytest.raises(AssertionError, match="differing"):
        _check_readme(copy)


# --- the designs no other test looked at closely: prepare-busy, prepare-schedule, swapmap-inflight
# Their cells above are all "ok"; these tests show that the "ok" is not vacuous: the part of the
# design that differs from its neighbours runs in some explored schedule, and still nothing fails.
def _executions(design: str, scenario: str, tracing: bool = False):
    """Each execution of bounded search (up to one preemption) of the cell, run to its end."""
    from swaplab.engine import make_strategy, run_execution
    program = make_program(DESIGNS[design], get_scenario(scenario))
    strategy = make_strategy("bounded", preemptions=1)
    strategy.start(program)
    while strategy.next_execution():
        ex = run_execution(program, strategy, tracing=tracing)
        strategy.finished(ex)
        yield ex


@pytest.mark.parametrize("design,sleeps", [("prepare-busy", None), ("prepare-schedule", "schedule()"),
                                           ("prepare-sleep", "schedule_timeout_uninterruptible(1)")])
@pytest.mark.parametrize("scenario", ["two-faults", "slot-reuse"])
def test_a_prepare_racer_backs_off_the_way_its_version_says(design, sleeps, scenario):
    # 13ddaf26 v2 returns at once, v3 calls schedule(), v4 sleeps a tick: the loser of
    # swapcache_prepare backs off in some schedule, with exactly its version's sleep
    backed_off = 0
    for ex in _executions(design, scenario, tracing=True):
        assert ex.outcome is None, ex.outcome.message
        if ex.world.kernel.stats.get("backoffs"):
            backed_off += 1
            labels = [label for r in ex.trace for label in r["label"].split("; ")]
            slept = {label for label in labels if label.startswith("schedule")}
            assert slept == ({sleeps} if sleeps else set()), slept
    assert backed_off


def test_swapmap_inflight_zap_leaves_the_slot_to_the_owner():
    # dontneed-refault: zap meets a slot marked SWAP_MAP_INFLIGHT in some schedule; it becomes
    # SWAP_MAP_INFLIGHT_ZAPPED and the swap-in's owner frees it, and no schedule fails
    from swaplab.designs.swapmap import SWAP_MAP_INFLIGHT, SWAP_MAP_INFLIGHT_ZAPPED
    seen = set()
    for ex in _executions("swapmap-inflight", "dontneed-refault", tracing=True):
        assert ex.outcome is None, ex.outcome.message
        for r in ex.trace:
            for obj, _old, new in r["changes"]:
                if obj.name == "swap_map[0]" and new in (SWAP_MAP_INFLIGHT, SWAP_MAP_INFLIGHT_ZAPPED):
                    seen.add(new)
    assert seen == {SWAP_MAP_INFLIGHT, SWAP_MAP_INFLIGHT_ZAPPED}


def test_swapmap_inflight_racer_backs_off():
    # two-faults: the second faulter finds the slot in flight (count not 1 for the bypass, or
    # SWAP_MAP_INFLIGHT at the cluster lock) and backs off in some schedule; nothing fails
    backed_off = [ex.world.kernel.stats.get("backoffs", 0) for ex in _executions("swapmap-inflight", "two-faults")]
    assert max(backed_off) >= 1
