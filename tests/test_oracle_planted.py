"""Every check of the oracle against a bug planted for it (tests/planted.py).

For each check — the data check on every load (kernel/memory.py cpu_access) and each check at
the end of a run (kernel/oracle.py) — a planted bug and a tiny scenario that check catches, with
the exact violation kind and message; and the same run with that check switched off (its
``raise`` removed from the model's source), which must then miss the bug.  So each test below
fails if its check is disabled, and "only that check catches it" is itself tested.

Three checks cannot be the only one to see anything, and the table says which check takes
over when they are off: a swap PTE whose slot is free also holds data that was discarded (the
value check reports it, with a vaguer message); a PTE left holding a non-swap entry gives its
page no value at all (the value check again); and after swapoff a swap PTE reads as zero, which
no page of a valid scenario holds (the loader insists on non-zero values, for this reason), so
the value check after swapoff sees it too.  They are kept for their clearer verdicts.
"""
from __future__ import annotations

import ast
import inspect

import pytest

import planted as P
from swaplab.engine import explore
from swaplab.kernel import Kernel, make_program
from swaplab.kernel import memory as memory_module
from swaplab.kernel import model as model_module
from swaplab.kernel import oracle as oracle_module
from swaplab.scenarios import parse_scenario

PRESENT = '{ state = "present", value = 1 }'

# How each check is switched off: (fragments of its raise statements' source, the function
# they are in, how many raises that is).  "load" is cpu_access's check, the rest the oracle's.
OFF = {
    "load": None,
    "value": (["in {where}, but the last value"], "check_final_state", 1),
    "free-slot": (["is free: the page"], "check_final_state", 1),
    "leftover-pte": (["still holds {pte}"], "check_final_state", 1),
    "outlives-vma": (["outlives its VMA"], "check_final_state", 1),
    "swap-count": (["PTE(s) refer to slot"], "check_final_state", 1),
    "has-cache": (["pinned by nobody", "folio for it"], "check_final_state", 2),
    "inuse-pages": (["si->inuse_pages"], "check_final_state", 1),
    "parked-twice": (["freed twice"], "check_final_state", 1),
    "parked-in-use": (["was handed out"], "check_final_state", 1),
    "locked": (["is still locked"], "_check_folios", 1),
    "pg-swapcache": (["has PG_swapcache"], "_check_folios", 1),
    "mapcount": (["mapcount is"], "_check_folios", 1),
    "refcount": (["refcount is"], "_check_folios", 1),
    "never-freed": (["never freed"], "_check_folios", 1),
    "stale-mapping": (["copy-on-write is broken"], "_check_folios", 1),
    "swapoff-swap-pte": (["points into the removed device"], "_check_after_swapoff", 1),
    "swapoff-value": (["holds {_show(v)}, but the last value"], "_check_after_swapoff", 1),
    "swapoff-locked": (["is still locked"], "_check_after_swapoff", 1),
    "poisoned": (["no read of the device failed"], "_check_poisoned", 1),
}

# (check, planted design, scenario, kind, message fragment, what the run finds with the check
# off: None = nothing at all, else (kind, fragment) of the check that takes over)
CASES = [
    # the load returns the wrong value; the store after it hides the damage from the end check
    ("load", P.ReadsWrongData, P.one_thread(["read 0", "write 0 5"]),
     "data-loss", "A: a load of page 0 returned 101 but the last value stored there was 1", None),
    # wrong data in the swap cache (WILLNEED) or on the device (writeback), never loaded again
    ("value", P.ReadsWrongData, P.one_thread(["willneed 0"]),
     "data-loss", "A: page 0 holds 101 in folio#1 (swap cache, slot 0), but the last value written there was 1",
     None),
    ("value", P.WritesStaleData, P.one_thread(["write 0 2", "pageout 0"]),
     "data-loss", "A: page 0 holds 1 in swap slot 0, but the last value written there was 2", None),
    ("free-slot", P.UnmapForgetsSwapDuplicate, P.one_thread(["pageout 0"], PRESENT),
     "data-loss", "A.pte[0] = swp(offset 0, excl), but swap slot 0 is free: the page's data is gone",
     ("data-loss", "holds garbage from a discarded zram slot in swap slot 0")),
    ("leftover-pte", P.UnmapLeavesMigrationEntry, P.one_thread(["pageout 0"], PRESENT),
     "leak", "A.pte[0] still holds migration(folio#1) after every thread finished",
     ("data-loss", "page 0 holds None in None")),
    # without the check the dead VMA's entries count as references: every count balances
    ("outlives-vma", P.MunmapForgetsZap, P.one_thread(["munmap 0"]),
     "leak", "A.pte[0] = swp(offset 0, excl) outlives its VMA: munmap did not zap it", None),
    ("outlives-vma", P.MunmapForgetsZap, P.one_thread(["munmap 0"], PRESENT),
     "leak", "A.pte[0] = present(folio#1, RW, dirty) outlives its VMA", None),
    ("swap-count", P.ForgetsSwapFree, P.one_thread(["read 0"]),
     "leak", "swap_map[0] = 0x41 (HAS_CACHE|count=1) but 0 PTE(s) refer to slot 0", None),
    ("swap-count", P.ForkForgetsSwapDuplicate, P.one_thread(["fork B"]),
     "accounting", "swap_map[0] = 0x01 (count=1) but 2 PTE(s) refer to slot 0", None),
    ("has-cache", P.ForgetsSwapcacheClear, P.one_thread(["read 0"]),
     "leak", "swap_map[0] = 0x40 (HAS_CACHE): the slot is pinned by nobody", None),
    ("has-cache", P.RemoveMappingKeepsCacheBit, P.one_thread(["pageout 0"], PRESENT),
     "accounting", "swap_map[0] = 0x41 (HAS_CACHE|count=1) but the swap cache has no folio for it", None),
    ("has-cache", P.PrepareForgetsCacheBit, P.one_thread(["willneed 0"]),
     "accounting", "swap_map[0] = 0x01 (count=1) but the swap cache holds a folio for it", None),
    ("inuse-pages", P.LosesInusePages, P.one_thread(["write 0 2"]),
     "accounting", "si->inuse_pages = 1 but 0 slots are in use", None),
    # the slot cache (slot_cache = true): a freed slot parked twice passes every other check (its
    # map is SWAP_HAS_CACHE, no folio, no PTE, counted once in inuse_pages)
    ("parked-twice", P.ParksTwice, P.with_slot_cache(P.one_thread(["dontneed 0"])),
     "accounting", "swap slot 0 waits in CPU 0's slots_ret (freed) and CPU 0's slots_ret (freed): it was "
     "freed twice", None),
    # a parked slot is skipped by the per-slot checks, so a count on it is seen by this one only
    ("parked-in-use", P.AllocLeavesSlotCached, P.with_slot_cache(P.one_thread(["pageout 0"], PRESENT)),
     "accounting", "swap slot 0 waits in CPU 0's slot cache (reserved), but swap_map[0] = 0x01 (count=1), "
     "1 PTE(s) name it", None),
    ("locked", P.ForgetsUnlock, P.one_thread(["willneed 0"]),
     "leak", "folio#1 is still locked after every thread finished", None),
    ("pg-swapcache", P.HalfDeletesFromSwapCache, P.one_thread(["write 0 2"]),
     "accounting", "folio#1 has PG_swapcache but the swap cache does not hold it", None),
    ("mapcount", P.DoubleRmap, P.one_thread(["read 0"]),
     "accounting", "folio#1 mapcount is 2 but 1 PTE(s) map it", None),
    ("refcount", P.WillneedLeaksRef, P.one_thread(["willneed 0"]),
     "leak", "folio#1 refcount is 2, expected 1 (0 mapping(s) + swap cache)", None),
    ("refcount", P.PutsOnceTooOften, P.one_thread(["read 0"]),
     "accounting", "folio#1 refcount is 1, expected 2 (1 mapping(s) + swap cache)", None),
    ("never-freed", P.NeverFrees, P.one_thread(["pageout 0"], PRESENT),
     "leak", "folio#1 is neither mapped nor cached but was never freed", None),
    # the write stores the value the page already holds, so no value differs anywhere
    ("stale-mapping", P.ReusesSharedPage, P.one_thread(["write 0 1"], PRESENT, forked=True),
     "stale-mapping", "folio#1 is mapped writable by one mm while another maps it too", None),
    ("swapoff-swap-pte", P.SwapoffSkipsUnuse, P.one_thread(["swapoff"]),
     "data-loss", "swapoff finished but A.pte[0] = swp(offset 0, excl) still points into the removed device",
     ("data-loss", "page 0 holds 0, but the last value written there was 1")),
    ("swapoff-value", P.ReadsWrongData, P.one_thread(["swapoff"]),
     "data-loss", "A: page 0 holds 101, but the last value written there was 1", None),
    ("swapoff-locked", P.UnuseForgetsUnlock, P.one_thread(["swapoff"]),
     "leak", "folio#1 is still locked after every thread finished", None),
    # a page lost to a read error nobody declared: without the check a poisoned PTE is a page
    # the oracle asks nothing of
    ("poisoned", P.ReadFailsSilently, P.one_thread(["swapoff"]),
     "data-loss", "A.pte[0] is poisoned, but no read of the device failed", None),
    # the same loss made by swapoff's unuse_pte itself, the device's read having worked
    ("poisoned", P.PoisonsWithoutReadError, P.one_thread(["swapoff"]),
     "data-loss", "A.pte[0] is poisoned, but no read of the device failed", None),
]
IDS = [f"{c[0]}-{c[1].name.removeprefix('planted-')}" for c in CASES]


def _violations(design, text):
    """Every failure of the scenario under ``design`` (each scenario here is one thread, so
    one execution; the search is complete either way)."""
    r = explore(make_program(design, parse_scenario(text, "planted.toml")), "dfs", stop_on_first=False,
                minimize=False)
    assert r.stats.complete
    return [(v.kind, v.message) for v in r.violations]


def _switch_off(monkeypatch, check: str) -> None:
    if check == "load":
        monkeypatch.setattr(memory_module.Memory, "cpu_access", P.cpu_access_without_load_check())
    else:
        fragments, within, raises = OFF[check]
        monkeypatch.setattr(model_module, "check_final_state", P.oracle_without(fragments, within, raises))


@pytest.mark.parametrize("check,design,text,kind,fragment,off", CASES, ids=IDS)
def test_the_check_catches_its_planted_bug(check, design, text, kind, fragment, off):
    found = _violations(design, text)
    assert len(found) == 1, found
    assert found[0][0] == kind and fragment in found[0][1], found


@pytest.mark.parametrize("check,design,text,kind,fragment,off", CASES, ids=IDS)
def test_the_planted_bug_is_missed_without_its_check(monkeypatch, check, design, text, kind, fragment, off):
    _switch_off(monkeypatch, check)
    found = _violations(design, text)
    if off is None:
        assert found == []                       # no other check sees this bug
    else:
        assert len(found) == 1 and found[0][0] == off[0] and off[1] in found[0][1], found
        assert fragment not in found[0][1]


@pytest.mark.parametrize("check,design,text,kind,fragment,off", CASES, ids=IDS)
def test_without_the_plant_the_scenario_passes(check, design, text, kind, fragment, off):
    # the violation is the planted bug's doing: the design it was planted in passes
    base = design.__bases__[0]             # Kernel, or the built-in design it was planted in
    assert base is Kernel or not base.name.startswith("planted")
    assert _violations(base, text) == []


def test_switching_a_check_off_leaves_the_others_on(monkeypatch):
    # the mutant oracle is the real one minus one raise: another planted bug is still caught
    _switch_off(monkeypatch, "inuse-pages")
    assert [k for k, _ in _violations(P.ForgetsSwapFree, P.one_thread(["read 0"]))] == ["leak"]


def test_every_check_of_the_oracle_has_a_planted_bug():
    # each raise in kernel/oracle.py is switched off by exactly one entry of OFF, and each entry
    # has a planted bug: a check added to the oracle without one fails here
    tree = ast.parse(inspect.getsource(oracle_module))
    raises = {(f.name, r.lineno) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)
              for r in ast.walk(f) if isinstance(r, ast.Raise)}
    covered = []
    for check, spec in OFF.items():
        if spec is None:
            continue
        fragments, within, _ = spec
        covered += [(f.name, r.lineno) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) and f.name == within
                    for r in ast.walk(f) if isinstance(r, ast.Raise) and any(x in ast.unparse(r) for x in fragments)]
    assert sorted(covered) == sorted(raises)
    assert {c[0] for c in CASES} == set(OFF)
