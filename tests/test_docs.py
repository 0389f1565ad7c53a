"""Docs that cannot drift: every block of README.md and docs/*.md that quotes a command's output
still matches what the command prints (report/docblocks.py says how exactly), and the checker
itself fails on the changes it is meant to catch."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from swaplab.report.docblocks import blocks, check_block, compare_exact, compare_format, main, rewrite

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_every_quoted_block_matches_its_command():
    found = [b for f in DOCS for b in blocks(f)]
    # the README's matrix, counterexample and bench table, and engine.md's worked example
    assert {b.cmd for b in found} >= {"swaplab compare", "swaplab check -d bypass -s slot-reuse",
                                      "swaplab bench -w ui --plot docs/img", "python examples/lost_update.py"}
    problems = [p for b in found if (p := check_block(b, ROOT))]
    assert not problems, "\n".join(problems)


TABLE = """\
workload ui  (HZ=250, 4 CPUs)
design        faults      p50  outcome
bypass           800      7.3  ok
prepare-sleep    100   4000.2  ok
notes: 12 of 12 in 3.5s"""


def test_format_check_accepts_new_figures_and_refuses_a_new_layout():
    same_format = "workload ui  (HZ=250, 4 CPUs)\ndesign        faults      p50  outcome\nbypass            80     17.25  ok"
    assert compare_format(TABLE, same_format) is None
    moved_column = "workload ui  (HZ=250, 4 CPUs)\ndesign      faults      p50  outcome\nbypass  800  7.3  ok"
    assert "heading" in compare_format(TABLE, moved_column)
    renamed_row = same_format.replace("bypass", "bypass-v2")
    assert "no counterpart" in compare_format(TABLE, renamed_row)
    other_verdict = same_format.replace("  ok", "  crash")
    assert "no counterpart" in compare_format(TABLE, other_verdict)


def test_exact_check_ignores_durations_only():
    assert compare_exact("explored 8 executions (0.05s)", "explored 8 executions (1.72s)") is None
    assert "differs" in compare_exact("explored 8 executions (0.05s)", "explored 9 executions (0.05s)")
    assert "lines" in compare_exact("a\nb", "a")


def test_rewrite_runs_the_command_and_keeps_the_markers(tmp_path):
    doc = tmp_path / "d.md"
    cmd = f"{sys.executable} -c 'print(1); print(2); print(3)'"
    doc.write_text(f"intro\n<!-- swaplab:begin cmd=\"{cmd}\" stop=\"^2\" -->\n```\nold\n```\n<!-- swaplab:end -->\nend\n")
    (b,) = blocks(doc)
    assert "differs" in check_block(b, tmp_path)
    assert rewrite(doc, tmp_path, log=lambda *_: None) == 1
    assert doc.read_text() == (f"intro\n<!-- swaplab:begin cmd=\"{cmd}\" stop=\"^2\" -->\n```\n1\n2\n```\n"
                               "<!-- swaplab:end -->\nend\n")
    (b,) = blocks(doc)
    assert check_block(b, tmp_path) is None
    assert main(["--check", str(doc), "--root", str(tmp_path)]) == 0


def test_bad_markers_are_reported_with_file_and_line(tmp_path):
    doc = tmp_path / "d.md"
    doc.write_text("x\n\n<!-- swaplab:begin cmd=\"swaplab compare\" expensive=\"yes\" -->\n```\n```\n<!-- swaplab:end -->\n")
    with pytest.raises(Exception, match=rf"{doc}:3: an expensive block needs fast="):
        blocks(doc)
