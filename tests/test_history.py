"""The history gallery (designs/history, scenarios/history, docs/history.md).

Where the expected verdicts come from: each gallery entry is a commit that fixed a race, and
its message says what the race does (quoted in each design's docstring):
- 4969c1192d15: a swap-cache page freed from the cache under a fault's pin gets mapped again
  (data-loss once the slot is reused for newer data);
- eb085574a752 and 2799e77529c2: swapoff frees the device (swap_map, the swap cache, the
  swap file) under a swap-in: a use-after-free ("NULL pointer access", "oops");
- 5df373e95689 and e914d8f00391: zram's copy is freed while another fault still reads it
  through the cache-bypassing path: "zram gives a zero filled page" (data-loss);
- 13ddaf26be32: the bypass maps stale data after the slot is reused (data-loss).
The fixed design of each entry must pass the same scenario.  A bug must be found with one
preemption (every one of these races needs only one: the fault is preempted once while the
other thread runs its whole operation).
"""
from __future__ import annotations

import inspect
import json

import pytest
from click.testing import CliRunner

from swaplab.cli import main
from swaplab.designs import ALL_DESIGNS, DESIGNS, KINDS, get_design
from swaplab.designs.history import GALLERY, HISTORIC, gallery_cells
from swaplab.scenarios import builtin_names, get_scenario, history_names
from swaplab.verify import check


def test_every_design_has_its_own_kind():
    for name, cls in ALL_DESIGNS.items():
        assert "kind" in vars(cls), f"{name} inherits its kind"
        assert cls.kind in KINDS, f"{name}: kind {cls.kind!r}"
    assert {d.kind for d in HISTORIC} == {"historic-bug"}
    r = CliRunner().invoke(main, ["designs", "--json"], catch_exceptions=False)
    listed = {d["name"]: d["kind"] for d in json.loads(r.output)}
    assert listed == {n: c.kind for n, c in ALL_DESIGNS.items()}


def test_the_gallery_is_out_of_the_default_matrix():
    # `swaplab compare` (make run) keeps its designs and scenarios; the gallery has its own
    assert not set(d.name for d in HISTORIC) & set(DESIGNS)
    assert not set(history_names()) & set(builtin_names())


def test_entries_are_consistent_with_designs_and_scenarios():
    buggy = set()
    for e in GALLERY:
        assert len(e.commit) == 12 and int(e.commit, 16) >= 0
        b, f = get_design(e.buggy), get_design(e.fixed)
        assert b.kind == "historic-bug"
        buggy.add(e.buggy)
        # the pre-fix design's source cites the fix commit
        assert e.commit[:8] in inspect.getsource(inspect.getmodule(b)), e.buggy
        for s in e.scenarios:
            expect = get_scenario(s).expect
            # a scenario's [expect], where it names these designs, says the same as the entry
            assert expect.get(e.buggy, e.violation) == e.violation, (s, e.buggy)
            assert expect.get(e.fixed, "ok") == "ok", (s, e.fixed)
    assert {d.name for d in HISTORIC} <= buggy, "a historic design outside the gallery"
    assert len(GALLERY) >= 6


@pytest.mark.parametrize("entry", GALLERY, ids=lambda e: e.commit)
def test_the_bug_is_found_with_one_preemption(entry):
    for s in entry.scenarios:
        v = check(get_design(entry.buggy), get_scenario(s), strategy="bounded", preemptions=1,
                  max_executions=5000)
        assert v.status == entry.violation, (s, v.status, v.violation and v.violation.message)
        # and not without a preemption: it is a race, not a sequential bug
        v0 = check(get_design(entry.buggy), get_scenario(s), strategy="bounded", preemptions=0,
                   max_executions=5000)
        assert v0.ok and v0.complete == "bound 0", (s, v0.status)


@pytest.mark.parametrize("entry", GALLERY, ids=lambda e: e.commit)
def test_the_fix_passes_every_interleaving(entry):
    # stateful DPOR run to completion: every interleaving of the catching scenario, no violation
    # (about 13 to 400 executions each; 20000 is far above any of them)
    for s in entry.scenarios:
        v = check(get_design(entry.fixed), get_scenario(s), strategy="stateful", max_executions=20000)
        assert v.ok, (s, v.violation and v.violation.message)
        assert v.complete == "complete", (s, v.complete)


def test_compare_history_runs_the_gallery_and_reports_each_cell(monkeypatch):
    # the command's plumbing, with the searches replaced by their expected answers: that the
    # searches give those answers is what the two tests above check
    from swaplab import cli
    from swaplab.verify import Verdict

    def fake(pairs, jobs, on_done, **kw):
        for i, (d, s) in enumerate(pairs):
            want = next(w for e, dn, sn, w in gallery_cells() if dn == d.name and sn == s.name)
            on_done(i, Verdict(d.name, s.name, want, "complete" if want == "ok" else "n/a"))
    monkeypatch.setattr(cli, "check_many", fake)
    r = CliRunner().invoke(main, ["compare", "--history", "--json"], catch_exceptions=False)
    doc = json.loads(r.output)
    assert r.exit_code == 0 and not doc["mismatches"]
    assert len(doc["cells"]) == len(gallery_cells()) == 2 * sum(len(e.scenarios) for e in GALLERY)
    # a pre-fix design that passes is a mismatch, and the exit status says so
    monkeypatch.setattr(cli, "check_many", lambda pairs, jobs, on_done, **kw: [
        on_done(i, Verdict(d.name, s.name, "ok", "complete")) for i, (d, s) in enumerate(pairs)])
    r = CliRunner().invoke(main, ["compare", "--history"], catch_exceptions=False)
    assert r.exit_code == 1 and f"{len(GALLERY)} differ from the expected verdict" in r.output
    r = CliRunner().invoke(main, ["compare", "--history", "--designs", "bypass"])
    assert r.exit_code == 2 and "--history runs the gallery" in r.output


def test_docs_tell_every_entry_with_the_command_that_printed_its_trace():
    from pathlib import Path
    doc = (Path(__file__).parent.parent / "docs" / "history.md").read_text()
    for e in GALLERY:
        assert f"## {e.commit}" in doc, e.commit
        for s in e.scenarios:
            assert f"`swaplab check -d {e.buggy} -s {s}`" in doc, (e.commit, s)
