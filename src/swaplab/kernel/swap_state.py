"""mm/swap_state.c and mm/page_io.c: the swap cache, swap-in into it, and device I/O.

Follows v6.6.  The kernel's ``__name`` helpers are spelled ``_name`` (Python mangles names that
start with two underscores).  Left out: readahead of neighbouring slots (the window is one
page), workingset shadows, memcg, the LRU's per-cpu batches.  The swap cache is one xarray
(the kernel has one per 64 MiB); lookups are lockless (RCU) as in the kernel, modeled as one
atomic step that reads the slot and takes a folio reference (folio_try_get).
"""
from __future__ import annotations

from ..engine import Step, note_lazy, retry, schedule_timeout
from .state import Folio, test_flags
from .types import POISON
from .swapfile import EEXIST


class SwapState:
    def filemap_get_folio(self, entry: int, label: str = ""):
        """filemap_get_folio(swap_address_space(entry), offset): an RCU lookup of the swap cache
        that returns the folio with a reference, or None."""
        slot = self.si.cache[entry]
        while True:
            pfn = slot.peek()
            folio = self.folio_of(pfn, f"swap cache slot {entry}") if pfn is not None else None
            acc = ((slot, False),) + (((folio.ref, True),) if folio is not None else ())
            yield Step(acc, label or f"swap cache lookup(offset {entry})", cost="xa_lookup")
            if slot.value != pfn:
                continue                  # the slot changed since we looked: RCU lookup again
            if folio is not None and self.folios.get(pfn) is not folio:
                continue                  # same frame, but freed and reused since: look again
            if folio is None:
                return None
            folio.ref.value += 1          # folio_try_get(); a frozen folio is never in the cache
            return folio

    def swap_cache_get_folio(self, entry: int):
        """swap_cache_get_folio() v6.6 (readahead statistics left out)."""
        return (yield from self.filemap_get_folio(entry, f"swap_cache_get_folio(offset {entry})"))

    def add_to_swap_cache(self, folio: Folio, entry: int):
        """add_to_swap_cache() v6.6: folio_ref_add, PG_swapcache, folio->swap, then store the
        folio in the xarray under its lock.  The slot must be empty: SWAP_HAS_CACHE, taken by
        the caller, keeps everyone else out."""
        si = self.si
        yield from folio.ref.rmw(lambda r: r + 1, "add_to_swap_cache: folio_ref_add", cost="atomic")
        yield from folio.swapcache.write(True, "folio_set_swapcache", cost="flags")
        yield from folio.swap.write(entry, f"folio->swap = offset {entry}", cost="write")
        slot = si.cache[entry]
        yield from si.cache_lock.locked_step(((slot, True),), f"xas_store(swap_cache[{entry}], folio#{folio.pfn})",
                                             cost="xa_store")
        if slot.value is not None:
            from ..engine import Violation
            raise Violation("crash", f"add_to_swap_cache: swap_cache[{entry}] already holds "
                                     f"folio#{slot.value} (SWAP_HAS_CACHE should have kept us out)")
        slot.value = folio.pfn
        folio.publish()

    def _delete_from_swap_cache(self, folio: Folio, entry: int):
        """__delete_from_swap_cache() v6.6 with xa_lock held (one locked step): empty the slot,
        clear PG_swapcache and folio->swap.  The folio lock is held, so nobody who could look
        at the three fields sees them apart."""
        slot = self.si.cache[entry]
        yield from self.si.cache_lock.locked_step(((slot, True), (folio.swapcache, True), (folio.swap, True)),
                                                  f"__delete_from_swap_cache(offset {entry})", cost="xa_store")
        slot.value = None
        folio.swapcache.value = False
        folio.swap.value = None

    def delete_from_swap_cache(self, folio: Folio):
        """delete_from_swap_cache() v6.6: remove under xa_lock, put_swap_folio, drop the
        cache's folio reference."""
        entry = yield from folio.swap.read(cost="read")
        yield from self._delete_from_swap_cache(folio, entry)     # under xa_lock
        yield from self.put_swap_folio(entry)
        yield from self.folio_put(folio)

    def free_swap_cache(self, folio: Folio):
        """free_swap_cache() v6.6 (mm/swap_state.c), on a folio we hold a reference to:

            if (folio_test_swapcache(folio) && !folio_mapped(folio) &&
                folio_trylock(folio)) {
                    folio_free_swap(folio);
                    folio_unlock(folio);
            }

        The two tests are lockless, as in the kernel: folio_free_swap tests PG_swapcache
        again under the lock."""
        swapcache, mapped = yield from test_flags("free_swap_cache: folio_test_swapcache, folio_mapped",
                                                  folio.swapcache, folio.mapcount)
        if not swapcache or mapped:
            return
        if not (yield from folio.lock.trylock()):
            return
        yield from self.folio_free_swap(folio)
        yield from folio.lock.unlock()

    # --- swap-in into the swap cache -------------------------------------------------------
    def _read_swap_cache_async(self, entry: int, index: int):
        """__read_swap_cache_async() v6.6.  Returns (folio with a reference, page_allocated).

        Loops: look in the cache; skip an unused slot; allocate; swapcache_prepare().  On
        -EEXIST (another thread holds SWAP_HAS_CACHE but has not added its folio yet, or is
        deleting it) sleep a tick and look again.
        """
        si = yield from self.get_swap_device(entry)
        if si is None:
            return None, False
        first = True
        while True:
            yield from retry("__read_swap_cache_async: retry", first)
            first = False
            folio = yield from self.filemap_get_folio(entry)
            if folio is not None:
                yield from self.put_swap_device(si)
                return folio, False
            # Just skip read ahead for unused swap slot.  During swapoff the slot cache is
            # disabled and we must not skip (else swapoff would be aborted when we return NULL).
            if not (yield from self._swap_count(entry)) and \
                    (yield from self.si.slot_cache_enabled.read("swap_slot_cache_enabled", cost="read")):
                yield from self.put_swap_device(si)
                return None, False
            new = self.alloc_folio(index=index)
            err = yield from self.swapcache_prepare(entry)
            if not err:
                break
            self.free_new_folio(new)
            if err != EEXIST:
                yield from self.put_swap_device(si)
                return None, False
            self.count("swapcache_prepare_eexist")
            # We might race against __delete_from_swap_cache(), or against another
            # __read_swap_cache_async() that set SWAP_HAS_CACHE but has not added its folio yet.
            yield from schedule_timeout(1, "__read_swap_cache_async: schedule_timeout_uninterruptible(1)")
        # The swap entry is ours to swap in: __folio_set_locked, then publish in the cache.
        new.lock.lock_new()
        yield from self.add_to_swap_cache(new, entry)
        yield from new.lru.write(True, "folio_add_lru", cost="flags")
        yield from self.put_swap_device(si)
        return new, True

    def read_swap_cache_async(self, entry: int, index: int):
        """read_swap_cache_async() v6.6: __read_swap_cache_async, then read if we allocated."""
        folio, allocated = yield from self._read_swap_cache_async(entry, index)
        if allocated:
            yield from self.swap_read_folio(folio, entry)
        return folio

    def swapin_readahead(self, entry: int, vmf):
        """swapin_readahead() v6.6 with a window of one page: the faulting entry only."""
        return (yield from self.read_swap_cache_async(entry, vmf.addr))

    # --- device I/O (mm/page_io.c) -----------------------------------------------------------
    def swap_read_folio(self, folio: Folio, entry: int):
        """swap_read_folio() v6.6 on a synchronous (zram-like) device: copy the slot into the
        folio, mark it uptodate, unlock it.  A discarded slot reads as poison.  A slot listed in
        the device's ``read_errors`` fails to read (zram's decompression error, a disk's bad
        sector): v6.6's completion (__end_swap_bio_read, zram_bvec_read's error) then only
        unlocks the folio, which stays !uptodate:

            if (bio->bi_status) {
                    pr_alert_ratelimited("Read-error on swap-device (%u:%u:%llu)\n", ...);
            } else {
                    folio_mark_uptodate(folio);
            }
            folio_unlock(folio);
        """
        if entry in self.si.read_errors:
            return (yield from self._swap_read_folio_error(folio, entry))
        src = self.si.zram[entry]
        yield Step(((src, False), (folio.data, True), (folio.uptodate, True)),
                   f"swap_read_folio(offset {entry} -> folio#{folio.pfn})", kind="io", cost="zram_read")
        v = src.value
        if v == POISON:
            note_lazy(lambda: f"zram slot {entry} was discarded: the read returns garbage")
        folio.data.value = v
        folio.uptodate.value = True
        self.count("swap_read")
        yield from folio.lock.unlock(f"folio_unlock(folio#{folio.pfn}) (read done)")

    def _swap_read_folio_error(self, folio: Folio, entry: int):
        """A failed read: the slot is accessed, nothing is copied, PG_uptodate stays clear."""
        src = self.si.zram[entry]
        yield Step(((src, False), (folio.uptodate, False)),
                   f"swap_read_folio(offset {entry} -> folio#{folio.pfn}): Read-error on swap-device",
                   kind="io", cost="zram_read")
        note_lazy(lambda: f"the read of slot {entry} fails: folio#{folio.pfn} stays !uptodate")
        self.count("swap_read_errors")
        yield from folio.lock.unlock(f"folio_unlock(folio#{folio.pfn}) (read failed)")

    def swap_writepage(self, folio: Folio):
        """swap_writepage() v6.6, synchronous device (swap_writepage_bdev_sync): if the slot is
        no longer needed free it instead; else start writeback, unlock the folio, write, end
        writeback.  zswap and the zero-page map are left out."""
        if (yield from self.folio_free_swap(folio)):
            yield from folio.lock.unlock()
            return
        entry = yield from folio.swap.read(cost="read")
        yield from folio.writeback.write(True, "folio_start_writeback", cost="flags")
        yield from folio.lock.unlock(f"folio_unlock(folio#{folio.pfn}) (writeback started)")
        dst = self.si.zram[entry]
        yield Step(((folio.data, False), (dst, True)),
                   f"swap_writepage: write folio#{folio.pfn} to offset {entry}", kind="io", cost="zram_write")
        dst.value = folio.data.value
        yield from folio.writeback.write(False, "folio_end_writeback", cost="flags")
