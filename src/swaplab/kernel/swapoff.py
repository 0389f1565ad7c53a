"""mm/swapfile.c swapoff: try_to_unuse, unuse_pte_range, unuse_pte.

Follows v6.6.  The walk goes over init_mm.mmlist under mmlist_lock (Kernel.mmlist); every
scenario mm starts on it and __mmput's list_del is left out (an exited mm stays on the list,
mmget_not_zero skips it).  Left out: shmem_unuse, signals
(try_to_unuse never returns -EINTR), hwpoison, the SWP_SCANNING wait.
"""
from __future__ import annotations

from ..engine import Step, Violation, note_lazy, retry
from .state import SWP_WRITEOK
from .types import PTE_POISONED, SWAP_MAP_BAD, pte_present, pte_same_as_swp, \
    swp_entry_to_pte


class Swapoff:
    def swapoff(self):
        """sys_swapoff() v6.6: find the device among the SWP_WRITEOK ones (-EINVAL if it is not
        one: a second swapoff), clear SWP_WRITEOK, disable the swap slot cache, try_to_unuse(),
        re-enable the slot cache (to has_usable_swap(): false, the only device is gone), then percpu_ref_kill(users) and wait until every
        get_swap_device() user has put it, then free swap_map:

            disable_swap_slots_cache_lock();
            ...
            err = try_to_unuse(p->type);
            ...
            reenable_swap_slots_cache_unlock();
            percpu_ref_kill(&p->users);
            synchronize_rcu();
            wait_for_completion(&p->comp);
        """
        si = self.si
        # sys_swapoff() v6.6 looks the device up under swap_lock among the active ones that
        # still have SWP_WRITEOK (-EINVAL otherwise), and clears SWP_WRITEOK before it drops
        # swap_lock, so a second swapoff of the same device finds nothing and does nothing:
        #     spin_lock(&swap_lock);
        #     plist_for_each_entry(p, &swap_active_head, list) {
        #         if (p->flags & SWP_WRITEOK) {
        #             if (p->swap_file->f_mapping == mapping) { found = 1; break; } } }
        #     if (!found) { err = -EINVAL; spin_unlock(&swap_lock); goto out_dput; }
        #     ... spin_lock(&p->lock); ... p->flags &= ~SWP_WRITEOK; spin_unlock(&p->lock);
        #     spin_unlock(&swap_lock);
        # The model has one device and folds swap_lock and p->lock into si->cluster_lock.
        yield from si.lock.locked_step(((si.flags, True),), "sys_swapoff: find SWP_WRITEOK device, "
                                       "clear SWP_WRITEOK", cost="write")
        if not si.flags.value & SWP_WRITEOK:
            note_lazy(lambda: "sys_swapoff: the device is no longer SWP_WRITEOK: -EINVAL")
            return -22                            # -EINVAL
        si.flags.value &= ~SWP_WRITEOK
        yield from si.slot_cache_enabled.write(False, "disable_swap_slots_cache_lock", cost="write")
        if si.slot_cache:
            yield from self.drain_swap_slots_cache()
        yield from self.try_to_unuse()
        # v6.6 re-enables the slot cache right after try_to_unuse(), before the wait for users,
        # to what mm/swap_slots.c's __reenable_swap_slots_cache() finds:
        #     swap_slot_cache_enabled = has_usable_swap();
        # has_usable_swap() is false once swap_active_head is empty, and sys_swapoff took the
        # device off it (plist_del) in the step that cleared SWP_WRITEOK: with the model's one
        # device the cache stays disabled, so a late __read_swap_cache_async of a free slot
        # does not take the "unused swap slot" shortcut (swapcache_prepare says -ENOENT).
        yield from si.slot_cache_enabled.write(False, "reenable_swap_slots_cache_unlock: "
                                               "swap_slot_cache_enabled = has_usable_swap()", cost="write")
        yield from si.users_live.write(False, "percpu_ref_kill(&si->users)", cost="write")
        # synchronize_rcu(); wait_for_completion(&si->comp): every user has gone
        pcpu = si.users_all()
        yield Step(tuple((c, False) for c in pcpu), "wait_for_completion(&si->comp)",
                   guard=lambda: sum(c._v for c in pcpu) == 0, kind="wait", might_sleep=True,
                   cost="wait_wakeup")
        yield Step(tuple((c, True) for c in si.swap_map), "swapoff: vfree(swap_map)", cost="write")
        si.freed = True

    def try_to_unuse(self):
        """try_to_unuse() v6.6: unuse every mm's swap PTEs, then drop cache-only slots; repeat
        while slots are in use."""
        si = self.si
        first = True
        while True:
            yield from retry("try_to_unuse: retry", first)
            first = False
            if not (yield from si.inuse_pages.read("swap_usage_in_pages", cost="read")):
                return 0
            prev = None
            while True:
                # spin_lock(&mmlist_lock); p = p->next: the list as it is now, so an mm that
                # fork added behind the cursor meanwhile is walked too
                yield from self.mmlist_lock.locked_step(((self.mmlist, False),),
                                                        "try_to_unuse: p = p->next (mmlist_lock)", cost="read")
                names = self.mmlist.value
                i = names.index(prev) + 1 if prev is not None else 0
                if i >= len(names):
                    break
                prev = names[i]
                mm = self.mms[prev]
                # mmget_not_zero(): an exiting mm (mm_users 0) is skipped; its exit_mmap zaps
                # the swap PTEs itself.  (The kernel then holds a reference until mmput, which
                # would defer an exit to swapoff's mmput; the model's mmap_lock orders them.)
                if not (yield from mm.users.read(f"mmget_not_zero({mm.name})", cost="read")):
                    continue
                yield from mm.mmap_lock.down_read()
                err = yield from self.unuse_pte_range(mm)
                yield from mm.mmap_lock.up_read()
                if err:
                    raise Violation("crash", f"try_to_unuse failed ({err})")
            for i in range(si.nslots):
                # find_next_to_unuse: a slot in use and not bad
                count = yield from si.swap_map[i].read(f"find_next_to_unuse: swap_map[{i}]", cost="read")
                if not count or count == SWAP_MAP_BAD:
                    continue
                folio = yield from self.filemap_get_folio(i)
                if folio is None:
                    continue
                yield from folio.lock.lock()
                yield Step(((folio.writeback, False),), "folio_wait_writeback",
                           guard=lambda f=folio: not f.writeback._v, kind="wait",
                           might_sleep=True, cost="wait_wakeup")
                yield from self.folio_free_swap(folio)
                yield from folio.lock.unlock()
                yield from self.folio_put(folio)

    def mmlist_add(self, mm, after=None):
        """Put ``mm`` on init_mm.mmlist, right after ``after`` (an mm already on it) or at the
        head, as try_to_unmap_one (head: init_mm.mmlist) and copy_nonpresent_pte (after the
        parent: src_mm->mmlist) do in v6.6 when they give the mm a swap entry:

            if (unlikely(list_empty(&dst_mm->mmlist))) {
                    spin_lock(&mmlist_lock);
                    if (list_empty(&dst_mm->mmlist))
                            list_add(&dst_mm->mmlist, &src_mm->mmlist);
                    spin_unlock(&mmlist_lock);
            }
        """
        if (yield from mm.mmlist.read(f"list_empty(&{mm.name}->mmlist)", cost="read")):
            return
        yield from self.mmlist_lock.locked_step(((mm.mmlist, True), (self.mmlist, True)),
                                                f"list_add(&{mm.name}->mmlist) (mmlist_lock)", cost="write")
        if mm.mmlist.value:
            return
        names = list(self.mmlist.value)
        at = names.index(after.name) + 1 if after is not None and after.name in names else 0
        names.insert(at, mm.name)
        self.mmlist.value = tuple(names)
        mm.mmlist.value = True

    def unuse_pte_range(self, mm):
        """unuse_pte_range() v6.6: for each swap PTE, get the folio (swap cache or read it in),
        lock it, wait for writeback, unuse_pte, folio_free_swap."""
        for addr in range(len(mm.pte)):
            # unuse_mm() walks the VMA tree (for_each_vma): a range munmap has detached is not
            # walked even while munmap, under its downgraded mmap_lock, still zaps it.  The
            # tree cannot change while we hold mmap_lock for read, so the test joins the read.
            yield Step(((mm.mapped[addr], False), (mm.pte[addr], False)),
                       f"unuse_pte_range: {mm.name}.pte[{addr}]", cost="read")
            if not mm.mapped[addr].value:
                continue
            pte = mm.pte[addr].value
            if pte.kind != "swp":
                continue
            entry = pte.offset
            folio = yield from self.swap_cache_get_folio(entry)
            if folio is None:
                folio = yield from self.read_swap_cache_async(entry, addr)
            if folio is None:
                count = yield from self.si.swap_map[entry].read(cost="read")
                if count == 0 or count == SWAP_MAP_BAD:
                    continue
                return -12        # -ENOMEM
            yield from folio.lock.lock()
            yield Step(((folio.writeback, False),), "folio_wait_writeback",
                       guard=lambda f=folio: not f.writeback._v, kind="wait",
                       might_sleep=True, cost="wait_wakeup")
            yield from self.unuse_pte(mm, addr, entry, folio)
            yield from self.folio_free_swap(folio)
            yield from folio.lock.unlock()
            yield from self.folio_put(folio)
        return 0

    def unuse_pte(self, mm, addr: int, entry: int, folio):
        """unuse_pte() v6.6 under the PTL: if the PTE still holds the entry (pte_same_as_swp,
        ignoring flag bits), map the folio read-only and old, then swap_free(entry).  A folio
        whose read failed (!folio_test_uptodate: the device's read_errors) is not mapped: the PTE
        becomes a poisoned marker (make_poisoned_swp_entry, 9f186f9e5fa9 in v6.0, renamed in
        v6.5), the slot is freed all the same (`goto setpte`), and unuse_pte returns 0.  KSM
        copies and hardware poison are left out."""
        yield from mm.ptl.lock()
        cell = mm.pte[addr]
        cur = yield from cell.read("unuse_pte: pte_same_as_swp", cost="read")
        if not pte_same_as_swp(cur, swp_entry_to_pte(entry, False)):
            note_lazy(lambda: f"pte_same_as_swp fails: the PTE is now {cur}")
            yield from mm.ptl.unlock()
            return 0
        if not (yield from folio.uptodate.read("folio_test_uptodate", cost="read")):
            # v6.6: the read failed (device read_errors); the PTE becomes a poisoned marker and
            # the slot's count is dropped, so swapoff can finish:
            #     if (unlikely(hwpoisoned || !folio_test_uptodate(folio))) {
            #             ... swp_entry = make_poisoned_swp_entry();
            #             new_pte = swp_entry_to_pte(swp_entry);
            #             ret = 0;
            #             goto setpte;
            #     }
            #     ...
            # setpte:
            #     set_pte_at(vma->vm_mm, addr, pte, new_pte);
            #     swap_free(entry);
            yield Step(((cell, True),), "unuse_pte: set_pte_at(make_poisoned_swp_entry()) (read failed)",
                       cost="set_pte")
            cell.value = PTE_POISONED
            yield from self.swap_free(entry)
            yield from mm.ptl.unlock()
            return 0
        new = pte_present(folio.pfn, write=False)
        yield Step(((cell, True), (folio.ref, True), (folio.mapcount, True), (folio.anon_exclusive, True),
                    (folio.anon, True)), f"unuse_pte: set_pte_at({new})", cost="set_pte")
        folio.ref.value += 1
        folio.mapcount.value += 1
        folio.anon.value = True                    # page_add_anon_rmap
        if cur.excl:
            folio.anon_exclusive.value = True      # RMAP_EXCLUSIVE
        cell.value = new
        yield from self.swap_free(entry)
        yield from mm.ptl.unlock()
        return 1
