"""zram-free-notify, zram-free-notify-count — swap_slot_free_notify() on the swap-in read path
(mm/page_io.c, 2.6.35 to v5.17), with the cache-bypassing swap-in (v4.15 on).

After a successful read into a swap-cache page, swap_readpage() told zram it could drop its
compressed copy ("let's free zram-owned memory and make the VM-owned decompressed page *dirty*,
so the page should be swapped out somewhere again if we again wish to reclaim it"):

    if (trylock_page(page)) {
            swap_slot_free_notify(page);      /* PageSwapCache pages only */
            unlock_page(page);
    }

With the bypass, another fault on the same entry may read the slot straight from zram without
going through the swap cache, and finds it empty.

- zram-free-notify: before 5df373e95689 "mm/page_io.c: do not free shared swap slots" (Vinayak
  Menon, v5.4; kernels v4.15 to v5.3): the slot is freed whatever its swap count.  The
  commit's picture: parent Pa and child Pb share the slot (count 2); Pa's swap-cache read
  "deletes zram entry", swap_free makes the count 1, Pb then takes the SWP_SYNCHRONOUS_IO path
  and "zram gives a zero filled page".  The fix:

    -	if (disk->fops->swap_slot_free_notify) {
    +	if (disk->fops->swap_slot_free_notify && __swap_count(entry) == 1) {

- zram-free-notify-count: 5df373e95689's code, until e914d8f00391 "mm: fix unexpected zeroed
  page mapping with zram swap" (Minchan Kim, v5.18; kernels v5.4 to v5.17), which removed
  swap_slot_free_notify from the read path altogether: "The swap_slot_free_notify is bogus ...
  only the lock it could rely on to synchronize swap slot freeing is page table lock."  The
  fixed kernel is the model's v6.6 read path (no notify).
"""
from ...kernel.types import POISON
from ..bypass import Bypass


class ZramFreeNotify(Bypass):
    name = "zram-free-notify"
    kind = "historic-bug"
    summary = "before 5df373e95689 (v4.15–v5.3): a swap-cache read frees the zram slot even when shared"
    reference = "5df373e95689 (v5.4)"

    def swap_read_folio(self, folio, entry):
        """swap_readpage() v5.3, synchronous device: read, then swap_slot_free_notify."""
        yield from super().swap_read_folio(folio, entry)
        if (yield from folio.lock.trylock(f"trylock_page(folio#{folio.pfn})")):
            yield from self.swap_slot_free_notify(folio)
            yield from folio.lock.unlock()

    def swap_slot_free_notify(self, folio):
        """mm/page_io.c v5.3: only for a swap-cache page; SetPageDirty, then zram drops the slot."""
        if not (yield from folio.swapcache.read("PageSwapCache", cost="read")):
            return
        entry = yield from folio.swap.read(cost="read")
        if not (yield from self.may_free_slot(entry)):
            return
        yield from folio.dirty.write(True, "SetPageDirty", cost="flags")
        yield from self.si.zram[entry].write(POISON, f"zram_slot_free_notify(offset {entry})", cost="write")

    def may_free_slot(self, entry: int):
        return True
        yield  # pragma: no cover


class ZramFreeNotifyCount(ZramFreeNotify):
    name = "zram-free-notify-count"
    kind = "historic-bug"
    summary = "5df373e95689 (v5.4–v5.17): frees the zram slot on a swap-cache read only at count 1"
    reference = "5df373e95689 (v5.4), e914d8f00391 (v5.18)"

    def may_free_slot(self, entry: int):
        """5df373e95689: ``&& __swap_count(entry) == 1``."""
        return (yield from self._swap_count(entry)) == 1
