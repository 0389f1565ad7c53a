"""A user's design is untrusted code; a script needs exit codes it can trust (issue 13).

The designs under test are in tests/user_designs/spin.py: a patch that spins until the pin
clears, one that spins inside a step body, one with a Python bug, ones that kill their own
process.  Expected values come from those files (the line of the bug, the line of the loop),
from exitcodes.TABLE, and from the JSON Schemas in docs/schema/.
"""
from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from swaplab import exitcodes
from swaplab.cli import main
from swaplab.designs import DESIGNS, DesignError, get_design
from swaplab.engine import Cell, Deadline, Program, explore, minimize_outcome
from swaplab.engine.strategies import Bounded
from swaplab.report.files import atomic_path, write_atomic
from swaplab.scenarios import get_scenario
from swaplab.verify import check, check_many

ROOT = Path(__file__).resolve().parent.parent
USER = ROOT / "tests" / "user_designs" / "spin.py"
SWAPLAB = str(Path(sys.executable).with_name("swaplab"))
SCHEMA = ROOT / "docs" / "schema"


def run(*args, **kw):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False, **kw)


def line_of(text: str, path: Path = USER) -> int:
    """The line of ``text`` in a file: an expected value read from the source, not the output."""
    return next(i + 1 for i, ln in enumerate(path.read_text().splitlines()) if text in ln)


def valid(doc: dict, command: str) -> dict:
    jsonschema.validate(doc, json.loads((SCHEMA / f"{command}.json").read_text()))
    return doc


# --- time and memory ----------------------------------------------------------------------------
def test_a_spinning_design_keeps_its_time_limit_and_its_memory():
    # Before this change: `--time-limit 5` was ignored and RSS grew ~100 MB/s (the bounded
    # search copied the whole path at every step); it was killed after 60 s at 1.6 GB.
    limit = 5
    t0 = time.monotonic()
    p = subprocess.run([SWAPLAB, "check", "-d", f"{USER}:SpinUntilClear", "-s", "two-faults",
                        "--time-limit", str(limit), "--json"], capture_output=True, text=True, timeout=120)
    wall = time.monotonic() - t0
    rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert wall < 2 * limit, wall
    assert rss_kb < 1024 * 1024, rss_kb
    doc = valid(json.loads(p.stdout), "check")
    assert p.returncode == exitcodes.FOUND
    v = doc["violation"]
    assert doc["verdict"] == "step-bound" and v["thread"] in ("T0", "T1")
    # where it loops: the user's own file and the line of the loop's read
    assert v["where"] == {"file": str(USER), "line": line_of("v = yield from cell.read("),
                          "function": "swapin_backoff"}
    assert f"{USER}:{line_of('v = yield from cell.read(')}" in v["message"]


def test_the_bounded_search_keeps_one_path_per_execution_not_one_per_step():
    # Two threads of 3000 reads each: the old work list held a copy of the path for every
    # deferred switch, 3000 copies of up to 3000 entries per execution (~300 MB); shared
    # paths make it a few MB.
    def setup(w):
        c = Cell("c", 0)

        def reader():
            for _ in range(3000):
                yield from c.read()
        w.thread("a", reader())
        w.thread("b", reader())
    tracemalloc.start()
    try:
        r = explore(Program(setup, "long"), Bounded(1), max_executions=3, max_steps=10000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert r.stats.executions == 3 and not r.violations
    assert peak < 40 * 1024 * 1024, peak


def test_the_watchdog_stops_model_code_that_never_yields():
    d, s = get_design(f"{USER}:NeverYields"), get_scenario("two-faults")
    t0 = time.monotonic()
    v = check(d, s, time_limit=1.5)
    assert time.monotonic() - t0 < 3
    assert v.ok and not v.finished and exitcodes.for_verdict(v) == exitcodes.INCOMPLETE
    assert v.results[-1].stats.stopped_by == "time-limit"


def test_a_cut_minimization_is_marked_not_minimal():
    def setup(w):
        c = Cell("c", 0)

        def inc():
            v = yield from c.read()
            yield from c.write(v + 1)
        w.thread("a", inc())
        w.thread("b", inc())
        w.at_end(lambda: None if c.peek() == 2 else (_ for _ in ()).throw(
            __import__("swaplab.engine", fromlist=["Violation"]).Violation("lost-update", "lost")))
    prog = Program(setup, "lost update")
    r = explore(prog, "dfs")
    assert r.violations[0].minimal is True
    cut = minimize_outcome(prog, explore(prog, "dfs", minimize=False).violations[0], deadline=Deadline(0))
    assert cut.minimal is False


# --- design errors and names --------------------------------------------------------------------
def test_a_python_exception_in_a_design_is_a_design_error_at_its_line(tmp_path):
    r = run("check", "-d", f"{USER}:Raises", "-s", "two-faults", "--json", "--save-trace", tmp_path / "t.json")
    assert r.exit_code == exitcodes.BAD_INPUT
    doc = valid(json.loads(r.stdout), "check")
    v = doc["violation"]
    assert doc["verdict"] == "design-error" and "AttributeError" in v["message"]
    assert v["where"]["file"] == str(USER) and v["where"]["line"] == line_of("vmf.no_such_field")
    # crash stays the model's own BUG reports (Violation("crash"), as kernel/ raises for VM_BUG_ON)
    r = run("check", "-d", f"{USER}:BugOn", "-s", "two-faults", "--json")
    assert r.exit_code == exitcodes.FOUND and json.loads(r.stdout)["verdict"] == "crash"


def test_a_user_design_gets_its_own_name_never_a_builtins():
    d = get_design(f"{USER}:SpinUntilClear")
    assert d.name == "spin-until-clear" and d.name not in DESIGNS
    assert DESIGNS["prepare-sleep"].name == "prepare-sleep"
    with pytest.raises(DesignError, match=rf"{USER}:{line_of('class Named')}: .*built-in"):
        get_design(f"{USER}:Named")


def test_a_worker_that_dies_loses_its_own_cell_only():
    r = run("compare", "--designs", f"bypass,{USER}:Exits,{USER}:KillsItself", "--scenarios", "two-faults",
            "--time-limit", "10", "--jobs", "2", "--json")
    assert r.stdout, r.output
    doc = valid(json.loads(r.stdout), "compare")
    cells = {c["design"]: c for c in doc["cells"]}
    assert [c["design"] for c in doc["cells"]] == ["bypass", "exits", "kills-itself"]
    assert cells["bypass"]["verdict"] == "ok" and cells["bypass"]["coverage"] == "complete"
    assert cells["exits"]["verdict"] == "died" and "status 7" in cells["exits"]["error"]
    assert cells["kills-itself"]["verdict"] == "died" and "SIGKILL" in cells["kills-itself"]["error"]
    assert r.exit_code == exitcodes.INCOMPLETE


def test_a_worker_stuck_beyond_its_watchdog_is_killed(monkeypatch):
    import swaplab.cells as cells
    monkeypatch.setattr(cells, "GRACE_SECONDS", 0.5)       # killed 1.5 × 1 s + 0.5 s after it starts
    got = {}
    d, s = get_design(f"{USER}:BlocksAlarm"), get_scenario("two-faults")
    t0 = time.monotonic()
    check_many([(d, s)], jobs=1, on_done=lambda i, v: got.__setitem__(i, v), time_limit=1)
    assert time.monotonic() - t0 < 6
    assert got[0].status == "died" and "did not stop at the 1s time limit" in got[0].error


def test_ctrl_c_cuts_the_running_cells_and_says_so():
    # No fixed sleep: the worker itself sends the test process the SIGINT a Ctrl-C would, from
    # its first progress report (at least 0.25 s into its search, so the parent has long since
    # registered the cell and sits in its wait), and then holds its search there until it is
    # stopped.  So the Ctrl-C always finds the cell running, however loaded the machine is.
    got = {}
    parent = os.getpid()

    def ctrl_c_once_the_search_runs(stats):
        os.kill(parent, signal.SIGINT)
        time.sleep(60)                    # the parent terminates this worker long before
    d, s = DESIGNS["swapcache"], get_scenario("three-faults")
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        check_many([(d, s)], jobs=1, on_done=lambda i, v: got.__setitem__(i, v), time_limit=30,
                   progress=ctrl_c_once_the_search_runs)
    assert time.monotonic() - t0 < 10
    assert got[0].interrupted and got[0].short() == "cut" and not got[0].finished


# --- exit codes ---------------------------------------------------------------------------------
def test_the_exit_code_table_is_in_help_and_readme():
    help_text = run("--help").output
    readme = (ROOT / "README.md").read_text()
    for line in exitcodes.TABLE.splitlines()[1:6]:
        assert " ".join(line.split()) in " ".join(help_text.split()), line
        assert " ".join(line.split()) in " ".join(readme.split()), line


def test_incomplete_is_3_and_interrupted_is_130(monkeypatch):
    r = run("check", "-d", "swapcache", "-s", "three-faults", "--strategy", "stateful", "--max-executions", "5")
    assert r.exit_code == exitcodes.INCOMPLETE and "INCOMPLETE" in r.output
    r = run("check", "-d", "swapcache", "-s", "two-faults", "--strategy", "pct", "--max-executions", "5")
    assert r.exit_code == exitcodes.OK          # every sampled run asked for was made

    import swaplab.cli as cli
    real = cli.check

    def interrupted(*a, **kw):
        def stop(stats):
            raise KeyboardInterrupt
        kw["progress"] = stop
        return real(*a, **kw)
    monkeypatch.setattr(cli, "check", interrupted)
    r = run("check", "-d", "swapcache", "-s", "three-faults", "--json")
    assert r.exit_code == exitcodes.INTERRUPTED and valid(json.loads(r.stdout), "check")["interrupted"]


def test_make_run_defaults_exit_0_when_every_cell_completes():
    # compare's defaults (bounded up to 1 preemption, then stateful, 60 s) on two cells whose
    # searches complete, one with the violation its scenario expects
    r = run("compare", "--designs", "bypass", "--scenarios", "two-faults,slot-reuse")
    assert r.exit_code == exitcodes.OK, r.output


def test_an_interrupted_compare_writes_the_cells_it_has(tmp_path, monkeypatch):
    import swaplab.cli as cli
    from swaplab.verify import _cut

    def two_then_ctrl_c(pairs, *, on_done, **kw):
        on_done(0, check(*pairs[0], time_limit=5))
        on_done(1, _cut(pairs, 1))
        raise KeyboardInterrupt
    monkeypatch.setattr(cli, "check_many", two_then_ctrl_c)
    h = tmp_path / "m.html"
    r = run("compare", "--designs", "bypass", "--scenarios", "two-faults,slot-reuse,fork-vs-fault",
            "--html", h, "--json")
    assert r.exit_code == exitcodes.INTERRUPTED
    doc = valid(json.loads(r.stdout), "compare")
    assert doc["interrupted"] and doc["not_run"] == [{"design": "bypass", "scenario": "fork-vs-fault"}]
    assert [c["interrupted"] for c in doc["cells"]] == [False, True]
    text = h.read_text()
    assert ">cut<" in text and ">-</td>" in text and ">ok<" in text
    r = run("compare", "--designs", "bypass", "--scenarios", "two-faults,slot-reuse,fork-vs-fault")
    assert "cut" in r.output.splitlines()[2] and "cut: stopped by Ctrl-C" in r.output


# --- bad input ----------------------------------------------------------------------------------
def test_output_paths_are_checked_before_searching(tmp_path):
    for args in (("check", "-d", "bypass", "-s", "two-faults", "--save-trace", tmp_path / "no" / "t.json"),
                 ("compare", "--designs", "bypass", "--scenarios", "two-faults", "--html", tmp_path / "no" / "m.html"),
                 ("bench", "-w", "ui", "--designs", "bypass", "--plot", tmp_path / "no" / "deeper")):
        t0 = time.monotonic()
        r = run(*args)
        assert r.exit_code == 2 and "does not exist" in r.output and "Traceback" not in r.output
        assert time.monotonic() - t0 < 2           # refused before any search


def test_lists_durations_and_jobs_are_forgiving_or_refused_clearly():
    r = run("compare", "--designs", "bypass, swapcache,", "--scenarios", " two-faults ", "--jobs", "64",
            "--time-limit", "5", "--json")
    doc = valid(json.loads(r.stdout), "compare")
    assert [c["design"] for c in doc["cells"]] == ["bypass", "swapcache"] and r.exit_code == 0
    for bad in ("nan", "-1", "soon"):
        r = run("check", "-d", "bypass", "-s", "two-faults", "--time-limit", bad)
        assert r.exit_code == 2 and "Traceback" not in r.output and "--time-limit" in r.output


def test_bad_trace_files_are_refused_without_a_traceback(tmp_path):
    raw = tmp_path / "raw.json"
    raw.write_bytes(b"\xff\xfe{\x00")
    typed = tmp_path / "typed.json"
    typed.write_text(json.dumps({"format": "swaplab-schedule", "version": 1, "steps": "01"}))
    r = run("check", "-d", "bypass", "-s", "slot-reuse", "--save-trace", tmp_path / "ce.json")
    assert r.exit_code == 1
    saved = json.loads((tmp_path / "ce.json").read_text())
    other = tmp_path / "other.json"
    other.write_text(json.dumps(dict(saved, meta=dict(saved["meta"], scenario="three-faults"))))
    gone = tmp_path / "gone.json"
    gone.write_text(json.dumps(dict(saved, meta=dict(saved["meta"], scenario=str(tmp_path / "gone.toml")))))
    for f, says in ((raw, "not UTF-8"), (typed, '"steps" must be'), (other, "saved for threads T0, T1"),
                    (gone, "saved scenario cannot be loaded"), (tmp_path, "is a directory"),
                    (tmp_path / "absent.json", "cannot read")):
        r = run("replay", f)
        assert r.exit_code == 2 and says in r.output and "Traceback" not in r.output, (f, r.output)


def test_save_trace_is_absolute_and_never_stale(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    f = tmp_path / "t.json"
    r = run("check", "-d", "tests/user_designs/spin.py:Raises", "-s", "two-faults", "--save-trace", f)
    assert r.exit_code == 2
    meta = json.loads(f.read_text())["meta"]
    assert meta["design"] == f"{USER}:Raises" and meta["scenario"] == "two-faults"
    monkeypatch.chdir(tmp_path)
    r = run("replay", f, "--json")
    assert valid(json.loads(r.stdout), "replay")["outcome"]["kind"] == "design-error" and r.exit_code == 2
    r = run("check", "-d", "swapcache", "-s", "two-faults", "--save-trace", f)
    assert r.exit_code == 0 and "no violation" in r.output and not f.exists()


def test_an_expect_for_an_unknown_design_is_an_error_at_its_line(tmp_path):
    text = (ROOT / "src/swaplab/scenarios/two-faults.toml").read_text()
    sc = tmp_path / "s.toml"
    sc.write_text(text + ("" if "[expect]" in text else "\n[expect]\n") + 'bypas = "ok"\n')
    r = run("compare", "--designs", "bypass", "--scenarios", sc)
    assert r.exit_code == 2 and f"{sc}:{line_of('bypas =', sc)}:" in r.output and "'bypas'" in r.output
    # a user design's own name is a design too
    sc.write_text(text + ("" if "[expect]" in text else "\n[expect]\n") + 'spin-until-clear = "step-bound"\n')
    r = run("compare", "--designs", f"{USER}:SpinUntilClear", "--scenarios", sc, "--time-limit", "3")
    assert r.exit_code == 0, r.output


def test_an_unknown_table_in_costs_is_an_error_at_its_line(tmp_path):
    c = tmp_path / "c.toml"
    c.write_text("# my costs\n[costs]\nread = 5\n[timeing]\nhz = 100\n")
    r = run("bench", "-w", "ui", "--designs", "bypass", "--costs", c)
    assert r.exit_code == 2 and f"{c}:4: unknown table or key 'timeing'" in r.output


# --- files --------------------------------------------------------------------------------------
@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_result_files_get_the_users_umask(tmp_path, mask):
    old = os.umask(mask)
    try:
        write_atomic(tmp_path / "f.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o666 & ~mask


def test_a_failed_atomic_write_leaves_the_old_file(tmp_path):
    p = tmp_path / "plot.png"
    p.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(p) as tmp:
            Path(tmp).write_text("half")
            raise RuntimeError("savefig failed")
    assert p.read_text() == "old" and os.listdir(tmp_path) == ["plot.png"]


def test_bench_json_says_interrupted_and_plots_are_atomic(tmp_path, monkeypatch):
    import swaplab.sim.bench as bench
    real = bench.run_bench
    calls = []

    def second_is_ctrl_c(*a, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*a, **kw)
    r = run("bench", "-w", "sequential-swapin", "--designs", "bypass", "--json", "--plot", tmp_path / "p")
    calls.append(1)          # so that the next run's first workload is Ctrl-C
    assert r.exit_code == 0 and not valid(json.loads(r.stdout), "bench")["interrupted"]
    assert sorted(os.listdir(tmp_path / "p")) == sorted(f"sequential-swapin-{k}.{e}" for k in
                                                        ("latency-cdf", "throughput") for e in ("png", "svg"))
    monkeypatch.setattr(bench, "run_bench", second_is_ctrl_c)
    r = run("bench", "-w", "sequential-swapin", "-w", "ui", "--designs", "bypass", "--json")
    doc = valid(json.loads(r.stdout), "bench")
    assert r.exit_code == exitcodes.INTERRUPTED and doc["interrupted"] and doc["workloads"] == {}


# --- JSON ---------------------------------------------------------------------------------------
def test_json_documents_match_their_schemas_and_share_their_parts(tmp_path):
    f = tmp_path / "ce.json"
    r = run("check", "-d", "bypass", "-s", "slot-reuse", "--json", "--save-trace", f)
    doc = valid(json.loads(r.stdout), "check")
    assert doc["violation"]["minimal"] and doc["violation"]["schedule"]["steps"]
    doc = valid(json.loads(run("check", "-d", "swapcache", "-s", "two-faults", "--json").stdout), "check")
    assert doc["violation"] is None                      # present, null when ok
    valid(json.loads(run("replay", f, "--json").stdout), "replay")
    valid(json.loads(run("replay", f, "--design", "prepare-sleep", "--json").stdout), "replay")
    check_s, compare_s = (json.loads((SCHEMA / f"{c}.json").read_text()) for c in ("check", "compare"))
    for part in ("search", "violation", "schedule"):
        assert check_s["$defs"][part] == compare_s["$defs"][part], part
    props = dict(check_s["properties"])
    del props["trace"]
    assert {k: v for k, v in compare_s["$defs"]["cell"]["properties"].items() if k != "expected"} == props
    for name in ("check", "compare", "replay", "bench"):
        jsonschema.Draft202012Validator.check_schema(json.loads((SCHEMA / f"{name}.json").read_text()))
