"""prepare-waitqueue — 01626a182302 "mm: avoid unconditional one-tick sleep when
swapcache_prepare fails" (Barry Song, v6.12), with "wake_up only when swapcache_wq waitqueue is
active" folded in.

The loser of swapcache_prepare still sleeps at most one tick, but on a global wait queue, and
the winner wakes the queue when it clears its pin.
"""
from ..engine import schedule_timeout
from .prepare import PrepareSleep


class PrepareWaitqueue(PrepareSleep):
    name = "prepare-waitqueue"
    kind = "upstream"            # v6.12 until phase II
    summary = "01626a18 (v6.12): the loser sleeps on swapcache_wq; the winner wakes it"
    reference = "01626a182302"

    def swapin_backoff(self, vmf):
        wq = self.si.swapcache_wq
        yield from wq.add_wait_queue("add_wait_queue(&swapcache_wq)")
        yield from schedule_timeout(1, "schedule_timeout_uninterruptible(1)")
        yield from wq.remove_wait_queue("remove_wait_queue(&swapcache_wq)")

    def do_swap_page_cleanup(self, vmf):
        if vmf.need_clear_cache:
            yield from self.swapcache_clear(vmf.entry)
            wq = self.si.swapcache_wq
            if (yield from wq.waitqueue_active("waitqueue_active(&swapcache_wq)")):
                yield from wq.wake_up("wake_up(&swapcache_wq)")
