"""Issue 12, "Widen" a: vm_swap_full() computed as the kernel does (device option
``vm_swap_full = "computed"``), and the slot-freeing paths it opens.

Where each expected value comes from: v6.6's include/linux/swap.h vm_swap_full()
(``atomic_long_read(&nr_swap_pages) * 2 < total_swap_pages``), mm/memory.c
should_try_to_free_swap(), mm/swapfile.c free_swap_and_cache(), __try_to_reclaim_swap() and
scan_swap_map_slots(), quoted in the docstrings of the modeled functions and in docs/model.md
("vm_swap_full").  Each unit test runs the same operations with the option off ("never", the
old behaviour) and asserts that the outcome differs, so it fails if the path is not taken.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from kernel_harness import run

from swaplab.designs import DESIGNS
from swaplab.kernel.types import SWAP_HAS_CACHE
from swaplab.scenarios import ScenarioError, load_scenario, parse_scenario
from swaplab.verify import check

SCENARIOS = Path(__file__).parent / "scenarios" / "widen"


def _text(pages: str, slots: int, mode: str, forked: bool = False) -> str:
    fork = '[[mm]]\nname = "B"\nforked_from = "A"\n' if forked else ""
    return (f'[device]\nslots = {slots}\nvm_swap_full = "{mode}"\n[[mm]]\nname = "A"\npages = {pages}\n'
            f'{fork}[[thread]]\nmm = "A"\nops = ["read 0"]\n')


# --- every scenario of tests/scenarios/widen, completely, under the swap-cache design -----------
# Measured: 0.4 s to 2 s each (swaplab check -d swapcache -s FILE --json, "seconds").
@pytest.mark.parametrize("name", sorted(p.stem for p in SCENARIOS.glob("*.toml")))
def test_widen_scenarios_have_no_violation_on_every_interleaving(name):
    v = check(DESIGNS["swapcache"], load_scenario(SCENARIOS / f"{name}.toml"), strategy="stateful",
              max_executions=None)
    assert v.ok, v.violation
    assert v.complete == "complete"


# --- vm_swap_full() itself ---------------------------------------------------------------------
@pytest.mark.parametrize("slots,inuse,pending,full", [
    (1, 1, 0, True),        # nr_swap_pages 0: 0 < 1
    (2, 1, 0, False),       # 1 * 2 < 2 is false: exactly half free is not full
    (2, 1, 1, True),        # get_swap_pages has already taken its own slot off nr_swap_pages
    (4, 2, 0, False),
    (4, 3, 0, True),
    (4, 0, 0, False),
])
def test_vm_swap_full_is_nr_swap_pages_times_two_below_total(slots, inuse, pending, full):
    sc = parse_scenario(_text('[{ state = "none" }]', slots, "computed"))

    def body(k):
        k.si.inuse_pages._v = inuse
        return (yield from k.vm_swap_full(pending))
    _, got, r = run(body, _text('[{ state = "none" }]', slots, "computed"))
    assert sc.device.vm_swap_full == "computed"
    assert got is full


def test_vm_swap_full_never_is_false_on_a_full_device():
    def body(k):
        k.si.inuse_pages._v = 1
        return (yield from k.vm_swap_full())
    _, got, _ = run(body, _text('[{ state = "none" }]', 1, "never"))
    assert got is False


def test_the_default_is_never():
    assert parse_scenario(_text('[{ state = "none" }]', 1, "never").replace(
        'vm_swap_full = "never"\n', "")).device.vm_swap_full == "never"


def test_a_bad_value_names_the_line_and_the_choices():
    with pytest.raises(ScenarioError) as e:
        parse_scenario(_text('[{ state = "none" }]', 1, "sometimes"))
    assert ":3:" in str(e.value) and '"computed"' in str(e.value)


# --- should_try_to_free_swap: a read fault through the swap cache frees it ---------------------
@pytest.mark.parametrize("mode,freed", [("computed", True), ("never", False)])
def test_a_read_fault_frees_the_swap_cache_when_swap_is_full(mode, freed):
    def body(k):
        mm = k.mms["A"]
        yield from k.user_access(mm, 0, False)
        return k.folio_of(mm.pte[0].peek().pfn, "test")
    k, folio, r = run(body, _text('[{ state = "swapcache", value = 1 }]', 1, mode), final_check=True)
    assert r.ok, r.violations
    assert folio.swapcache.peek() is not freed
    assert k.si.swap_map[0].peek() == (0 if freed else SWAP_HAS_CACHE)
    assert folio.dirty.peek() is freed          # folio_free_swap: folio_set_dirty


# --- free_swap_and_cache: TTRS_FULL frees a mapped folio's swap cache --------------------------
@pytest.mark.parametrize("mode,freed", [("computed", True), ("never", False)])
def test_zap_of_the_last_count_frees_a_mapped_folios_cache_when_swap_is_full(mode, freed):
    # A's read fault maps the folio, which stays in the swap cache (B's PTE counts on the slot,
    # so folio_free_swap refuses even when full); B's zap drops the count to cache-only, and
    # __try_to_reclaim_swap(TTRS_UNMAPPED | TTRS_FULL) finds the folio mapped: only TTRS_FULL
    # with mem_cgroup_swap_full() frees it
    def body(k):
        a, b = k.mms["A"], k.mms["B"]
        yield from k.user_access(a, 0, False)
        folio = k.folio_of(a.pte[0].peek().pfn, "test")
        assert folio.swapcache.peek()
        yield from k.zap_pte_range(b, [0])
        return folio
    k, folio, r = run(body, _text('[{ state = "swapped", value = 1 }]', 1, mode, forked=True),
                      final_check=True)
    assert r.ok, r.violations
    assert folio.mapcount.peek() == 1
    assert folio.swapcache.peek() is not freed
    assert k.si.swap_map[0].peek() == (0 if freed else SWAP_HAS_CACHE)


# --- scan_swap_map_slots: TTRS_ANYWAY reclaim of a cache-only slot at allocation ---------------
@pytest.mark.parametrize("mode,slot", [("computed", 0), ("never", 1)])
def test_allocation_reclaims_a_cache_only_slot_when_swap_is_full(mode, slot):
    # page 0's read fault (2 slots, 1 in use: not full) leaves slot 0 cache-only and its folio
    # mapped; paging page 1 out takes its slot off nr_swap_pages first, so the scan sees
    # vm_swap_full() and reclaims slot 0 (TTRS_ANYWAY: mapped or not); without it, slot 1
    def body(k):
        a = k.mms["A"]
        yield from k.user_access(a, 0, False)
        f0 = k.folio_of(a.pte[0].peek().pfn, "test")
        assert k.si.swap_map[0].peek() == SWAP_HAS_CACHE and f0.swapcache.peek()
        yield from k.madvise_pageout(a, [1])
        return f0
    pages = '[{ state = "swapcache", value = 1 }, { state = "present", value = 2 }]'
    k, f0, r = run(body, _text(pages, 2, mode), final_check=True)
    assert r.ok, r.violations
    assert k.mms["A"].pte[1].peek().offset == slot
    assert f0.swapcache.peek() is (slot != 0)


# --- issue 12, "Widen" d: read errors (device read_errors) -------------------------------------
# v6.6: __end_swap_bio_read leaves a folio whose read failed !uptodate (folio_mark_uptodate only
# on success) and unlocks it; do_swap_page, after pte_same, `if (unlikely(!folio_test_uptodate(
# folio))) { ret = VM_FAULT_SIGBUS; goto out_nomap; }`, and out_nomap/out_page/out_release/out
# unlock, put the folio, clear a bypass pin (13ddaf26's swapcache_clear) and put the device.
# The user's access is not modeled past that point here: user_access turning VM_FAULT_SIGBUS
# into the end of the access is another change (so these tests call do_user_addr_fault once).
from swaplab.kernel.types import VM_FAULT_SIGBUS  # noqa: E402

READ_ERROR = ('[device]\nslots = 1\nread_errors = [0]\n[[mm]]\nname = "A"\n'
              'pages = [{ state = "swapped", value = 1 }]\n[[thread]]\nops = ["read 0"]\n')
# swapmap-inflight's out label frees its in-flight slot as if the page had been mapped (its
# cleanup knows only "mapped" or "zapped"): after a failed read that frees the slot the swap
# PTE still names, which the oracle reports as data-loss.  Derived from designs/swapmap.py's
# do_swap_page_cleanup; every other design keeps the count and the PTE.
LOSES_THE_SLOT = {"swapmap-inflight"}


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_a_failed_read_sigbuses_and_keeps_the_page_on_the_device(name):
    def body(k):
        ret = yield from k.do_user_addr_fault(k.mms["A"], 0, False)
        return ret
    k, ret, r = run(body, READ_ERROR, design=DESIGNS[name], final_check=True)
    assert ret & VM_FAULT_SIGBUS
    assert k.stats.get("swap_read_errors") == 1
    if name in LOSES_THE_SLOT:
        assert not r.ok and r.violations[0].kind == "data-loss"
        return
    assert r.ok, r.violations
    assert k.mms["A"].pte[0].peek().kind == "swp"       # the swap entry stays (pte-marker restores it)
    assert k.si.swap_map[0].peek() & 0x3f == 1           # and its count; a bypass pin is cleared
    cached = k.si.cache[0].peek()
    if cached is not None:                               # the swap-cache path leaves the !uptodate folio
        assert not k.folio_of(cached, "test").uptodate.peek()


def test_read_errors_names_a_slot_outside_the_device():
    with pytest.raises(ScenarioError) as e:
        parse_scenario(READ_ERROR.replace("read_errors = [0]", "read_errors = [3]"))
    assert ":3:" in str(e.value) and "from 0 to 0" in str(e.value)
