"""prepare-busy, prepare-schedule, prepare-sleep — 13ddaf26 "mm/swap: fix race when skipping
swapcache" (Kairui Song, v6.8), in its three patch versions.

Pin the entry with swapcache_prepare() (set SWAP_HAS_CACHE) before reading it, so that only one
thread swaps it in and the slot cannot be freed and reused while it does; clear the pin with
swapcache_clear() after the PTE lock is released.  A thread that finds the pin taken backs off
and returns without mapping, so the CPU refaults:
- v2 (prepare-busy): returns at once ("busy wait");
- v3 (prepare-schedule): calls schedule() first;
- v4, merged (prepare-sleep): schedule_timeout_uninterruptible(1), "Relax a bit to prevent rapid
  repeated page faults", at Huang Ying's request.
"""
from ..engine import schedule, schedule_timeout
from ..kernel.memory import BACKOFF
from .bypass import Bypass


class PrepareSleep(Bypass):
    name = "prepare-sleep"
    kind = "upstream"            # merged: v6.8 to v6.11
    summary = "13ddaf26 v4 (merged, v6.8): pin with swapcache_prepare; on failure sleep one tick"
    reference = "13ddaf26be32 (v4)"
    vmf_fields = {"need_clear_cache": False}     # do_swap_page's local of 13ddaf26

    def swapin_direct(self, vmf):
        # Prevent parallel swapin from proceeding with the cache flag.  Otherwise, another
        # thread may finish swapin first, free the entry, and swapout reusing the same entry.
        # It's undetectable as pte_same() returns true due to entry reuse.
        if (yield from self.swapcache_prepare(vmf.entry)):
            self.count("backoffs")
            yield from self.swapin_backoff(vmf)
            return BACKOFF                                 # goto out
        vmf.need_clear_cache = True
        return (yield from super().swapin_direct(vmf))

    def swapin_backoff(self, vmf):
        """Relax a bit to prevent rapid repeated page faults."""
        yield from schedule_timeout(1, "schedule_timeout_uninterruptible(1)")

    def do_swap_page_cleanup(self, vmf):
        """Clear the swap cache pin for direct swapin after PTL unlock."""
        if vmf.need_clear_cache:
            yield from self.swapcache_clear(vmf.entry)


class PrepareSchedule(PrepareSleep):
    name = "prepare-schedule"
    kind = "alternative"         # v3, superseded by v4 in review
    summary = "13ddaf26 v3: pin with swapcache_prepare; on failure schedule() and refault"
    reference = "13ddaf26 v3 (lore 20240216...)"

    def swapin_backoff(self, vmf):
        yield from schedule("schedule()")


class PrepareBusy(PrepareSleep):
    name = "prepare-busy"
    kind = "alternative"         # v2, superseded in review
    summary = "13ddaf26 v2: pin with swapcache_prepare; on failure refault at once"
    reference = "13ddaf26 v2"

    def swapin_backoff(self, vmf):
        return
        yield  # pragma: no cover
