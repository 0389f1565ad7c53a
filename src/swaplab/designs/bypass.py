"""bypass — skip the swap cache on SWP_SYNCHRONOUS_IO when __swap_count(entry) == 1.

v4.15 to v6.7: 0bcac06f27d7 "mm, swap: skip swapcache for swapin of synchronous device"
(Minchan Kim, 2017) and aa8d22a11da9 "mm: swap: SWP_SYNCHRONOUS_IO: skip swapcache only if
swapped page has no other reference".  The faulting thread allocates a private folio, reads the
slot into it and maps it if pte_same() still holds.  Nothing pins the slot meanwhile: the race
13ddaf26 fixed.
"""
from ..engine import Step, note_lazy
from ..kernel import Kernel
from ..kernel.state import SWP_SYNCHRONOUS_IO
from ..kernel.types import swap_count


class Bypass(Kernel):
    name = "bypass"
    kind = "historic-bug"        # upstream v4.15–v6.7; its race is what 13ddaf26 fixed
    summary = "skip the swap cache for sync-io devices when the count is 1 (v4.15–v6.7)"
    reference = "0bcac06f27d7, aa8d22a11da9"

    def swapin_skip_swapcache(self, vmf):
        """do_swap_page v6.6: data_race(si->flags & SWP_SYNCHRONOUS_IO) && __swap_count(entry) == 1."""
        si = self.si
        yield Step(((si.flags, False), (si.swap_map[vmf.entry], False)),
                   "SWP_SYNCHRONOUS_IO && __swap_count(entry) == 1", cost="read")
        skip = bool(si.flags.value & SWP_SYNCHRONOUS_IO) and swap_count(si.swap_map[vmf.entry].value) == 1
        if skip:
            note_lazy(lambda: "the swap cache is empty and the count is 1: bypass the swap cache")
        return skip

    def swapin_direct(self, vmf):
        """The "skip swapcache" block of do_swap_page v6.6: vma_alloc_folio, __folio_set_locked,
        folio_add_lru, folio->swap = entry, swap_read_folio (which unlocks), folio->private = NULL."""
        folio = self.alloc_folio(index=vmf.addr)
        folio.lock.lock_new()
        return (yield from self.swapin_read_new_folio(folio, vmf))

    def swapin_read_new_folio(self, folio, vmf):
        """The rest of the block, on the new locked folio: folio_add_lru, folio->swap = entry,
        swap_read_folio (which unlocks), folio->private = NULL."""
        yield from self.folio_add_lru(folio)
        # To provide entry to swap_read_folio()
        yield from folio.swap.write(vmf.entry, f"folio->swap = offset {vmf.entry}", cost="write")
        yield from self.swap_read_folio(folio, vmf.entry)
        yield from folio.swap.write(None, "folio->private = NULL", cost="write")
        return folio
