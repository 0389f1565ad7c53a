"""The Kernel: all modeled kernel functions together, the initial state a scenario describes,
and the user threads that run a scenario's operations."""
from __future__ import annotations

from ..engine import Cell, Program, SpinLock, Step
from ..engine.objects import FROZEN
from .madvise import Madvise
from .memory import ZERO_PFN, Memory
from .oracle import check_final_state
from .rmap import Rmap
from .state import MM, SwapInfo
from .swap_state import SwapState
from .swapfile import Swapfile
from .swap_slots import SwapSlots
from .swapoff import Swapoff
from .vmscan import Vmscan
from ..engine.statehash import static_type
from ..scenarios.loader import Device, MMSpec, Op, Page, Scenario, ThreadSpec
from .types import (PG_anon, PG_anon_exclusive, PG_lru, PG_swapcache, PG_uptodate, SWAP_HAS_CACHE, pte_present,
                    swp_entry_to_pte)


class Kernel(Memory, Swapfile, SwapSlots, SwapState, Rmap, Vmscan, Madvise, Swapoff):
    """The classic design: every swap-in goes through the swap cache (kernels before v4.15, and
    the path for a swap count above one ever since)."""

    name = "swapcache"
    kind = "upstream"            # which kind of design (swaplab.designs.KINDS says what each means)
    summary = "every swap-in goes through the swap cache (before v4.15; count > 1 after)"
    reference = "mm/memory.c do_swap_page before 0bcac06f27d7 (v4.15)"

    # statistics and the timed simulator's observer never change what the model does
    fingerprint_skip = ("stats", "observer", "faulting")

    def __init__(self, scenario):
        self.scenario = scenario
        dev = scenario.device
        self.si = SwapInfo(dev.slots, dev.synchronous, dev.allocation, dev.vm_swap_full, dev.read_errors,
                           dev.slot_cache, dev.slot_cache_size, len(scenario.threads))
        self.mms: dict[str, MM] = {}
        # init_mm.mmlist (the names of the mms on it, in list order) and mmlist_lock: swapoff's
        # try_to_unuse walks it; try_to_unmap_one and fork's copy_nonpresent_pte add an mm
        # when they give it a swap entry.  Every scenario mm starts on it (docs/model.md).
        self.mmlist = Cell("init_mm.mmlist", ())
        self.mmlist_lock = SpinLock("mmlist_lock")
        self.folios = {}
        self.lru_unread = False                   # PG_lru needs no scheduling point (declare_unshared)
        # a `reclaim` operation walks the LRU: folio_add_lru makes a folio reachable (vmscan)
        self.background_reclaim = any(op.kind == "reclaim" for t in scenario.threads for op in t.ops)
        zero = self.alloc_folio(0, -1, PG_uptodate)
        zero.ref._v = 1 << 30                     # the zero page is never freed
        self.stats: dict[str, int] = {}
        self.observer = None                      # the timed simulator, when one is watching
        self.faulting: set[int] = set()           # threads whose access has faulted (statistics)
        self._build(scenario)

    # --- bookkeeping a design may extend ----------------------------------------------------
    def count(self, what: str, n: int = 1) -> None:
        """Ghost counters (faults, back-offs, ...) for statistics; not shared state."""
        self.stats[what] = self.stats.get(what, 0) + n
        if self.observer is not None:
            self.observer.counted(what)

    def declared_swap_refs(self) -> dict[int, int]:
        """Swap counts held by something other than a swap PTE (a design's marker).  None here."""
        return {}

    def new_mm(self, name: str, pages: int, family: str) -> MM:
        mm = MM(name, pages, family)
        self.mms[name] = mm
        return mm

    def mms_sharing(self, folio):
        return list(self.mms.values())

    def declare_unshared(self) -> None:
        """Tell the engine which objects no other thread touches in this scenario, so their
        steps need no scheduling point.  Without a swapoff thread nobody kills si->users or
        sums its per-cpu counters: the live flag is only read (frozen) and each CPU's counter
        is its own (get_swap_device/put_swap_device become part of the step before).  The
        executor stops with a model error if a declaration turns out wrong.

        Likewise an mm whose mmap_lock no thread takes for write (no fork, munmap or exit on
        it): down_read and up_read then never wait and nobody reads the reader counts, so
        they need no scheduling point either; and its VMAs when nobody unmaps: find_vma
        becomes part of the step before."""
        threads = self.scenario.threads
        kinds = {op.kind for spec in threads for op in spec.ops}
        # Only reclaim reads PG_lru (isolating a folio from its LRU list); without it, the
        # flag is its folio's allocator's alone even after the folio is published.
        self.lru_unread = not kinds & {"pageout", "reclaim"}
        writers = {spec.mm for spec in threads for op in spec.ops
                   if op.kind in ("fork", "munmap", "exit")}
        for name, mm in self.mms.items():
            if name not in writers:
                mm.mmap_lock.declare_no_writer()
        if "fork" not in kinds:
            for mm in self.mms.values():
                mm.mmlist.private = FROZEN       # all start on init_mm.mmlist; only fork adds one
        if "exit" not in kinds:
            for mm in self.mms.values():
                mm.users.private = FROZEN        # only exit writes mm_users; swapoff only reads it
        # Only munmap changes a VMA (detaches a range); a fault's find_vma on an mm nobody
        # unmaps reads what can never change.  (A child made by fork gets new cells: not frozen.)
        unmapped = {spec.mm for spec in threads for op in spec.ops if op.kind == "munmap"}
        for name, mm in self.mms.items():
            if name not in unmapped:
                for cell in mm.mapped:
                    cell.private = FROZEN
        if "swapoff" in kinds:
            return
        self.si.users_live.private = FROZEN
        for t, cell in self.si.users_all().items():
            cell.private = t
        if self.si.slot_cache:
            # only swapoff writes swap_slot_cache_enabled and drains another CPU's slot cache
            self.si.slot_cache_enabled.private = FROZEN
            for t, cache in self.si.swp_slots.items():
                for obj in cache.objects():
                    obj.private = t

    # --- initial state ------------------------------------------------------------------------
    def _take_slot(self, want: int | None) -> int:
        si = self.si
        free = [i for i, c in enumerate(si.swap_map) if c._v == 0]
        off = want if want is not None else free[0]
        return off

    def _build(self, sc) -> None:
        self._build_mms(sc)
        for mm in self.mms.values():
            mm.mmlist._v = True
        self.mmlist._v = tuple(self.mms)
        # mm_users: one reference per task using the mm.  The scenario's threads on an mm are
        # its tasks, except a thread that only runs swapoff (a syscall on no mm of its own: a
        # separate process) or reclaim (kswapd, a kernel thread).  An mm with no such thread, and a child fork creates, belongs to
        # a task the scenario does not run, which holds the one reference new_mm gives.
        for name, mm in self.mms.items():
            n = sum(1 for t in sc.threads if t.mm == name and any(op.kind not in ("swapoff", "reclaim")
                                                                  for op in t.ops))
            mm.users._v = max(n, 1)

    def _build_mms(self, sc) -> None:
        si = self.si
        for spec in sc.mms:
            if spec.forked_from:
                self._build_fork(spec)
                continue
            mm = self.new_mm(spec.name, len(spec.pages), spec.name)
            for addr, page in enumerate(spec.pages):
                mm.logical[addr] = page.value if page.state != "none" else 0
                if page.state == "present":
                    f = self.alloc_folio(page.value, addr, PG_uptodate | PG_lru | PG_anon |
                                         (PG_anon_exclusive if page.exclusive else 0))
                    f.mapcount._v = 1
                    mm.pte[addr]._v = pte_present(f.pfn, write=page.exclusive, dirty=True)
                elif page.state in ("swapped", "swapcache"):
                    off = self._take_slot(page.slot)
                    si.swap_map[off]._v = 1
                    si.zram[off]._v = page.value
                    si.inuse_pages._v += 1
                    mm.pte[addr]._v = swp_entry_to_pte(off, page.exclusive)
                    if page.state == "swapcache":
                        # swapped out from a mapping: anonymous (folio->mapping stays)
                        f = self.alloc_folio(page.value, addr, PG_uptodate | PG_lru | PG_swapcache | PG_anon)
                        f.swap._v = off
                        si.cache[off]._v = f.pfn
                        si.swap_map[off]._v = 1 | SWAP_HAS_CACHE

    def _build_fork(self, spec) -> None:
        """The state fork() leaves: shared swap entries (count+1, exclusive bits cleared) and
        read-only shared folios."""
        parent = self.mms[spec.forked_from]
        child = self.new_mm(spec.name, len(parent.pte), parent.family)
        for addr, cell in enumerate(parent.pte):
            pte = cell._v
            child.logical[addr] = parent.logical[addr]
            if pte.kind == "swp":
                self.si.swap_map[pte.offset]._v += 1
                cell._v = pte._replace(excl=False)
            elif pte.kind == "present" and pte.pfn != ZERO_PFN:
                f = self.folio_of(pte.pfn, f"{parent.name}.pte[{addr}]")
                f.ref._v += 1
                f.mapcount._v += 1
                f.anon_exclusive._v = False
                cell._v = pte._replace(write=False)
            child.pte[addr]._v = cell._v

    # --- user threads -------------------------------------------------------------------------
    def run_thread(self, spec):
        mm = self.mms[spec.mm]
        for op in spec.ops:
            yield from self.do_op(mm, op)

    def do_op(self, mm: MM, op):
        k = op.kind
        if k == "read":
            yield from self.user_access(mm, op.addrs[0], False)
        elif k == "write":
            yield from self.user_access(mm, op.addrs[0], True, op.value)
        elif k == "pageout":
            yield from self.madvise_pageout(mm, op.addrs)
        elif k == "willneed":
            yield from self.madvise_willneed(mm, op.addrs)
        elif k == "dontneed":
            yield from self.madvise_dontneed(mm, op.addrs)
        elif k == "munmap":
            yield from self.munmap(mm, op.addrs)
        elif k == "fork":
            yield from self.fork(mm, op.child)
        elif k == "exit":
            yield from self.mmput(mm)
        elif k == "swapoff":
            yield from self.swapoff()
        elif k == "reclaim":
            yield from self.shrink_lru()
        elif k == "think":
            # user-space work between accesses (timed simulation only): no shared state
            yield Step((), f"user work ({op.value} ns)", cost="think", n=op.value)
        elif k == "think_until":
            # wait for a point in simulated time (timed simulation only): pacing, like a timer
            yield Step((), f"wait until t={op.value} ns", cost="think_until", n=op.value)
        else:  # the loader validates kinds; this is a model bug
            raise ValueError(f"unknown operation {k!r}")


# A scenario is read once and never changed by a run: stateful search pictures it by identity.
for _cls in (Device, MMSpec, Op, Page, Scenario, ThreadSpec):
    static_type(_cls)


def make_program(kernel_cls, scenario) -> Program:
    """An engine Program: build the kernel state, one thread per scenario thread, the oracle."""
    def setup(world):
        k = kernel_cls(scenario)
        # Threads that run the same ops on the same mm are interchangeable (thread ids are only
        # per-CPU indices to the model): one spec serves them all, so that their states picture
        # alike, and the search explores one of two states that differ only by which of them is
        # where (engine/symmetry.py).
        same: dict = {}
        for spec in scenario.threads:
            key = (spec.mm, tuple((op.kind, tuple(op.addrs), op.value, op.child) for op in spec.ops))
            first, tids = same.setdefault(key, (spec, []))
            tids.append(world.thread(spec.name, k.run_thread(first)))
        for _, tids in same.values():
            world.symmetric(tids)
        if world.exploring:
            k.declare_unshared()
        world.at_end(lambda: check_final_state(k))
        world.fingerprint(lambda: _fingerprint(k))
        world.kernel = k
    return Program(setup, f"{kernel_cls.name}/{scenario.name}")


def _fingerprint(k):
    return (tuple((mm.name, tuple(c.peek() for c in mm.pte), tuple(mm.logical)) for mm in k.mms.values()),
            tuple(c.peek() for c in k.si.swap_map))
