"""mm/swapfile.c: swap_map counts, the swap-cache pin, freeing slots, swap devices.

Follows v6.6 (with 82b1c07a0af6's get_swap_device in free_swap_and_cache, v6.9), plus the
swapcache_clear() that 13ddaf26 added (v6.8).  Left out everywhere: swap count continuation
(counts stay below SWAP_MAP_MAX), the per-cpu swap slot cache (a freed slot goes straight back
to the allocator, which makes reuse *easier* than in the kernel), memcg charging, THP batches.
"""
from __future__ import annotations

from ..engine import Step, Violation, choose, note_lazy
from .state import SWP_WRITEOK, test_flags
from .types import POISON, SWAP_HAS_CACHE, SWAP_MAP_BAD, SWAP_MAP_MAX, fmt_map, swap_count

EEXIST, ENOENT, EINVAL, ENOMEM = -17, -2, -22, -12
# __try_to_reclaim_swap's flags (mm/swapfile.c v6.6)
TTRS_ANYWAY, TTRS_UNMAPPED, TTRS_FULL = 0x1, 0x2, 0x4


class Swapfile:
    # --- counts under the cluster lock -----------------------------------------------------
    def _swap_duplicate(self, entry: int, usage: int):
        """__swap_duplicate() v6.6: add ``usage`` (1 or SWAP_HAS_CACHE) to swap_map[entry].

        Returns 0, -EEXIST (cache bit already set), -ENOENT (free or bad slot) or -EINVAL
        (count at SWAP_MAP_MAX; continuation pages are not modeled).
        """
        si = self.si
        cell = si.swap_map[entry]
        yield from si.lock.locked_step(((cell, True),), f"__swap_duplicate(offset {entry}, "
                                       f"{'SWAP_HAS_CACHE' if usage == SWAP_HAS_CACHE else usage})",
                                       cost="swap_map")
        return self._swap_duplicate_locked(cell, usage)

    def _swap_duplicate_locked(self, cell, usage: int) -> int:
        """The body of __swap_duplicate under the cluster lock (a design's special swap_map
        values are checked here, beside SWAP_MAP_BAD)."""
        count = cell.value
        err = 0
        if swap_count(count) == SWAP_MAP_BAD:
            err = ENOENT
        else:
            has_cache = count & SWAP_HAS_CACHE
            count &= ~SWAP_HAS_CACHE
            if usage == SWAP_HAS_CACHE:
                if not has_cache and count:
                    has_cache = SWAP_HAS_CACHE
                elif has_cache:          # someone else has already taken SWAP_HAS_CACHE
                    err = EEXIST
                else:                    # unused swap entry
                    err = ENOENT
            elif count or has_cache:
                if count < SWAP_MAP_MAX:
                    count += usage
                else:
                    err = EINVAL
            else:                        # unused swap entry
                err = ENOENT
            if not err:
                cell.value = count | has_cache
        return err

    def swap_duplicate(self, entry: int):
        """swap_duplicate() v6.6: count+1.  -ENOENT/-EINVAL are treated as success, as the
        kernel does ("just as if it succeeded"); -ENOMEM (continuation) cannot happen here."""
        err = yield from self._swap_duplicate(entry, 1)
        return 0 if err in (ENOENT, EINVAL) else err

    def swapcache_prepare(self, entry: int):
        """swapcache_prepare() v6.6: set SWAP_HAS_CACHE; -EEXIST if set, -ENOENT if free."""
        err = yield from self._swap_duplicate(entry, SWAP_HAS_CACHE)
        if err:
            note_lazy(lambda: f"swapcache_prepare fails: " + ("-EEXIST: SWAP_HAS_CACHE is taken"
                                                              if err == EEXIST else "the slot is free"))
        return err

    def _swap_entry_free_locked(self, cell, usage: int) -> int:
        """__swap_entry_free_locked() v6.6 (called inside a step on ``cell``, cluster lock held).

        Drops ``usage``; a result of 0 is written back as SWAP_HAS_CACHE so the slot stays
        reserved until swap_entry_free() runs.
        """
        count = cell.value
        has_cache = count & SWAP_HAS_CACHE
        count &= ~SWAP_HAS_CACHE
        if usage == SWAP_HAS_CACHE:
            if not has_cache:
                raise Violation("accounting", f"clearing SWAP_HAS_CACHE on {cell.name}, which does "
                                              f"not have it ({fmt_map(cell.value)})")
            has_cache = 0
        else:
            if count == 0:
                raise Violation("accounting", f"swap count underflow on {cell.name} "
                                              f"({fmt_map(cell.value)}): a reference was dropped twice")
            count -= 1
        usage_left = count | has_cache
        cell.value = usage_left if usage_left else SWAP_HAS_CACHE
        return usage_left

    def _swap_entry_free(self, entry: int, usage: int, label: str):
        si = self.si
        cell = si.swap_map[entry]
        yield from si.lock.locked_step(((cell, True),), label, cost="swap_map")
        left = self._swap_entry_free_locked(cell, usage)
        if not left:
            yield from self.free_swap_slot(entry)
        return left

    def free_swap_slot(self, entry: int):
        """free_swap_slot() → swapcache_free_entries() → swap_entry_free() v6.6, without the
        per-cpu slot cache: under the lock, swap_map goes 0 and swap_range_free() lets zram
        discard the slot's data (swap_slot_free_notify).  With the device option
        ``slot_cache`` the slot may wait in this CPU's slots_ret first (swap_slots.py)."""
        si = self.si
        if si.slot_cache and (yield from self.free_swap_slot_to_cache(entry)):
            return
        cell, data = si.swap_map[entry], si.zram[entry]
        yield from si.lock.locked_step(((cell, True), (data, True), (si.inuse_pages, True)),
                                       f"swap_entry_free(offset {entry})", cost="swap_map")
        if cell.value != SWAP_HAS_CACHE:     # VM_BUG_ON(count != SWAP_HAS_CACHE)
            raise Violation("crash", f"VM_BUG_ON in swap_entry_free: {cell.name} is "
                                     f"{fmt_map(cell.value)}, not SWAP_HAS_CACHE")
        cell.value = 0
        data.value = POISON
        si.inuse_pages.value -= 1

    def _swap_entry_free_body(self, entry: int) -> None:
        """The body of swap_entry_free(), for designs that free a slot inside a critical section
        they already hold (the step must declare swap_map[entry], zram[entry], inuse_pages)."""
        si = self.si
        si.swap_map[entry].value = 0
        si.zram[entry].value = POISON
        si.inuse_pages.value -= 1

    def swap_free(self, entry: int):
        """swap_free() v6.6: drop one count; free the slot if nothing is left."""
        cell = self.si.swap_map[entry]
        # _swap_info_get(): "swap_free: Unused swap offset entry" is a kernel error
        if cell.peek() == 0:
            yield Step(((cell, False),), f"swap_free(offset {entry})", cost="swap_map")
            if cell.value == 0:
                raise Violation("accounting", f"swap_free(offset {entry}): Unused swap offset entry "
                                              f"(the slot was already freed)")
        return (yield from self._swap_entry_free(entry, 1, f"swap_free(offset {entry})"))

    def swapcache_clear(self, entry: int):
        """swapcache_clear() (13ddaf26, v6.8): drop the SWAP_HAS_CACHE pin of a direct swap-in."""
        return (yield from self._swap_entry_free(entry, SWAP_HAS_CACHE,
                                                  f"swapcache_clear(offset {entry})"))

    def put_swap_folio(self, entry: int):
        """put_swap_folio() v6.6, one slot: clear SWAP_HAS_CACHE, free the slot if unused."""
        return (yield from self._swap_entry_free(entry, SWAP_HAS_CACHE,
                                                  f"put_swap_folio(offset {entry})"))

    def _swap_count(self, entry: int):
        """__swap_count(): a lockless (data_race) read of the count."""
        v = yield from self.si.swap_map[entry].read(f"__swap_count(offset {entry})", cost="read")
        return swap_count(v)

    # --- how full the device is ----------------------------------------------------------------
    def vm_swap_full(self, pending: int = 0):
        """vm_swap_full() v6.6 (include/linux/swap.h):

            return atomic_long_read(&nr_swap_pages) * 2 < total_swap_pages;

        With the device option ``vm_swap_full = "never"`` (the default) it is false and reads
        nothing.  With ``"computed"``: one device, so total_swap_pages is its size and
        nr_swap_pages is size - si->inuse_pages (get_swap_pages' atomic_long_sub and
        swap_range_alloc's inuse_pages++ happen in the same allocation, swap_range_free's
        atomic_long_add with inuse_pages--); the read is one lockless step on inuse_pages.
        ``pending`` is what the caller has already subtracted (get_swap_pages takes its slot off
        nr_swap_pages before scan_swap_map_slots runs).  Not modeled: another thread's read in
        that window, which sees the allocating thread's slot as taken already.

        From swapoff's first step on, both counts are without the device: sys_swapoff v6.6,
        in the swap_lock section that clears SWP_WRITEOK (the model's one step),

            atomic_long_sub(p->pages, &nr_swap_pages);
            total_swap_pages -= p->pages;

        so total_swap_pages is 0 and nr_swap_pages is -inuse_pages (swap_range_free still adds
        back each slot it frees): vm_swap_full() is true while try_to_unuse finds a slot in
        use.  The model reads SWP_WRITEOK in the same step to know which."""
        si = self.si
        if si.swap_full != "computed":
            return False
        yield Step(((si.inuse_pages, False), (si.flags, False)),
                   "vm_swap_full: atomic_long_read(&nr_swap_pages)", cost="read")
        return self._swap_full_of(si.inuse_pages.value, pending, bool(si.flags.value & SWP_WRITEOK))

    def _swap_full_of(self, inuse: int, pending: int = 0, counted: bool = True) -> bool:
        """nr_swap_pages * 2 < total_swap_pages; ``counted``: the device is still in both
        (SWP_WRITEOK), else swapoff has taken its pages out of both."""
        total = self.si.nslots if counted else 0
        nr_swap_pages = total - inuse - pending
        return nr_swap_pages * 2 < total

    def mem_cgroup_swap_full(self, folio):
        """mem_cgroup_swap_full() v6.6 (mm/memcontrol.c) without memcg: ``if (vm_swap_full())
        return true;`` and false otherwise (no cgroup v2 swap limit is modeled)."""
        return (yield from self.vm_swap_full())

    # --- allocation --------------------------------------------------------------------------
    def get_swap_pages(self):
        """get_swap_pages() → scan_swap_map_slots() v6.6, one slot: under the lock, take a free
        slot (map 0) and set it to SWAP_HAS_CACHE.  Which slot: the lowest free one, or (policy
        "any") every free slot is explored.  Returns the offset or None (device full or not
        SWP_WRITEOK)."""
        si = self.si
        yield from si.lock.lock()
        if si.swap_full == "computed":
            off = yield from self._scan_swap_map_slots_full()
        else:
            yield Step(((si.flags, False),) + tuple((c, False) for c in si.swap_map),
                       "scan_swap_map_slots: find a free slot", cost="scan")
            free = [i for i, c in enumerate(si.swap_map) if c.value == 0] if si.flags.value & 0x2 else []
            k = (yield from choose(len(free), "scan_swap_map_slots: which free slot")) \
                if free and si.policy == "any" else 0
            off = free[k] if free else None
        if off is None:
            yield from si.lock.unlock()
            return None
        # the end of scan_swap_map_slots' checks: once the offset is free (si->lock held, the
        # cluster lock folded into it): WRITE_ONCE(si->swap_map[offset], usage) (SWAP_HAS_CACHE),
        # then swap_range_alloc(si, offset, 1) (si->inuse_pages++), in one step
        cell = si.swap_map[off]
        yield Step(((cell, True), (si.inuse_pages, True)), f"scan_swap_map_slots: take offset {off}",
                   cost="swap_map")
        cell.value = SWAP_HAS_CACHE
        si.inuse_pages.value += 1
        note_lazy(lambda: f"allocated swap slot {off}")
        yield from si.lock.unlock()
        return off

    def _scan_swap_map_slots_full(self):
        """get_swap_pages() → scan_swap_map_slots() v6.6 with vm_swap_full() computed, si->lock
        held on entry and on return: the offset to take (get_swap_pages takes it), or None.  A
        slot is a candidate when it is free, or when vm_swap_full() and only the swap cache holds
        it (swap_offset_available_and_locked); at such a slot:

            if (vm_swap_full() && si->swap_map[offset] == SWAP_HAS_CACHE) {
                    unlock_cluster(ci);
                    spin_unlock(&si->lock);
                    swap_was_freed = __try_to_reclaim_swap(si, offset, TTRS_ANYWAY);
                    spin_lock(&si->lock);
                    /* entry was freed successfully, try to use this again */
                    if (swap_was_freed)
                            goto checks;
                    goto scan; /* check next one */
            }

        get_swap_pages has already taken our slot off nr_swap_pages (``atomic_long_sub``), so
        vm_swap_full() here counts it; with no slot free (inuse_pages == pages) the device is
        off swap_avail_head and nothing is scanned.  Which candidate: the lowest, or (policy
        "any") each; a slot whose reclaim failed is passed by for the rest of this scan (the
        kernel's scan moves on and would meet it again only after wrapping round)."""
        si = self.si
        passed: set[int] = set()
        again = None                       # goto checks: the offset whose folio was reclaimed
        while True:
            yield Step(((si.flags, False), (si.inuse_pages, False)) + tuple((c, False) for c in si.swap_map),
                       "scan_swap_map_slots: find a free slot", cost="scan")
            inuse = si.inuse_pages.value
            full = self._swap_full_of(inuse, pending=1, counted=bool(si.flags.value & SWP_WRITEOK))
            cands = [] if not si.flags.value & 0x2 or inuse >= si.nslots else \
                [i for i, c in enumerate(si.swap_map)
                 if i not in passed and (c.value == 0 or (full and c.value == SWAP_HAS_CACHE))]
            if not cands:
                return None                    # get_swap_pages drops si->lock
            if again in cands:
                off = again
            else:
                k = (yield from choose(len(cands), "scan_swap_map_slots: which slot")) \
                    if si.policy == "any" else 0
                off = cands[k]
            again = None
            cell = si.swap_map[off]
            if cell.value == SWAP_HAS_CACHE:
                note_lazy(lambda: f"vm_swap_full: slot {off} is held only by the swap cache: "
                                  f"__try_to_reclaim_swap(TTRS_ANYWAY)")
                yield from si.lock.unlock()
                freed = yield from self._try_to_reclaim_swap(off, TTRS_ANYWAY)
                yield from si.lock.lock()
                if freed:
                    self.count("swap_full_reclaims")
                    again = off
                else:
                    passed.add(off)
                continue
            return off                     # checks passed: get_swap_pages takes it

    # --- swapoff protection --------------------------------------------------------------------
    def get_swap_device(self, entry: int):
        """get_swap_device() v6.6: percpu_ref_tryget_live(&si->users): this CPU's counter goes up
        unless swapoff has killed the ref.  None after swapoff."""
        si = self.si
        mine = si.users_pcpu()
        yield Step(((si.users_live, False), (mine, True)), "get_swap_device", cost="percpu_ref")
        if not si.users_live.value:
            note_lazy(lambda: "get_swap_device fails: swapoff has killed si->users")
            return None
        mine.value += 1
        return si

    def put_swap_device(self, si):
        """put_swap_device(): percpu_ref_put (on this CPU's counter)."""
        mine = si.users_pcpu()
        yield from mine.rmw(lambda n: n - 1, "put_swap_device", cost="percpu_ref")

    # --- reclaiming a slot that only the cache holds -----------------------------------------
    def free_swap_and_cache(self, entry: int):
        """free_swap_and_cache() v6.9 (82b1c07a0af6 added get_swap_device): drop the PTE's count;
        if only the swap cache holds the slot now, try (folio_trylock, never waiting) to free the
        cached folio as __try_to_reclaim_swap(TTRS_UNMAPPED | TTRS_FULL) does (a mapped folio
        too when mem_cgroup_swap_full(), i.e. vm_swap_full()).  Runs under the PTE lock of
        zap_pte_range."""
        si = yield from self.get_swap_device(entry)
        if si is None:
            return False
        count = yield from self._swap_entry_free(entry, 1, f"free_swap_and_cache(offset {entry})")
        if count == SWAP_HAS_CACHE:
            yield from self._try_to_reclaim_swap(entry)
        yield from self.put_swap_device(si)
        return True

    def _try_to_reclaim_swap(self, entry: int, flags: int = TTRS_UNMAPPED | TTRS_FULL):
        """__try_to_reclaim_swap() v6.6: look the folio up, folio_trylock (never wait: the
        allocation path holds another folio's lock), and free its swap cache when

            if ((flags & TTRS_ANYWAY) ||
                ((flags & TTRS_UNMAPPED) && !folio_mapped(folio)) ||
                ((flags & TTRS_FULL) && mem_cgroup_swap_full(folio)))
                    ret = folio_free_swap(folio);

        (the tests in that order, each made only if the ones before failed)."""
        folio = yield from self.filemap_get_folio(entry)
        if folio is None:
            return 0
        ret = 0
        if (yield from folio.lock.trylock()):
            free = bool(flags & TTRS_ANYWAY)
            if not free and flags & TTRS_UNMAPPED:
                free = not (yield from folio.mapcount.read("folio_mapped", cost="read"))
            if not free and flags & TTRS_FULL:
                free = yield from self.mem_cgroup_swap_full(folio)
            if free:
                ret = 1 if (yield from self.folio_free_swap(folio)) else 0
            yield from folio.lock.unlock()
        yield from self.folio_put(folio)
        return ret

    def folio_free_swap(self, folio):
        """folio_free_swap() v6.6 (folio locked): drop the swap cache if no PTE needs the slot."""
        swapcache, writeback = yield from test_flags("folio_free_swap: test swapcache/writeback",
                                                     folio.swapcache, folio.writeback)
        if not swapcache or writeback:
            return False
        entry = yield from folio.swap.read(cost="read")
        if (yield from self._swap_count(entry)):  # folio_swapped(): a PTE still counts on the slot
            return False
        yield from self.delete_from_swap_cache(folio)
        yield from folio.dirty.write(True, "folio_set_dirty", cost="flags")
        return True
