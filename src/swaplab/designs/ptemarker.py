"""pte-marker — David Hildenbrand's "swapin_in_process" entry (linux-mm, 15 Feb 2024; the seed
mail).

(1) allocate the folio and lock it; (2) take the PTE lock and, if the PTE is unchanged, replace
it with a marker that references the locked folio; (3) read (this unlocks the folio); (4) relock
the folio; (5) take the PTE lock: if the marker is still there map the folio, otherwise clean
up.  Concurrent faulters that see the marker wait for the folio lock, as for migration entries
(migration_entry_wait), and refault.

Decisions this model makes where the mail is silent:
- The marker carries the PTE's swap reference: zap (MADV_DONTNEED) only clears the marker and
  the swap-in thread, on finding it gone at (5), drops the reference with swap_free() and frees
  its folio.  The oracle counts each marker as one reference on its slot.
- (4) relocks with folio_lock(), never folio_lock_or_retry(): dropping mmap_lock while a marker
  is installed would let fork() run and see it.  fork() itself cannot race (it takes mmap_lock
  for write) and copy_pte_range treats a marker as a bug.
- MADV_PAGEOUT skips non-present PTEs, so it never sees the marker; swapoff's unuse_pte_range
  skips it too and try_to_unuse retries until the swap-in has freed the slot.
- A read error (the device option read_errors) restores the original swap PTE at (5) instead
  of mapping, so the data stays on the device and the marker's swap reference goes back to
  the swap PTE; the fault then SIGBUSes (swapin_read_error).
- The marker names the folio (its pfn), so step (5) cannot suffer the ABA of a swap PTE: the
  folio cannot be freed and its pfn reused while the marker exists.  Step (2) can: it compares
  the swap PTE with the one the fault read before the swap-cache lookup, exactly like the
  bypass's pte_same.  The model finds the slot-reuse race through it (two preemptions): the
  slot was freed, reused for the same page, and its new content is still in the swap cache
  under writeback, so the read at (3) returns a discarded slot.  See docs/findings.md.
"""
from ..engine import Step
from ..kernel.memory import BACKOFF
from ..kernel.types import Pte, pte_same
from .bypass import Bypass


def swapin_marker(folio, entry: int) -> Pte:
    return Pte("marker", pfn=folio.pfn, offset=entry)


class PteMarker(Bypass):
    name = "pte-marker"
    kind = "proposal"
    summary = "David Hildenbrand's proposal: a swapin-in-progress PTE marker; racers wait on the folio lock"
    reference = "seed mail, 15 Feb 2024 21:03 +0100"
    vmf_fields = {"marker": None}                # the marker this fault installed, until consumed

    def swapin_direct(self, vmf):
        mm, addr = vmf.mm, vmf.addr
        # (1) allocate the folio and lock it
        folio = self.alloc_folio(index=addr)
        folio.lock.lock_new()
        # (2) take the page table lock; if the PTE is still the same, install the marker
        yield from mm.ptl.lock()
        cell = mm.pte[addr]
        marker = swapin_marker(folio, vmf.entry)
        yield Step(((cell, True),) + self.marker_install_reads(vmf), f"install {marker}", cost="set_pte")
        if not self.may_install_marker(vmf, cell.value):
            installed = False
        else:
            cell.value = marker
            folio.publish()                  # reachable through the marker now
            installed = True
        yield from mm.ptl.unlock()
        if not installed:
            self.free_new_folio(folio)
            return BACKOFF
        vmf.marker = marker
        yield from folio.lru.write(True, "folio_add_lru", cost="flags")
        yield from folio.swap.write(vmf.entry, f"folio->swap = offset {vmf.entry}", cost="write")
        # (3) read the folio from swap; this unlocks it
        yield from self.swap_read_folio(folio, vmf.entry)
        yield from folio.swap.write(None, "folio->private = NULL", cost="write")
        return folio

    def may_install_marker(self, vmf, cur) -> bool:
        """(2)'s test, under the PTE lock: "If the PTE is still the same"."""
        return pte_same(cur, vmf.orig_pte)

    def marker_install_reads(self, vmf) -> tuple:
        """What else may_install_marker reads (declared on the install step).  Nothing here."""
        return ()

    def swapin_lock_folio(self, folio, vmf):
        """(4) relock the folio: without dropping mmap_lock while the marker is installed."""
        if vmf.marker is None:
            return (yield from super().swapin_lock_folio(folio, vmf))
        yield from folio.lock.lock(f"folio_lock(folio#{folio.pfn}) (relock)")
        return True

    def swapin_expected_pte(self, vmf):
        """(5) the PTE must still hold our marker."""
        return vmf.marker if vmf.marker is not None else vmf.orig_pte

    def on_mapped(self, vmf, folio):
        vmf.marker = None                    # consumed: the swap reference went with swap_free
        return
        yield  # pragma: no cover

    def swapin_read_error(self, vmf, folio):
        """(5) with the read failed: our marker is still there (pte_same passed); put the
        original swap PTE back under the PTE lock, with the swap reference the marker held."""
        if vmf.marker is None:
            return
        cell = vmf.mm.pte[vmf.addr]
        yield Step(((cell, True),), f"read error: restore {vmf.orig_pte}", cost="set_pte")
        cell.value = vmf.orig_pte
        vmf.marker = None

    def do_swap_page_cleanup(self, vmf):
        """(5) otherwise: the marker was zapped, so the reference it carried is ours to drop."""
        if vmf.marker is not None:
            self.count("marker_zapped")
            yield from self.swap_free(vmf.entry)

    def do_nonswap_entry(self, vmf):
        """A racer that finds the marker waits for the folio lock, like migration_entry_wait."""
        if vmf.orig_pte.kind == "marker":
            self.count("backoffs")
            return (yield from self.migration_entry_wait(vmf))
        return (yield from super().do_nonswap_entry(vmf))

    def zap_nonswap_entry(self, mm, addr, pte):
        """Zap clears the marker and leaves the cleanup (and the swap reference) to the swap-in."""
        if pte.kind == "marker":
            yield from self._pte_clear(mm, addr, "zap: clear swapin marker")
            return
        yield from super().zap_nonswap_entry(mm, addr, pte)

    def declared_swap_refs(self):
        refs = {}
        for mm in self.mms.values():
            if not mm.alive:
                continue
            for c in mm.pte:
                p = c.peek()
                if p.kind == "marker":
                    refs[p.offset] = refs.get(p.offset, 0) + 1
        return refs

