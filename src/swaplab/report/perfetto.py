"""Executions as Chrome trace-event JSON, the format Perfetto UI (ui.perfetto.dev: "Open trace
file") and chrome://tracing open.

One process per run (a design on a scenario, or on a workload), one track per model thread
(each thread is its own CPU in the untimed model), nested slices for the kernel functions on
the thread's stack (do_swap_page > swapin_skip_swapcache > ...), an instant for every state
change a step makes, and a flow arrow for every lock hand-off: a release by one thread
followed by another thread's acquire of the same lock.

Time: for ``check`` and ``replay`` there is no clock, so step i runs from i to i+1 µs (the
trace's time axis counts steps); for ``bench`` the timed simulator's nanoseconds are used.

Steps come in as plain records, so the engine need not know this format: ``from_execution``
reads a traced execution's records, and ``StepRecorder`` collects the same records from the
timed simulator as it runs (sim/timed.py calls it around every step).
"""
from __future__ import annotations

import json

from ..engine.executor import _stack
from ..engine.objects import Cell
from ..engine.sync import RWSem, SleepLock, SpinLock
from .trace import _HIDDEN, _fmt

LOCKS = (SpinLock, SleepLock, RWSem)


def _frames(stack) -> list[str]:
    """The kernel functions of a thread's stack, outermost first (model helpers left out)."""
    return [s for s in stack if s not in _HIDDEN and not s.startswith("<")]


def _owner(obj, snap):
    return snap if isinstance(snap, int) else -1


class Run:
    """The steps of one execution, each {tid, t0, t1 (ns), label, stack, changes}."""

    def __init__(self, name: str, threads: list[str], unit: str):
        self.name = name
        self.threads = threads
        self.unit = unit               # what the time axis counts, said in the metadata
        self.steps: list[dict] = []
        self.notes: list[str] = []


def from_execution(ex, name: str) -> Run:
    """A traced execution (replay(..., tracing=True)): step i runs from i to i+1 µs."""
    run = Run(name, [t.name for t in ex.threads], "1 µs = 1 step of the schedule")
    for i, rec in enumerate(ex.trace):
        run.steps.append({"tid": rec["tid"], "t0": i * 1000, "t1": (i + 1) * 1000, "label": rec["label"],
                          "stack": rec["stack"], "changes": rec["changes"], "notes": rec["notes"]})
    return run


class StepRecorder:
    """Collects step records from the timed simulator: ``before(ex, tid)`` just before a
    thread's step runs, ``after(ex, tid, t0, t1)`` once it ran, with its simulated times.
    Keeps at most ``limit`` steps (a bench run takes hundreds of thousands); the run's
    metadata says where it was cut."""

    def __init__(self, name: str, limit: int = 20000):
        self.limit = limit
        self.run = Run(name, [], "simulated time (the timed simulator's clock)")
        self.total = 0
        self._pending = None

    def before(self, ex, tid: int) -> None:
        self.total += 1
        if len(self.run.steps) >= self.limit:
            self._pending = None
            return
        t = ex.threads[tid]
        step = t.pending
        written = [(o, o.snapshot()) for o, w in step.accesses if w]
        self._pending = (step.label, _stack(t.gen), written)

    def after(self, ex, tid: int, t0: int, t1: int) -> None:
        if self._pending is None:
            return
        if not self.run.threads:
            self.run.threads = [t.name for t in ex.threads]
        label, stack, written = self._pending
        changes = [(o, old, o.snapshot()) for o, old in written if o.snapshot() != old]
        self.run.steps.append({"tid": tid, "t0": t0, "t1": max(t1, t0), "label": label, "stack": stack,
                               "changes": changes, "notes": []})
        self._pending = None

    def finish(self) -> Run:
        if self.total > len(self.run.steps):
            self.run.notes.append(f"cut: the first {len(self.run.steps)} of {self.total} steps are shown "
                                  f"(the recorder keeps at most {self.limit} per run)")
        return self.run


def _us(ns: float) -> float:
    return round(ns / 1000.0, 3)


def events(run: Run, pid: int) -> list[dict]:
    """The trace events of one run: metadata, slices, instants and flows."""
    ev: list[dict] = [{"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": run.name}},
                      {"ph": "M", "name": "process_sort_index", "pid": pid, "tid": 0, "args": {"sort_index": pid}}]
    for t, name in enumerate(run.threads):
        ev.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": t, "args": {"name": f"CPU{t} ({name})"}})
        ev.append({"ph": "M", "name": "thread_sort_index", "pid": pid, "tid": t, "args": {"sort_index": t}})
    slices: list[dict] = []
    marks: list[dict] = []
    open_frames: dict[int, list[list]] = {}      # tid -> [[function, start ns, end ns]], outermost first
    released: dict[str, tuple] = {}             # lock name -> (tid, ns) of its last release
    flow_id = pid * 1_000_000

    def close(tid: int, keep: int) -> None:
        frames = open_frames.get(tid, [])
        while len(frames) > keep:
            fn, a, b = frames.pop()
            slices.append({"ph": "X", "name": fn, "cat": "kernel", "pid": pid, "tid": tid,
                           "ts": _us(a), "dur": _us(b - a)})

    for s in run.steps:
        tid, t0, t1 = s["tid"], s["t0"], s["t1"]
        fns = _frames(s["stack"]) or ["(thread)"]
        frames = open_frames.setdefault(tid, [])
        same = 0
        while same < min(len(frames), len(fns)) and frames[same][0] == fns[same]:
            same += 1
        close(tid, same)
        for fn in fns[same:]:
            frames.append([fn, t0, t1])
        for f in frames:
            f[2] = t1
        # the step itself, innermost, with its label: what the CPU did
        slices.append({"ph": "X", "name": s["label"][:80] or "step", "cat": "step", "pid": pid, "tid": tid,
                       "ts": _us(t0), "dur": _us(t1 - t0), "args": {"label": s["label"], "notes": s["notes"]}})
        mid = _us(t0 + (t1 - t0) / 2)
        for obj, old, new in s["changes"]:
            if isinstance(obj, LOCKS):
                was, now = _owner(obj, old), _owner(obj, new)
                if was < 0 <= now:              # an acquire: a hand-off if another thread released it
                    prev = released.get(obj.name)
                    if prev is not None and prev[0] != now:
                        flow_id += 1
                        marks.append({"ph": "s", "id": flow_id, "name": f"{obj.name} hand-off", "cat": "lock",
                                      "pid": pid, "tid": prev[0], "ts": prev[1]})
                        marks.append({"ph": "f", "bp": "e", "id": flow_id, "name": f"{obj.name} hand-off",
                                      "cat": "lock", "pid": pid, "tid": now, "ts": mid})
                    released.pop(obj.name, None)
                elif was >= 0 > now:            # a release
                    released[obj.name] = (was, mid)
                continue
            if not isinstance(obj, Cell):
                continue
            marks.append({"ph": "i", "s": "t", "name": f"{obj.name} = {_fmt(obj, new)}", "cat": "state",
                          "pid": pid, "tid": tid, "ts": mid,
                          "args": {"object": obj.name, "from": _fmt(obj, old), "to": _fmt(obj, new)}})
    for tid in list(open_frames):
        close(tid, 0)
    body = slices + marks
    # per track in time order; an enclosing slice before the slices it contains
    body.sort(key=lambda e: (e["tid"], e["ts"], -e.get("dur", 0), e["ph"] != "X", e.get("cat") == "step"))
    return ev + body


def trace_json(runs: list[Run]) -> str:
    """The whole trace document: every run as its own process."""
    ev: list[dict] = []
    for pid, run in enumerate(runs, start=1):
        ev += events(run, pid)
    meta = {"tool": "swaplab", "runs": [{"pid": pid, "name": r.name, "time": r.unit, "steps": len(r.steps),
                                         "notes": r.notes} for pid, r in enumerate(runs, start=1)]}
    return json.dumps({"traceEvents": ev, "displayTimeUnit": "ns", "otherData": meta}, separators=(",", ":"))


def schedule_trace(program, schedule, name: str) -> str:
    """``check --perfetto`` and ``replay --perfetto``: one schedule, replayed and traced."""
    from ..engine import replay
    ex, divergence = replay(program, schedule)
    run = from_execution(ex, name)
    if divergence:
        run.notes.append(f"diverges: {divergence}")
    if ex.outcome is not None:
        run.notes.append(f"{ex.outcome.kind}: {ex.outcome.message}")
    return trace_json([run])
