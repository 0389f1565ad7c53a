"""mm/madvise.c and friends: the user operations that are not loads and stores.

MADV_PAGEOUT (madvise_cold_or_pageout_pte_range + reclaim_pages, v6.12), MADV_WILLNEED
(madvise_willneed → swapin_walk_pmd_entry, v6.6), MADV_DONTNEED (zap_page_range_single),
munmap, exit_mmap and fork (dup_mmap), each with the mmap_lock mode the kernel takes.
"""
from __future__ import annotations

from ..engine import Step
from .memory import ZERO_PFN
from .state import MM


class Madvise:
    def madvise_pageout(self, mm: MM, addrs):
        """MADV_PAGEOUT: under mmap_lock (read) and the PTL, isolate each present folio mapped
        only here (shared folios are skipped: folio_mapcount != 1), then shrink_folio_list."""
        yield from mm.mmap_lock.down_read()
        yield from mm.ptl.lock()
        isolated = []
        for addr in addrs:
            pte = yield from mm.pte[addr].read(f"madvise_cold_or_pageout_pte_range: {mm.name}.pte[{addr}]",
                                               cost="read")
            if pte.kind != "present" or pte.pfn == ZERO_PFN:
                continue
            folio = self.folio_of(pte.pfn, f"{mm.name}.pte[{addr}]")
            yield Step(((folio.mapcount, False), (folio.lru, True), (folio.ref, True)),
                       f"folio_isolate_lru(folio#{folio.pfn})", cost="atomic")
            if folio.mapcount.value != 1 or not folio.lru.value:
                continue
            folio.lru.value = False
            folio.ref.value += 1
            isolated.append(folio)
        yield from mm.ptl.unlock()
        yield from self.shrink_folio_list(isolated)     # reclaim_pages
        yield from mm.mmap_lock.up_read()

    def madvise_willneed(self, mm: MM, addrs):
        """MADV_WILLNEED on anonymous memory: read each swapped-out page into the swap cache
        (read_swap_cache_async) without mapping it."""
        yield from mm.mmap_lock.down_read()
        for addr in addrs:
            yield from mm.ptl.lock()
            pte = yield from mm.pte[addr].read(f"swapin_walk_pmd_entry: {mm.name}.pte[{addr}]", cost="read")
            yield from mm.ptl.unlock()
            if pte.kind != "swp":
                continue
            folio = yield from self.read_swap_cache_async(pte.offset, addr)
            if folio is not None:
                yield from self.folio_put(folio)
        yield from mm.mmap_lock.up_read()

    def madvise_dontneed(self, mm: MM, addrs):
        """MADV_DONTNEED: zap the range under mmap_lock held for read."""
        yield from mm.mmap_lock.down_read()
        yield from self.zap_pte_range(mm, addrs)
        yield from mm.mmap_lock.up_read()

    def munmap(self, mm: MM, addrs):
        """munmap(2) v6.6 (mm/mmap.c): ``__vm_munmap(addr, len, true)`` → do_vmi_munmap →
        do_vmi_align_munmap, which detaches the VMAs under mmap_lock for write, then downgrades
        it and zaps under the read hold:

            error = vma_iter_clear_gfp(vmi, start, end, GFP_KERNEL);
            ...
            /* Point of no return */
            ...
            if (unlock)
                    mmap_write_downgrade(mm);
            ...
            unmap_region(mm, &mas_detach, vma, prev, next, start, end, count, !unlock);
            ...
            if (unlock)
                    mmap_read_unlock(mm);

        While the zap runs, other mmap_lock readers run too: a fault in the range finds no VMA
        (SIGSEGV) though its PTE is still there, swapoff's unuse_mm (for_each_vma) and madvise
        skip the range, and a store to a page not yet zapped still reaches it (the hardware
        walks the page table, not the VMA tree).  Left out: VMA splitting, free_pgtables (page
        tables are not modeled), remove_mt, the userfaultfd unmap events."""
        yield from mm.mmap_lock.down_write()
        # vma_iter_clear_gfp(): the range leaves the VMA tree before anything is zapped
        yield Step(tuple((mm.mapped[a], True) for a in addrs), f"munmap: detach {mm.name}'s VMA range",
                   cost="write")
        for a in addrs:
            mm.mapped[a].value = False
        yield from mm.mmap_lock.downgrade_write(f"mmap_write_downgrade({mm.name}.mmap_lock)")
        yield from self.zap_pte_range(mm, addrs)              # unmap_region → unmap_vmas
        yield from mm.mmap_lock.up_read(f"mmap_read_unlock({mm.name}.mmap_lock)")

    def mmput(self, mm: MM):
        """A task's exit: do_exit() → exit_mm() → mmput() v6.6 (kernel/fork.c):

            if (atomic_dec_and_test(&mm->mm_users))
                    __mmput(mm);             /* → exit_mmap(mm) */

        Every task sharing the mm holds a user reference, so only the last one to leave runs
        exit_mmap; until then the other threads keep faulting on a live mm.  (mm_users starts
        at the number of scenario threads on the mm: Kernel._build.)"""
        old = yield from mm.users.rmw(lambda u: u - 1, "mmput: atomic_dec_and_test(&mm->mm_users)",
                                      cost="atomic")
        if old == 1:
            yield from self.exit_mmap(mm)

    def exit_mmap(self, mm: MM):
        """__mmput() → exit_mmap() v6.6: the last user is gone (mm_users is 0, so swapoff's
        mmget_not_zero no longer takes this mm); zap everything.  The kernel zaps under
        mmap_lock for read and frees the page tables under it for write; the model holds it for
        write throughout."""
        yield from mm.mmap_lock.down_write()
        yield from self.zap_pte_range(mm, range(len(mm.pte)))
        mm.alive = False
        yield from mm.mmap_lock.up_write()

    def fork(self, parent: MM, child_name: str):
        """fork() → dup_mmap(): the parent's mmap_lock for write (so no fault of the parent can
        run), then copy_page_range into a new mm."""
        yield from parent.mmap_lock.down_write()
        child = self.new_mm(child_name, len(parent.pte), parent.family)
        # dup_mmap copies the parent's VMAs, so a range the parent unmapped is not in the
        # child either (the child's cells are new: nobody else can see them yet)
        yield Step(tuple((c, False) for c in parent.mapped), f"dup_mmap: copy {parent.name}'s VMAs",
                   cost="read")
        for c, mine in zip(parent.mapped, child.mapped):
            mine._v = c.value
        yield from self.copy_page_range(parent, child)
        yield from parent.mmap_lock.up_write()
