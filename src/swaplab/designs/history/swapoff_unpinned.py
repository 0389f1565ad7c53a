"""swapoff-unpinned — swap-in with no swapoff protection, before eb085574a752 "mm, swap: fix race
between swapoff and some swap operations" (Huang Ying, v5.1; kernels up to v5.0).

Before eb085574a752 nothing kept the swap device alive between reading a swap PTE and using the
entry: swp_swap_info(entry) only returned the pointer, and swapoff freed swap_map (and the swap
cache's address space) as soon as try_to_unuse was done.  The commit's own picture:

    CPU 1                           CPU 2
    -----                           -----
                                    do_swap_page
                                      swapin_readahead
                                        __read_swap_cache_async
    swapoff                               swapcache_prepare
      p->swap_map = NULL                    __swap_duplicate
                                              p->swap_map[?] /* !!! NULL pointer access */

The fix added get_swap_device()/put_swap_device() ("it will keep the swap entry valid via
preventing the swap device from being swapoff, until put_swap_device() is called"), first
with RCU and stop_machine, later (63d8620ecf93, v5.14) with the percpu_ref the model follows.
The pre-fix override makes both no-ops, so swapoff waits for nobody.  The catching scenario
uses a device without SWP_SYNCHRONOUS_IO, so the fault takes the swap-cache path of the
commit's picture.
"""
from ...kernel import Kernel


class SwapoffUnpinned(Kernel):
    name = "swapoff-unpinned"
    kind = "historic-bug"
    summary = "before eb085574a752 (≤ v5.0): no get_swap_device, swapoff frees swap_map under a swap-in"
    reference = "eb085574a752 (v5.1)"

    def get_swap_device(self, entry):
        """swp_swap_info(entry): the pointer, and no reference."""
        return self.si
        yield  # pragma: no cover

    def put_swap_device(self, si):
        return
        yield  # pragma: no cover
