"""mm/rmap.c: try_to_unmap / try_to_unmap_one for anonymous folios.

Follows v6.6.  The rmap walk visits every mm of the folio's anon_vma tree (the parent and its
forked children) at the folio's address.  Left out: TLB batching (the PTE is cleared and flushed
in one step), mlock, hugetlb, device-exclusive entries, GUP pins (page_try_share_anon_rmap
always succeeds).
"""
from __future__ import annotations

from ..engine import Step
from .state import Folio
from .types import PTE_NONE, swp_entry_to_pte


class Rmap:
    def try_to_unmap(self, folio: Folio):
        """try_to_unmap() v6.6: rmap_walk over the folio's mappings."""
        for mm in self.mms_sharing(folio):
            if not (yield from self.try_to_unmap_one(folio, mm, folio.index)):
                return

    def try_to_unmap_one(self, folio: Folio, mm, addr: int):
        """try_to_unmap_one() v6.6 for an anonymous swap-backed folio, under the PTL, in the
        kernel's order:

            anon_exclusive = folio_test_anon(folio) && PageAnonExclusive(subpage);
            pteval = ptep_clear_flush(vma, address, pvmw.pte);  /* or ptep_get_and_clear */
            /* Set the dirty flag on the folio now the pte is gone. */
            if (pte_dirty(pteval))
                    folio_mark_dirty(folio);
            ...
            if (swap_duplicate(entry) < 0) {
                    set_pte_at(mm, address, pvmw.pte, pteval);
                    ret = false;
                    page_vma_mapped_walk_done(&pvmw);
                    break;
            }
            if (anon_exclusive && page_try_share_anon_rmap(subpage)) { ... }
            if (list_empty(&mm->mmlist)) { ... list_add(&mm->mmlist, &init_mm.mmlist); ... }
            swp_pte = swp_entry_to_pte(entry);
            if (anon_exclusive)
                    swp_pte = pte_swp_mkexclusive(swp_pte);
            set_pte_at(mm, address, pvmw.pte, swp_pte);
            ...
            page_remove_rmap(subpage, vma, ...);
            folio_put(folio);

        The clear is one atomic exchange that returns the PTE with the dirty bit the MMU set
        up to that moment: a store after it finds no PTE and faults, so no dirty bit is lost
        between the walk and the swap PTE (the model used to read the PTE at the walk and
        write the swap PTE steps later, dropping a dirty bit set in between).  Until set_pte_at
        the PTE is none: a lockless reader (the CPU, handle_mm_fault's ptep_get) sees none and
        faults; do_anonymous_page then waits for the PTL and backs off.  Returns False to stop
        the walk."""
        yield from mm.ptl.lock()
        cell = mm.pte[addr]
        pte = yield from cell.read("page_vma_mapped_walk", cost="read")
        if pte.kind != "present" or pte.pfn != folio.pfn:
            yield from mm.ptl.unlock()
            return True
        # anon_exclusive is read before the clear; the clear and the dirty capture are one step
        yield Step(((folio.anon_exclusive, False), (cell, True), (folio.dirty, True)),
                   f"try_to_unmap_one: pteval = ptep_clear_flush({mm.name}.pte[{addr}]); "
                   "if (pte_dirty(pteval)) folio_mark_dirty", cost="set_pte")
        excl = folio.anon_exclusive.value
        pteval = cell.value
        cell.value = PTE_NONE
        if pteval.dirty:
            folio.dirty.value = True
        entry = yield from folio.swap.read(cost="read")
        if (yield from self.swap_duplicate(entry)) < 0:
            yield from cell.write(pteval, "set_pte_at(pteval): swap_duplicate failed", cost="set_pte")
            yield from mm.ptl.unlock()
            return False
        # if (list_empty(&mm->mmlist)) ... list_add(&mm->mmlist, &init_mm.mmlist)
        yield from self.mmlist_add(mm)
        swp = swp_entry_to_pte(entry, excl)
        # page_try_share_anon_rmap (always succeeds: no GUP pins), set_pte_at(swp_pte),
        # page_remove_rmap.  v6.6 clears PageAnonExclusive before the mmlist add above; nobody
        # reads it in between (PTL held, folio locked, PTE none): docs/model.md
        yield Step(((cell, True), (folio.anon_exclusive, True), (folio.mapcount, True)),
                   f"try_to_unmap_one: set_pte_at({mm.name}.pte[{addr}], {swp})", cost="set_pte")
        folio.anon_exclusive.value = False
        cell.value = swp
        folio.mapcount.value -= 1
        yield from mm.ptl.unlock()
        yield from self.folio_put(folio)
        return True
