"""Values the model stores: PTEs, swap_map bytes, folio flags, fault return codes.

PTEs are immutable values compared by value, as pte_same() compares the raw PTE word: two swap
PTEs with the same (type, offset, flags) are equal even if the slot was freed and reused in
between.  That is the ABA the seed discussion is about.
"""
from __future__ import annotations

from typing import NamedTuple

# --- swap_map encoding (include/linux/swap.h, v6.6) ------------------------------------
SWAP_HAS_CACHE = 0x40      # the slot has, or is reserving, a swap-cache folio
COUNT_CONTINUED = 0x80     # not modeled: counts stay below SWAP_MAP_MAX in every scenario
SWAP_MAP_MAX = 0x3E
SWAP_MAP_BAD = 0x3F

# Value a read of a discarded zram slot returns (zram frees the object on slot free).
POISON = "<discarded>"


def swap_count(v: int) -> int:
    """swap_count(): the map value without the cache bit."""
    return v & ~SWAP_HAS_CACHE


def fmt_map(v: int) -> str:
    parts = []
    if v & SWAP_HAS_CACHE:
        parts.append("HAS_CACHE")
    c = swap_count(v)
    if c == SWAP_MAP_BAD:
        parts.append("BAD")
    elif c or not parts:
        parts.append(f"count={c}")
    return f"0x{v:02x} ({'|'.join(parts)})"


# --- folio flags (a subset of enum pageflags) -------------------------------------------
PG_swapcache = 1 << 0
PG_uptodate = 1 << 1
PG_dirty = 1 << 2
PG_writeback = 1 << 3
PG_anon_exclusive = 1 << 4   # PageAnonExclusive, kept per folio (one page per folio here)
PG_lru = 1 << 5
# not a page flag: folio->mapping's PAGE_MAPPING_ANON bit (folio_test_anon), set when the folio
# is first mapped (folio_add_new_anon_rmap / page_add_anon_rmap) and kept until it is freed
PG_anon = 1 << 6

# --- fault return codes (vm_fault_t) ----------------------------------------------------
VM_FAULT_OOM = 0x1
VM_FAULT_SIGBUS = 0x2
VM_FAULT_HWPOISON = 0x10       # a poisoned page (here: a PTE_MARKER_POISONED entry): SIGBUS as well
VM_FAULT_MAJOR = 0x4
VM_FAULT_RETRY = 0x400

FAULT_FLAG_WRITE = 0x1
FAULT_FLAG_ALLOW_RETRY = 0x4
FAULT_FLAG_TRIED = 0x20


# --- PTE values ---------------------------------------------------------------------------
class Pte(NamedTuple):
    """A page-table entry.

    kind: "none", "present" (pfn, write, dirty), "swp" (offset, excl: the swp-pte exclusive bit of
    1493a1913e34), "migration" (pfn), "marker" (pfn: a design's swap-in-in-progress marker,
    which refers to a locked folio as a migration entry does), "poisoned" (v6.6's
    make_poisoned_swp_entry(), a PTE marker with PTE_MARKER_POISONED: swapoff found the page's
    swap-in failed; any access SIGBUSes).
    """
    kind: str
    pfn: int = -1
    offset: int = -1
    write: bool = False
    dirty: bool = False
    excl: bool = False

    def __str__(self) -> str:
        if self.kind == "none":
            return "none"
        if self.kind == "present":
            return f"present(folio#{self.pfn}{', RW' if self.write else ', RO'}{', dirty' if self.dirty else ''})"
        if self.kind == "swp":
            return f"swp(offset {self.offset}{', excl' if self.excl else ''})"
        if self.kind == "marker":
            return f"swapin_marker(folio#{self.pfn}, offset {self.offset})"
        if self.kind == "poisoned":
            return "pte_marker(PTE_MARKER_POISONED)"
        return f"{self.kind}(folio#{self.pfn})"


PTE_NONE = Pte("none")
PTE_POISONED = Pte("poisoned")      # swp_entry_to_pte(make_poisoned_swp_entry())


def pte_present(pfn: int, write: bool, dirty: bool = False) -> Pte:
    return Pte("present", pfn=pfn, write=write, dirty=dirty)


def swp_entry_to_pte(offset: int, excl: bool) -> Pte:
    return Pte("swp", offset=offset, excl=excl)


def is_swap_pte(p: Pte) -> bool:
    return p.kind == "swp"


def pte_same(a: Pte, b: Pte) -> bool:
    """pte_same(): raw equality of the PTE word."""
    return a == b


def pte_same_as_swp(a: Pte, b: Pte) -> bool:
    """pte_same_as_swp() (swapoff): compare ignoring the software flag bits."""
    return a.kind == b.kind == "swp" and a.offset == b.offset
