"""The C program of a plan: templates/program.c with the plan's tables filled in."""
from __future__ import annotations

import re
from importlib import resources

from .plan import Plan

OP_KINDS = {"read": "OP_READ", "write": "OP_WRITE", "pageout": "OP_PAGEOUT", "willneed": "OP_WILLNEED",
            "dontneed": "OP_DONTNEED"}
PAGE_STATES = {"none": "PG_NONE", "present": "PG_PRESENT", "swapped": "PG_SWAPPED", "swapcache": "PG_SWAPCACHE"}
MIN_DEVICE_SLOTS = 8        # busybox mkswap refuses smaller devices (kernel-repro.md: 8 slots work)
SEGMENT_MS = 200            # how long a segment may take before the next one starts anyway
HOOK_MS = 3000              # the longest a thread stays parked if nobody releases it


def comm_name(index: int, name: str) -> str:
    """The task name the kernel hook matches (at most 15 characters)."""
    return (f"sl{index}-" + re.sub(r"[^A-Za-z0-9_.-]", "_", name))[:15]


def _c_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def device_slots(scenario) -> int:
    return max(MIN_DEVICE_SLOTS, scenario.device.slots)


def tables(plan: Plan, points: dict[str, str] | None = None) -> str:
    """The C tables.  ``points`` renames delay points (for a kernel whose path has the same
    moment under another name: the swap-cache path's after_readahead for after_read)."""
    sc = plan.scenario
    points = points or {}
    pages = sc.mms[0].pages
    swapped = sum(1 for p in pages if p.state in ("swapped", "swapcache"))
    free = sc.device.slots - swapped
    dev = device_slots(sc)
    out = [f"#define DESIGN {_c_string(plan.design)}", f"#define SCENARIO {_c_string(sc.name)}",
           f"#define NPAGES {len(pages)}", f"#define NTHREADS {len(sc.threads)}",
           f"#define DEVICE_SLOTS {dev}", f"#define FREE_SLOTS {free}",
           f"#define BALLAST {dev - sc.device.slots}",
           f"#define SEGMENT_MS {SEGMENT_MS}", f"#define HOOK_MS {HOOK_MS}",
           f"#define NSEGMENTS {len(plan.segments)}", f"#define NARMS {max(1, len(plan.arms))}", ""]
    out.append("static const struct { int state; uint64_t value; } pages[NPAGES] = {")
    out += [f"\t{{ {PAGE_STATES[p.state]}, {p.value} }}," for p in pages]
    out.append("};")
    gates, signals = _gates(plan)
    for t, spec in enumerate(sc.threads):
        ops = []
        for op in spec.ops:
            for a in op.addrs:           # an operation on several pages: one entry per page
                ops.append(f"\t{{ {OP_KINDS[op.kind]}, {a}, {op.value or 0} }},")
        out.append(f"static const struct op ops_{t}[] = {{  /* {spec.name}: {', '.join(_op_text(o) for o in spec.ops)} */")
        out += ops
        out.append("};")
        out.append(f"static const char gate_{t}[] = {{ {', '.join(str(g) for g in _expand(spec, gates[t]))} }};")
        out.append(f"static const char signal_{t}[] = {{ {', '.join(str(g) for g in _expand(spec, signals[t], last=True))} }};")
    out.append("static const struct thread_plan threads[NTHREADS] = {")
    for t, spec in enumerate(sc.threads):
        n = sum(len(op.addrs) for op in spec.ops)
        out.append(f"\t{{ {_c_string(spec.name)}, {_c_string(comm_name(t, spec.name))}, {t}, {n}, ops_{t}, "
                   f"gate_{t}, signal_{t} }},")
    out.append("};")
    out.append("static const struct segment segments[NSEGMENTS] = {")
    count = [0] * len(sc.threads)
    for s in plan.segments:
        end = {"op": "END_OP", "point": "END_POINT", "done": "END_DONE"}[s.end]
        if s.end != "point":
            count[s.thread] += 1
        point = points.get(s.point, s.point) if s.point else None
        out.append(f"\t{{ {s.thread}, {end}, {count[s.thread]}, {_c_string(point) if point else 'NULL'}, "
                   f"{s.arm} }},  /* {s.describe(plan.threads)} */")
    out.append("};")
    out.append("static const struct arm arms[NARMS] = {")
    out += [f"\t{{ {t}, {_c_string(points.get(p, p))}, {_program_op(sc.threads[t], k)} }},"
            for (t, p), k in zip(plan.arms, plan.arm_ops)] or ["\t{ -1, NULL, -1 },"]
    out.append("};")
    return "\n".join(out)


def _program_op(spec, k: int) -> int:
    """The program's index of scenario operation k (an operation on n pages is n entries)."""
    return sum(len(op.addrs) for op in spec.ops[:k])


def _op_text(op) -> str:
    return " ".join([op.kind] + [str(a) for a in op.addrs] + ([str(op.value)] if op.value is not None else []))


def _gates(plan: Plan):
    """Per thread and operation: wait for a turn before it (gate), signal the end after it."""
    n = len(plan.threads)
    nops = [len(t.ops) for t in plan.scenario.threads]
    gates = [[0] * k for k in nops]
    signals = [[0] * k for k in nops]
    for t in range(n):
        if nops[t]:
            gates[t][0] = 1
    for s in plan.segments:
        if s.end == "op":
            signals[s.thread][s.op] = 1
            if s.op + 1 < nops[s.thread]:
                gates[s.thread][s.op + 1] = 1
        elif s.end == "done" and nops[s.thread]:
            signals[s.thread][-1] = 1
    return gates, signals


def _expand(spec, flags, last: bool = False) -> list[int]:
    """Flags per scenario operation to flags per program operation (one per page): a gate goes
    before the first page, a signal after the last."""
    out = []
    for op, f in zip(spec.ops, flags):
        k = len(op.addrs)
        out += ([0] * (k - 1) + [f]) if last else ([f] + [0] * (k - 1))
    return out or [0]


def program_source(plan: Plan, points: dict[str, str] | None = None) -> str:
    template = resources.files("swaplab.transplant").joinpath("templates/program.c").read_text()
    return template.replace("/*@TABLES@*/", tables(plan, points))
