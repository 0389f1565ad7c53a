"""mm/swap_slots.c: the per-cpu swap slot cache (issue 12, widen e), a device option.

Follows v6.6.  With ``[device] slot_cache = true`` every thread (its own CPU) has a
``struct swap_slots_cache`` (state.SwapSlotsCache): folio_alloc_swap takes slots from it, refilled
in batches by get_swap_pages(SWAP_SLOTS_CACHE_SIZE); free_swap_slot parks a freed slot in its
``slots_ret``, where it stays at SWAP_HAS_CACHE, with no folio and its device copy intact, until
the batch is full or swapoff drains the caches.  So a slot can sit at SWAP_HAS_CACHE with no
swap-cache folio, reserved (``slots``) or freed (``slots_ret``): which is what a
swapcache_prepare() of it reads as "someone is swapping this in" (-EEXIST).

Left out (docs/model.md, "widen e"): check_cache_active()'s thresholds (the cache deactivates
when fewer than num_online_cpus() * 2 * SWAP_SLOTS_CACHE_SIZE slots are free and reactivates
above 5 *: on the scenarios' 1-4 slot devices it would never be active, so the option models a
device that is a small window of a large swap space: swap_slot_cache_active is always true);
the refill's scan takes the lowest free slots (scan_swap_map_slots' cluster logic, which the
one-slot allocator leaves out too), with ``vm_swap_full = "computed"`` it takes free slots only
(the TTRS_ANYWAY reclaim is in the one-slot scan, which the fallback still uses); CPU hotplug
(free_slot_cache); memcg charging.
"""
from __future__ import annotations

from ..engine import Step, note_lazy
from ..engine.runtime import CTX
from .state import SWP_WRITEOK
from .types import POISON, SWAP_HAS_CACHE, fmt_map


class SwapSlots:
    def _my_slots_cache(self):
        """raw_cpu_ptr(&swp_slots): this thread's CPU's cache."""
        return self.si.swp_slots[CTX.tid]

    def check_cache_active(self):
        """check_cache_active() v6.6: ``if (!swap_slot_cache_enabled) return false;`` then the
        activation thresholds, which the model leaves out (always active: see the module)."""
        return (yield from self.si.slot_cache_enabled.read("check_cache_active: swap_slot_cache_enabled",
                                                            cost="read"))

    def folio_alloc_swap(self, folio):
        """folio_alloc_swap() v6.6 (mm/swap_slots.c) for an order-0 folio:

            if (likely(check_cache_active() && cache->slots)) {
                    mutex_lock(&cache->alloc_lock);
                    if (cache->slots) {
            repeat:
                            if (cache->nr) {
                                    entry = cache->slots[cache->cur];
                                    cache->slots[cache->cur++].val = 0;
                                    cache->nr--;
                            } else if (refill_swap_slots_cache(cache)) {
                                    goto repeat;
                            }
                    }
                    mutex_unlock(&cache->alloc_lock);
                    if (entry.val)
                            goto out;
            }
            get_swap_pages(1, &entry, 0);

        Without the device option it is get_swap_pages() alone, as before.  Returns the offset
        or None."""
        si = self.si
        if not si.slot_cache:
            return (yield from self.get_swap_pages())
        if (yield from self.check_cache_active()):
            cache = self._my_slots_cache()
            yield from cache.alloc_lock.lock("mutex_lock(&cache->alloc_lock)")
            entry = None
            while True:
                yield Step(((cache.slots, True),), "folio_alloc_swap: cache->nr? take cache->slots[cache->cur]",
                           cost="write")
                have = cache.slots.value
                if have:
                    entry = have[0]
                    cache.slots.value = have[1:]
                    note_lazy(lambda: f"swap slot {entry} from this CPU's slot cache")
                    break
                if not (yield from self.refill_swap_slots_cache(cache)):
                    break
            yield from cache.alloc_lock.unlock("mutex_unlock(&cache->alloc_lock)")
            if entry is not None:
                return entry
        return (yield from self.get_swap_pages())

    def refill_swap_slots_cache(self, cache):
        """refill_swap_slots_cache() v6.6, alloc_lock held:

            if (!use_swap_slot_cache)
                    return 0;
            cache->cur = 0;
            if (swap_slot_cache_active)
                    cache->nr = get_swap_pages(SWAP_SLOTS_CACHE_SIZE, cache->slots, 0);
            return cache->nr;
        """
        si = self.si
        if not (yield from si.slot_cache_enabled.read("refill_swap_slots_cache: use_swap_slot_cache",
                                                       cost="read")):
            return 0
        got = yield from self._get_swap_pages_batch(si.slot_cache_size)
        yield Step(((cache.slots, True),), f"refill_swap_slots_cache: cache->slots = {list(got)}", cost="write")
        cache.slots.value = got
        return len(got)

    def _get_swap_pages_batch(self, n_goal: int):
        """get_swap_pages(n_goal, ...) v6.6 → scan_swap_map_slots(si, SWAP_HAS_CACHE, n_goal, ...)
        for the refill, under si->lock: up to ``n_goal`` free slots, each set to SWAP_HAS_CACHE
        and counted in inuse_pages (swap_range_alloc), lowest first.  None on a device that is
        not SWP_WRITEOK (off swap_avail_head at swapoff)."""
        si = self.si
        acc = ((si.flags, False), (si.inuse_pages, True)) + tuple((c, True) for c in si.swap_map)
        yield from si.lock.locked_step(acc, f"get_swap_pages({n_goal}): scan_swap_map_slots", cost="scan")
        if not si.flags.value & SWP_WRITEOK:
            return ()
        got = tuple(i for i, c in enumerate(si.swap_map) if c.value == 0)[:n_goal]
        for i in got:
            si.swap_map[i].value = SWAP_HAS_CACHE
        si.inuse_pages.value += len(got)
        return got

    def free_swap_slot_to_cache(self, entry: int):
        """The cached half of free_swap_slot() v6.6; True if the slot went into slots_ret (the
        caller frees it directly otherwise):

            if (likely(use_swap_slot_cache && cache->slots_ret)) {
                    spin_lock_irq(&cache->free_lock);
                    /* Swap slots cache may be deactivated before acquiring lock */
                    if (!use_swap_slot_cache || !cache->slots_ret) {
                            spin_unlock_irq(&cache->free_lock);
                            goto direct_free;
                    }
                    if (cache->n_ret >= SWAP_SLOTS_CACHE_SIZE) {
                            /* Return slots to global pool. ... */
                            swapcache_free_entries(cache->slots_ret, cache->n_ret);
                            cache->n_ret = 0;
                    }
                    cache->slots_ret[cache->n_ret++] = entry;
                    spin_unlock_irq(&cache->free_lock);
            }

        The slot keeps SWAP_HAS_CACHE and its data until swapcache_free_entries runs."""
        si = self.si
        if not (yield from si.slot_cache_enabled.read("free_swap_slot: use_swap_slot_cache", cost="read")):
            return False
        cache = self._my_slots_cache()
        yield from cache.free_lock.lock("spin_lock_irq(&cache->free_lock)")
        # the drain at swapoff clears swap_slot_cache_enabled first, then empties slots_ret under
        # free_lock: a slot added after the drain would never be freed
        if not (yield from si.slot_cache_enabled.read("free_swap_slot: use_swap_slot_cache (again)",
                                                       cost="read")):
            yield from cache.free_lock.unlock("spin_unlock_irq(&cache->free_lock)")
            return False
        ret = yield from cache.slots_ret.read("cache->n_ret", cost="read")
        if len(ret) >= si.slot_cache_size:
            yield from self.swapcache_free_entries(ret)
            ret = ()
        yield from cache.slots_ret.write(ret + (entry,), f"cache->slots_ret[cache->n_ret++] = offset {entry}",
                                         cost="write")
        note_lazy(lambda: f"slot {entry} waits in this CPU's slots_ret at SWAP_HAS_CACHE")
        yield from cache.free_lock.unlock("spin_unlock_irq(&cache->free_lock)")
        return True

    def swapcache_free_entries(self, entries):
        """swapcache_free_entries() v6.6: swap_entry_free() of each, under the lock (one device:
        one swap_info_get_cont):

            count = p->swap_map[offset];
            VM_BUG_ON(count != SWAP_HAS_CACHE);
            p->swap_map[offset] = 0;
            ...
            swap_range_free(p, offset, 1);     /* inuse_pages--, zram discards the slot */
        """
        if not entries:
            return
        si = self.si
        acc = ((si.inuse_pages, True),) + tuple(x for e in entries for x in ((si.swap_map[e], True),
                                                                                  (si.zram[e], True)))
        yield from si.lock.locked_step(acc, f"swapcache_free_entries({list(entries)})", cost="swap_map")
        for e in entries:
            cell = si.swap_map[e]
            if cell.value != SWAP_HAS_CACHE:
                from ..engine import Violation
                raise Violation("crash", f"VM_BUG_ON in swap_entry_free: {cell.name} is {fmt_map(cell.value)}, "
                                         "not SWAP_HAS_CACHE (a slot in a per-cpu slot cache was taken)")
            cell.value = 0
            si.zram[e].value = POISON
            si.inuse_pages.value -= 1

    def drain_swap_slots_cache(self):
        """disable_swap_slots_cache_lock()'s __drain_swap_slots_cache(SLOTS_CACHE|SLOTS_CACHE_RET)
        v6.6, after swap_slot_cache_enabled = false: for each CPU, drain_slots_cache_cpu():

            mutex_lock(&cache->alloc_lock);
            swapcache_free_entries(cache->slots + cache->cur, cache->nr);
            cache->cur = 0; cache->nr = 0;
            mutex_unlock(&cache->alloc_lock);
            ...
            spin_lock_irq(&cache->free_lock);
            swapcache_free_entries(cache->slots_ret, cache->n_ret);
            cache->n_ret = 0;
            spin_unlock_irq(&cache->free_lock);
        """
        for cache in self.si.swp_slots:
            yield from cache.alloc_lock.lock("drain_slots_cache_cpu: mutex_lock(&cache->alloc_lock)")
            slots = yield from cache.slots.read("cache->slots", cost="read")
            yield from self.swapcache_free_entries(slots)
            yield from cache.slots.write((), "cache->nr = 0", cost="write")
            yield from cache.alloc_lock.unlock("mutex_unlock(&cache->alloc_lock)")
            yield from cache.free_lock.lock("drain_slots_cache_cpu: spin_lock_irq(&cache->free_lock)")
            ret = yield from cache.slots_ret.read("cache->slots_ret", cost="read")
            yield from self.swapcache_free_entries(ret)
            yield from cache.slots_ret.write((), "cache->n_ret = 0", cost="write")
            yield from cache.free_lock.unlock("spin_unlock_irq(&cache->free_lock)")

    def slots_in_percpu_caches(self) -> dict[int, list[str]]:
        """slot -> where it waits (for the oracle): every slot the CPUs' caches hold, with each
        place it is held (more than one means it was freed twice)."""
        out: dict[int, list[str]] = {}
        for cpu, cache in enumerate(self.si.swp_slots):
            for e in cache.slots.peek():
                out.setdefault(e, []).append(f"CPU {cpu}'s slot cache (reserved)")
            for e in cache.slots_ret.peek():
                out.setdefault(e, []).append(f"CPU {cpu}'s slots_ret (freed)")
        return out
