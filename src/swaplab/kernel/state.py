"""The kernel objects the model shares between threads: folios, mms, the swap device.

Each field a kernel reads or writes with its own atomic operation is its own engine cell, so
the search sees exactly which steps conflict.  Everything here is plain data; the functions
that change it live in the modules named after the kernel files (memory.py, swapfile.py, ...).
"""
from __future__ import annotations

from ..engine import Array, Cell, RWSem, SleepLock, SpinLock, Step, Violation, WaitQueue, guarded_by
from .types import (PG_anon, PG_anon_exclusive, PG_dirty, PG_lru, PG_swapcache, PG_uptodate, PG_writeback, PTE_NONE,
                    fmt_map)


class OwnedCell(Cell):
    """A field of an object that can be freed (a folio, the swap_map): any access after the
    owner was freed is a use-after-free."""

    __slots__ = ("owner",)

    def __init__(self, owner, name: str, value, fmt=None):
        super().__init__(name, value, fmt)
        self.owner = owner

    def dead(self) -> bool:
        return self.owner.freed

    def _uaf(self, what: str):
        if self.owner.freed:
            raise Violation("use-after-free", f"{what} {self.name} after {self.owner!r} was freed")

    def read(self, label: str = "", cost=None):
        v = yield from super().read(label, cost)
        self._uaf("read of")
        return v

    def write(self, value, label: str = "", cost=None):
        yield from super().write(value, label, cost)
        self._uaf("write of")

    def rmw(self, fn, label: str = "", cost=None):
        old = yield from super().rmw(fn, label, cost)
        self._uaf("update of")
        return old

    @property
    def value(self):
        self._uaf("access to")
        return Cell.value.fget(self)

    @value.setter
    def value(self, v):
        self._uaf("access to")
        Cell.value.fset(self, v)


class FolioLock(SleepLock):
    """PG_locked of a folio; dead once the folio is freed."""

    __slots__ = ("folio",)

    def __init__(self, folio):
        super().__init__(f"folio#{folio.pfn}.lock")
        self.folio = folio

    def dead(self) -> bool:
        return self.folio.freed


class Folio:
    """struct folio, order 0: one page.  pfn names it (folio#pfn) in traces."""

    def __init__(self, pfn: int, data, flags: int = 0, ref: int = 1, index: int = -1):
        self.pfn = pfn
        self.freed = False
        self.index = index                     # folio->index: the virtual page it belongs to
        self.lock = FolioLock(self)
        self.lru_owner = -1                    # keeps PG_lru private once published (make_private)
        name = f"folio#{pfn}"
        self.ref = OwnedCell(self, f"{name}.ref", ref)
        self.mapcount = OwnedCell(self, f"{name}.mapcount", 0)
        # Each page flag is its own cell: the kernel sets, clears and tests them with atomic
        # bitops (set_bit, clear_bit, test_bit) that do not touch the other bits, so a fault
        # testing PG_swapcache must not look dependent on reclaim clearing PG_dirty.
        self.swapcache = OwnedCell(self, f"{name}.PG_swapcache", bool(flags & PG_swapcache))
        self.uptodate = OwnedCell(self, f"{name}.PG_uptodate", bool(flags & PG_uptodate))
        self.dirty = OwnedCell(self, f"{name}.PG_dirty", bool(flags & PG_dirty))
        self.writeback = OwnedCell(self, f"{name}.PG_writeback", bool(flags & PG_writeback))
        self.anon_exclusive = OwnedCell(self, f"{name}.PageAnonExclusive", bool(flags & PG_anon_exclusive))
        self.lru = OwnedCell(self, f"{name}.PG_lru", bool(flags & PG_lru))
        self.swap = OwnedCell(self, f"{name}.swap", None)          # folio->swap: the slot offset
        # folio_test_anon(): folio->mapping has PAGE_MAPPING_ANON once the folio was first
        # mapped; read only by background reclaim (a folio read around or into the swap cache
        # and not mapped yet is not anonymous, so shrink_folio_list will not add_to_swap it)
        self.anon = OwnedCell(self, f"{name}.mapping_anon", bool(flags & PG_anon))
        self.data = OwnedCell(self, f"{name}.data", data)
        # Changed only with the folio locked (add_to_swap_cache, __delete_from_swap_cache and
        # the read completion assert folio_test_locked); tests of them by the lock holder need
        # no scheduling point.  A folio outside the swap cache is the faulting thread's own:
        # do_swap_page's cache-bypassing path sets and clears its ->swap without the lock.
        guarded_by(self.lock, self.swapcache, self.uptodate)
        guarded_by(self.lock, self.swap, lockless=self._not_in_swapcache)

    def _not_in_swapcache(self, _swap) -> bool:
        return not self.swapcache._v

    def flag_cells(self):
        return (self.swapcache, self.uptodate, self.dirty, self.writeback, self.anon_exclusive, self.lru)

    def fields(self):
        return (self.lock, self.ref, self.mapcount, *self.flag_cells(), self.swap, self.anon, self.data)

    def make_private(self, tid: int, lru_stays: bool = False) -> None:
        """A newly allocated folio: only ``tid`` can reach it until it is published.  With
        ``lru_stays``, PG_lru stays ``tid``'s after that too (nobody isolates folios from the
        LRU in this program: Kernel.declare_unshared)."""
        for c in self.fields():
            c.private = tid
        self.lru_owner = tid if lru_stays else -1

    def publish(self) -> None:
        """Another thread can now reach the folio (through the swap cache or a PTE)."""
        for c in self.fields():
            c.private = -1
        if self.lru_owner >= 0:
            self.lru.private = self.lru_owner

    def __repr__(self) -> str:
        return f"folio#{self.pfn}"


def test_flags(label: str, *cells, cost: str = "read"):
    """folio_test_*() of one or more page flags in one step (the callers hold the folio lock, so
    the tests of the bits that lock protects cannot be split by a change)."""
    yield Step(tuple((c, False) for c in cells), label, cost=cost)
    return tuple(c.value for c in cells) if len(cells) > 1 else cells[0].value


def _mmu_may_set_dirty(cell) -> bool:
    pte = cell._v
    return pte.kind == "present" and pte.write and not pte.dirty


class MM:
    """struct mm_struct with one VMA and one page table (so one PTE lock) covering its pages."""

    def __init__(self, name: str, pages: int, family: str):
        self.name = name
        self.family = family                   # the anon_vma tree: parent and forked children
        self.mmap_lock = RWSem(f"{name}.mmap_lock")
        self.ptl = SpinLock(f"{name}.ptl")
        self.pte = [Cell(f"{name}.pte[{a}]", PTE_NONE, str) for a in range(pages)]
        # set_pte_at and friends run under the PTE lock; only the MMU changes a PTE without
        # it, setting the dirty bit of a present writable one on a store
        guarded_by(self.ptl, *self.pte, lockless=_mmu_may_set_dirty)
        self.logical = [0] * pages             # oracle: what the user last stored (ghost state)
        # VMA coverage (find_vma): munmap clears it under mmap_lock for write.  A cell, so that
        # the fault's read of it is a dependency the search (and retry parking) sees.
        self.mapped = [Cell(f"{name}.vma[{a}]", True) for a in range(pages)]
        # mm_users: each task's mmput() drops it by one, the last one's exit_mmap() runs, and
        # swapoff's try_to_unuse skips an mm it cannot mmget_not_zero()
        self.users = Cell(f"{name}.mm_users", 1)
        # !list_empty(&mm->mmlist): on init_mm.mmlist, the list swapoff walks (Kernel.mmlist)
        self.mmlist = Cell(f"{name}.mmlist", False)
        self.alive = True                      # false once exit_mmap is done (the oracle skips it)

    def __repr__(self) -> str:
        return self.name


# swap_info_struct->flags bits
SWP_WRITEOK = 0x2
SWP_STABLE_WRITES = 0x800     # swapon: bdev_stable_writes(); zram_add sets QUEUE_FLAG_STABLE_WRITES
SWP_SYNCHRONOUS_IO = 0x1000


class SwapInfo:
    """swap_info_struct for the one swap device, with its swap cache (address_space) beside it."""

    def __repr__(self) -> str:
        return "the swap device (swapoff)"

    def users_pcpu(self, tid: int | None = None) -> Cell:
        """This CPU's counter of si->users (every thread is its own CPU)."""
        from ..engine.runtime import CTX
        from ..engine.symmetry import per_thread
        if not self._users:
            self._users = per_thread(lambda t: Cell(f"si->users.pcpu[{t}]", 0))
        return self._users[CTX.tid if tid is None else tid]

    def users_all(self) -> list:
        self.users_pcpu(0)
        return self._users

    def __init__(self, nslots: int, synchronous: bool, policy: str, swap_full: str = "never",
                 read_errors=(), slot_cache: bool = False, slot_cache_size: int = 64, ncpus: int = 1):
        # a synchronous device is zram, which asks for stable writes (it compresses the page
        # while it is under writeback); a slower disk is modeled without them
        flags = SWP_WRITEOK | (SWP_SYNCHRONOUS_IO | SWP_STABLE_WRITES if synchronous else 0)
        self.nslots = nslots
        self.policy = policy                    # "lowest" free slot first, or "any" (a choice)
        # vm_swap_full(): "never" (false, the simplification) or "computed" from inuse_pages
        # (nr_swap_pages is total_swap_pages - inuse_pages with one device: Swapfile.vm_swap_full)
        self.swap_full = swap_full
        self.read_errors = frozenset(read_errors)   # slots whose reads fail (swap_read_folio)
        self.flags = Cell("si->flags", flags)
        # lock_cluster_or_swap_info: one cluster covers the whole (small) device, and si->lock is
        # folded into it (both are held together where the kernel nests them).
        self.lock = SpinLock("si->cluster_lock")
        self.freed = False                      # swapoff finished: swap_map is gone
        self.swap_map = [OwnedCell(self, f"swap_map[{i}]", 0, fmt_map) for i in range(nslots)]
        self.inuse_pages = Cell("si->inuse_pages", 0)
        # swap_slot_cache_enabled: swapoff disables the per-cpu slot cache while it runs, which
        # is what stops __read_swap_cache_async from skipping a slot whose count is 0.
        self.slot_cache_enabled = Cell("swap_slot_cache_enabled", True)
        self.users_live = Cell("si->users.live", True)   # percpu_ref: killed by swapoff
        self._users: list[Cell] = []                      # its per-cpu counters (per_thread)
        # The device's contents and the swap cache's xarray go with the device at the end of
        # swapoff (filp_close(swap_file), exit_swap_address_space): an access after that is a
        # use-after-free, as for swap_map.
        self.zram = _owned_array(self, "zram", nslots)            # slot contents on the device
        self.cache = _owned_array(self, "swap_cache", nslots)     # xarray slot: folio pfn or None
        self.cache_lock = SpinLock("swap_cache.xa_lock")
        self.swapcache_wq = WaitQueue("swapcache_wq")   # 01626a18's global wait queue
        # the per-cpu swap slot cache (mm/swap_slots.c), a device option: one per thread (each
        # thread is its own CPU), or none when the option is off (kernel/swap_slots.py)
        self.slot_cache = slot_cache
        self.slot_cache_size = slot_cache_size           # SWAP_SLOTS_CACHE_SIZE (SWAP_BATCH, 64)
        from ..engine.symmetry import Tid, per_thread_list
        self.swp_slots = per_thread_list([SwapSlotsCache(Tid(t)) for t in range(ncpus)] if slot_cache else [],
                                         SwapSlotsCache.objects)


class SwapSlotsCache:
    """struct swap_slots_cache of one CPU (mm/swap_slots.c v6.6): ``slots`` are slots taken
    from the device for this CPU's next allocations (swap_map SWAP_HAS_CACHE, no folio),
    handed out from the front (cache->cur); ``slots_ret`` are freed slots waiting to go back
    (still SWAP_HAS_CACHE, the device's copy not yet discarded).  alloc_lock (a mutex) guards
    ``slots``, free_lock (a spinlock) ``slots_ret``; besides this CPU only the drain at
    swapoff takes them."""

    def __init__(self, cpu: int):
        self.alloc_lock = SleepLock(f"swp_slots[{cpu}].alloc_lock")
        self.free_lock = SpinLock(f"swp_slots[{cpu}].free_lock")
        self.slots = Cell(f"swp_slots[{cpu}].slots", ())
        self.slots_ret = Cell(f"swp_slots[{cpu}].slots_ret", ())

    def objects(self):
        return (self.alloc_lock, self.free_lock, self.slots, self.slots_ret)

    def held(self) -> tuple:
        """The slots this cache holds (both lists), for the oracle."""
        return self.slots.peek() + self.slots_ret.peek()


def _owned_array(owner, name: str, n: int) -> Array:
    """An Array of ``n`` empty slots that die with ``owner`` (OwnedCell)."""
    a = Array(name, [])
    a.cells = [OwnedCell(owner, f"{name}[{i}]", None) for i in range(n)]
    return a
