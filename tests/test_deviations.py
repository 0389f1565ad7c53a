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
