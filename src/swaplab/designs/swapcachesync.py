"""swapcache-sync — the swap cache as the synchronization point (swap table phase II, 2025).

"mm, swap: never bypass the swap cache even for SWP_SYNCHRONOUS_IO", "use swap cache as the
swap in synchronize layer", "free the swap cache after folio is mapped" and "always try to free
swap cache for SWP_SYNCHRONOUS_IO devices" (Kairui Song, series
20251220-swap-table-p2-v5).  On a sync-io device, swapin_folio() allocates a locked folio and
inserts it with swap_cache_add_folio(), which under the cluster lock fails with -EEXIST if a
folio is already cached and -ENOENT if the count is 0: whoever inserts first does the read;
everyone else finds that folio and waits on its lock.  The swap cache entry is dropped only
after the folio is mapped, so a late racer still finds it.  No swapcache_prepare loop, no
one-tick sleep.  SWAP_HAS_CACHE is still set (it was removed by a later patch).
"""
from ..engine import retry
from ..kernel.state import SWP_SYNCHRONOUS_IO
from ..kernel.swapfile import EEXIST, ENOENT
from ..kernel.types import SWAP_HAS_CACHE, swap_count
from ..kernel import Kernel


class SwapCacheSync(Kernel):
    name = "swapcache-sync"
    kind = "upstream"            # swap table phase II (2025)
    summary = "swap table phase II (2025): insert into the swap cache first; racers wait on the folio lock"
    reference = "swap-table-p2 v5 (Dec 2025)"

    free_swap_cache_after_map = True

    def _sync_io(self) -> bool:
        return bool(self.si.flags.peek() & SWP_SYNCHRONOUS_IO)   # fixed at swapon

    def should_try_to_free_swap(self, folio, vmf, in_swapcache):
        """Phase II: always try to free the swap cache for SWP_SYNCHRONOUS_IO devices."""
        if in_swapcache and self._sync_io():
            return True
        return (yield from super().should_try_to_free_swap(folio, vmf, in_swapcache))

    def swapin_readahead(self, entry, vmf):
        if not self._sync_io():
            return (yield from super().swapin_readahead(entry, vmf))
        return (yield from self.swapin_folio(entry, vmf))

    def swapin_folio(self, entry, vmf):
        """swapin_folio(): insert our locked folio; if another is cached, use that one."""
        first = True
        while True:
            yield from retry("swapin_folio: raced with a removal", first)
            first = False
            new = self.alloc_folio(index=vmf.addr)
            new.lock.lock_new()
            err = yield from self.swap_cache_add_folio(new, entry)
            if not err:
                yield from new.lru.write(True, "folio_add_lru", cost="flags")
                yield from self.swap_read_folio(new, entry)
                return new
            self.free_new_folio(new)
            if err == ENOENT:
                return None
            folio = yield from self.swap_cache_get_folio(entry)
            if folio is not None:
                return folio

    def swap_cache_add_folio(self, folio, entry):
        """swap_cache_add_folio() (phase II): under the cluster lock, -EEXIST if a folio is
        cached, -ENOENT if the slot's count is 0, else install the folio and set HAS_CACHE."""
        si = self.si
        cell, slot = si.swap_map[entry], si.cache[entry]
        yield from si.lock.locked_step(((cell, True), (slot, True), (folio.ref, True), (folio.swapcache, True),
                                        (folio.swap, True)),
                                       f"swap_cache_add_folio(folio#{folio.pfn}, offset {entry})", cost="xa_store")
        if slot.value is not None:
            return EEXIST
        if swap_count(cell.value) == 0:
            return ENOENT
        slot.value = folio.pfn
        cell.value |= SWAP_HAS_CACHE
        folio.ref.value += 1
        folio.swapcache.value = True
        folio.swap.value = entry
        folio.publish()
        return 0

    # Phase II keeps the swap cache and swap_map under the same cluster lock, so a folio leaves
    # the cache, gives up SWAP_HAS_CACHE and frees a slot whose count is 0 in one critical
    # section: no window shows an empty cache slot whose map still holds the cache bit.
    def _delete_and_put(self, folio, entry, label):
        si = self.si
        cell, slot = si.swap_map[entry], si.cache[entry]
        yield from si.lock.locked_step(((slot, True), (cell, True), (folio.swapcache, True), (folio.swap, True),
                                        (si.zram[entry], True), (si.inuse_pages, True)), label, cost="xa_store")
        slot.value = None
        folio.swapcache.value = False
        folio.swap.value = None
        if not self._swap_entry_free_locked(cell, SWAP_HAS_CACHE):
            self._swap_entry_free_body(entry)         # count 0: freed in the same section

    def delete_from_swap_cache(self, folio):
        """swap_cache_del_folio() (phase II): delete and drop SWAP_HAS_CACHE together."""
        entry = yield from folio.swap.read(cost="read")
        yield from self._delete_and_put(folio, entry, f"__swap_cache_del_folio(offset {entry})")
        yield from self.folio_put(folio)

    def _remove_mapping(self, folio):
        """__remove_mapping() (phase II): freeze, delete and drop SWAP_HAS_CACHE under the
        cluster lock."""
        si = self.si
        entry = folio.swap.peek()
        if entry is None:
            return False
        cell, slot = si.swap_map[entry], si.cache[entry]
        yield from si.lock.locked_step(((folio.ref, True), (folio.dirty, False), (folio.swapcache, True),
                                        (folio.swap, True), (slot, True),
                                        (cell, True), (si.zram[entry], True), (si.inuse_pages, True)),
                                       f"__remove_mapping: folio_ref_freeze(folio#{folio.pfn}, 2)", cost="xa_store")
        if folio.ref.value != 2 or folio.dirty.value or folio.swap.value != entry:
            return False
        folio.ref.value = 0
        slot.value = None
        folio.swapcache.value = False
        folio.swap.value = None
        if not self._swap_entry_free_locked(cell, SWAP_HAS_CACHE):
            self._swap_entry_free_body(entry)
        return True

    def _read_swap_cache_async(self, entry, index):
        """__swap_cache_prepare_and_add() (phase II) for readahead, MADV_WILLNEED and swapoff:
        the same insert-first protocol; the swapcache_prepare loop and its sleep are gone."""
        si = yield from self.get_swap_device(entry)
        if si is None:
            return None, False
        first = True
        while True:
            yield from retry("__swap_cache_prepare_and_add: raced", first)
            first = False
            folio = yield from self.filemap_get_folio(entry)
            if folio is not None:
                yield from self.put_swap_device(si)
                return folio, False
            new = self.alloc_folio(index=index)
            new.lock.lock_new()
            err = yield from self.swap_cache_add_folio(new, entry)
            if not err:
                yield from new.lru.write(True, "folio_add_lru", cost="flags")
                yield from self.put_swap_device(si)
                return new, True
            self.free_new_folio(new)
            if err == ENOENT:
                yield from self.put_swap_device(si)
                return None, False
