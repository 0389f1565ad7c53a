"""no-swapcache-recheck — do_swap_page before 4969c1192d15 "mm: fix swapin race condition"
(Andrea Arcangeli, v2.6.36; kernels up to v2.6.35).

A swap-cache folio found by the lockless lookup is pinned (a reference) but not locked; the
fault then sleeps for the folio lock.  Before 4969c1192d15 nothing was checked once the lock
was taken: the pte_same test under the PTE lock was trusted to catch every change.  It cannot:
while the fault waits, zap (free_swap_and_cache → __try_to_reclaim_swap, which "won't care
about the page pin") can drop the folio from the swap cache and free the slot, and a new page
of the same address can be paged out to that slot, so the swap PTE is bit-identical again.
The lines 4969c1192d15 added after lock_page():

    +	/*
    +	 * Make sure try_to_free_swap didn't release the swapcache
    +	 * from under us. The page pin isn't enough to prevent that.
    +	 */
    +	if (unlikely(!PageSwapCache(page)))
    +		goto out_page;

The commit's main subject was KSM (ksm_does_need_to_copy unlocked the page before pte_same);
the model has no KSM, so this design keeps the other half: no PageSwapCache test.  Hugh
Dickins asked in review (July 2010) whether that test was needed at all; two months later his
31c4a3d3a0f8 "mm: further fix swapin race condition", also v2.6.36, found it not enough and made
it ``!PageSwapCache(page) || page_private(page) != entry.val``.  The pre-fix override drops
the recheck.
"""
from ...kernel import Kernel


class NoSwapcacheRecheck(Kernel):
    name = "no-swapcache-recheck"
    kind = "historic-bug"
    summary = "do_swap_page before 4969c1192d15 (≤ v2.6.35): no recheck of the swap-cache folio after folio_lock"
    reference = "4969c1192d15 (v2.6.36), 31c4a3d3a0f8 (v2.6.36)"

    def swapin_recheck_after_lock(self, vmf, folio):
        return True                       # pte_same below is trusted alone
        yield  # pragma: no cover
