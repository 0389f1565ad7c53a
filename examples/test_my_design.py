"""How a kernel developer tests a patch with swaplab in their own pytest file.

The patch under test is examples/pte_marker_pinned.py (the seed proposal's PTE marker, installed
only if the slot is still as the fault saw it).  The suite runs this file; run it alone with

    .venv/bin/python -m pytest examples/test_my_design.py

Set SWAPLAB_REPORT_DIR=some/dir to get, for each failing assertion, an HTML report with a
step-through view of the counterexample.
"""
from pathlib import Path

import pytest

from swaplab.testing import assert_safe, assert_violates, load_design, scenario_from_toml

# A design from a file, as `swaplab check -d file.py:Class` takes it (a class imported the usual
# way works as well).
MyDesign = load_design(f"{Path(__file__).with_name('pte_marker_pinned.py')}:PteMarkerPinned")

# A scenario written next to the test: one page, one swap slot, a fault racing a full
# swap-in/write/swap-out cycle of the same page (docs/scenarios.md has the format).
SLOT_REUSE = """
name = "my-slot-reuse"
[device]
slots = 1
[[mm]]
name = "A"
pages = [{ state = "swapped", value = 1 }]
[[thread]]
ops = ["read 0"]
[[thread]]
ops = ["write 0 2", "pageout 0"]
"""


@pytest.mark.parametrize("scenario", ["two-faults", "fork-vs-fault"])
def test_my_design_is_safe_on_built_in_scenarios(scenario):
    verdict = assert_safe(MyDesign, scenario)          # every interleaving explored, no violation
    assert verdict.complete == "complete"


def test_the_code_before_the_fix_loses_data_on_my_scenario():
    # the cache bypass of v4.15-v6.7 and the race 13ddaf26 fixed: one preemption suffices
    verdict = assert_violates("bypass", scenario_from_toml(SLOT_REUSE), "data-loss")
    assert verdict.violation.preemptions == 1
