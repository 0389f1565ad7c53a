"""Where a counterexample may pause a thread on a real kernel: the delay points.

A counterexample preempts a thread between two of its model steps.  On the kernel, the thread
must stop at the matching source location and wait there while the others run; the kernel
patch (kernel/<version>/hooks.patch) puts a delay point at each location below.  A point is
identified in the model by the functions on the paused thread's stack at its last step before
the preemption and at its first step after it (the model names its functions as the kernel
does).  Every location is one where do_swap_page may sleep: no spinlock is held, only
mmap_lock for read.  A preemption anywhere else (under the PTE lock, inside reclaim, ...) has no
point, and the counterexample does not transplant: the message says where it stopped.  A stop in
the fault entry before the first fault reads the PTE (after find_vma) needs no point: the
program holds that thread in user space before the access (plan.py, _BEFORE_THE_FAULT).

The table is docs/validation.md's "Delay points"; tests check that every point named here is in
the patch, at the source line quoted.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DelayPoint:
    name: str                      # the kernel's name for it (/proc/swaplab "arm COMM NAME ...")
    model_after: str               # the model step the thread has just done
    model_before: str              # the model step it does next
    kernel: dict                   # version -> (file, function, the source line the hook follows)
    why: str                       # which designs and counterexamples stop here

    def matches(self, last: tuple[str, ...], nxt: tuple[str, ...]) -> bool:
        return _RULES[self.name](set(last), set(nxt))


POINTS = (
    DelayPoint(
        "before_cache_lookup",
        "get_swap_device", "swap_cache_get_folio",
        {"6.1": ("mm/memory.c", "do_swap_page", "si = get_swap_device(entry); if (unlikely(!si)) goto out;")},
        "a fault that has read the swap PTE but not yet looked in the swap cache"),
    DelayPoint(
        "after_cache_lookup",
        "swap_cache_get_folio (a miss)", "swapin_skip_swapcache / swapcache_prepare / swapin_readahead",
        {"6.1": ("mm/memory.c", "do_swap_page",
                 "if (!folio) {  (first statement of the miss branch, before the SWP_SYNCHRONOUS_IO test)")},
        "a fault that missed in the swap cache and has not yet chosen the bypass or the cache"),
    DelayPoint(
        "before_read",
        "swapin_skip_swapcache (folio allocated, folio_add_lru, folio->swap = entry)", "swap_read_folio",
        {"6.1": ("mm/memory.c", "do_swap_page", "folio_set_swap_entry(folio, entry);  (skip-swapcache branch)")},
        "the bypass before it reads the slot: the control point (a thread paused here reads the new data)"),
    DelayPoint(
        "after_read",
        "swap_read_folio (bypass: the slot read into a private folio)", "do_swap_page: PTE lock, pte_same",
        {"6.1": ("mm/memory.c", "do_swap_page", "swap_readpage(page, true, NULL); folio->private = NULL;")},
        "13ddaf26's race: the slow CPU has read the slot and has not yet taken the PTE lock"),
    DelayPoint(
        "after_readahead",
        "swapin_readahead (the folio read into the swap cache)", "do_swap_page: folio_lock_or_retry",
        {"6.1": ("mm/memory.c", "do_swap_page", "swapcache = folio;  (after swapin_readahead())")},
        "the swap-cache path between the read and the folio lock"),
)

POINT_NAMES = tuple(p.name for p in POINTS)

_RULES = {
    "before_cache_lookup": lambda last, nxt: "swap_cache_get_folio" in nxt and "swap_cache_get_folio" not in last,
    "after_cache_lookup": lambda last, nxt: "swap_cache_get_folio" in last and "swap_cache_get_folio" not in nxt
    and "do_swap_page" in nxt,
    "before_read": lambda last, nxt: "swap_read_folio" in nxt and "swapin_direct" in nxt and "swap_read_folio" not in last,
    "after_read": lambda last, nxt: "swap_read_folio" in last and "swapin_direct" in last
    and "swapin_direct" not in nxt and "do_swap_page" in nxt,
    "after_readahead": lambda last, nxt: "swapin_readahead" in last and "swapin_readahead" not in nxt
    and "do_swap_page" in nxt,
}


def find_point(last_stack, next_stack) -> DelayPoint | None:
    """The delay point between a paused thread's last model step and its next, if there is one."""
    last, nxt = tuple(last_stack), tuple(next_stack)
    for p in POINTS:
        if p.matches(last, nxt):
            return p
    return None
