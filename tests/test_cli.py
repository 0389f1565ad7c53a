"""The command line: exit status, JSON, saved schedules, replay, compare, bad input."""
from __future__ import annotations

import json
import runpy
from pathlib import Path

from click.testing import CliRunner

from swaplab.cli import main

# The scenario examples/test_my_design.py writes inline (the example stays self-contained for
# users; the tests take its text rather than a copy of it).
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "test_my_design.py"
SLOT_REUSE = runpy.run_path(str(EXAMPLE))["SLOT_REUSE"]


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_lists():
    r = run("designs")
    assert r.exit_code == 0 and "pte-marker" in r.output and "swapcache-sync" in r.output
    r = run("scenarios", "--json")
    assert r.exit_code == 0 and {"slot-reuse", "two-faults"} <= {s["name"] for s in json.loads(r.output)}


def test_check_finds_the_bypass_race_and_prints_cpu_columns(tmp_path):
    f = tmp_path / "ce.json"
    r = run("check", "--design", "bypass", "--scenario", "slot-reuse", "--save-trace", str(f))
    assert r.exit_code == 1
    assert "VIOLATION: data-loss" in r.output
    assert "CPU0 (T0)" in r.output and "CPU1 (T1)" in r.output
    assert "pte_same passes" in r.output
    doc = json.loads(f.read_text())
    assert doc["meta"]["design"] == "bypass" and doc["meta"]["verdict"] == "data-loss"
    # replay under the same design reproduces it; under the merged fix it diverges, and says where
    r = run("replay", str(f))
    assert r.exit_code == 1 and "=> data-loss" in r.output
    r = run("replay", str(f), "--design", "prepare-sleep", "--json")
    out = json.loads(r.output)
    assert out["divergence"] and out["outcome"] is None and r.exit_code == 0


def test_check_ok_and_json():
    r = run("check", "-d", "swapcache", "-s", "two-faults", "--json")
    assert r.exit_code == 0
    doc = json.loads(r.output)
    assert doc["verdict"] == "ok" and doc["coverage"] == "complete" and doc["executions"] > 0


def test_bad_input_exits_2_with_a_clear_message(tmp_path):
    r = run("check", "-d", "nope", "-s", "two-faults")
    assert r.exit_code == 2 and "no design 'nope'" in r.output
    bad = tmp_path / "bad.toml"
    bad.write_text("[device]\nslots = 'x'\n")
    r = run("check", "-d", "bypass", "-s", str(bad))
    assert r.exit_code == 2 and f"{bad}:2:" in r.output
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    r = run("replay", str(junk))
    assert r.exit_code == 2 and "not valid JSON" in r.output
    r = run("check", "-d", "bypass", "-s", "two-faults", "--strategy", "magic")
    assert r.exit_code == 2


def test_compare_subset_with_html(tmp_path):
    h = tmp_path / "m.html"
    r = run("compare", "--designs", "bypass,prepare-sleep", "--scenarios", "slot-reuse", "--html", str(h),
            "--time-limit", "3", "--jobs", "2")
    assert r.exit_code == 0, r.output          # both verdicts are as the scenario expects
    assert "data-loss" in r.output and "bypass on slot-reuse: data-loss" in r.output
    text = h.read_text()
    assert text.startswith("<!doctype html>") and "<script src" not in text   # self-contained


def test_compare_json_reports_a_differing_expectation(tmp_path):
    sc = tmp_path / "s.toml"
    sc.write_text(SLOT_REUSE + '[expect]\nbypass = "ok"\n')     # the example's race, a wrong expectation
    r = run("compare", "--designs", "bypass", "--scenarios", str(sc), "--json")
    assert r.exit_code == 1
    doc = json.loads(r.output)
    assert doc["mismatches"][0]["found"] == "data-loss"
