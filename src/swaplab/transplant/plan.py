"""From a saved counterexample to a plan a real machine can follow.

The schedule is replayed with the model to recover, for each thread, its operations and where
each of its runs (a maximal stretch of consecutive steps, a "segment") ends: at the end of an
operation (the thread is in user space, the program holds it there), inside the kernel at a
delay point (points.py: the kernel holds it there), or at its last operation.  The program
then lets the threads run segment by segment, in the counterexample's order.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..engine import Schedule, replay
from ..engine.runtime import CTX
from ..kernel import make_program
from ..report.trace import _HIDDEN
from .points import POINTS, find_point

# What the program can do with a scenario operation (the others are refused with a reason).
SUPPORTED_OPS = ("read", "write", "pageout", "willneed", "dontneed")
WHY_NOT_OP = {
    "fork": "fork needs a second process sharing the swap entries; the program runs one process",
    "exit": "exit tears down the whole process the program runs in",
    "swapoff": "swapoff removes the device every iteration relies on (and try_to_unuse has no delay point)",
    "munmap": "a load of an unmapped page is SIGSEGV in the program, not a skipped access",
    "reclaim": "background reclaim (kswapd) cannot be started on one page at a chosen moment from user space",
    "think": "timed-simulation operations mean nothing on a real machine",
    "think_until": "timed-simulation operations mean nothing on a real machine",
}
SUPPORTED_PAGES = ("swapped", "present", "none", "swapcache")


class TransplantError(Exception):
    """The counterexample cannot run on a real kernel; str() says why and what would."""


@dataclass
class Segment:
    thread: int
    end: str                       # "op": after an operation; "point": parked at a delay point; "done"
    op: int = -1                   # "op": index (in the thread's ops) of the operation it ends after
    point: str | None = None       # "point": the delay point's name
    arm: int = -1                  # "point": index of the arm (/proc/swaplab) it parks on

    def describe(self, threads) -> str:
        name = threads[self.thread]
        if self.end == "point":
            return f"{name} runs until it parks at {self.point}"
        if self.end == "op":
            return f"{name} runs until it finishes operation {self.op + 1}"
        return f"{name} runs to its end"


@dataclass
class Plan:
    design: str
    scenario: object               # the Scenario
    threads: list[str]
    segments: list[Segment]
    arms: list[tuple[int, str]] = field(default_factory=list)   # (thread, point) in arming order
    preemptions: int = 0
    verdict: str = ""
    # per arm: the operation (index in its thread's ops) in which the thread parks; the thread
    # arms it just before that operation, so an earlier pass through the same point (another
    # page's swap-in) does not park it
    arm_ops: list[int] = field(default_factory=list)

    @property
    def points(self) -> list[str]:
        return sorted({p for _, p in self.arms})


# The functions a thread's steps are in from the start of an access up to handle_mm_fault's
# read of the PTE: the retry point, the CPU's page-table walk, and the fault entry
# (arch/x86/mm/fault.c do_user_addr_fault() v6.1: `vma = lock_mm_and_find_vma(mm, address,
# regs);` then access_error(), then handle_mm_fault()).  A thread stopped there holds mmap_lock
# for read and has found its VMA, nothing more; no operation the program runs takes mmap_lock
# for write or changes a VMA (SUPPORTED_OPS: the madvise calls take it for read,
# madvise_need_mmap_write() v6.1; munmap and fork are refused), so on the kernel that thread is
# indistinguishable from one that has not begun the access, and the program holds it in user
# space before the access: no delay point is needed.  Only the first fault of an access: after
# a fault has run, a stop before the refault has no counterpart (the access is one instruction
# to the program).
_BEFORE_THE_FAULT = frozenset({"run_thread", "do_op", "user_access", "cpu_access", "do_user_addr_fault"})


def _frames(stack) -> tuple[str, ...]:
    return tuple(s for s in stack if s not in _HIDDEN and not s.startswith("<"))


def _recorder(design_cls, op_ends: list):
    """The design, with each thread's operation ends noted (trace index of the step it ends in);
    the schedule replays unchanged (no step is added)."""
    class Recorder(design_cls):
        def run_thread(self, spec):
            mm = self.mms[spec.mm]
            for i, op in enumerate(spec.ops):
                yield from self.do_op(mm, op)
                op_ends.append((CTX.tid, i, len(CTX.execution.trace) - 1))
    Recorder.name = design_cls.name
    return Recorder


def check_transplantable(scenario) -> None:
    """Refuse, with the reason, what the C program cannot reproduce."""
    if len(scenario.mms) != 1 or scenario.mms[0].forked_from:
        raise TransplantError(f"scenario {scenario.name!r} has {len(scenario.mms)} address spaces; the "
                              "program runs one process (fork is not transplanted)")
    for p in scenario.mms[0].pages:
        if p.state not in SUPPORTED_PAGES:
            raise TransplantError(f"scenario {scenario.name!r}: a page in state {p.state!r} cannot be set up")
        if p.slot is not None or not p.exclusive:
            raise TransplantError(f"scenario {scenario.name!r}: a page with a fixed slot or a shared swap "
                                  "entry cannot be set up (the kernel picks the slot; sharing needs fork)")
    for t in scenario.threads:
        for op in t.ops:
            if op.kind not in SUPPORTED_OPS:
                raise TransplantError(f"scenario {scenario.name!r}: thread {t.name} does {op.kind!r}, which "
                                      f"does not transplant: {WHY_NOT_OP.get(op.kind, 'not supported')}")


def make_plan(design_cls, scenario, schedule: Schedule) -> Plan:
    check_transplantable(scenario)
    op_ends: list = []
    ex, divergence = replay(make_program(_recorder(design_cls, op_ends), scenario), schedule)
    if divergence:
        raise TransplantError(f"the schedule does not replay under {design_cls.name} on {scenario.name}: "
                              f"{divergence}")
    trace = ex.trace
    ends = {(tid, rec): i for tid, i, rec in op_ends}
    nthreads = len(ex.threads)
    names = [t.name for t in ex.threads]
    last_rec = {}
    for i, r in enumerate(trace):
        last_rec[r["tid"]] = i
    segments: list[Segment] = []
    arms: list[tuple[int, str]] = []
    i = 0
    while i < len(trace):
        tid = trace[i]["tid"]
        j = i
        while j + 1 < len(trace) and trace[j + 1]["tid"] == tid:
            j += 1
        segments.append(_segment_end(trace, tid, i, j, ends, last_rec, ex.threads[tid].done, names, arms))
        i = j + 1
    # Whatever the counterexample left unfinished (it stops at the violation) runs to its end.
    finished = {s.thread for s in segments if s.end == "done"}
    for tid in range(nthreads):
        if tid not in finished:
            segments.append(Segment(tid, "done"))
    preemptions = sum(1 for s in segments if s.end == "point")
    outcome = ex.outcome
    nops = [len(t.ops) for t in scenario.threads]
    return Plan(design_cls.name, scenario, names, _merge(segments, nops), [(t, p) for t, p, _ in arms],
                preemptions, outcome.kind if outcome is not None else "ok", [k for _, _, k in arms])


def _segment_end(trace, tid, first, last, ends, last_rec, done, names, arms) -> Segment:
    if last == last_rec[tid]:
        # The thread's last step in the counterexample: it finished, or the execution stopped
        # (at another thread's violation) while it was still running; either way it runs on.
        return Segment(tid, "op", op=ends[(tid, last)]) if (tid, last) in ends and not done \
            else Segment(tid, "done")
    if (tid, last) in ends:
        return Segment(tid, "op", op=ends[(tid, last)])
    nxt = next(k for k in range(last + 1, len(trace)) if trace[k]["tid"] == tid)
    before, after = _frames(trace[last]["stack"]), _frames(trace[nxt]["stack"])
    # Stopped before its access's first fault has read the PTE: the same as stopping at the end
    # of the previous operation (see _BEFORE_THE_FAULT).
    prev_end = max([r for (t, r) in ends if t == tid and r < first], default=-1)
    own = [k for k in range(prev_end + 1, last + 1) if trace[k]["tid"] == tid]
    if all(set(_frames(trace[k]["stack"])) <= _BEFORE_THE_FAULT for k in own) \
            and set(after) <= _BEFORE_THE_FAULT | {"handle_mm_fault"}:
        return Segment(tid, "op", op=ends.get((tid, prev_end), -1))
    point = find_point(before, after)
    if point is None:
        raise TransplantError(
            f"the counterexample preempts {names[tid]} between \"{trace[last]['label']}\" (in "
            f"{' → '.join(before[-3:])}) and \"{trace[nxt]['label']}\" (in {' → '.join(after[-3:])}); the "
            f"kernel has no delay point there (points: {', '.join(p.name for p in POINTS)}; "
            "docs/validation.md explains each)")
    in_op = sum(1 for (t, r) in ends if t == tid and r <= last)     # operations it has finished
    arms.append((tid, point.name, in_op))
    return Segment(tid, "point", point=point.name, arm=len(arms) - 1)


def _merge(segments: list[Segment], nops: list[int]) -> list[Segment]:
    """Normalize: a thread stopped before its first operation has nothing to run; an end after
    the last operation is the thread's end; a thread ends once; two segments of one thread in a
    row are one."""
    out: list[Segment] = []
    ended: set[int] = set()
    for s in segments:
        if s.end == "op" and s.op < 0:
            continue
        if s.end == "op" and s.op == nops[s.thread] - 1:
            s = Segment(s.thread, "done")
        if s.end == "done":
            if s.thread in ended:
                continue
            ended.add(s.thread)
        if out and out[-1].thread == s.thread and out[-1].end == "op":
            out[-1] = s
            continue
        out.append(s)
    return out
