"""The oracle: what must hold when every thread has finished.

Each live mm must read back what its user last wrote, wherever the page lives (mapped, in the
swap cache, or on the device).  The swap accounting must balance: each slot's count equals the
swap PTEs (and design-declared holders, such as a marker that keeps its PTE's reference) that
point at it; SWAP_HAS_CACHE is set exactly when a folio is in the swap cache for the slot; no
slot is leaked, and no entry outlives its VMA.  No folio is left locked; each live folio's
refcount equals its mappings plus the swap cache's reference.  A writable PTE never maps a folio
another mm also maps.
"""
from __future__ import annotations

from ..engine import Violation
from .memory import ZERO_PFN, _show
from .types import POISON, SWAP_HAS_CACHE, fmt_map, swap_count


def check_final_state(k) -> None:
    si = k.si
    if si.freed:
        _check_after_swapoff(k)
        return
    refs = [0] * si.nslots
    mapped: dict[int, list] = {}
    for mm in k.mms.values():
        if not mm.alive:
            continue
        for addr, cell in enumerate(mm.pte):
            pte = cell.peek()
            where, value = None, None
            if not mm.mapped[addr].peek() and pte.kind != "none":
                # munmap zaps the range it detached before it returns: an entry left in it would be counted
                # below as a live reference to a folio or slot that nobody can ever free
                raise Violation("leak", f"{mm.name}.pte[{addr}] = {pte} outlives its VMA: munmap "
                                "did not zap it")
            if pte.kind == "present":
                mapped.setdefault(pte.pfn, []).append((mm, addr, pte))
                if pte.pfn == ZERO_PFN:
                    where, value = "the zero page", 0
                else:
                    folio = k.folio_of(pte.pfn, f"{mm.name}.pte[{addr}]")
                    where, value = f"folio#{pte.pfn} (mapped)", folio.data.peek()
            elif pte.kind == "swp":
                off = pte.offset
                refs[off] += 1
                if si.swap_map[off].peek() == 0:
                    raise Violation("data-loss", f"{mm.name}.pte[{addr}] = {pte}, but swap slot {off} is "
                                    "free: the page's data is gone")
                cached = si.cache[off].peek()
                cf = k.folio_of(cached, f"swap cache slot {off}") if cached is not None else None
                if cf is not None and cf.uptodate.peek():
                    where, value = f"folio#{cached} (swap cache, slot {off})", cf.data.peek()
                else:
                    # a !uptodate cache folio (its read failed: device read_errors) holds no
                    # copy; the page's data is still the slot's, as the next read would see
                    where, value = f"swap slot {off}", si.zram[off].peek()
            elif pte.kind == "none":
                where, value = "nowhere (pte_none: reads as zero)", 0
            elif pte.kind == "poisoned":
                _check_poisoned(k, mm, addr)
                continue
            else:
                raise Violation("leak", f"{mm.name}.pte[{addr}] still holds {pte} after every thread finished")
            if not mm.mapped[addr].peek():
                continue
            if value != mm.logical[addr]:
                raise Violation("data-loss", f"{mm.name}: page {addr} holds {_show(value)} in {where}, but "
                                f"the last value written there was {mm.logical[addr]}")
    for off, n in k.declared_swap_refs().items():
        refs[off] += n
    # the per-cpu swap slot cache (device option slot_cache): a slot it holds, reserved or
    # freed, is SWAP_HAS_CACHE with no folio and no reference, and still counts in inuse_pages
    parked = k.slots_in_percpu_caches()
    for off, places in parked.items():
        where = " and ".join(places)
        if len(places) > 1:
            # each place will give it back with swapcache_free_entries: the second one finds
            # swap_map 0 where swap_entry_free asserts SWAP_HAS_CACHE
            raise Violation("accounting", f"swap slot {off} waits in {where}: it was freed twice "
                            "(the second swapcache_free_entries would hit VM_BUG_ON in swap_entry_free)")
        m = si.swap_map[off].peek()
        if m != SWAP_HAS_CACHE or si.cache[off].peek() is not None or refs[off]:
            raise Violation("accounting", f"swap slot {off} waits in {where}, but swap_map[{off}] = "
                            f"{fmt_map(m)}, {refs[off]} PTE(s) name it and the swap cache "
                            f"{'holds' if si.cache[off].peek() is not None else 'lacks'} a folio there: "
                            "a slot in a per-cpu cache was handed out")
    for off in range(si.nslots):
        if off in parked:
            continue
        m = si.swap_map[off].peek()
        cached = si.cache[off].peek() is not None
        if swap_count(m) != refs[off]:
            kind = "leak" if swap_count(m) > refs[off] else "accounting"
            raise Violation(kind, f"swap_map[{off}] = {fmt_map(m)} but {refs[off]} PTE(s) refer to slot {off}")
        if bool(m & SWAP_HAS_CACHE) != cached and not (m == 0 and not cached):
            if m == SWAP_HAS_CACHE and not cached:
                raise Violation("leak", f"swap_map[{off}] = {fmt_map(m)}: the slot is pinned by nobody "
                                "(no swap-cache folio, no PTE): leaked")
            raise Violation("accounting", f"swap_map[{off}] = {fmt_map(m)} but the swap cache "
                            f"{'holds a' if cached else 'has no'} folio for it")
    inuse = sum(1 for c in si.swap_map if c.peek())
    if si.inuse_pages.peek() != inuse:
        raise Violation("accounting", f"si->inuse_pages = {si.inuse_pages.peek()} but {inuse} slots are in use")
    _check_folios(k, mapped)


def _check_folios(k, mapped) -> None:
    for pfn, folio in k.folios.items():
        if pfn == ZERO_PFN or folio.freed:
            continue
        maps = mapped.get(pfn, [])
        if folio.lock.is_locked_now():
            raise Violation("leak", f"folio#{pfn} is still locked after every thread finished")
        in_cache = folio.swapcache.peek()
        if in_cache and k.si.cache[folio.swap.peek()].peek() != pfn:
            raise Violation("accounting", f"folio#{pfn} has PG_swapcache but the swap cache does not hold it")
        if folio.mapcount.peek() != len(maps):
            raise Violation("accounting", f"folio#{pfn} mapcount is {folio.mapcount.peek()} but "
                            f"{len(maps)} PTE(s) map it")
        expect = len(maps) + (1 if in_cache else 0)
        ref = folio.ref.peek()
        if ref != expect:
            kind = "leak" if ref > expect else "accounting"
            raise Violation(kind, f"folio#{pfn} refcount is {ref}, expected {expect} "
                            f"({len(maps)} mapping(s){' + swap cache' if in_cache else ''})")
        if expect == 0:
            raise Violation("leak", f"folio#{pfn} is neither mapped nor cached but was never freed")
        if len({mm.name for mm, _, _ in maps}) > 1 and any(p.write for _, _, p in maps):
            raise Violation("stale-mapping", f"folio#{pfn} is mapped writable by one mm while another "
                            "maps it too: copy-on-write is broken")


def _check_after_swapoff(k) -> None:
    for mm in k.mms.values():
        if not mm.alive:
            continue
        for addr, cell in enumerate(mm.pte):
            pte = cell.peek()
            if pte.kind == "swp":
                raise Violation("data-loss", f"swapoff finished but {mm.name}.pte[{addr}] = {pte} still "
                                "points into the removed device")
            if pte.kind == "poisoned":
                _check_poisoned(k, mm, addr)
                continue
            if pte.kind == "present" and pte.pfn != ZERO_PFN:
                folio = k.folio_of(pte.pfn, f"{mm.name}.pte[{addr}]")
                v = folio.data.peek()
            else:
                v = 0
            if mm.mapped[addr].peek() and v != mm.logical[addr]:
                raise Violation("data-loss", f"{mm.name}: page {addr} holds {_show(v)}, but the last value "
                                f"written there was {mm.logical[addr]}")
    for pfn, folio in k.folios.items():
        if pfn != ZERO_PFN and not folio.freed and folio.lock.is_locked_now():
            raise Violation("leak", f"folio#{pfn} is still locked after every thread finished")
    _ = POISON


def _check_poisoned(k, mm, addr) -> None:
    """A poisoned entry (swapoff's unuse_pte met a folio whose read failed) loses the page by
    design: every access SIGBUSes, none returns wrong data.  Only a failing device can make one;
    anywhere else it is data lost by the model or a design."""
    if not k.si.read_errors:
        raise Violation("data-loss", f"{mm.name}.pte[{addr}] is poisoned, but no read of the device failed")
