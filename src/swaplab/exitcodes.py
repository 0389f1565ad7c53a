"""The exit status of every swaplab command: one table, for scripts to branch on.

When several apply, the first in the table's order wins (an interrupted run with a violation
exits 130; a design error beside a violation exits 2).  The same table is in README.md and in
``swaplab --help``; tests/test_robust.py checks both quote it.
"""
from __future__ import annotations

OK = 0            # every search complete (or at the bound asked for) and as expected
FOUND = 1         # a violation (check, replay) or a verdict that differs from [expect] (compare)
BAD_INPUT = 2     # bad input (the message names the file, the line and the fix) or a design error
INCOMPLETE = 3    # a search did not finish (time limit, execution budget, a worker died), no violation
INTERRUPTED = 130  # Ctrl-C: what was found so far is reported

TABLE = """\
exit status:
  0    every search complete (or complete up to the bound asked for) and as expected
  1    a violation (compare: a verdict that differs from the scenario's [expect])
  2    bad input or a design error (a Python exception in the design's own code)
  3    a search incomplete (time limit, execution budget, a dead worker), no violation
  130  interrupted (Ctrl-C); what was found so far is still reported
Nothing interrupted or incomplete exits 0.  When several apply: 130, then 2, 1, 3."""


def for_verdict(v) -> int:
    """``check``: one verdict."""
    return for_cells([v], mismatches=not v.ok and v.found)


def for_cells(verdicts, *, mismatches: bool, interrupted: bool = False) -> int:
    """``compare`` (and ``check``, one cell): ``mismatches`` says whether a verdict differs
    from what was expected (for ``check``: whether a violation was found)."""
    verdicts = list(verdicts)
    if interrupted or any(v.interrupted for v in verdicts):
        return INTERRUPTED
    if any(v.status == "design-error" for v in verdicts):
        return BAD_INPUT
    if mismatches:
        return FOUND
    if any(not v.finished for v in verdicts):
        return INCOMPLETE
    return OK
