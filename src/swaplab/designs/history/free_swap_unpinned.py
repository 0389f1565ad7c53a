"""free-swap-unpinned — free_swap_and_cache() before 82b1c07a0af6 "mm: swap: fix race between
free_swap_and_cache() and swapoff()" (Ryan Roberts, v6.9; Fixes: 7c00bafee87c, v4.11).

zap_pte_range calls free_swap_and_cache() for every swap PTE it clears, holding only the PTE
lock.  Before 82b1c07a0af6 it found the device with _swap_info_get(), which checks the entry but
keeps nothing alive: "There was previously a theoretical window where swapoff() could run and
teardown a swap_info_struct while a call to free_swap_and_cache() was running in another
thread."  The fix (mm/swapfile.c):

    -	p = _swap_info_get(entry);
    +	p = get_swap_device(entry);
     	if (p) {
    +		if (WARN_ON(data_race(!p->swap_map[swp_offset(entry)]))) {
    +			put_swap_device(p);
    +			return 0;
    +		}
    +
     		count = __swap_entry_free(p, entry);
     		if (count == SWAP_HAS_CACHE &&
     		    !swap_page_trans_huge_swapped(p, entry))
     			__try_to_reclaim_swap(p, swp_offset(entry),
     					      TTRS_UNMAPPED | TTRS_FULL);
    +		put_swap_device(p);
     	}

David Hildenbrand's scenario in the commit message uses a large folio shared by two exiting
processes.  The model has no large folios; it finds the order-0 form of the same window: the
exiting mm (mm_users 0) is skipped by swapoff's mmget_not_zero(), so after exit's zap has
dropped the last count (count == SWAP_HAS_CACHE) swapoff reclaims the cache-only slot itself,
sees no slot in use and tears the device down before the zap reaches __try_to_reclaim_swap().
The pre-fix override is the v6.8 function without the reference.
"""
from ...kernel import Kernel
from ...kernel.types import SWAP_HAS_CACHE


class FreeSwapUnpinned(Kernel):
    name = "free-swap-unpinned"
    kind = "historic-bug"
    summary = "free_swap_and_cache before 82b1c07a0af6 (≤ v6.8): no device reference under zap"
    reference = "82b1c07a0af6 (v6.9)"

    def free_swap_and_cache(self, entry):
        """free_swap_and_cache() v6.8: _swap_info_get (no reference), __swap_entry_free, then
        __try_to_reclaim_swap(TTRS_UNMAPPED | TTRS_FULL) if only the cache holds the slot."""
        count = yield from self._swap_entry_free(entry, 1, f"free_swap_and_cache(offset {entry})")
        if count == SWAP_HAS_CACHE:
            yield from self._try_to_reclaim_swap(entry)
        return True
