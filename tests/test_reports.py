"""HTML and Perfetto reports, without a browser: what they contain and how it is shaped.

Expected values are derived from the execution itself (the replayed trace and the snapshots
taken after each step), never copied from a previous output."""
from __future__ import annotations

import json
import re
from collections import defaultdict

import pytest
from click.testing import CliRunner

from swaplab.cli import main
from swaplab.designs import get_design
from swaplab.engine import Cell, Program, Schedule, SpinLock, check, explore, replay
from swaplab.kernel import make_program
from swaplab.report.perfetto import from_execution, trace_json
from swaplab.report.states import walk
from swaplab.scenarios import get_scenario


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def bypass_ce(tmp_path_factory):
    """bypass × slot-reuse, checked once: the saved schedule, the HTML and the Perfetto trace."""
    tmp = tmp_path_factory.mktemp("ce")
    ce, page, pf = tmp / "ce.json", tmp / "c.html", tmp / "c.json"
    r = run("check", "-d", "bypass", "-s", "slot-reuse", "--save-trace", str(ce), "--html", str(page),
            "--perfetto", str(pf))
    assert r.exit_code == 1 and f"HTML written to {page}" in r.output
    return Schedule.loads(ce.read_text()), page.read_text(), json.loads(pf.read_text())


EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*['"]?(?:https?:|//)|@import|url\(""", re.I)


def _walkdata(text):
    return [json.loads(m) for m in re.findall(r"<script type='application/json' class='walkdata'>(.*?)</script>",
                                                text, re.S)]


def test_check_html_is_self_contained_and_carries_every_step(bypass_ce):
    sched, text, _ = bypass_ce
    assert text.startswith("<!doctype html>") and not EXTERNAL.search(text)
    assert "Legend" in text and "Designs" in text and "Scenarios" in text
    assert get_scenario("slot-reuse").description in text and get_design("bypass").summary in text
    (data,) = _walkdata(text)
    w = walk(make_program(get_design("bypass"), get_scenario("slot-reuse")), sched)
    assert len(data["steps"]) == len(sched) == len(w.steps) and data["threads"] == ["T0", "T1"]
    # the deltas rebuild every state the replay pictured
    state = dict(data["initial"])
    for i, delta in enumerate(data["deltas"]):
        state.update(delta)
        assert state == w.states[i]
    assert data["outcome"].startswith("data-loss")
    # the sections a kernel reader looks for are all there
    sections = {v[0] for v in data["layout"].values()}
    assert {"PTEs", "swap slots", "folios", "locks"} <= sections
    assert data["layout"]["A.pte[0]"] == ["PTEs", "A", "0"] and data["layout"]["A.ptl"][0] == "locks"


def test_walk_snapshots_follow_the_trace():
    """Every change the traced execution records for a step is in the picture after it."""
    d, s = get_design("bypass"), get_scenario("slot-reuse")
    v = check_cell(d, s)
    prog = make_program(d, s)
    w = walk(prog, v.violation.schedule)
    ex, _ = replay(prog, v.violation.schedule)
    assert len(w.states) == len(ex.trace)
    for i, rec in enumerate(ex.trace):
        for obj, _old, _new in rec["changes"]:
            if isinstance(obj, Cell):
                assert obj.name in w.changed(i), (i, obj.name)
    # and a step that changes nothing highlights nothing
    quiet = [i for i, rec in enumerate(ex.trace) if not rec["changes"]]
    assert quiet and all(not w.changed(i) for i in quiet)


def check_cell(d, s):
    from swaplab.verify import check as verify
    return verify(d, s)


def test_compare_html_links_each_violating_cell(tmp_path):
    page = tmp_path / "m.html"
    r = run("compare", "--designs", "bypass", "--scenarios", "slot-reuse,dontneed-refault,two-faults", "--jobs", "1",
            "--time-limit", "5", "--html", str(page))
    text = page.read_text()
    assert r.exit_code in (0, 1) and not EXTERNAL.search(text)
    links = re.findall(r"<td class='bad[^']*'[^>]*><a href='#(ce-[^']+)'>", text)
    sections = re.findall(r"<section class='walk' id='(ce-[^']+)'", text)
    assert len(links) == 2 and sorted(links) == sorted(sections)   # one counterexample per violating cell
    bad_cells = len(re.findall(r"<td class='bad", text))
    assert bad_cells == len(links)


def test_replay_html_and_perfetto_under_another_design(bypass_ce, tmp_path):
    """The bypass counterexample replayed under the merged fix stops where T1 backs off
    (docs/findings.md); the page and the trace show the replay up to there."""
    sched, _, _ = bypass_ce
    ce, page, pf = tmp_path / "ce.json", tmp_path / "r.html", tmp_path / "r.json"
    ce.write_text(sched.dumps())
    r = run("replay", str(ce), "--design", "prepare-sleep", "--html", str(page), "--perfetto", str(pf))
    assert r.exit_code == 0 and "diverges" in r.output
    (data,) = _walkdata(page.read_text())
    assert data["outcome"] is None and data["divergence"] and 0 < len(data["steps"]) < len(sched)
    doc = json.loads(pf.read_text())
    steps = [e for e in doc["traceEvents"] if e.get("cat") == "step"]
    assert len(steps) == len(data["steps"])
    assert any("diverges" in n for n in doc["otherData"]["runs"][0]["notes"])


def test_no_counterexample_no_perfetto_file(tmp_path):
    pf = tmp_path / "t.json"
    r = CliRunner().invoke(main, ["check", "-d", "swapcache", "-s", "fork-vs-fault",
                                 "--perfetto", str(pf)])
    assert r.exit_code == 0 and not pf.exists() and "no counterexample" in r.stderr


# --- Perfetto ----------------------------------------------------------------------------------

def _check_trace_structure(doc):
    """The rules Perfetto and chrome://tracing rely on; returns events by phase."""
    assert set(doc) >= {"traceEvents", "displayTimeUnit"}
    ev = doc["traceEvents"]
    by = defaultdict(list)
    for e in ev:
        assert {"ph", "pid", "tid", "name"} <= set(e), e
        by[e["ph"]].append(e)
        if e["ph"] != "M":
            assert isinstance(e["ts"], (int, float)) and e["ts"] >= 0
        if e["ph"] == "X":
            assert e["dur"] >= 0
    # per track, events in time order; slices on a track nest (never partly overlap)
    tracks = defaultdict(list)
    for e in ev:
        if e["ph"] != "M":
            tracks[(e["pid"], e["tid"])].append(e)
    for key, es in tracks.items():
        ts = [e["ts"] for e in es]
        assert ts == sorted(ts), key
        stack = []
        for e in (x for x in es if x["ph"] == "X"):
            end = e["ts"] + e["dur"]
            while stack and stack[-1] <= e["ts"] + 1e-9 and not (e["dur"] == 0 and stack[-1] >= e["ts"] - 1e-9):
                stack.pop()                    # (times are µs with ns digits: allow float rounding)
            assert not stack or end <= stack[-1] + 1e-9, (key, e)
            stack.append(end)
    # flows come in pairs: one start and one finish per id, the finish not before the start
    flows = defaultdict(dict)
    for e in by["s"] + by["f"]:
        assert e["ph"] not in flows[e["id"]]
        flows[e["id"]][e["ph"]] = e
    for fid, pair in flows.items():
        assert set(pair) == {"s", "f"}, fid
        assert pair["s"]["ts"] <= pair["f"]["ts"] and pair["s"]["tid"] != pair["f"]["tid"]
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in by["M"] if e["name"] == "thread_name"}
    assert all(k in names for k in tracks)                   # every track is named
    return by


def test_check_perfetto_trace(bypass_ce):
    sched, _, doc = bypass_ce
    by = _check_trace_structure(doc)
    names = {e["args"]["name"] for e in by["M"] if e["name"] == "thread_name"}
    assert names == {"CPU0 (T0)", "CPU1 (T1)"}
    fns = {e["name"] for e in by["X"] if e["cat"] == "kernel"}
    assert {"do_swap_page", "swap_read_folio", "swapin_skip_swapcache"} <= fns
    steps = [e for e in by["X"] if e["cat"] == "step"]
    assert len(steps) == len(sched)
    # step i runs from i to i+1 µs, on the track of the thread the schedule names
    for e in steps:
        i = int(e["ts"])
        assert e["dur"] == 1 and sched.steps[i] == e["tid"]
    assert any(e["args"]["object"] == "A.pte[0]" for e in by["i"])


def test_perfetto_flows_pair_each_lock_hand_off():
    """Two threads take one lock in turn: each release followed by the other's acquire is one
    flow (the expected count is derived from the schedule, not from the output)."""
    def prog(world):
        lock = SpinLock("L")
        x = Cell("x", 0)

        def t():
            for _ in range(2):
                yield from lock.lock()
                v = yield from x.read()
                yield from x.write(v + 1)
                yield from lock.unlock()
        world.thread("A", t())
        world.thread("B", t())
        world.at_end(lambda: check(x.peek() == 4, "lost", "lost"))

    program = Program(prog, "handoff")
    # A, B, A, B: each critical section (4 steps) runs whole, threads alternate
    sched = Schedule(steps=[0] * 4 + [1] * 4 + [0] * 4 + [1] * 4)
    ex, div = replay(program, sched)
    assert div is None and ex.outcome is None
    doc = json.loads(trace_json([from_execution(ex, "handoff")]))
    by = _check_trace_structure(doc)
    assert len(by["s"]) == len(by["f"]) == 3          # A→B, B→A, A→B
    assert [e["tid"] for e in sorted(by["f"], key=lambda e: e["ts"])] == [1, 0, 1]
    # the same thread taking the lock again is no hand-off
    sched2 = Schedule(steps=[0] * 8 + [1] * 8)
    ex2, _ = replay(program, sched2)
    by2 = _check_trace_structure(json.loads(trace_json([from_execution(ex2, "no-handoff")])))
    assert len(by2["s"]) == 1
    assert explore(program, "dpor").violations == []


def test_bench_perfetto_uses_the_simulated_clock(tmp_path):
    pf = tmp_path / "b.json"
    r = run("bench", "-w", "sequential-swapin", "--designs", "bypass", "--perfetto", str(pf))
    assert r.exit_code == 0, r.output
    doc = json.loads(pf.read_text())
    by = _check_trace_structure(doc)
    (meta,) = doc["otherData"]["runs"]
    assert meta["name"] == "sequential-swapin × bypass" and "simulated" in meta["time"]
    steps = [e for e in by["X"] if e["cat"] == "step"]
    assert steps and len(steps) == meta["steps"] <= 20000
    # sequential-swapin's zram reads cost zram_read ns each in sim/costs.toml
    from swaplab.sim.costs import load_costs
    zram = load_costs(None).of("zram_read") / 1000
    assert any(abs(e["dur"] - zram) < 1e-6 for e in steps if "swap_read_folio" in e["args"]["label"])
