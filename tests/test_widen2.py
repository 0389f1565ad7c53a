"""Issue 12, "Widen" e (the per-cpu swap slot cache), b (background reclaim as an operation) and
d with two threads (read errors against a racing fault, zap or swapoff).

Where each expected value comes from: v6.6's mm/swap_slots.c (folio_alloc_swap,
refill_swap_slots_cache, free_swap_slot, drain_slots_cache_cpu), mm/swapfile.c
(swapcache_free_entries → swap_entry_free, __swap_duplicate's -EEXIST, swapoff's
disable/reenable_swap_slots_cache, unuse_pte's poisoned entry), mm/vmscan.c
(isolate_lru_folios, shrink_folio_list's `folio_test_anon(folio) && folio_test_swapbacked(folio)`
and keep_locked for a folio with no mapping), quoted in the docstrings of the modeled functions
and in docs/model.md.  Each unit test runs the same operations with the feature off (or the
condition it tests flipped) and asserts a different outcome, so it fails if the path is not taken.
"""
from __future__ import annotations

import pytest
from kernel_harness import run

from swaplab.designs.bypass import Bypass
from swaplab.hunt.lang import canonical, to_toml, validated
from swaplab.kernel.swapfile import EEXIST, ENOENT
from swaplab.kernel.types import POISON, SWAP_HAS_CACHE
from swaplab.scenarios import ScenarioError, parse_scenario

def _text(pages: str, slots: int = 2, cache: str = "slot_cache = true\n", ops='["read 0"]',
          forked: bool = False) -> str:
    fork = '[[mm]]\nname = "B"\nforked_from = "A"\n' if forked else ""
    return (f'[device]\nslots = {slots}\n{cache}[[mm]]\nname = "A"\npages = {pages}\n{fork}'
            f'[[thread]]\nmm = "A"\nops = {ops}\n')


CACHES = {"on": "slot_cache = true\n", "off": "", "one": "slot_cache = true\nslot_cache_size = 1\n"}


# --- the slot cache: allocation ------------------------------------------------------------------
@pytest.mark.parametrize("cache,reserved", [("on", (1, 2)), ("one", ()), ("off", ())])
def test_folio_alloc_swap_refills_this_cpus_cache_in_a_batch(cache, reserved):
    # refill_swap_slots_cache: get_swap_pages(SWAP_SLOTS_CACHE_SIZE) takes every free slot of a
    # 3-slot device (batch 64), hands out the first and keeps the rest at SWAP_HAS_CACHE
    def body(k):
        yield from k.madvise_pageout(k.mms["A"], [0])
    k, _, r = run(body, _text('[{ state = "present", value = 1 }]', 3, CACHES[cache]), final_check=True)
    assert r.ok, r.violations
    assert k.mms["A"].pte[0].peek().offset == 0
    assert [c.peek() for c in k.si.swap_map] == [1] + [SWAP_HAS_CACHE if i in reserved else 0 for i in (1, 2)]
    assert k.si.inuse_pages.peek() == 1 + len(reserved)
    assert (k.si.swp_slots[0].slots.peek() if k.si.swp_slots else ()) == reserved


# --- the slot cache: freeing -----------------------------------------------------------------------
@pytest.mark.parametrize("cache", ["on", "off"])
def test_a_freed_slot_waits_in_slots_ret_at_swap_has_cache(cache):
    # free_swap_slot: the entry goes to cache->slots_ret; swap_map stays SWAP_HAS_CACHE, the
    # device keeps the data, inuse_pages still counts it, until swapcache_free_entries
    def body(k):
        yield from k.madvise_dontneed(k.mms["A"], [0])
        return (yield from k.swapcache_prepare(0))
    k, err, r = run(body, _text('[{ state = "swapped", value = 1 }]', 1, CACHES[cache]), final_check=True)
    assert r.ok, r.violations
    if cache == "on":
        assert k.si.swap_map[0].peek() == SWAP_HAS_CACHE and k.si.zram[0].peek() == 1
        assert k.si.inuse_pages.peek() == 1 and k.si.swp_slots[0].slots_ret.peek() == (0,)
        # the point: the parked slot reads as "someone is swapping this in"
        assert err == EEXIST
    else:
        assert k.si.swap_map[0].peek() == 0 and k.si.zram[0].peek() == POISON
        assert err == ENOENT


def test_a_full_slots_ret_gives_its_slots_back_before_taking_the_next():
    # `if (cache->n_ret >= SWAP_SLOTS_CACHE_SIZE) swapcache_free_entries(...)`: with a batch of 1
    # the second free flushes the first
    def body(k):
        a = k.mms["A"]
        yield from k.madvise_dontneed(a, [0])
        first = [c.peek() for c in k.si.swap_map]
        yield from k.madvise_dontneed(a, [1])
        return first
    pages = '[{ state = "swapped", value = 1, slot = 0 }, { state = "swapped", value = 2, slot = 1 }]'
    k, first, r = run(body, _text(pages, 2, CACHES["one"]), final_check=True)
    assert r.ok, r.violations
    assert first == [SWAP_HAS_CACHE, 1]
    assert [c.peek() for c in k.si.swap_map] == [0, SWAP_HAS_CACHE]
    assert k.si.swp_slots[0].slots_ret.peek() == (1,)


def test_swapoff_drains_every_cache_and_leaves_it_disabled():
    # disable_swap_slots_cache_lock drains reserved and freed slots before try_to_unuse; after it
    # `swap_slot_cache_enabled = has_usable_swap()`, false with the one device gone
    def body(k):
        a = k.mms["A"]
        yield from k.madvise_pageout(a, [1])         # reserves slot 2 in the cache
        yield from k.madvise_dontneed(a, [0])        # parks slot 0 in slots_ret
        parked = dict(k.slots_in_percpu_caches())
        yield from k.swapoff()
        return parked
    pages = '[{ state = "swapped", value = 1 }, { state = "present", value = 2 }]'
    k, parked, r = run(body, _text(pages, 3, CACHES["on"]), final_check=True)
    assert r.ok, r.violations
    assert set(parked) == {0, 2}
    assert k.si.freed and not k.si.slot_cache_enabled.peek()
    assert k.mms["A"].pte[1].peek().kind == "present"


def test_the_oracle_refuses_a_parked_slot_that_someone_took():
    # a slot in a per-cpu cache must be SWAP_HAS_CACHE with no reference: a count on it means it
    # was handed out while parked (what count-pin's __swap_duplicate(entry, 1) can do)
    def body(k):
        yield from k.madvise_dontneed(k.mms["A"], [0])
        k.si.swap_map[0]._v = SWAP_HAS_CACHE | 1
    _, _, r = run(body, _text('[{ state = "swapped", value = 1 }]', 1, CACHES["on"]), final_check=True)
    assert not r.ok and r.violations[0].kind == "accounting"
    assert "slots_ret" in r.violations[0].message


def test_slot_cache_size_needs_slot_cache_and_names_its_line():
    with pytest.raises(ScenarioError) as e:
        parse_scenario(_text('[{ state = "none" }]', 1, "slot_cache_size = 1\n"))
    assert ":3:" in str(e.value) and "slot_cache = true" in str(e.value)
    with pytest.raises(ScenarioError) as e:
        parse_scenario(_text('[{ state = "none" }]', 1, "slot_cache = true\nslot_cache_size = 65\n"))
    assert ":4:" in str(e.value)


def test_the_hunt_writes_and_tells_apart_the_slot_cache():
    on = parse_scenario(_text('[{ state = "swapped", value = 1 }]', 1, CACHES["one"]))
    off = parse_scenario(_text('[{ state = "swapped", value = 1 }]', 1, CACHES["off"]))
    back = validated(on)
    assert back.device.slot_cache and back.device.slot_cache_size == 1
    assert "slot_cache" not in to_toml(off)              # files without it are written as before
    assert canonical(on) != canonical(off)


# --- background reclaim ----------------------------------------------------------------------
RECLAIM_OPS = '["read 0", "reclaim"]'


@pytest.mark.parametrize("anon", [False, True])
def test_reclaim_keeps_the_bypass_folio_before_it_is_mapped(anon):
    # the bypass window (swap_read_folio has unlocked the folio, folio->private still set): the
    # folio is on the LRU but has no mapping, so shrink_folio_list goes to keep_locked.  With
    # the mapping's anon bit forced on, the same pass adds it to the swap cache (a second slot):
    # the anon test is what keeps it out.
    def body(k):
        folio = k.alloc_folio(index=0)
        folio.lock.lock_new()
        if anon:
            folio.anon._v = True
        yield from k.folio_add_lru(folio)
        yield from folio.swap.write(0)
        yield from k.swap_read_folio(folio, 0)
        yield from k.shrink_lru()
        return folio
    k, folio, r = run(body, _text('[{ state = "swapped", value = 1 }]', 2, "", RECLAIM_OPS), design=Bypass)
    assert r.ok, r.violations
    if anon:
        # add_to_swap took slot 1; pageout then keeps it (the fault's reference: not freeable)
        assert folio.swapcache.peek() and folio.swap.peek() == 1
        assert k.si.swap_map[1].peek() == SWAP_HAS_CACHE and k.stats.get("pageout_keep") == 1
        return
    assert not folio.freed and not folio.swapcache.peek() and folio.lru.peek()
    assert folio.ref.peek() == 1 and not folio.lock.is_locked_now()
    assert [c.peek() for c in k.si.swap_map] == [1, 0]


def test_reclaim_drops_an_unmapped_willneed_folio_from_the_swap_cache():
    def body(k):
        yield from k.madvise_willneed(k.mms["A"], [0])
        cached = k.si.cache[0].peek()
        yield from k.shrink_lru()
        return cached
    k, cached, r = run(body, _text('[{ state = "swapped", value = 1 }]', 1, "", RECLAIM_OPS), final_check=True)
    assert r.ok, r.violations
    assert cached is not None and k.si.cache[0].peek() is None
    assert k.si.swap_map[0].peek() == 1 and cached not in k.folios
    assert k.stats.get("reclaimed") == 1


@pytest.mark.parametrize("how", ["reclaim", "pageout"])
def test_reclaim_unmaps_a_shared_folio_from_every_mm_where_pageout_skips_it(how):
    def body(k):
        if how == "reclaim":
            yield from k.shrink_lru()
        else:
            yield from k.madvise_pageout(k.mms["A"], [0])
    k, _, r = run(body, _text('[{ state = "present", value = 1 }]', 1, "", RECLAIM_OPS, forked=True),
                  final_check=True)
    assert r.ok, r.violations
    kinds = [k.mms[m].pte[0].peek().kind for m in "AB"]
    if how == "reclaim":
        assert kinds == ["swp", "swp"] and k.si.swap_map[0].peek() == 2
    else:
        assert kinds == ["present", "present"]       # folio_mapcount != 1: not isolated


def test_a_reclaim_only_thread_is_not_a_user_of_the_mm():
    sc = parse_scenario(_text('[{ state = "present", value = 1 }]', 1, "", '["reclaim"]'))
    from swaplab.kernel import Kernel
    assert Kernel(sc).mms["A"].users.peek() == 1
    assert validated(sc).threads[0].ops[0].kind == "reclaim"


# --- read errors: swapoff turns the PTE into a poisoned entry (unuse_pte v6.6) -------------------
def test_swapoff_poisons_a_pte_whose_slot_cannot_be_read_and_the_access_then_fails():
    def body(k):
        yield from k.swapoff()
        pte = k.mms["A"].pte[0].peek()
        v = yield from k.user_access(k.mms["A"], 0, False)
        return pte, v
    text = ('[device]\nslots = 1\nread_errors = [0]\n[[mm]]\nname = "A"\n'
            'pages = [{ state = "swapped", value = 1 }]\n[[thread]]\nops = ["read 0"]\n')
    k, (pte, v), r = run(body, text, final_check=True)
    assert r.ok, r.violations
    assert pte.kind == "poisoned" and v is None and k.si.freed

# Every scenario of tests/scenarios/widen, these included, is explored completely under swapcache
# by tests/test_widen.py (test_widen_scenarios_have_no_violation_on_every_interleaving).


def test_the_oracle_refuses_a_slot_parked_twice():
    # count-pin raises the count of a parked slot and frees it again into another CPU's
    # slots_ret; both caches would later swapcache_free_entries it: VM_BUG_ON the second time
    def body(k):
        yield from k.madvise_dontneed(k.mms["A"], [0])
        k.si.swp_slots[0].slots._v = (0,)
    _, _, r = run(body, _text('[{ state = "swapped", value = 1 }]', 1, CACHES["on"]), final_check=True)
    assert not r.ok and "freed twice" in r.violations[0].message
