"""The kernel model's functions against their documented kernel semantics (v6.6 unless noted),
and the oracle against injected bugs."""
from __future__ import annotations

import pytest

from kernel_harness import ONE_SWAPPED, run
from swaplab.designs import DESIGNS, PrepareSleep
from swaplab.designs.bypass import Bypass
from swaplab.engine import explore
from swaplab.engine.strategies import CachedDPOR
from swaplab.kernel import Kernel, make_program
from swaplab.kernel.types import POISON, SWAP_HAS_CACHE
from swaplab.scenarios import builtin_names, get_scenario, parse_scenario
from swaplab.verify import check


def test_swapcache_prepare_sets_the_cache_bit_once():
    def body(k):
        a = yield from k.swapcache_prepare(0)      # count 1, no cache: takes SWAP_HAS_CACHE
        b = yield from k.swapcache_prepare(0)      # already set: -EEXIST
        c = yield from k.swapcache_prepare(1)      # free slot: -ENOENT
        return a, b, c
    k, ret, r = run(body)
    assert ret == (0, -17, -2)
    assert k.si.swap_map[0].peek() == 1 | SWAP_HAS_CACHE
    assert k.si.swap_map[1].peek() == 0


def test_swap_free_frees_the_slot_and_zram_discards_it():
    def body(k):
        yield from k.swap_free(0)
    k, _, r = run(body)
    assert k.si.swap_map[0].peek() == 0
    assert k.si.zram[0].peek() == POISON
    assert k.si.inuse_pages.peek() == 0


def test_swap_free_keeps_a_slot_pinned_by_the_cache_bit():
    def body(k):
        yield from k.swapcache_prepare(0)
        left = yield from k.swap_free(0)
        return left
    k, left, r = run(body)
    # __swap_entry_free_locked: usage left is SWAP_HAS_CACHE, so the slot survives
    assert left == SWAP_HAS_CACHE and k.si.swap_map[0].peek() == SWAP_HAS_CACHE
    assert k.si.zram[0].peek() == 1

    def body2(k):
        yield from k.swapcache_prepare(0)
        yield from k.swap_free(0)
        yield from k.swapcache_clear(0)            # 13ddaf26: dropping the pin frees the slot
    k, _, _ = run(body2)
    assert k.si.swap_map[0].peek() == 0 and k.si.zram[0].peek() == POISON


def test_swap_duplicate_counts_and_treats_a_free_slot_as_success():
    def body(k):
        a = yield from k.swap_duplicate(0)
        b = yield from k.swap_duplicate(1)         # -ENOENT is reported as 0 ("as if it succeeded")
        return a, b
    k, ret, _ = run(body)
    assert ret == (0, 0)
    assert k.si.swap_map[0].peek() == 2 and k.si.swap_map[1].peek() == 0


def test_swap_free_of_a_free_slot_is_an_accounting_violation():
    def body(k):
        yield from k.swap_free(0)
        yield from k.swap_free(0)
    _, _, r = run(body)
    assert [v.kind for v in r.violations] == ["accounting"]
    assert "Unused swap offset" in r.violations[0].message


SWAPCACHE_UNMAPPED = ONE_SWAPPED.replace('state = "swapped", value = 1', 'state = "swapcache", value = 5')


def test_free_swap_and_cache_reclaims_a_cache_only_slot():
    def body(k):
        yield from k.free_swap_and_cache(0)      # the PTE's count goes; only the cache is left
    k, _, _ = run(body, SWAPCACHE_UNMAPPED)
    assert k.si.swap_map[0].peek() == 0            # __try_to_reclaim_swap freed it
    assert k.si.cache[0].peek() is None


def test_remove_mapping_freeze_fails_while_someone_holds_a_reference():
    def body(k):
        folio = yield from k.swap_cache_get_folio(0)   # a fault's lookup: ref 1 (cache) + 1
        yield from folio.ref.rmw(lambda r: r + 1)       # and reclaim's isolation reference
        yield from folio.lock.lock()
        ok = yield from k._remove_mapping(folio)
        return ok, folio
    k, (ok, folio), _ = run(body, SWAPCACHE_UNMAPPED)
    assert ok is False and folio.ref.peek() == 3 and k.si.cache[0].peek() == folio.pfn


def test_fork_clears_the_exclusive_bit_and_duplicates_the_swap_count():
    text = ONE_SWAPPED.replace('ops = ["read 0"]', 'ops = ["fork B"]')

    def body(k):
        yield from k.fork(k.mms["A"], "B")
    k, _, r = run(body, text, final_check=True)
    assert r.ok
    a, b = k.mms["A"].pte[0].peek(), k.mms["B"].pte[0].peek()
    assert a == b and a.kind == "swp" and not a.excl
    assert k.si.swap_map[0].peek() == 2


def test_fork_copies_only_the_vmas_the_parent_still_has():
    # dup_mmap copies the parent's VMAs: a page the parent unmapped is no VMA of the child
    # (before, the child's VMAs were all new, and a page munmap had detached came back)
    text = """
[device]
slots = 1
[[mm]]
name = "A"
pages = [{ state = "swapped", value = 1 }, { state = "present", value = 2 }]
[[thread]]
mm = "A"
ops = ["munmap 0", "fork B"]
"""
    def body(k):
        yield from k.munmap(k.mms["A"], [0])
        yield from k.fork(k.mms["A"], "B")
    k, _, r = run(body, text, final_check=True)
    assert r.ok
    assert [c.peek() for c in k.mms["B"].mapped] == [False, True]


# Complete explorations under the swap-cache design: every built-in scenario (docs/findings.md,
# "Coverage").  Measured 2026-11-26, one core: 0.05 to 6 s each, and about 40 s for
# three-faults; about 55 s in all.
@pytest.mark.parametrize("name", builtin_names())
def test_swap_cache_design_is_correct_on_every_interleaving(name):
    v = check(DESIGNS["swapcache"], get_scenario(name), strategy="stateful", max_executions=None)
    assert v.ok, v.violation
    assert v.complete == "complete"


# --- the oracle catches injected bugs -----------------------------------------------------------
class _AnyPte:
    def __eq__(self, other):
        return True


class SkipsPteSame(Kernel):
    """Maps the folio without checking that the PTE still holds the entry."""
    name = "skips-pte-same"

    def swapin_expected_pte(self, vmf):
        return _AnyPte()


class FreesTwice(PrepareSleep):
    """Drops the swap count once more at do_swap_page's exit."""
    name = "frees-twice"

    def do_swap_page_cleanup(self, vmf):
        yield from super().do_swap_page_cleanup(vmf)
        if vmf.entry >= 0:
            yield from self.swap_free(vmf.entry)


class ForgetsUnlock(Kernel):
    """swap_read_folio that never unlocks the folio it read."""
    name = "forgets-unlock"

    def swap_read_folio(self, folio, entry):
        src = self.si.zram[entry]
        v = yield from src.read()
        yield from folio.data.write(v)
        yield from folio.uptodate.write(True)


class PutsMappedFolio(Kernel):
    """do_swap_page that, after mapping, drops two references it does not own: the folio is
    freed while a PTE maps it and the swap cache holds it."""
    name = "puts-mapped-folio"

    def do_swap_page_cleanup(self, vmf):
        pte = vmf.mm.pte[vmf.addr].peek()
        if pte.kind == "present" and pte.pfn in self.folios:
            folio = self.folios[pte.pfn]
            yield from self.folio_put(folio)
            yield from self.folio_put(folio)


def test_oracle_catches_a_mapped_folio_freed():
    # Page frames are reused (lowest free first), so a reference that outlives its folio is
    # caught as long as the frame is free: here by the next load, lookup or the final check.
    v = check(PutsMappedFolio, get_scenario("two-faults"), preemptions=0, max_executions=200)
    assert v.status == "use-after-free" and "has been freed" in v.violation.message


def test_oracle_catches_a_missing_pte_same_check():
    # Without the check, the fault maps over a PTE that zap already cleared and frees the
    # swap count zap already freed: the first symptom the oracle sees is the double free.
    v = check(SkipsPteSame, get_scenario("dontneed-refault"), preemptions=1, max_executions=2000)
    assert v.status in ("data-loss", "accounting")
    assert check(Kernel, get_scenario("dontneed-refault"), preemptions=1, max_executions=200).ok


def test_oracle_catches_a_double_free():
    v = check(FreesTwice, get_scenario("two-faults"), preemptions=1, max_executions=2000)
    assert v.status == "accounting"


def test_oracle_catches_a_folio_left_locked():
    sc = parse_scenario("""
[device]
slots = 1
[[mm]]
name = "A"
pages = [{ state = "swapped", value = 1 }]
[[thread]]
ops = ["willneed 0"]
""")
    v = check(ForgetsUnlock, sc)
    assert v.status == "leak" and "still locked" in v.violation.message


def test_a_design_overrides_single_kernel_functions():
    # the bypass design changes two hooks of do_swap_page and nothing else
    own = {n for n in vars(Bypass) if not n.startswith("__")}
    assert own <= {"name", "kind", "summary", "reference", "swapin_skip_swapcache", "swapin_direct",
                   "swapin_read_new_folio"}


# --- stateful search (DPOR with state caching) against plain DPOR ------------------------------
# (fork-vs-fault was here: it now has four executions and nothing to cut.)
@pytest.mark.parametrize("name", ["two-faults", "willneed-then-faults", "swapoff-vs-fault"])
def test_stateful_search_reaches_what_dpor_reaches(name):
    # Both searches are complete, so they must agree on every final state; the cache must
    # actually cut executions short for the comparison to say anything.
    prog = make_program(DESIGNS["swapcache"], get_scenario(name))
    dpor = explore(prog, "dpor", minimize=False)
    strategy = CachedDPOR()
    cached = explore(prog, strategy, minimize=False)
    assert dpor.stats.complete and cached.stats.complete
    assert not dpor.violations and not cached.violations
    assert cached.stats.final_states == dpor.stats.final_states
    assert cached.stats.cut_known > 0 and strategy.unhashable == 0


def test_stateful_search_finds_the_bypass_data_loss():
    r = explore(make_program(DESIGNS["bypass"], get_scenario("slot-reuse")), "stateful")
    assert [v.kind for v in r.violations] == ["data-loss"]
    assert r.violations[0].preemptions == 1       # minimized, as for every strategy
