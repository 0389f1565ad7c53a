"""Issue 12's fixes to the kernel model: each deviation from the kernel, with a unit test of the
kernel behaviour (able to fail: each says what the old model did instead) and a scenario under
tests/scenarios/ explored completely under the swap-cache design with no violation.

Where each expected value comes from: the kernel lines quoted in the docstrings of the modeled
functions (try_to_unmap_one, do_swap_page, wp_page_copy, pageout, zap_pte_range, swapoff) and
in docs/model.md, "Issue 12: kernel fidelity".
"""
from __future__ import annotations

from pathlib import Path

import pytest
from kernel_harness import ONE_SWAPPED, run

from swaplab.designs import DESIGNS
from swaplab.engine import Step
from swaplab.kernel import Kernel
from swaplab.kernel.types import PTE_NONE, swp_entry_to_pte
from swaplab.scenarios import load_scenario
from swaplab.verify import check

SCENARIOS = Path(__file__).parent / "scenarios"


def _scenario(name: str):
    return load_scenario(SCENARIOS / f"{name}.toml")


# --- every scenario of this file, completely, under the swap-cache design ----------------------
# Measured on this machine under load, user CPU: 1.4 s (cow-frees-swapcache) to 10 s (ttu-dirty).
@pytest.mark.parametrize("name", sorted(p.stem for p in SCENARIOS.glob("*.toml")))
def test_fidelity_scenarios_have_no_violation_on_every_interleaving(name):
    v = check(DESIGNS["swapcache"], _scenario(name), strategy="stateful", max_executions=None)
    assert v.ok, v.violation
    assert v.complete == "complete"


class WritableOnRead(Kernel):
    name = "writable-on-read"
    swapin_maps_writable_on_read = True                 # c18160dba5ff (v6.11)


# --- 1. try_to_unmap_one: ptep_clear_flush returns the dirty bit atomically -------------------
class StaleDirtyUnmap(Kernel):
    """The old model: read the PTE at the walk, write the swap PTE steps later with the dirty
    bit of that read (a store in between is lost)."""
    name = "stale-dirty-unmap"

    def try_to_unmap_one(self, folio, mm, addr):
        yield from mm.ptl.lock()
        cell = mm.pte[addr]
        pte = yield from cell.read("page_vma_mapped_walk")
        if pte.kind != "present" or pte.pfn != folio.pfn:
            yield from mm.ptl.unlock()
            return True
        entry = yield from folio.swap.read()
        yield from self.swap_duplicate(entry)
        excl = yield from folio.anon_exclusive.read()
        swp = swp_entry_to_pte(entry, excl)
        yield Step(((cell, True), (folio.anon_exclusive, True), (folio.mapcount, True), (folio.dirty, True)),
                   "set_pte_at(swp) with the walk's dirty bit")
        if pte.dirty:
            folio.dirty.value = True
        folio.anon_exclusive.value = False
        cell.value = swp
        folio.mapcount.value -= 1
        yield from mm.ptl.unlock()
        yield from self.folio_put(folio)
        return True


class StaleDirtyUnmapWritableOnRead(StaleDirtyUnmap):
    name = "stale-dirty-unmap-v6.11"
    swapin_maps_writable_on_read = True


def test_ttu_dirty_scenario_catches_a_dirty_bit_read_before_the_clear():
    # The scenario of issue 12: the old model loses T1's store with one preemption.  The race
    # needs a writable PTE whose dirty bit is still clear, which only the v6.11 mapping of a read
    # fault makes (v6.6 makes every writable PTE dirty at once); with v6.6's mapping the old
    # model passes.
    v = check(StaleDirtyUnmapWritableOnRead, _scenario("ttu-dirty"), strategy="bounded", preemptions=1)
    assert v.violation is not None and v.violation.kind == "data-loss"
    v = check(StaleDirtyUnmap, _scenario("ttu-dirty"), strategy="bounded", preemptions=1)
    assert v.ok


def test_ttu_dirty_has_no_violation_with_the_v6_11_mapping_either():
    # bounded, as deep as the old model's counterexample (complete: about 12 s of CPU)
    v = check(WritableOnRead, _scenario("ttu-dirty"), strategy="bounded", preemptions=1)
    assert v.ok, v.violation
    assert v.complete == "bound 1"


def test_try_to_unmap_one_marks_the_folio_dirty_from_the_cleared_pte():
    text = ONE_SWAPPED.replace('state = "swapped"', 'state = "present"')

    def body(k):
        mm = k.mms["A"]
        folio = k.folio_of(mm.pte[0].peek().pfn, "test")
        mm.pte[0]._v = mm.pte[0]._v._replace(dirty=True)
        folio.dirty._v = False
        yield from folio.lock.lock()
        yield from k.add_to_swap(folio)
        folio.dirty._v = False
        folio.ref._v += 1                      # the isolation reference
        yield from k.try_to_unmap_one(folio, mm, 0)
        yield from folio.lock.unlock()
        return folio
    k, folio, r = run(body, text)
    assert r.ok, r.violations
    assert k.mms["A"].pte[0].peek() == swp_entry_to_pte(0, True)
    assert folio.dirty.peek()                  # from the PTE's dirty bit, taken at the clear


# --- 2, 3. do_swap_page: RMAP_EXCLUSIVE, writable only on a write fault (v6.6) ------------------
def _fault(k, addr, write):
    yield from k.user_access(k.mms["A"], addr, write, 7 if write else None)


def test_read_fault_maps_an_exclusive_page_read_only_and_anon_exclusive():
    k, _, r = run(lambda k: _fault(k, 0, False))
    assert r.ok
    pte = k.mms["A"].pte[0].peek()
    folio = k.folio_of(pte.pfn, "test")
    assert pte.kind == "present" and not pte.write      # v6.6: only FAULT_FLAG_WRITE maps writable
    assert folio.anon_exclusive.peek()                  # RMAP_EXCLUSIVE


def test_the_v6_11_option_maps_an_exclusive_page_writable_on_a_read_fault():
    k, _, r = run(lambda k: _fault(k, 0, False), design=WritableOnRead)
    assert r.ok
    pte = k.mms["A"].pte[0].peek()
    assert pte.write and not pte.dirty


FORKED = """
[device]
slots = 1
[[mm]]
name = "A"
pages = [{ state = "swapped", value = 1 }]
[[mm]]
name = "B"
forked_from = "A"
[[thread]]
mm = "A"
ops = ["read 0"]
"""


def test_a_non_exclusive_entry_with_refcount_one_is_mapped_anon_exclusive():
    # after the child's exit the parent's swap PTE is still not exclusive; the write fault drops
    # the swap cache (should_try_to_free_swap), leaving folio_ref_count == 1: RMAP_EXCLUSIVE
    def body(k):
        yield from k.exit_mmap(k.mms["B"])
        assert not k.mms["A"].pte[0].peek().excl
        yield from _fault(k, 0, True)
        folio = k.folio_of(k.mms["A"].pte[0].peek().pfn, "test")
        assert folio.anon_exclusive.peek()      # the old model left it unmarked
        folio.ref._v += 1                       # isolation, as madvise_pageout would take it
        yield from folio.lock.lock()
        yield from k.add_to_swap(folio)
        yield from k.try_to_unmap_one(folio, k.mms["A"], 0)
        yield from folio.lock.unlock()
    k, _, r = run(body, FORKED)
    assert r.ok, r.violation
    assert k.mms["A"].pte[0].peek().excl        # so the next swap PTE is exclusive


# --- 4. SWP_STABLE_WRITES: a swap-cache folio under writeback is not exclusive ----------------
SWAPCACHE_PAGE = ONE_SWAPPED.replace('state = "swapped"', 'state = "swapcache"')


@pytest.mark.parametrize("synchronous,exclusive", [(True, False), (False, True)])
def test_a_folio_under_writeback_is_not_exclusive_on_a_stable_writes_device(synchronous, exclusive):
    text = SWAPCACHE_PAGE.replace("slots = 2", f"slots = 2\nsynchronous = {str(synchronous).lower()}")

    def body(k):
        folio = k.folio_of(k.si.cache[0].peek(), "test")
        folio.writeback._v = True                 # zram is still writing it
        yield from _fault(k, 0, False)
        folio.writeback._v = False
        return folio
    k, folio, r = run(body, text)
    assert r.ok, r.violation
    assert folio.anon_exclusive.peek() is exclusive


# --- 5. wp_page_copy: if (page_copied) free_swap_cache(old_folio) ------------------------------
def test_wp_page_copy_frees_the_old_folios_swap_cache():
    def body(k):
        a = k.mms["A"]
        yield from _fault(k, 0, False)            # the folio stays in the swap cache: B's count
        old = k.folio_of(a.pte[0].peek().pfn, "test")
        yield from k.exit_mmap(k.mms["B"])       # the slot's last count goes (folio still mapped)
        # do_wp_page's copy path, entered as do_wp_page does: PTL dropped, our reference taken
        old.ref._v += 1
        vmf = k.new_vmf(a, 0, 0)
        vmf.orig_pte = a.pte[0].peek()
        yield from k.wp_page_copy(vmf, old)
        return old
    k, old, r = run(body, FORKED)
    assert r.ok, r.violation
    assert old.freed                              # the old model left it in the swap cache
    assert k.si.cache[0].peek() is None and k.si.swap_map[0].peek() == 0


# --- 6. pageout: is_page_cache_freeable -----------------------------------------------------------
def test_pageout_keeps_a_folio_someone_else_holds():
    text = ONE_SWAPPED.replace('state = "swapped"', 'state = "present"')

    def body(k):
        folio = k.folio_of(k.mms["A"].pte[0].peek().pfn, "test")
        folio.ref._v += 1                         # a racing fault's reference
        yield from k.madvise_pageout(k.mms["A"], [0])
        return folio
    k, folio, r = run(body, text)
    assert k.stats.get("pageout_keep") == 1 and not k.stats.get("pageouts")
    assert folio.dirty.peek() and not folio.freed  # kept dirty, not written
    assert k.si.zram[0].peek() is None


# --- 7. zap_pte_range: no folio_mark_dirty for an anonymous folio --------------------------------
def test_zap_does_not_mark_an_anonymous_folio_dirty():
    def body(k):
        yield from _fault(k, 0, False)            # mapped from the swap cache, which keeps it
        a = k.mms["A"]
        folio = k.folio_of(a.pte[0].peek().pfn, "test")
        folio.ref._v += 1                         # keep it alive past the zap, to look at it
        a.pte[0]._v = a.pte[0]._v._replace(dirty=True)
        yield from k.zap_pte_range(a, [0])
        return folio
    k, folio, r = run(body, FORKED)
    assert k.mms["A"].pte[0].peek() == PTE_NONE
    assert not folio.dirty.peek()


# --- 8. swapoff re-enables the slot cache right after try_to_unuse -------------------------------
def test_swapoff_reenables_the_slot_cache_before_killing_the_users_ref():
    seen = []

    def body(k):
        gen = k.swapoff()
        try:
            step = next(gen)
            while True:
                for prefix in ("reenable_swap_slots_cache_unlock", "percpu_ref_kill", "swapoff: vfree"):
                    if getattr(step, "label", "").startswith(prefix):
                        seen.append(prefix)
                step = gen.send((yield step))
        except StopIteration:
            pass
    k, _, r = run(body)
    assert r.ok, r.violation
    # the old model re-enabled it after vfree
    assert seen == ["reenable_swap_slots_cache_unlock", "percpu_ref_kill", "swapoff: vfree"]
    # to has_usable_swap() (mm/swap_slots.c v6.6): false, the only device is gone
    # (tests/test_deviations.py)
    assert k.si.slot_cache_enabled.peek() is False


# --- 9. prepare-waitqueue: v6.12's order ----------------------------------------------------------
def test_prepare_waitqueue_is_complete_on_two_faults():
    from swaplab.scenarios import get_scenario
    v = check(DESIGNS["prepare-waitqueue"], get_scenario("two-faults"), strategy="stateful", max_executions=None)
    assert v.ok and v.complete == "complete"


# --- pte-marker's finding without slot reuse (docs/findings.md) ----------------------------------
def test_pte_marker_loses_data_on_marker_cache_reuse_without_freeing_the_slot():
    from swaplab.scenarios import get_scenario
    v = check(DESIGNS["pte-marker"], get_scenario("marker-cache-reuse"), strategy="bounded", preemptions=2)
    assert v.violation is not None and v.violation.kind == "data-loss"
    # the slot is never freed on the way: no zram discard, the read returns the old value
    assert "returned 1 but the last value stored there was 2" in v.violation.message
