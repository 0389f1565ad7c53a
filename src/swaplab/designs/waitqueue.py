"""prepare-waitqueue — 01626a182302 "mm: avoid unconditional one-tick sleep when
swapcache_prepare fails" (Barry Song, v6.12), with "wake_up only when swapcache_wq waitqueue is
active" folded in.

The loser of swapcache_prepare still sleeps at most one tick, but on a global wait queue, and
the winner wakes the queue when it clears its pin.

The order of steps is v6.12's, where 01626a18 landed: since large-folio swap-in (swapcache_prepare
needs the folio's size) the folio is allocated and locked first, then the entry is pinned, and
a loser leaves through out_page, which unlocks and puts the new folio:

    folio = alloc_swap_folio(vmf);
    if (folio) {
            __folio_set_locked(folio);
            __folio_set_swapbacked(folio);
            ...
            if (swapcache_prepare(entry, nr_pages)) {
                    /* Relax a bit to prevent rapid repeated page faults. */
                    add_wait_queue(&swapcache_wq, &wait);
                    schedule_timeout_uninterruptible(1);
                    remove_wait_queue(&swapcache_wq, &wait);
                    goto out_page;
            }
            need_clear_cache = true;
            ...
            folio_add_lru(folio);
            /* To provide entry to swap_read_folio() */
            folio->swap = entry;
            swap_read_folio(folio, NULL);
            folio->private = NULL;
    }
"""
from ..engine import schedule_timeout
from ..kernel.memory import BACKOFF
from .prepare import PrepareSleep


class PrepareWaitqueue(PrepareSleep):
    name = "prepare-waitqueue"
    kind = "upstream"            # v6.12 until phase II
    summary = "01626a18 (v6.12): the loser sleeps on swapcache_wq; the winner wakes it"
    reference = "01626a182302"

    def swapin_direct(self, vmf):
        folio = self.alloc_folio(index=vmf.addr)
        folio.lock.lock_new()                              # __folio_set_locked
        if (yield from self.swapcache_prepare(vmf.entry)):
            self.count("backoffs")
            yield from self.swapin_backoff(vmf)
            # out_page: folio_unlock(folio); out_release: folio_put(folio) -- the folio was
            # never published, so both are private (no step)
            self.free_new_folio(folio)
            return BACKOFF
        vmf.need_clear_cache = True
        return (yield from self.swapin_read_new_folio(folio, vmf))

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
