"""mm/vmscan.c: shrink_folio_list for anonymous folios, add_to_swap, pageout, __remove_mapping.

Follows v6.12's order for MADV_PAGEOUT (references ignored), which v6.6 shares apart from
clearing young bits.  ``__remove_mapping`` is spelled ``_remove_mapping``.  Left out: the LRU
lists and their per-cpu batches, writeback throttling, large-folio splitting, zswap, the zero
page map, memcg.  A kept folio goes back on the LRU (PG_lru) still in the swap cache.
"""
from __future__ import annotations

from ..engine import Step, Violation, note_lazy
from .state import Folio, test_flags


class Vmscan:
    def add_to_swap(self, folio: Folio):
        """add_to_swap() v6.6: folio_alloc_swap (a slot with SWAP_HAS_CACHE), add_to_swap_cache,
        folio_mark_dirty.  False when no slot is free."""
        entry = yield from self.folio_alloc_swap(folio)
        if entry is None:
            return False
        yield from self.add_to_swap_cache(folio, entry)
        yield from folio.dirty.write(True, "folio_mark_dirty", cost="flags")
        return True

    def pageout(self, folio: Folio):
        """pageout() v6.6: is_page_cache_freeable(), folio_clear_dirty_for_io, then
        swap_writepage (which unlocks).  Returns False for PAGE_KEEP (the folio stays locked):

            if (!is_page_cache_freeable(folio))
                    return PAGE_KEEP;

        where is_page_cache_freeable() is `folio_ref_count(folio) - folio_test_private(folio)
        == 1 + folio_nr_pages(folio)`: only the isolation reference and the swap cache's.  A
        fault that found the folio in the swap cache holds a third reference: the folio is
        kept (still dirty), not written while that fault may map and modify it."""
        ref = yield from folio.ref.read("is_page_cache_freeable: folio_ref_count", cost="read")
        if ref != 2:
            self.count("pageout_keep")
            note_lazy(lambda: f"is_page_cache_freeable fails: refcount {ref}, not 2: PAGE_KEEP")
            return False
        yield from folio.dirty.write(False, "folio_clear_dirty_for_io", cost="flags")
        yield from self.swap_writepage(folio)
        return True

    def _remove_mapping(self, folio: Folio):
        """__remove_mapping() v6.6 for a swap-cache folio (folio locked): under the swap cache
        lock, freeze the refcount at 2 (the isolation reference and the cache's) — it fails if
        anyone else holds a reference, e.g. a fault that found the folio in the cache — recheck
        dirty, delete from the cache; then put_swap_folio.  The freeze and the delete are one
        step: lockless lookups that see the frozen folio only retry."""
        si = self.si
        entry = folio.swap.peek()           # stable: we hold the folio lock
        slot = si.cache[entry] if entry is not None else None
        acc = ((folio.ref, True), (folio.dirty, False), (folio.swapcache, True), (folio.swap, True)) + \
            (((slot, True),) if slot is not None else ())
        yield from si.cache_lock.locked_step(acc, f"__remove_mapping: folio_ref_freeze(folio#{folio.pfn}, 2)",
                                             cost="xa_store")
        if folio.ref.value != 2 or folio.dirty.value or folio.swap.value != entry:
            note_lazy(lambda: f"folio_ref_freeze fails: folio#{folio.pfn} has refcount {folio.ref.value}"
                              + (", or is dirty again" if folio.dirty.value else ""))
            ok = False
        else:
            folio.ref.value = 0
            slot.value = None                       # __delete_from_swap_cache
            folio.swapcache.value = False
            folio.swap.value = None
            ok = True
        if ok:
            yield from self.put_swap_folio(entry)
        return ok

    def folio_add_lru(self, folio: Folio):
        """folio_add_lru() v6.6: the folio goes on the LRU, where background reclaim can isolate
        it (the per-cpu batch that delays this in the kernel is not modeled): with a ``reclaim``
        operation in the scenario, a folio still private to its allocator is published here."""
        yield from folio.lru.write(True, "folio_add_lru", cost="flags")
        if self.background_reclaim:
            folio.publish()

    def shrink_lru(self):
        """One pass of background reclaim (kswapd, or direct reclaim) over the anonymous LRU:
        shrink_inactive_list() v6.6 → isolate_lru_folios() under lru_lock, for every folio on
        the LRU (PG_lru):

            if (!folio_try_get(folio))
                    goto move;
            if (!folio_test_clear_lru(folio)) {
                    folio_put(folio);
                    goto move;
            }

        then shrink_folio_list() on what it isolated.  It reaches what MADV_PAGEOUT cannot:
        folios no PTE maps (a swap-cache folio left by MADV_WILLNEED or a losing racer, the
        bypass path's folio before it is mapped) and shared ones (try_to_unmap walks every
        mapping).  Simplifications (docs/model.md, "widen b"): one pass over the whole LRU
        (no scan priorities, no active/inactive lists, references ignored as MADV_PAGEOUT
        ignores them), the isolation is one step (lru_lock held over the walk), a folio that
        is on the LRU only through a per-cpu batch is treated as on it, and a new anonymous
        folio reaches the LRU in the step that maps it (do_anonymous_page and wp_page_copy
        call folio_add_lru_vma right before set_pte_at under the PTL)."""
        while True:
            cands = [f for pfn, f in sorted(self.folios.items()) if pfn != 0 and f.lru.private == -1]
            acc = tuple(x for f in cands for x in ((f.lru, True), (f.ref, True)))
            yield Step(acc, "isolate_lru_folios: folio_try_get && folio_test_clear_lru (lru_lock)",
                       cost="atomic")
            now = [f for pfn, f in sorted(self.folios.items()) if pfn != 0 and f.lru.private == -1]
            if now != cands:
                continue            # a folio was published or freed before the step ran: look again
            break
        isolated = []
        for f in cands:
            if f.lru.value:
                f.lru.value = False
                f.ref.value += 1
                isolated.append(f)
        note_lazy(lambda: "isolated " + (", ".join(repr(f) for f in isolated) or "nothing"))
        yield from self.shrink_folio_list(isolated)

    def shrink_folio_list(self, folios):
        """shrink_folio_list() v6.12 for isolated anonymous folios (MADV_PAGEOUT: references
        ignored).  Each folio ends freed, or kept and put back on the LRU."""
        for folio in folios:
            freed = yield from self._shrink_one(folio)
            if not freed:
                yield Step(((folio.lru, True),), f"folio_putback_lru(folio#{folio.pfn})", cost="flags")
                folio.lru.value = True
                yield from self.folio_put(folio)     # the isolation reference

    def _shrink_one(self, folio: Folio):
        if not (yield from folio.lock.trylock()):
            return False
        # folio_test_anon is read in the same step: the anon bit changes only in the step that
        # first maps the folio, under its lock (which we hold) or before it is published
        writeback, swapcache, anon = yield from test_flags("folio_test_writeback/swapcache", folio.writeback,
                                                           folio.swapcache, folio.anon)
        if writeback:
            yield from folio.lock.unlock()
            return False
        if not swapcache and not anon:
            # `if (folio_test_anon(folio) && folio_test_swapbacked(folio))` fails: a folio read
            # around the swap cache and not mapped yet (the bypass path's, between
            # swap_read_folio and its set_pte_at) has no mapping, so it is neither added to
            # swap nor written (pageout: `if (!mapping) return PAGE_KEEP`) nor removed
            # (`if (!mapping || !__remove_mapping(...)) goto keep_locked`)
            note_lazy(lambda: f"folio#{folio.pfn} is not anonymous (folio->mapping is NULL): keep_locked")
            yield from folio.lock.unlock()
            return False
        if not swapcache:
            if not (yield from self.add_to_swap(folio)):
                yield from folio.lock.unlock()
                return False                        # activate_locked
        if (yield from folio.mapcount.read("folio_mapped", cost="read")):
            yield from self.try_to_unmap(folio)
            if (yield from folio.mapcount.read("folio_mapped", cost="read")):
                yield from folio.lock.unlock()
                return False
        if (yield from test_flags("folio_test_dirty", folio.dirty)):
            if not (yield from self.pageout(folio)):  # PAGE_KEEP: goto keep_locked
                yield from folio.lock.unlock()
                return False
            self.count("pageouts")                  # the write unlocked the folio
            if any((yield from test_flags("folio_test_writeback/dirty", folio.writeback, folio.dirty))):
                return False
            # A synchronous write has ended: relock to free the folio
            if not (yield from folio.lock.trylock()):
                return False
            if any((yield from test_flags("folio_test_writeback/dirty", folio.writeback, folio.dirty))):
                yield from folio.lock.unlock()
                return False
        if not (yield from test_flags("folio_test_swapcache", folio.swapcache)):
            # swap_writepage's folio_free_swap already dropped the cache (no PTE needs the slot)
            yield from folio.lock.unlock()
            return False
        if not (yield from self._remove_mapping(folio)):
            yield from folio.lock.unlock()
            return False
        yield from folio.lock.unlock()
        if folio.ref.peek() != 0:
            raise Violation("crash", f"folio#{folio.pfn} freed with references")
        self._free_folio(folio)
        self.count("reclaimed")
        return True
