"""A user design: the seed proposal's PTE marker, with the slot checked as well as the PTE.

docs/findings.md shows the marker as the mail states it losing data after a slot reuse: at step
(2) the swap PTE is "still the same" (an ABA), but the slot now belongs to a newer copy of the
page that sits in the swap cache under writeback.  This variant installs the marker only if the
slot is also as the fault saw it when it chose to bypass the cache: count 1, no SWAP_HAS_CACHE.
Otherwise it backs off and refaults, and the refault finds the cached folio.

    swaplab check -d examples/pte_marker_pinned.py:PteMarkerPinned -s slot-reuse
"""
from swaplab.designs.ptemarker import PteMarker


class PteMarkerPinned(PteMarker):
    name = "pte-marker-pinned"
    summary = "the seed PTE marker, installed only if the slot still has count 1 and no cache"
    reference = "docs/findings.md (pte-marker)"

    def marker_install_reads(self, vmf):
        return ((self.si.swap_map[vmf.entry], False),)

    def may_install_marker(self, vmf, cur):
        return super().may_install_marker(vmf, cur) and self.si.swap_map[vmf.entry].value == 1
