"""The history gallery: swap-in and swap-cache races the kernel fixed, each as a built-in design
of the pre-fix code (a small override of the model, its docstring quoting the patch), with the
scenario that catches it and the design that passes it.

Each Entry names the fix commit, the buggy design, the fixed design, the violation the buggy
design shows and the catching scenarios (whose [expect] tables say the same: a test checks
that they agree).  The expected verdicts come from the commit messages: each describes the
race and what it does (docs/history.md tells the stories with the model's traces).  `swaplab compare --history` checks every entry.
"""
from __future__ import annotations

from dataclasses import dataclass

from .bypass_unpinned import BypassSwapinUnpinned
from .free_notify import ZramFreeNotify, ZramFreeNotifyCount
from .free_swap_unpinned import FreeSwapUnpinned
from .no_recheck import NoSwapcacheRecheck
from .swapoff_unpinned import SwapoffUnpinned

HISTORIC = [NoSwapcacheRecheck, SwapoffUnpinned, BypassSwapinUnpinned, ZramFreeNotify, ZramFreeNotifyCount,
            FreeSwapUnpinned]


@dataclass(frozen=True)
class Entry:
    commit: str              # the fix, 12 hex digits
    title: str               # its subject line
    version: str             # the release that first had the fix
    buggy: str               # design of the pre-fix code
    fixed: str               # design of the code after the fix
    violation: str           # what the buggy design does on each catching scenario
    scenarios: tuple         # scenarios that catch the bug


GALLERY = [
    Entry("4969c1192d15", "mm: fix swapin race condition", "v2.6.36",
          "no-swapcache-recheck", "swapcache", "data-loss", ("zap-reuse-while-locking",)),
    Entry("eb085574a752", "mm, swap: fix race between swapoff and some swap operations", "v5.1",
          "swapoff-unpinned", "swapcache", "use-after-free", ("swapoff-vs-readahead",)),
    Entry("5df373e95689", "mm/page_io.c: do not free shared swap slots", "v5.4",
          "zram-free-notify", "zram-free-notify-count", "data-loss", ("free-notify-shared",)),
    Entry("2799e77529c2", "swap: fix do_swap_page() race with swapoff", "v5.14",
          "bypass-swapin-unpinned", "bypass", "use-after-free", ("swapoff-vs-bypass",)),
    Entry("e914d8f00391", "mm: fix unexpected zeroed page mapping with zram swap", "v5.18",
          "zram-free-notify-count", "bypass", "data-loss", ("willneed-vs-bypass",)),
    Entry("13ddaf26be32", "mm/swap: fix race when skipping swapcache", "v6.8",
          "bypass", "prepare-sleep", "data-loss", ("slot-reuse",)),
    Entry("82b1c07a0af6", "mm: swap: fix race between free_swap_and_cache() and swapoff()", "v6.9",
          "free-swap-unpinned", "swapcache", "use-after-free", ("exit-vs-swapoff",)),
]



def gallery_cells() -> list[tuple[Entry, str, str, str]]:
    """Every check the gallery makes: (entry, design, scenario, expected verdict), the buggy
    design then the fixed one on each catching scenario."""
    return [(e, d, s, want) for e in GALLERY for s in e.scenarios
            for d, want in ((e.buggy, e.violation), (e.fixed, "ok"))]


__all__ = ["HISTORIC", "GALLERY", "Entry", "gallery_cells"]
