"""count-pin — raise the swap count during the cache-bypassing swap-in.

Kairui Song's first proposal in the Feb 2024 thread (agreed by Chris Li and Huang Ying, then
turned down in 13ddaf26's message: racers fall back to the swap-cache path, and "mixing the two
swap-in methods in parallel is a much more complex scenario").  Design details (ours): after the
__swap_count(entry) == 1 check, take one more count with __swap_duplicate(entry, 1) before the
read, which keeps the slot from being freed and reused; if the slot is gone meanwhile, refault.
Racers see count 2 and go through the swap cache.  The extra count is dropped with swap_free()
at do_swap_page's out label, after the PTE lock is released.
"""
from ..kernel.memory import BACKOFF
from .bypass import Bypass


class CountPin(Bypass):
    name = "count-pin"
    kind = "alternative"
    summary = "the rejected alternative: an extra swap count pins the slot during the bypass"
    reference = "thread of 13ddaf26 (Feb 2024), Kairui's first proposal"
    vmf_fields = {"need_clear_cache": False}     # holds an extra count to drop at "out"

    def swapin_direct(self, vmf):
        if (yield from self._swap_duplicate(vmf.entry, 1)):
            self.count("backoffs")
            return BACKOFF
        vmf.need_clear_cache = True          # we hold an extra count to drop at "out"
        return (yield from super().swapin_direct(vmf))

    def do_swap_page_cleanup(self, vmf):
        if vmf.need_clear_cache:
            yield from self.swap_free(vmf.entry)
