"""mm/memory.c: page faults (do_anonymous_page, do_swap_page, do_wp_page), zap_pte_range and
fork's copy_pte_range; plus the CPU's load and store through the page table.

Follows v6.6 (do_swap_page as in v6.6, with the swap cache always used: the classic design of
kernels before v4.15 and the path for swap count > 1 after).

Hooks: a design (or a historic version) overrides only these, which sit where the kernel's code
differs between versions; each is called at the point of do_swap_page (or zap, fork) named:
  do_swap_page
    swapin_get_swap_device(vmf)       si = get_swap_device(entry) (None: return, refault)
    swapin_put_swap_device(vmf)       put_swap_device(si) at the out label
    swapin_swapcache_folio(vmf, folio, how)   what counts as the swap-cache folio
                                      ("lookup", "direct", "readahead")
    swapin_skip_swapcache(vmf)        take the cache-bypassing path on a cache miss?
    swapin_direct(vmf)                that path: a folio, None (OOM) or BACKOFF
    swapin_lock_folio(folio, vmf)     folio_lock_or_retry
    swapin_recheck_after_lock(vmf, folio)   the swap-cache recheck after folio_lock
    swapin_expected_pte(vmf)          what pte_same compares the PTE with
    should_try_to_free_swap(folio, vmf, in_swapcache)
    free_swap_cache_after_map         (attribute) free the cache after mapping, not before
    swapin_maps_writable_on_read      (attribute) c18160dba5ff's v6.11 mapping of a read fault
    on_mapped(vmf, folio)             right after set_pte_at, PTL held
    swapin_read_error(vmf, folio)     the !folio_test_uptodate SIGBUS exit, PTL held
    do_swap_page_cleanup(vmf)         at the out labels, before put_swap_device
    do_nonswap_entry(vmf)             a non-swap entry (migration entry, a design's marker)
  zap_nonswap_entry(mm, addr, pte)    zap_pte_range on a non-swap entry
  copy_nonswap_entry(parent, child, addr, pte)   fork's copy_nonpresent_pte on one
  vmf_fields                          (attribute) per-fault fields and initial values a design
                                      adds to Vmf, e.g. {"need_clear_cache": False}

Left out: THP
and large folios, KSM, userfaultfd, uffd-wp and soft-dirty bits, per-VMA locks (faults take
mmap_lock for read), memcg, NUMA, the TLB (a store through a PTE is one atomic step with the
page-table walk; try_to_unmap flushes before pageout, so no stale-TLB store is possible).
"""
from __future__ import annotations

from ..engine import Step, Violation, note_lazy, retry
from ..engine.runtime import CTX
from .state import MM, SWP_STABLE_WRITES, Folio, test_flags
from .types import (FAULT_FLAG_ALLOW_RETRY, FAULT_FLAG_TRIED, FAULT_FLAG_WRITE, PG_anon_exclusive,
                    PG_anon, PG_lru, PG_uptodate, POISON, PTE_NONE, VM_FAULT_OOM,
                    VM_FAULT_HWPOISON, VM_FAULT_RETRY, VM_FAULT_SIGBUS, Pte, pte_present, pte_same)

ZERO_PFN = 0


class Vmf:
    """struct vm_fault, plus the do_swap_page locals hooks need to see (entry, si, swapcache).

    A design adds its own per-fault fields (13ddaf26's need_clear_cache, a PTE marker) by
    declaring them with their initial values in its class attribute ``vmf_fields``; the
    kernel's :meth:`Memory.new_vmf` then builds a Vmf subclass with those slots."""
    __slots__ = ("mm", "addr", "flags", "orig_pte", "entry", "si", "swapcache")
    _defaults: tuple = ()

    def __init__(self, mm: MM, addr: int, flags: int):
        self.mm = mm
        self.addr = addr
        self.flags = flags
        self.orig_pte: Pte = PTE_NONE
        self.entry = -1
        self.si = None
        self.swapcache = None
        for name, value in self._defaults:
            setattr(self, name, value)


_VMF_CLASSES: dict = {}


def vmf_class(kernel_cls) -> type:
    """The Vmf type of a kernel class: Vmf plus every ``vmf_fields`` entry along its MRO (a
    subclass's value wins)."""
    cls = _VMF_CLASSES.get(kernel_cls)
    if cls is None:
        fields: dict = {}
        for k in reversed(kernel_cls.__mro__):
            fields.update(k.__dict__.get("vmf_fields", {}))
        clash = set(fields) & set(Vmf.__slots__)
        if clash:
            raise TypeError(f"{kernel_cls.__name__}.vmf_fields redefines Vmf's own {sorted(clash)}")
        cls = Vmf if not fields else type(f"Vmf_{kernel_cls.__name__}", (Vmf,), {
            "__slots__": tuple(fields), "_defaults": tuple(fields.items())})
        _VMF_CLASSES[kernel_cls] = cls
    return cls


BACKOFF = object()   # swapin_direct's "give up, the fault will be retried"


class Memory:
    # Per-fault fields a design adds to Vmf, with their initial values (see Vmf).
    vmf_fields: dict = {}

    def new_vmf(self, mm: MM, addr: int, flags: int) -> Vmf:
        """A struct vm_fault for one fault, with the design's own fields (vmf_fields)."""
        return vmf_class(type(self))(mm, addr, flags)

    # --- the CPU -----------------------------------------------------------------------------
    def cpu_access(self, mm: MM, addr: int, write: bool, value=None):
        """A load or store: walk the PTE and access the page in one atomic step.

        Returns (done, value loaded).  Not done means the PTE does not allow the access: fault.
        The oracle checks every load against what the user last stored.
        """
        cell = mm.pte[addr]
        while True:
            pte = cell.peek()
            folio = self.folio_of(pte.pfn, f"{mm.name}.pte[{addr}]") if pte.kind == "present" else None
            # a store through a PTE that is already dirty does not change the PTE: only a read
            acc = ((cell, write and not pte.dirty),) + (((folio.data, write),) if folio is not None else ())
            yield Step(acc, f"{'store' if write else 'load'} {mm.name}[{addr}]"
                       + (f" = {value}" if write else ""), cost="user_access")
            cur = cell.value
            if cur != pte:
                continue                                  # changed under us: walk again
            if folio is not None and self.folios.get(cur.pfn) is not folio:
                continue      # the same PTE value, but its frame was freed and reused: walk again
            if cur.kind != "present" or (write and not cur.write):
                return False, None
            if write:
                folio.data.value = value
                if not cur.dirty:
                    cell.value = cur._replace(dirty=True)  # the MMU sets the dirty bit
                mm.logical[addr] = value
                return True, value
            v = folio.data.value
            if v != mm.logical[addr]:
                raise Violation("data-loss", f"{mm.name}: a load of page {addr} returned "
                                f"{_show(v)} but the last value stored there was {mm.logical[addr]} "
                                f"(PTE maps folio#{folio.pfn})")
            return True, v

    def user_access(self, mm: MM, addr: int, write: bool, value=None):
        """What a user thread's read(addr) or write(addr, v) does: access, and on failure take
        the page fault and re-execute the instruction (the hardware's refault)."""
        # Whether this access has faulted already only decides which statistic a fault counts
        # under and what the timed simulator observes: it is kept in Kernel.faulting, outside
        # the state the search compares, not in a local.
        self.faulting.discard(CTX.tid)
        first = True
        while True:
            yield from retry("refault", first)
            first = False
            # An address munmap has detached keeps its PTE until munmap's zap clears it (the
            # MMU walks page tables, not VMAs); then the access faults and do_user_addr_fault
            # finds no VMA: no separate check here.
            done, v = yield from self.cpu_access(mm, addr, write, value)
            if done:
                if CTX.tid in self.faulting and self.observer is not None:
                    self.observer.fault_done()
                return v
            if CTX.tid not in self.faulting:
                self.faulting.add(CTX.tid)
                self.count("faults")
                if self.observer is not None:
                    self.observer.fault_start()
            else:
                self.count("refaults")
            ret = yield from self.do_user_addr_fault(mm, addr, write)
            if ret & (VM_FAULT_SIGBUS | VM_FAULT_HWPOISON):
                # bad_area (no VMA: SIGSEGV) or VM_FAULT_SIGBUS from handle_mm_fault (a swap read
                # error), VM_FAULT_HWPOISON (a poisoned entry): the kernel sends the signal instead of re-executing the access.  The
                # model skips the access (the default action kills the task; nothing of it is
                # checked), so the refault loop ends here.
                note_lazy(lambda: f"{mm.name}[{addr}]: the fault fails (SIGSEGV/SIGBUS), the access is skipped")
                return None

    def do_user_addr_fault(self, mm: MM, addr: int, write: bool):
        """arch/x86/mm/fault.c do_user_addr_fault() v6.6: take mmap_lock for read, call
        handle_mm_fault; on VM_FAULT_RETRY (mmap_lock already dropped) set FAULT_FLAG_TRIED and
        go again; no VMA (munmap) returns VM_FAULT_SIGBUS (bad_area: SIGSEGV in the kernel).
        Per-VMA locking is left out."""
        flags = FAULT_FLAG_ALLOW_RETRY | (FAULT_FLAG_WRITE if write else 0)
        while True:
            yield from mm.mmap_lock.down_read()
            # vma = lock_mm_and_find_vma(): munmap detaches it under mmap_lock for write (and
            # zaps after downgrading, so this can run during munmap's zap)
            if not (yield from mm.mapped[addr].read(f"find_vma({mm.name}, {addr})", cost="read")):
                yield from mm.mmap_lock.up_read()
                return VM_FAULT_SIGBUS            # bad_area_nosemaphore: SIGSEGV, in the model's one code
            ret = yield from self.handle_mm_fault(mm, addr, flags)
            if ret & VM_FAULT_RETRY:
                self.count("fault_retry")
                flags |= FAULT_FLAG_TRIED
                continue
            yield from mm.mmap_lock.up_read()
            return ret

    def handle_mm_fault(self, mm: MM, addr: int, flags: int):
        """handle_mm_fault() → handle_pte_fault() v6.6 for an anonymous VMA."""
        vmf = self.new_vmf(mm, addr, flags)
        vmf.orig_pte = yield from mm.pte[addr].read(f"vmf->orig_pte = ptep_get({mm.name}.pte[{addr}])",
                                                    cost="read")
        pte = vmf.orig_pte
        if pte.kind == "none":
            return (yield from self.do_anonymous_page(vmf))
        if pte.kind != "present":
            return (yield from self.do_swap_page(vmf))
        yield from mm.ptl.lock()
        cur = yield from mm.pte[addr].read(cost="read")
        if not pte_same(cur, pte):
            note_lazy(lambda: f"pte_same fails: the PTE is now {cur}: the CPU retries")
            yield from mm.ptl.unlock()        # somebody else changed it: let the CPU retry
            return 0
        if flags & FAULT_FLAG_WRITE and not cur.write:
            return (yield from self.do_wp_page(vmf))   # called with the PTL held
        yield from mm.ptl.unlock()                     # spurious fault
        return 0

    # --- folios --------------------------------------------------------------------------------
    def alloc_folio(self, data=0, index: int = -1, flags: int = 0) -> Folio:
        """vma_alloc_folio(): a new folio nobody else can see yet, refcount 1 (no step).

        The page frame is the lowest free one: frames are reused, as the page allocator reuses
        them, and which frame a folio gets does not depend on how many were allocated and freed
        before (so states that differ only in that history are one state to the search)."""
        pfn = ZERO_PFN
        while pfn in self.folios:
            pfn += 1
        f = Folio(pfn, data, flags, 1, index)
        self.folios[pfn] = f
        if CTX.tid >= 0:
            f.make_private(CTX.tid, self.lru_unread)
        return f

    def free_new_folio(self, folio: Folio) -> None:
        """folio_put() of a folio that was never published: freed at once (no step)."""
        folio.freed = True
        del self.folios[folio.pfn]

    def folio_of(self, pfn: int, where: str) -> Folio:
        """The folio in page frame ``pfn``, which ``where`` (a PTE, the swap cache) refers to.
        A frame that is free means the reference outlived the folio: use-after-free.  (Once
        the frame is reused the reference reaches the new folio, as in the kernel; the oracle
        then sees wrong data or wrong counts.)"""
        folio = self.folios.get(pfn)
        if folio is None:
            raise Violation("use-after-free", f"{where} refers to folio#{pfn}, which has been freed")
        return folio

    def folio_put(self, folio: Folio):
        """folio_put(): drop a reference; the last one frees the folio."""
        yield Step(((folio.ref, True),), f"folio_put(folio#{folio.pfn})", cost="atomic")
        if folio.freed:
            raise Violation("use-after-free", f"folio_put on folio#{folio.pfn}, already freed")
        r = folio.ref.value - 1
        if r < 0:
            raise Violation("accounting", f"folio#{folio.pfn} refcount went negative")
        folio.ref.value = r
        if r == 0:
            self._free_folio(folio)

    def _free_folio(self, folio: Folio) -> None:
        if folio.lock.is_locked_now():
            raise Violation("crash", f"BUG: freeing folio#{folio.pfn} while it is locked")
        folio.freed = True
        del self.folios[folio.pfn]

    def folio_lock_or_retry(self, folio: Folio, vmf: Vmf):
        """folio_lock_or_retry() v6.6: trylock; else, on a first attempt, drop mmap_lock, wait for
        the folio to be unlocked (without taking it) and return VM_FAULT_RETRY; on a retried
        fault sleep on the lock with mmap_lock held.  Returns True when the folio is locked."""
        if (yield from folio.lock.trylock(f"folio_trylock(folio#{folio.pfn})")):
            return True
        if vmf.flags & FAULT_FLAG_ALLOW_RETRY and not vmf.flags & FAULT_FLAG_TRIED:
            yield from vmf.mm.mmap_lock.up_read("release_fault_lock")
            yield from folio.lock.wait_unlocked(f"folio_wait_locked(folio#{folio.pfn})")
            return False
        yield from folio.lock.lock(f"__folio_lock(folio#{folio.pfn})")
        return True

    # --- faults ----------------------------------------------------------------------------------
    def do_anonymous_page(self, vmf: Vmf):
        """do_anonymous_page() v6.6: a read maps the shared zero page read-only; a write maps a
        new zeroed folio, writable and dirty, exclusive to this mm."""
        mm, addr = vmf.mm, vmf.addr
        if not vmf.flags & FAULT_FLAG_WRITE:
            new = pte_present(ZERO_PFN, write=False)
            folio = None
        else:
            # folio_add_new_anon_rmap (PG_anon) and folio_add_lru_vma come right before
            # set_pte_at, under the PTL: the folio is private until then
            folio = self.alloc_folio(0, addr, PG_uptodate | PG_anon_exclusive | PG_lru | PG_anon)
            new = pte_present(folio.pfn, write=True, dirty=True)
        yield from mm.ptl.lock()
        cell = mm.pte[addr]
        yield Step(((cell, True),) + (((folio.mapcount, True),) if folio else ()),
                   f"do_anonymous_page: set_pte_at({new})", cost="set_pte")
        if cell.value.kind != "none":            # raced with another fault: back off
            note_lazy(lambda: f"vmf_pte_changed: the PTE is now {cell.value}: back off")
            ok = False
        else:
            cell.value = new
            if folio is not None:
                folio.mapcount.value = 1          # folio_add_new_anon_rmap
                folio.publish()
            ok = True
        yield from mm.ptl.unlock()
        if folio is not None and not ok:
            self.free_new_folio(folio)
        return 0

    def do_nonswap_entry(self, vmf: Vmf):
        """do_swap_page() for non-swap entries v6.6: a migration entry waits for the folio to be
        unlocked (migration_entry_wait, returns 0 so the CPU refaults); a poisoned marker
        (handle_pte_marker: `if (marker & PTE_MARKER_POISONED) return VM_FAULT_HWPOISON;`)
        fails the fault; other markers SIGBUS.  Designs that add a marker override this."""
        pte = vmf.orig_pte
        if pte.kind == "migration":
            return (yield from self.migration_entry_wait(vmf))
        if pte.kind == "poisoned":
            # handle_pte_marker() v6.6: `if (marker & PTE_MARKER_POISONED) return
            # VM_FAULT_HWPOISON;`
            note_lazy(lambda: "the PTE is a poisoned swap entry (its slot could not be read): the access fails")
            return VM_FAULT_HWPOISON
        raise Violation("crash", f"do_swap_page: unexpected non-swap entry {pte} (SIGBUS)")

    def migration_entry_wait(self, vmf: Vmf):
        """migration_entry_wait() v6.6: under the PTL, if the PTE still holds the entry, queue on
        the folio lock's wait queue and only then drop the PTL (no lost wake-up), sleep until
        the folio is unlocked.  Never takes the lock; does not recheck the PTE."""
        mm, addr = vmf.mm, vmf.addr
        yield from mm.ptl.lock()
        cur = yield from mm.pte[addr].read(cost="read")
        if not pte_same(cur, vmf.orig_pte):
            note_lazy(lambda: f"pte_same fails: the PTE is now {cur}: refault")
            yield from mm.ptl.unlock()
            return 0
        folio = self.folio_of(cur.pfn, f"the marker in {mm.name}.pte[{addr}]")
        # migration_entry_wait_on_locked(): the entry keeps the folio valid until the PTL drops
        locked = yield from folio.lock.is_locked(f"migration_entry_wait_on_locked(folio#{folio.pfn})")
        yield from mm.ptl.unlock()
        if locked:
            self.count("marker_waits")
            yield from folio.lock.wait_unlocked(f"io_schedule until folio#{folio.pfn} is unlocked")
        return 0

    def swapin_skip_swapcache(self, vmf: Vmf):
        """Whether do_swap_page skips the swap cache on a miss.  The classic design never does
        (before v4.15: 0bcac06f27d7 added the bypass)."""
        return False
        yield  # pragma: no cover - makes this a generator like its overrides

    def swapin_direct(self, vmf: Vmf):
        """The cache-bypassing swap-in of the designs that skip the swap cache."""
        raise NotImplementedError
        yield  # pragma: no cover

    # Phase II of the swap table frees the swap cache only after the folio is mapped.
    free_swap_cache_after_map = False
    # c18160dba5ff "mm: swap: reuse exclusive folio directly instead of wp page faults"
    # (v6.11): do_swap_page maps an exclusive folio writable on a read fault too.  v6.6, which
    # the model follows, maps it writable only for FAULT_FLAG_WRITE.
    swapin_maps_writable_on_read = False

    def swapin_lock_folio(self, folio: Folio, vmf: Vmf):
        """How do_swap_page takes the folio lock: folio_lock_or_retry()."""
        return (yield from self.folio_lock_or_retry(folio, vmf))

    def swapin_expected_pte(self, vmf: Vmf) -> Pte:
        """What the PTE must still hold for do_swap_page to map the folio: vmf->orig_pte."""
        return vmf.orig_pte

    def do_swap_page_cleanup(self, vmf: Vmf):
        """What do_swap_page does at its out labels before put_swap_device (13ddaf26 clears its
        pin here).  Nothing in the classic design."""
        return
        yield  # pragma: no cover

    def should_try_to_free_swap(self, folio: Folio, vmf: Vmf, in_swapcache: bool):
        """should_try_to_free_swap() v6.6: the folio is in the swap cache and (the swap area is
        full — mem_cgroup_swap_full(), i.e. vm_swap_full(), false unless the device option
        computes it — or the VMA mlocked — never here — or a write fault and the only
        references are ours and the cache's).  Like the kernel, folio_ref_count() is read only for a write
        fault on a swap-cache folio: an unconditional read would race with every other
        thread's folio_get/folio_put for nothing.  ``in_swapcache`` is folio_test_swapcache():
        the caller holds the folio lock, under which PG_swapcache cannot change, and has
        already tested it (the recheck after folio_lock), so it is not read again."""
        if not in_swapcache:
            return False
        if (yield from self.mem_cgroup_swap_full(folio)):    # || VM_LOCKED || folio_test_mlocked
            return True
        if not vmf.flags & FAULT_FLAG_WRITE:
            return False
        ref = yield from folio.ref.read("should_try_to_free_swap: folio_ref_count", cost="read")
        return ref == 2

    def do_swap_page(self, vmf: Vmf):
        """do_swap_page() v6.6.  Entered with mmap_lock held for read, PTE not locked."""
        mm, addr = vmf.mm, vmf.addr
        if vmf.orig_pte.kind != "swp":
            return (yield from self.do_nonswap_entry(vmf))
        entry = vmf.entry = vmf.orig_pte.offset
        # Prevent swapoff from happening to us.
        si = vmf.si = yield from self.swapin_get_swap_device(vmf)
        if si is None:
            return 0                          # swapoff is done with it: the CPU refaults
        ret = 0
        folio = yield from self.swap_cache_get_folio(entry)
        swapcache = vmf.swapcache = self.swapin_swapcache_folio(vmf, folio, "lookup")
        if folio is None:
            if (yield from self.swapin_skip_swapcache(vmf)):
                folio = yield from self.swapin_direct(vmf)
                if folio is BACKOFF:
                    return (yield from self._do_swap_page_out(vmf, 0))
                swapcache = vmf.swapcache = self.swapin_swapcache_folio(vmf, folio, "direct")
            else:
                folio = yield from self.swapin_readahead(entry, vmf)
                swapcache = vmf.swapcache = self.swapin_swapcache_folio(vmf, folio, "readahead")
            if folio is None:
                # Back out if somebody else faulted in this pte while we released the pte lock.
                yield from mm.ptl.lock()
                cur = yield from mm.pte[addr].read(cost="read")
                if pte_same(cur, vmf.orig_pte):
                    ret = VM_FAULT_OOM
                else:
                    note_lazy(lambda: f"pte_same fails: the PTE is now {cur}: somebody faulted it in")
                yield from mm.ptl.unlock()
                return (yield from self._do_swap_page_out(vmf, ret))
            # ret = VM_FAULT_MAJOR in the kernel: a bit only mm_account_fault() reads (the
            # task's maj_flt).  Counted here instead, so that two faults that differ only in
            # who read the page are one state to the search.
            self.count("major_faults")
        if not (yield from self.swapin_lock_folio(folio, vmf)):
            ret |= VM_FAULT_RETRY
            return (yield from self._do_swap_page_release(vmf, folio, ret))
        if not (yield from self.swapin_recheck_after_lock(vmf, folio)):
            return (yield from self._do_swap_page_unlock(vmf, folio, ret))
        # Back out if somebody else already faulted in this pte.
        yield from mm.ptl.lock()
        cell = mm.pte[addr]
        cur = yield from cell.read("pte_same(ptep_get(vmf->pte), vmf->orig_pte)", cost="read")
        if not pte_same(cur, self.swapin_expected_pte(vmf)):
            self.count("pte_changed")
            note_lazy(lambda: f"pte_same fails: the PTE is now {cur}: back out")
            yield from mm.ptl.unlock()
            return (yield from self._do_swap_page_unlock(vmf, folio, ret))
        note_lazy(lambda: f"pte_same passes: the PTE holds {cur}")
        if not (yield from folio.uptodate.read("folio_test_uptodate", cost="read")):
            # ret = VM_FAULT_SIGBUS; goto out_nomap: the read failed (device read_errors)
            yield from self.swapin_read_error(vmf, folio)
            yield from mm.ptl.unlock()
            return (yield from self._do_swap_page_unlock(vmf, folio, ret | VM_FAULT_SIGBUS))
        # Check under PT lock (to protect against concurrent fork() sharing the swap entry
        # concurrently) for certainly exclusive pages: a fresh (cache-bypassed) folio is.
        exclusive = vmf.orig_pte.excl or folio is not swapcache
        if exclusive and folio is swapcache and self.si.flags.peek() & SWP_STABLE_WRITES:
            # "not all swap backends support concurrent page modifications while under
            # writeback": on such a device (zram) a swap-cache folio under writeback must not
            # be mapped exclusive, else it could be mapped writable and modified mid-write.
            if (yield from folio.writeback.read("folio_test_writeback", cost="read")):
                exclusive = False
        yield from self.swap_free(entry)
        in_swapcache = swapcache is not None
        if not self.free_swap_cache_after_map and \
                (yield from self.should_try_to_free_swap(folio, vmf, in_swapcache)):
            yield from self.folio_free_swap(folio)
        write = bool(vmf.flags & FAULT_FLAG_WRITE)
        # Same logic as in do_wp_page, but a fresh folio or an exclusive entry is certainly
        # not shared: folio_ref_count() is read only when neither holds (the kernel's
        # `exclusive || folio_ref_count(folio) == 1`).
        rmap_exclusive = exclusive
        if not rmap_exclusive:
            ref = yield from folio.ref.read("folio_ref_count", cost="read")
            rmap_exclusive = ref == 1
        # v6.6: `if (vmf->flags & FAULT_FLAG_WRITE) { pte = maybe_mkwrite(pte_mkdirty(pte));
        # vmf->flags &= ~FAULT_FLAG_WRITE; } rmap_flags |= RMAP_EXCLUSIVE;` -- a read fault maps
        # the page read-only even when exclusive (its first store takes do_wp_page's reuse
        # path); c18160dba5ff (v6.11) maps it writable on a read fault too.
        writable = rmap_exclusive and (write or self.swapin_maps_writable_on_read)
        new = pte_present(folio.pfn, write=writable, dirty=writable and write)
        excl = ((folio.anon_exclusive, True),) if rmap_exclusive else ()
        # PG_lru is not touched: the folio went on the LRU when it was read in (folio_add_lru),
        # and one that reclaim has isolated stays off it (do_swap_page adds to the LRU only
        # KSM's new copy, which is not modeled)
        yield Step(((cell, True), (folio.mapcount, True), (folio.anon, True)) + excl,
                   f"do_swap_page: set_pte_at({new})", cost="set_pte")
        folio.mapcount.value += 1             # folio_add_anon_rmap_pte(..., rmap_flags)
        folio.anon.value = True               # page_add_anon_rmap: folio->mapping = anon_vma
        if rmap_exclusive:
            folio.anon_exclusive.value = True  # RMAP_EXCLUSIVE: SetPageAnonExclusive
        cell.value = new
        folio.publish()
        self.count("swapins")
        yield from self.on_mapped(vmf, folio)
        if self.free_swap_cache_after_map and in_swapcache and \
                (yield from self.should_try_to_free_swap(folio, vmf, in_swapcache)):
            yield from self.folio_free_swap(folio)
        yield from folio.lock.unlock()
        if write and not writable:
            # still a write fault pending on a shared page: do_wp_page with the PTL held
            vmf.orig_pte = new
            ret |= yield from self.do_wp_page(vmf)
        else:
            yield from mm.ptl.unlock("pte_unmap_unlock")
        return (yield from self._do_swap_page_out(vmf, ret))

    # --- do_swap_page's hooks where kernel versions differ -----------------------------------
    def swapin_get_swap_device(self, vmf: Vmf):
        """do_swap_page's device reference: ``si = get_swap_device(entry); if (unlikely(!si))
        goto out;`` (added to do_swap_page by 2799e77529c2 "swap: fix do_swap_page() race
        with swapoff", 2021; eb085574a752, 2019, had put get/put_swap_device only around
        __swap_count and the swap-cache readahead).  Returns si or None (the fault returns 0
        and the CPU refaults)."""
        return (yield from self.get_swap_device(vmf.entry))

    def swapin_put_swap_device(self, vmf: Vmf):
        """The reference's release at the out label: ``if (si) put_swap_device(si);``."""
        if vmf.si is not None:
            yield from self.put_swap_device(vmf.si)

    def swapin_swapcache_folio(self, vmf: Vmf, folio, how: str):
        """What counts as the swap-cache folio (do_swap_page's ``swapcache``) after the folio
        was found or made: ``how`` is "lookup" (swap_cache_get_folio), "direct" (the
        cache-bypassing swapin_direct) or "readahead" (swapin_readahead).  v6.6 sets
        ``swapcache = folio`` after the lookup and after readahead, and leaves it NULL for a
        folio read around the cache; ``folio != swapcache`` then means "a fresh folio,
        certainly exclusive".  No step: a plain assignment."""
        return None if how == "direct" else folio

    def swapin_recheck_after_lock(self, vmf: Vmf, folio: Folio):
        """The recheck after folio_lock (v6.6); True to go on, False to back out (out_page):

            if (swapcache) {
                    /* Make sure folio_free_swap() or swapoff did not release the swapcache
                     * from under us.  The page pin, and pte_same test below, are not enough
                     * to exclude that.  Even if it is still swapcache, we need to check
                     * that the page's swap has not changed. */
                    if (unlikely(!folio_test_swapcache(folio) ||
                                 page_swap_entry(page).val != entry.val))
                            goto out_page;

        (Hugh Dickins' "further fix swapin race condition": the entry may have been freed
        and reused while we waited for the lock.)"""
        if vmf.swapcache is None:
            return True
        # one step: both fields change only under the folio lock, which we hold
        yield Step(((folio.swapcache, False), (folio.swap, False)),
                   "folio_test_swapcache && page_swap_entry == entry", cost="read")
        if not folio.swapcache.value or folio.swap.value != vmf.entry:
            self.count("swapcache_recheck_failed")
            note_lazy(lambda: f"the recheck fails: folio#{folio.pfn} is no longer in the swap "
                              f"cache for offset {vmf.entry}: back out")
            return False
        return True

    def swapin_read_error(self, vmf: Vmf, folio: Folio):
        """do_swap_page found the folio !uptodate (its read failed) and will SIGBUS through
        out_nomap; called under the PTL, before it is dropped.  v6.6 leaves the PTE as it is
        (the swap entry, whose count the fault has not dropped), so nothing here; a design that
        replaced the PTE (a marker) puts the swap entry back."""
        return
        yield  # pragma: no cover

    def on_mapped(self, vmf: Vmf, folio: Folio):
        """Called under the PTL right after do_swap_page maps ``folio`` (a hook for designs)."""
        return
        yield  # pragma: no cover

    # do_swap_page's exit labels, in the kernel's order.
    def _do_swap_page_unlock(self, vmf: Vmf, folio: Folio, ret: int):
        """out_nomap / out_page: unlock the folio, then out_release."""
        yield from folio.lock.unlock()
        return (yield from self._do_swap_page_release(vmf, folio, ret))

    def _do_swap_page_release(self, vmf: Vmf, folio: Folio, ret: int):
        """out_release: drop our reference, then the common tail."""
        yield from self.folio_put(folio)
        return (yield from self._do_swap_page_out(vmf, ret))

    def _do_swap_page_out(self, vmf: Vmf, ret: int):
        """out: the design's cleanup (13ddaf26's swapcache_clear), put_swap_device."""
        yield from self.do_swap_page_cleanup(vmf)
        yield from self.swapin_put_swap_device(vmf)
        return ret

    def do_wp_page(self, vmf: Vmf):
        """do_wp_page() v6.6 for an anonymous page, entered with the PTL held: reuse the page if
        it is exclusive (PageAnonExclusive, or wp_can_reuse_anon_folio: no other references,
        trylock, folio_free_swap) else copy it (wp_page_copy)."""
        mm, addr = vmf.mm, vmf.addr
        pte = vmf.orig_pte
        if pte.pfn != ZERO_PFN:
            folio = self.folio_of(pte.pfn, f"{mm.name}.pte[{addr}]")
            reuse = yield from folio.anon_exclusive.read("PageAnonExclusive", cost="read")
            if not reuse:
                reuse = yield from self.wp_can_reuse_anon_folio(folio)
            if reuse:
                cell = mm.pte[addr]
                yield Step(((cell, True),), "wp_page_reuse: make the PTE writable", cost="set_pte")
                if cell.value == pte:
                    cell.value = pte._replace(write=True, dirty=True)
                else:
                    note_lazy(lambda: f"the PTE is now {cell.value}: not reused")
                yield from mm.ptl.unlock()
                return 0
            # get_page(vmf->page) so it survives while we copy with the PTL dropped
            yield from folio.ref.rmw(lambda r: r + 1, "folio_get (for the copy)", cost="atomic")
        else:
            folio = None
        yield from mm.ptl.unlock()
        return (yield from self.wp_page_copy(vmf, folio))

    def wp_can_reuse_anon_folio(self, folio: Folio):
        """wp_can_reuse_anon_folio() v6.12 (the same checks are inline in v6.6's do_wp_page).
        The first two tests are lockless, as in the kernel: folio_test_swapcache and
        folio_ref_count are read in one step (their order does not matter: the answer is only
        a hint that the locked check below confirms)."""
        swapcache, ref = yield from test_flags("folio_test_swapcache, folio_ref_count",
                                               folio.swapcache, folio.ref)
        if ref > 1 + (1 if swapcache else 0):
            return False
        if not (yield from folio.lock.trylock()):
            return False
        # tested again under the folio lock: the lockless answer may be stale
        if (yield from folio.swapcache.read("folio_test_swapcache", cost="read")):
            yield from self.folio_free_swap(folio)
        ref = yield from folio.ref.read("folio_ref_count", cost="read")
        if ref != 1:
            yield from folio.lock.unlock()
            return False
        yield from folio.anon_exclusive.write(True, "folio_move_anon_rmap; SetPageAnonExclusive",
                                              cost="flags")
        yield from folio.lock.unlock()
        return True

    def wp_page_copy(self, vmf: Vmf, old: Folio | None):
        """wp_page_copy() v6.6: copy into a new folio with the PTL dropped, then retake it and
        install the copy if the PTE did not change.  Its tail, after pte_unmap_unlock:

            if (new_folio)                 /* the old folio when page_copied */
                    folio_put(new_folio);
            if (old_folio) {
                    if (page_copied)
                            free_swap_cache(&old_folio->page);
                    folio_put(old_folio);
            }
        """
        mm, addr = vmf.mm, vmf.addr
        if old is None:
            data = 0
        else:
            data = yield from old.data.read(f"__wp_page_copy_user(folio#{old.pfn})", cost="copy_page")
        new = self.alloc_folio(data, addr, PG_uptodate | PG_anon_exclusive | PG_lru | PG_anon)
        yield from mm.ptl.lock()
        cell = mm.pte[addr]
        npte = pte_present(new.pfn, write=True, dirty=True)
        acc = ((cell, True), (new.mapcount, True)) + (((old.mapcount, True),) if old else ())
        yield Step(acc, f"wp_page_copy: set_pte_at({npte})", cost="set_pte")
        installed = cell.value == vmf.orig_pte
        if not installed:
            note_lazy(lambda: f"pte_same fails: the PTE is now {cell.value}: the copy is dropped")
        if installed:
            cell.value = npte
            new.mapcount.value = 1
            new.publish()
            if old is not None:
                old.mapcount.value -= 1       # folio_remove_rmap_pte(old)
        yield from mm.ptl.unlock()
        if not installed:
            self.free_new_folio(new)
        if old is not None:
            if installed:
                yield from self.folio_put(old)    # new_folio = old_folio: the old mapping's reference
                # if (page_copied) free_swap_cache(old_folio): the copy left the old folio
                # unmapped here; drop its swap cache if no PTE needs the slot any more
                yield from self.free_swap_cache(old)
            yield from self.folio_put(old)        # ours, from do_wp_page
        return 0

    # --- zap and fork ----------------------------------------------------------------------------
    def zap_pte_range(self, mm: MM, addrs):
        """zap_pte_range() v6.6 under the PTL: clear present PTEs (their folios are freed after
        the TLB flush, outside the lock; an anonymous folio is not marked dirty from the PTE,
        only a file folio is), and for swap PTEs call free_swap_and_cache() then clear them.
        The user's view of the page becomes zero at the PTE clear."""
        yield from mm.ptl.lock()
        to_put = []
        for addr in addrs:
            cell = mm.pte[addr]
            pte = yield from cell.read(f"zap_pte_range: ptep_get({mm.name}.pte[{addr}])", cost="read")
            if pte.kind == "none":
                continue
            if pte.kind == "present":
                folio = self.folio_of(pte.pfn, f"{mm.name}.pte[{addr}]") if pte.pfn != ZERO_PFN else None
                # `if (!PageAnon(page)) { if (pte_dirty(ptent)) { set_page_dirty(page); ...`
                # (v6.6): an anonymous folio is not marked dirty from the PTE (every folio here
                # is anonymous): what this mapping wrote lives on only through the folio's other
                # mappings, and fork copied the dirty bit into each of them
                acc = ((cell, True),) + (((folio.mapcount, True),) if folio else ())
                yield Step(acc, f"zap_pte_range: ptep_get_and_clear_full({mm.name}.pte[{addr}])",
                           cost="set_pte")
                cell.value = PTE_NONE
                mm.logical[addr] = 0
                if folio is not None:
                    folio.mapcount.value -= 1          # folio_remove_rmap_pte
                    to_put.append(folio)
            elif pte.kind == "swp":
                if not (yield from self.free_swap_and_cache(pte.offset)):
                    raise Violation("crash", f"print_bad_pte: free_swap_and_cache failed for {pte}")
                yield from self._pte_clear(mm, addr, "pte_clear_not_present_full")
            else:
                yield from self.zap_nonswap_entry(mm, addr, pte)
        yield from mm.ptl.unlock()
        for folio in to_put:                        # tlb_finish_mmu: free the batched pages
            yield from self.folio_put(folio)

    def _pte_clear(self, mm: MM, addr: int, label: str):
        cell = mm.pte[addr]
        yield Step(((cell, True),), f"{label}({mm.name}.pte[{addr}])", cost="set_pte")
        cell.value = PTE_NONE
        mm.logical[addr] = 0

    def zap_nonswap_entry(self, mm: MM, addr: int, pte: Pte):
        """zap_nonpresent_ptes() for non-swap entries: a migration entry or marker is cleared."""
        yield from self._pte_clear(mm, addr, "pte_clear_not_present_full")

    def copy_page_range(self, parent: MM, child: MM):
        """copy_page_range() → copy_pte_range() v6.6, with the parent's mmap_lock held for write:
        dst PTL then src PTL; swap PTEs: swap_duplicate and clear the exclusive bit in the
        parent ("Mark the swap entry as shared"); present anon pages: share them read-only
        (folio_try_dup_anon_rmap_pte clears PageAnonExclusive, the parent PTE is write-protected).
        The child's view of each page is copied at the moment its PTE is copied."""
        yield from child.ptl.lock()
        yield from parent.ptl.lock("spin_lock_nested(src_ptl)")
        for addr in range(len(parent.pte)):
            src, dst = parent.pte[addr], child.pte[addr]
            pte = yield from src.read(f"copy_pte_range: ptep_get({parent.name}.pte[{addr}])", cost="read")
            if pte.kind == "none":
                continue
            if pte.kind == "swp":
                if (yield from self.swap_duplicate(pte.offset)) < 0:
                    raise Violation("crash", "swap_duplicate failed in copy_nonpresent_pte")
                # "make sure dst_mm is on swapoff's mmlist"
                yield from self.mmlist_add(child, after=parent)
                shared = pte._replace(excl=False)
                yield Step(((src, True), (dst, True)), f"copy_nonpresent_pte: {shared} to {child.name}",
                           cost="set_pte")
                src.value = shared
                dst.value = shared
                child.logical[addr] = parent.logical[addr]
            elif pte.kind == "present":
                if pte.pfn == ZERO_PFN:
                    yield Step(((src, False), (dst, True)), "copy_present_pte: zero page", cost="set_pte")
                    dst.value = src.value
                else:
                    folio = self.folio_of(pte.pfn, f"{parent.name}.pte[{addr}]")
                    yield Step(((folio.ref, True), (folio.mapcount, True), (folio.anon_exclusive, True)),
                               f"folio_try_dup_anon_rmap_pte(folio#{folio.pfn})", cost="atomic")
                    folio.ref.value += 1
                    folio.mapcount.value += 1
                    folio.anon_exclusive.value = False
                    ro = pte._replace(write=False)
                    yield Step(((src, True), (dst, True)), f"copy_present_pte: wrprotect, {ro} to "
                               f"{child.name}", cost="set_pte")
                    src.value = src.value._replace(write=False)
                    dst.value = src.value
                    child.logical[addr] = parent.logical[addr]
            else:
                yield from self.copy_nonswap_entry(parent, child, addr, pte)
        yield from parent.ptl.unlock()
        yield from child.ptl.unlock()


    def copy_nonswap_entry(self, parent: MM, child: MM, addr: int, pte: Pte):
        """copy_nonpresent_pte() for a non-swap entry (a migration entry, a design's marker),
        both PTLs held; the counterpart of zap_nonswap_entry.  A poisoned marker is copied
        (copy_pte_marker keeps PTE_MARKER_POISONED): the child's page is lost as well.  Else in
        the model only a design's marker can be one, and a fault holds mmap_lock for read while
        any marker it installed exists; fork holds it for write, so it can never see one."""
        if pte.kind == "poisoned":
            dst = child.pte[addr]
            yield Step(((dst, True),), f"copy_nonpresent_pte: {pte} to {child.name}", cost="set_pte")
            dst.value = pte
            child.logical[addr] = parent.logical[addr]
            return
        raise Violation("crash", f"copy_pte_range saw {pte}: fork raced with a fault")
        yield  # pragma: no cover


def _show(v) -> str:
    return "garbage from a discarded zram slot" if v == POISON else repr(v)
