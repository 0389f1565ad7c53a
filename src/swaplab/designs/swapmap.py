"""swapmap-inflight — a special swap_map value for a cache-bypassed swap-in in flight.

Kairui Song's idea in the Feb 2024 thread: "a new swap map value similar to
SWAP_MAP_BAD/SWAP_MAP_SHMEM ... that may even help to simplify the swap count release routine
for cache bypassed swapin".  The details are ours:
- SWAP_MAP_INFLIGHT (0x3d) means "count 1, and a bypassing swap-in owns the slot".  The
  faulting thread sets it under the cluster lock, from exactly 1 (one PTE, no cache); any other
  value means somebody else is at work, and it backs off for a tick and refaults as 13ddaf26
  does.
- When the owner maps the page, its swap_free() takes the slot from INFLIGHT straight to free.
- A zap (free_swap_and_cache) of an INFLIGHT slot does not free it: it becomes
  SWAP_MAP_INFLIGHT_ZAPPED (0x3c, "count 0, still in flight"), and the owner frees the slot at
  do_swap_page's out label.  So the slot cannot be reused while the read is in flight.
- Racers see a count that is not 1, take the swap-cache path, and __swap_duplicate() refuses
  both values with -EEXIST, so __read_swap_cache_async sleeps a tick and looks again.
"""
from ..engine import Violation, schedule_timeout
from ..engine.runtime import CTX
from ..kernel.memory import BACKOFF
from ..kernel.types import SWAP_HAS_CACHE
from .bypass import Bypass

SWAP_MAP_INFLIGHT = 0x3D
SWAP_MAP_INFLIGHT_ZAPPED = 0x3C
EEXIST = -17


class SwapmapInflight(Bypass):
    name = "swapmap-inflight"
    kind = "alternative"
    summary = "a special swap_map value marks a bypassed swap-in in flight (the thread's other idea)"
    reference = "thread of 13ddaf26 (Feb 2024), Kairui's swap_map value"
    vmf_fields = {"need_clear_cache": False}     # holds the in-flight value to clear at "out"

    def __init__(self, scenario):
        super().__init__(scenario)
        self.inflight_owner: dict[int, int] = {}      # slot -> thread that owns the swap-in

    def swapin_direct(self, vmf):
        si = self.si
        cell = si.swap_map[vmf.entry]
        yield from si.lock.locked_step(((cell, True),), f"swap_map[{vmf.entry}] = SWAP_MAP_INFLIGHT",
                                       cost="swap_map")
        if cell.value != 1:
            self.count("backoffs")
            yield from schedule_timeout(1, "schedule_timeout_uninterruptible(1)")
            return BACKOFF
        cell.value = SWAP_MAP_INFLIGHT
        self.inflight_owner[vmf.entry] = CTX.tid
        vmf.need_clear_cache = True
        return (yield from super().swapin_direct(vmf))

    def _swap_duplicate_locked(self, cell, usage):
        if cell.value in (SWAP_MAP_INFLIGHT, SWAP_MAP_INFLIGHT_ZAPPED):
            return EEXIST                                 # a bypassed swap-in owns the slot
        return super()._swap_duplicate_locked(cell, usage)

    def _swap_entry_free_locked(self, cell, usage):
        v = cell.value
        if v not in (SWAP_MAP_INFLIGHT, SWAP_MAP_INFLIGHT_ZAPPED):
            return super()._swap_entry_free_locked(cell, usage)
        entry = int(cell.name[cell.name.index("[") + 1:-1])
        owner = self.inflight_owner.get(entry) == CTX.tid
        if usage == SWAP_HAS_CACHE or (v == SWAP_MAP_INFLIGHT_ZAPPED and not owner):
            raise Violation("accounting", f"{cell.name}: dropping {usage} from an in-flight slot")
        if v == SWAP_MAP_INFLIGHT and not owner:
            cell.value = SWAP_MAP_INFLIGHT_ZAPPED       # zapped under us: the owner frees it
            return SWAP_MAP_INFLIGHT_ZAPPED
        del self.inflight_owner[entry]
        cell.value = SWAP_HAS_CACHE                      # then free_swap_slot()
        return 0

    def on_mapped(self, vmf, folio):
        vmf.need_clear_cache = False                     # swap_free() released the slot
        return
        yield  # pragma: no cover

    def do_swap_page_cleanup(self, vmf):
        if vmf.need_clear_cache:
            yield from self._swap_entry_free(vmf.entry, 1, f"swapmap_clear_inflight(offset {vmf.entry})")
