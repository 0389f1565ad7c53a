"""mm/rmap.c: try_to_unmap / try_to_unmap_one for anonymous folios.

Follows v6.6.  The rmap walk visits every mm of the folio's anon_vma tree (the parent and its
forked children) at the folio's address.  Left out: TLB batching (the PTE is cleared and flushed
in one step), mlock, hugetlb, device-exclusive entries, GUP pins (folio_try_share_anon_rmap_pte
always succeeds).
"""
from __future__ import annotations

from ..engine import Step
from .state import Folio
from .types import swp_entry_to_pte


class Rmap:
    def try_to_unmap(self, folio: Folio):
        """try_to_unmap() v6.6: rmap_walk over the folio's mappings."""
        for mm in self.mms_sharing(folio):
            if not (yield from self.try_to_unmap_one(folio, mm, folio.index)):
                return

    def try_to_unmap_one(self, folio: Folio, mm, addr: int):
        """try_to_unmap_one() v6.6 under the PTL: replace the PTE with a swap PTE for
        folio->swap (exclusive bit set if the page was PageAnonExclusive), swap_duplicate the
        slot, drop the mapping's rmap and reference.  Returns False to stop the walk."""
        yield from mm.ptl.lock()
        cell = mm.pte[addr]
        pte = yield from cell.read("page_vma_mapped_walk", cost="read")
        if pte.kind != "present" or pte.pfn != folio.pfn:
            yield from mm.ptl.unlock()
            return True
        entry = yield from folio.swap.read(cost="read")
        if (yield from self.swap_duplicate(entry)) < 0:
            yield from mm.ptl.unlock()
            return False
        excl = yield from folio.anon_exclusive.read("PageAnonExclusive", cost="read")
        swp = swp_entry_to_pte(entry, excl)
        # ptep_clear_flush + set_pte_at(swp_pte), folio_try_share_anon_rmap_pte, rmap removal
        dirty = ((folio.dirty, True),) if pte.dirty else ()
        yield Step(((cell, True), (folio.anon_exclusive, True), (folio.mapcount, True)) + dirty,
                   f"try_to_unmap_one: set_pte_at({mm.name}.pte[{addr}], {swp})", cost="set_pte")
        if pte.dirty:
            folio.dirty.value = True
        folio.anon_exclusive.value = False
        cell.value = swp
        folio.mapcount.value -= 1
        yield from mm.ptl.unlock()
        yield from self.folio_put(folio)
        return True
