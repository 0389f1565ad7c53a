"""Places where the model's order of steps differed from v6.6 (docs/kernel-sources.md on the
quotes branch, "Deviations found"), each with a test that fails on the old behaviour, and a
scenario under tests/scenarios/ that tests/test_fidelity.py explores completely under the
swap-cache design.

Where each expected value comes from: the v6.6 lines quoted in the docstrings of the modeled
functions (munmap: mm/mmap.c do_vmi_align_munmap; swapoff: mm/swap_slots.c
__reenable_swap_slots_cache; vm_swap_full: sys_swapoff's nr_swap_pages arithmetic), derived by
hand for a one-page, one-device scenario as each test says.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from swaplab.designs import DESIGNS
from swaplab.engine import Program, Step, explore
from swaplab.kernel import Kernel
from swaplab.kernel.state import SWP_WRITEOK
from swaplab.kernel.swapfile import ENOENT
from swaplab.scenarios import load_scenario, parse_scenario
from swaplab.verify import check

SCENARIOS = Path(__file__).parent / "scenarios"

TWO_SWAPPED = """
[device]
slots = 2
[[mm]]
name = "A"
pages = [{ state = "swapped", value = 1 }, { state = "swapped", value = 2 }]
[[thread]]
ops = ["read 0"]
"""


def _two_threads(design, text: str, first, second, fingerprint):
    """Explore ``first(k)`` and ``second(k)`` as two threads, every interleaving (stateful DPOR).
    Returns the search result; its final states are ``fingerprint(k)``'s values."""
    sc = parse_scenario(text)

    def setup(world):
        k = design(sc)
        world.thread("T0", first(k))
        world.thread("T1", second(k))
        world.fingerprint(lambda: fingerprint(k))
    return explore(Program(setup, "two"), "stateful", stop_on_first=False, minimize=False)


# --- 1. munmap: detach, mmap_write_downgrade, zap under the read hold ------------------------------
class ZapThenDetachMunmap(Kernel):
    """The old model: zap, then detach the VMA, mmap_lock for write throughout."""
    name = "zap-then-detach-munmap"

    def munmap(self, mm, addrs):
        yield from mm.mmap_lock.down_write()
        yield from self.zap_pte_range(mm, addrs)
        yield Step(tuple((mm.mapped[a], True) for a in addrs), "munmap: detach")
        for a in addrs:
            mm.mapped[a].value = False
        yield from mm.mmap_lock.up_write()


def _reader_sees(design):
    """T0 munmaps page 0 (swapped out); T1 takes mmap_lock for read and looks at the VMA and
    the PTE.  Returns what T1 can see: (VMA still there, PTE kind)."""
    seen = {}

    def munmap(k):
        yield from k.munmap(k.mms["A"], [0])

    def reader(k):
        mm = k.mms["A"]
        yield from mm.mmap_lock.down_read()
        yield Step(((mm.mapped[0], False), (mm.pte[0], False)), "look")
        seen["T1"] = (mm.mapped[0].value, mm.pte[0].value.kind)
        yield from mm.mmap_lock.up_read()

    r = _two_threads(design, TWO_SWAPPED, munmap, reader, lambda k: seen.get("T1"))
    assert r.stats.complete and not r.violations, r.violations
    return r.stats.final_states


def test_munmap_lets_readers_in_while_it_zaps_what_it_detached():
    # v6.6: vma_iter_clear_gfp, mmap_write_downgrade, unmap_region.  A reader sees the range
    # mapped and its swap PTE (before munmap), detached with the swap PTE still there (during
    # the zap, under the downgraded lock), or detached and zapped (after).
    assert _reader_sees(Kernel) == {(True, "swp"), (False, "swp"), (False, "none")}
    # the old model held mmap_lock for write across the zap: no reader saw the middle state
    assert _reader_sees(ZapThenDetachMunmap) == {(True, "swp"), (False, "none")}


def test_swapoff_skips_a_range_munmap_has_detached():
    # unuse_mm() walks the VMA tree (for_each_vma): page 0's swap PTE, detached but not yet
    # zapped, is left to munmap's zap (free_swap_and_cache); swapoff retries until the slot
    # is free.  Page 1 is unused by swapoff as always.  Every interleaving ends with page 0
    # gone and page 1 present, the device freed, no violation.
    def munmap(k):
        yield from k.munmap(k.mms["A"], [0])

    def swapoff(k):
        yield from k.swapoff()

    def final(k):
        mm = k.mms["A"]
        return mm.pte[0].peek().kind, mm.pte[1].peek().kind, k.si.freed
    r = _two_threads(Kernel, TWO_SWAPPED, munmap, swapoff, final)
    assert r.stats.complete and not r.violations, r.violations
    assert r.stats.final_states == {("none", "present", True)}


class Watch(Kernel):
    """Records every unuse_pte on a page whose VMA munmap has detached."""
    touched: list = []

    def unuse_pte(self, mm, addr, entry, folio):
        if not mm.mapped[addr].peek():
            self.touched.append(addr)
        return (yield from super().unuse_pte(mm, addr, entry, folio))


class WalkEveryPte(Watch):
    """The old unuse_pte_range: every PTE of the mm, whether a VMA covers it or not."""

    def unuse_pte_range(self, mm):
        for addr in range(len(mm.pte)):
            pte = yield from mm.pte[addr].read()
            if pte.kind != "swp":
                continue
            folio = yield from self.swap_cache_get_folio(pte.offset)
            if folio is None:
                folio = yield from self.read_swap_cache_async(pte.offset, addr)
            if folio is None:
                continue
            yield from folio.lock.lock()
            yield from self.unuse_pte(mm, addr, pte.offset, folio)
            yield from self.folio_free_swap(folio)
            yield from folio.lock.unlock()
            yield from self.folio_put(folio)
        return 0


@pytest.mark.parametrize("design,touches", [(Watch, False), (WalkEveryPte, True)])
def test_swapoff_never_maps_a_page_into_a_detached_range(design, touches):
    # A swapoff that takes mmap_lock for read after munmap's detach (during its zap) does not
    # walk the detached range, so it never maps page 0 back there; walking every PTE (the old
    # unuse_pte_range, harmless while munmap zapped under the write lock) would.
    design.touched = []

    def munmap(k):
        yield from k.munmap(k.mms["A"], [0])

    def swapoff(k):
        yield from k.swapoff()
    r = _two_threads(design, TWO_SWAPPED, munmap, swapoff, lambda k: None)
    assert r.stats.complete
    assert bool(design.touched) == touches


@pytest.mark.parametrize("name", ["munmap-vs-swapoff", "munmap-vs-fault-vs-swapoff"])
def test_munmap_scenarios_have_no_violation_under_bypass(name):
    # under swapcache: tests/test_fidelity.py (every scenario of tests/scenarios/)
    v = check(DESIGNS["bypass"], load_scenario(SCENARIOS / f"{name}.toml"), strategy="stateful",
              max_executions=None)
    assert v.ok, v.violation
    assert v.complete == "complete"


# --- 2. swapoff re-enables the slot cache to has_usable_swap() -----------------------------------
def test_swapoff_of_the_only_device_leaves_the_slot_cache_disabled():
    # mm/swap_slots.c v6.6: swap_slot_cache_enabled = has_usable_swap(); the device is off
    # swap_active_head (plist_del in sys_swapoff), the only one: false.  The old model wrote true.
    seen = {}

    def body(k):
        yield from k.swapoff()
        seen["enabled"] = k.si.slot_cache_enabled.peek()
    r = _two_threads(Kernel, TWO_SWAPPED, body, _nothing, lambda k: None)
    assert r.stats.complete and not r.violations, r.violations
    assert seen["enabled"] is False


def _nothing(k):
    return
    yield


class LateReadahead(Kernel):
    """Records each swapcache_prepare that finds its slot free after try_to_unuse returned."""
    late_enoent: list = []

    def try_to_unuse(self):
        ret = yield from super().try_to_unuse()
        self.unused = True
        return ret

    def swapcache_prepare(self, entry):
        err = yield from super().swapcache_prepare(entry)
        if err == ENOENT and getattr(self, "unused", False):
            self.late_enoent.append(entry)
        return err


class ReenableToTrue(LateReadahead):
    """The old model: swapoff re-enabled the slot cache to true (sys_swapoff as the model has
    it otherwise, without the -EINVAL path)."""

    def swapoff(self):
        si = self.si
        yield from si.lock.locked_step(((si.flags, True),), "clear SWP_WRITEOK")
        si.flags.value &= ~SWP_WRITEOK
        yield from si.slot_cache_enabled.write(False)
        yield from self.try_to_unuse()
        yield from si.slot_cache_enabled.write(True)
        yield from si.users_live.write(False)
        pcpu = si.users_all()
        yield Step(tuple((c, False) for c in pcpu), "wait_for_completion",
                   guard=lambda: sum(c._v for c in pcpu) == 0, kind="wait")
        yield Step(tuple((c, True) for c in si.swap_map), "vfree(swap_map)")
        si.freed = True


@pytest.mark.parametrize("design,late", [(LateReadahead, True), (ReenableToTrue, False)])
def test_a_late_readahead_after_swapoff_allocates_and_finds_the_slot_free(design, late):
    # swapoff-willneed (fix 8's scenario): T1 read page 0's swap PTE before swapoff unused it
    # and holds a device reference when it looks the slot up after try_to_unuse: the slot is free (count 0) and the slot cache is
    # still disabled, so __read_swap_cache_async allocates a folio and swapcache_prepare returns
    # -ENOENT.  With the cache re-enabled to true it returned NULL at the count test instead.
    # Either way nothing is read in and there is no violation.
    design.late_enoent = []
    r = check(design, load_scenario(SCENARIOS / "swapoff-willneed.toml"), strategy="stateful",
              max_executions=None)
    assert r.ok and r.complete == "complete", r.violation
    assert bool(design.late_enoent) == late


# --- 3. vm_swap_full() during swapoff: the device's pages are out of both counts ---------------
FULL_ONE_OF_TWO = """
[device]
slots = 2
vm_swap_full = "computed"
[[mm]]
name = "A"
pages = [{ state = "swapped", value = 1 }]
[[thread]]
ops = ["read 0"]
"""


@pytest.mark.parametrize("writeok,full", [(True, False), (False, True)])
def test_vm_swap_full_during_swapoff_counts_without_the_device(writeok, full):
    # One slot of two in use.  Before swapoff: nr_swap_pages 1, total 2: 1 * 2 < 2 is false.
    # From sys_swapoff's first step (atomic_long_sub(p->pages, &nr_swap_pages);
    # total_swap_pages -= p->pages;): nr_swap_pages -1, total 0: -2 < 0 is true.  The old
    # model computed false both ways.
    def body(k):
        if not writeok:
            k.si.flags._v &= ~SWP_WRITEOK          # as swapoff's first step leaves it
        return (yield from k.vm_swap_full())
    from kernel_harness import run
    _, ret, r = run(body, FULL_ONE_OF_TWO)
    assert not r.violations, r.violations
    assert ret is full


class FreesDuringSwapoff(Kernel):
    """Records each fault that frees the swap cache (should_try_to_free_swap) while swapoff
    runs."""
    freed: list = []

    def should_try_to_free_swap(self, folio, vmf, in_swapcache):
        ret = yield from super().should_try_to_free_swap(folio, vmf, in_swapcache)
        if ret and not self.si.flags.peek() & SWP_WRITEOK:
            self.freed.append(vmf.addr)
        return ret


def test_a_read_fault_during_swapoff_frees_the_swap_cache_when_computed():
    # swapoff-vs-fault-full: T1's read fault on the one page in use (of two slots) during
    # swapoff finds vm_swap_full() true and frees the slot (folio_free_swap), as v6.6 does; with
    # the old count (false: 1 * 2 < 2) a read fault never freed it.
    FreesDuringSwapoff.freed = []
    v = check(FreesDuringSwapoff, load_scenario(SCENARIOS / "swapoff-vs-fault-full.toml"),
              strategy="stateful", max_executions=None)
    assert v.ok and v.complete == "complete", v.violation
    assert FreesDuringSwapoff.freed
