"""Planted bugs: kernel designs that each break one invariant the oracle checks, and the tiny
scenarios that show it, for tests/test_oracle_planted.py.

Each class overrides one kernel function of the model (or of a built-in design) with the bug
named in its docstring; everything else is the model as it is.  Each bug is built so that one
check of the oracle sees it and no other does (where that is impossible, the table in
test_oracle_planted.py says which check takes over).  The scenarios are single-threaded unless
the bug needs a second thread, so one execution decides the verdict.

Also here: the oracle with one check switched off (``oracle_without``) and the CPU's load
without its data check (``cpu_access_without_load_check``), made by removing the ``raise`` of
that check from the model's own source, so the tests can show that each planted bug is missed
once its check is gone.
"""
from __future__ import annotations

import ast
import inspect
import textwrap

from swaplab.designs import PrepareSleep
from swaplab.engine import Step
from swaplab.kernel import Kernel
from swaplab.kernel import memory as memory_module
from swaplab.kernel import oracle as oracle_module
from swaplab.kernel.types import POISON, SWAP_HAS_CACHE

# --- scenarios ------------------------------------------------------------------------------


def one_thread(ops, page='{ state = "swapped", value = 1 }', slots: int = 1, forked: bool = False) -> str:
    """A scenario text: mm A with one page, one thread running ``ops`` (and mm B forked from
    A before the run when ``forked``; the thread then runs in B)."""
    ops_text = ", ".join(f'"{o}"' for o in ops)
    child = '\n[[mm]]\nname = "B"\nforked_from = "A"\n' if forked else ""
    return (f'name = "planted"\n[device]\nslots = {slots}\n[[mm]]\nname = "A"\npages = [{page}]\n{child}'
            f'[[thread]]\nname = "T0"\nmm = "{"B" if forked else "A"}"\nops = [{ops_text}]\n')


# --- the data checks ----------------------------------------------------------------------------
class ReadsWrongData(Kernel):
    """swap_read_folio fills the folio with other data than the slot holds (a decompression
    that goes wrong): whoever reads the page next sees the wrong value."""
    name = "planted-reads-wrong-data"

    def swap_read_folio(self, folio, entry):
        src = self.si.zram[entry]
        yield Step(((src, False), (folio.data, True), (folio.uptodate, True)),
                   f"swap_read_folio(offset {entry}) [planted: wrong data]")
        folio.data.value = src.value + 100
        folio.uptodate.value = True
        yield from folio.lock.unlock()


class WritesStaleData(Kernel):
    """swap_writepage writes what the slot held before instead of the folio's data: the page
    on the device is stale, and nothing in the scenario reads it again."""
    name = "planted-writes-stale-data"

    def swap_writepage(self, folio):
        if (yield from self.folio_free_swap(folio)):
            yield from folio.lock.unlock()
            return
        entry = yield from folio.swap.read()
        yield from folio.writeback.write(True)
        yield from folio.lock.unlock()
        dst = self.si.zram[entry]
        yield Step(((dst, True),), f"swap_writepage: offset {entry} [planted: stale data]")
        dst.value = 1                       # the value the page had before the user's store
        yield from folio.writeback.write(False)


class MunmapForgetsZap(Kernel):
    """munmap drops the VMA without zapping its page table: the page (or its swap slot) can
    never be freed."""
    name = "planted-munmap-forgets-zap"

    def munmap(self, mm, addrs):
        yield from mm.mmap_lock.down_write()
        yield Step(tuple((mm.mapped[a], True) for a in addrs), "munmap: detach the VMA range [planted: no zap]")
        for a in addrs:
            mm.mapped[a].value = False
        yield from mm.mmap_lock.up_write()


class UnmapForgetsSwapDuplicate(Kernel):
    """try_to_unmap_one installs the swap PTE without swap_duplicate: once reclaim drops the
    cache's SWAP_HAS_CACHE the slot is free under the PTE."""
    name = "planted-unmap-forgets-swap-duplicate"

    def swap_duplicate(self, entry):
        return 0                            # "succeeds" without counting the PTE
        yield  # pragma: no cover


class UnmapLeavesMigrationEntry(Kernel):
    """try_to_unmap_one installs a migration entry (as try_to_migrate_one does) instead of the
    swap PTE, and nothing ever removes it."""
    name = "planted-unmap-leaves-migration-entry"

    def try_to_unmap_one(self, folio, mm, addr):
        from swaplab.kernel.types import Pte
        yield from mm.ptl.lock()
        cell = mm.pte[addr]
        pte = yield from cell.read()
        if pte.kind != "present" or pte.pfn != folio.pfn:
            yield from mm.ptl.unlock()
            return True
        yield Step(((cell, True), (folio.mapcount, True), (folio.dirty, True)),
                   "set_pte_at(migration entry) [planted]")
        folio.dirty.value = True
        cell.value = Pte("migration", pfn=folio.pfn)
        folio.mapcount.value -= 1
        yield from mm.ptl.unlock()
        yield from self.folio_put(folio)
        return True


# --- swap_map, SWAP_HAS_CACHE, inuse_pages ------------------------------------------------------
class ForgetsSwapFree(Kernel):
    """do_swap_page maps the page but never drops the swap PTE's count (swap_free): the slot
    stays allocated for nobody (swap_free's only caller in the scenario is do_swap_page)."""
    name = "planted-forgets-swap-free"

    def swap_free(self, entry):
        return 1
        yield  # pragma: no cover


class ForkForgetsSwapDuplicate(Kernel):
    """copy_pte_range copies a swap PTE into the child without swap_duplicate: two PTEs, one
    count (swap_duplicate's only caller in the scenario is fork)."""
    name = "planted-fork-forgets-swap-duplicate"

    def swap_duplicate(self, entry):
        return 0
        yield  # pragma: no cover


class ForgetsSwapcacheClear(PrepareSleep):
    """13ddaf26 without its swapcache_clear(): the direct swap-in's SWAP_HAS_CACHE pin outlives
    the fault, and the slot stays allocated with no folio and no PTE."""
    name = "planted-forgets-swapcache-clear"

    def do_swap_page_cleanup(self, vmf):
        return
        yield  # pragma: no cover


class RemoveMappingKeepsCacheBit(Kernel):
    """put_swap_folio does nothing: when reclaim deletes the folio from the swap cache, the slot
    keeps SWAP_HAS_CACHE (its only caller in the scenario is __remove_mapping)."""
    name = "planted-keeps-swap-has-cache"

    def put_swap_folio(self, entry):
        return SWAP_HAS_CACHE
        yield  # pragma: no cover


class PrepareForgetsCacheBit(Kernel):
    """swapcache_prepare reports success without setting SWAP_HAS_CACHE: the folio goes into
    the swap cache with the slot's map byte saying nothing is cached."""
    name = "planted-prepare-forgets-cache-bit"

    def swapcache_prepare(self, entry):
        yield from self.si.lock.locked_step(((self.si.swap_map[entry], False),),
                                            f"swapcache_prepare(offset {entry}) [planted]")
        return 0


class LosesInusePages(Kernel):
    """swap_entry_free frees the slot without si->inuse_pages--."""
    name = "planted-loses-inuse-pages"

    def free_swap_slot(self, entry):
        si = self.si
        cell, data = si.swap_map[entry], si.zram[entry]
        yield from si.lock.locked_step(((cell, True), (data, True)), f"swap_entry_free(offset {entry}) [planted]")
        cell.value = 0
        data.value = POISON


# --- folios --------------------------------------------------------------------------------------
class ForgetsUnlock(Kernel):
    """swap_read_folio never unlocks the folio it read."""
    name = "planted-forgets-unlock"

    def swap_read_folio(self, folio, entry):
        src = self.si.zram[entry]
        v = yield from src.read()
        yield from folio.data.write(v)
        yield from folio.uptodate.write(True)


class HalfDeletesFromSwapCache(Kernel):
    """delete_from_swap_cache empties the xarray slot and drops SWAP_HAS_CACHE but leaves
    PG_swapcache set and keeps the cache's folio reference, as if the folio were still cached."""
    name = "planted-half-deletes-from-swap-cache"

    def delete_from_swap_cache(self, folio):
        entry = yield from folio.swap.read()
        slot = self.si.cache[entry]
        yield from self.si.cache_lock.locked_step(((slot, True),), f"xas_store(swap_cache[{entry}], NULL) [planted]")
        slot.value = None
        yield from self.put_swap_folio(entry)


class DoubleRmap(Kernel):
    """do_swap_page adds the anon rmap twice: mapcount 2 for one PTE."""
    name = "planted-double-rmap"

    def on_mapped(self, vmf, folio):
        yield Step(((folio.mapcount, True),), "folio_add_anon_rmap_pte [planted: again]")
        folio.mapcount.value += 1


class WillneedLeaksRef(Kernel):
    """MADV_WILLNEED keeps the reference read_swap_cache_async returned (no folio_put)."""
    name = "planted-willneed-leaks-ref"

    def madvise_willneed(self, mm, addrs):
        yield from mm.mmap_lock.down_read()
        for addr in addrs:
            pte = yield from mm.pte[addr].read()
            if pte.kind == "swp":
                yield from self.read_swap_cache_async(pte.offset, addr)
        yield from mm.mmap_lock.up_read()


class PutsOnceTooOften(Kernel):
    """do_swap_page drops one reference it does not own after mapping: the folio survives (the
    swap cache holds one) but its refcount is one short."""
    name = "planted-puts-once-too-often"

    def on_mapped(self, vmf, folio):
        yield from self.folio_put(folio)


class NeverFrees(Kernel):
    """The last folio_put / reclaim's freeze brings the refcount to 0 but the folio is never
    given back to the allocator."""
    name = "planted-never-frees"

    def _free_folio(self, folio):
        pass


class ReusesSharedPage(Kernel):
    """do_wp_page reuses a page another mm still maps (wp_can_reuse_anon_folio always says yes):
    copy-on-write is broken."""
    name = "planted-reuses-shared-page"

    def wp_can_reuse_anon_folio(self, folio):
        return True
        yield  # pragma: no cover


# --- after swapoff ---------------------------------------------------------------------------------
class SwapoffSkipsUnuse(Kernel):
    """try_to_unuse returns at once: swapoff frees the device with swap PTEs still pointing
    into it."""
    name = "planted-swapoff-skips-unuse"

    def try_to_unuse(self):
        return 0
        yield  # pragma: no cover


class UnuseForgetsUnlock(Kernel):
    """unuse_pte_range maps the page and frees its swap cache but never unlocks the folio."""
    name = "planted-unuse-forgets-unlock"

    def unuse_pte_range(self, mm):
        for addr in range(len(mm.pte)):
            pte = yield from mm.pte[addr].read()
            if pte.kind != "swp":
                continue
            folio = yield from self.swap_cache_get_folio(pte.offset)
            if folio is None:
                folio = yield from self.read_swap_cache_async(pte.offset, addr)
            yield from folio.lock.lock()
            yield from self.unuse_pte(mm, addr, pte.offset, folio)
            yield from self.folio_free_swap(folio)
            yield from self.folio_put(folio)
        return 0


# --- the per-cpu swap slot cache (device option slot_cache) -----------------------------------------
def with_slot_cache(text: str) -> str:
    return text.replace("[device]\n", "[device]\nslot_cache = true\n", 1)


class ParksTwice(Kernel):
    """free_swap_slot puts the freed entry into slots_ret twice: two later flushes would free
    it twice."""
    name = "planted-parks-twice"

    def free_swap_slot_to_cache(self, entry):
        if not (yield from super().free_swap_slot_to_cache(entry)):
            return False
        cache = self._my_slots_cache()
        yield from cache.slots_ret.write(cache.slots_ret.peek() + (entry,))
        return True


class AllocLeavesSlotCached(Kernel):
    """folio_alloc_swap hands out a slot from the per-cpu cache without taking it out."""
    name = "planted-alloc-leaves-slot-cached"

    def folio_alloc_swap(self, folio):
        entry = yield from super().folio_alloc_swap(folio)
        if entry is not None:
            cache = self._my_slots_cache()
            yield from cache.slots.write((entry,) + cache.slots.peek())
        return entry


# --- a poisoned entry without a failing device -------------------------------------------------------
class ReadFailsSilently(Kernel):
    """Every read of the device fails (the folio stays !uptodate) though the scenario declares
    no read error: swapoff's unuse_pte then poisons a page that was fine."""
    name = "planted-read-fails-silently"

    def swap_read_folio(self, folio, entry):
        return (yield from self._swap_read_folio_error(folio, entry))


class PoisonsWithoutReadError(Kernel):
    """unuse_pte poisons the page although its read succeeded (the !uptodate branch taken
    always): the data is thrown away with no device error to blame."""
    name = "planted-poisons-without-read-error"

    def unuse_pte(self, mm, addr, entry, folio):
        from swaplab.kernel.types import PTE_POISONED
        yield from mm.ptl.lock()
        mm.pte[addr].value = PTE_POISONED
        yield from self.swap_free(entry)
        yield from mm.ptl.unlock()
        return 0


# --- switching one check off ------------------------------------------------------------------------
class _DropRaises(ast.NodeTransformer):
    """Replace each ``raise`` inside function ``within`` whose source contains one of
    ``fragments`` with ``pass``."""

    def __init__(self, fragments, within: str):
        self.fragments = fragments
        self.within = within
        self.inside = False
        self.dropped = 0

    def visit_FunctionDef(self, node):
        outer = self.inside
        self.inside = outer or node.name == self.within
        self.generic_visit(node)
        self.inside = outer
        return node

    def visit_Raise(self, node):
        if self.inside and any(f in ast.unparse(node) for f in self.fragments):
            self.dropped += 1
            return ast.copy_location(ast.Pass(), node)
        return node


def _mutate(source: str, fragments, within: str, raises: int, filename: str, namespace: dict) -> dict:
    tree = ast.parse(source)
    drop = _DropRaises(fragments, within)
    tree = ast.fix_missing_locations(drop.visit(tree))
    # the fragments must name exactly the raises of the check: if the model's text changes,
    # this fails instead of silently switching off nothing (or more than the check)
    assert drop.dropped == raises, f"{fragments} in {within}: {drop.dropped} raise(s) matched, expected {raises}"
    exec(compile(tree, filename, "exec"), namespace)
    return namespace


def oracle_without(fragments, within: str = "check_final_state", raises: int = 1):
    """kernel/oracle.py's check_final_state with the raise(s) of function ``within`` whose
    source contains one of ``fragments`` removed."""
    ns = {"__name__": "swaplab.kernel.oracle_mutant", "__package__": "swaplab.kernel"}
    _mutate(inspect.getsource(oracle_module), fragments, within, raises, oracle_module.__file__, ns)
    return ns["check_final_state"]


def cpu_access_without_load_check():
    """Memory.cpu_access without the data-loss check on each load."""
    src = textwrap.dedent(inspect.getsource(memory_module.Memory.cpu_access))
    ns = dict(vars(memory_module))
    _mutate(src, ["a load of page"], "cpu_access", 1, memory_module.__file__, ns)
    return ns["cpu_access"]
