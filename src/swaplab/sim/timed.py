"""A timed scheduler for the same engine and the same model code: no second model.

Each visible step takes the time the cost table gives its cost key.  There are ``cpus`` CPUs;
a step runs on the first CPU to come free, so threads beyond the CPU count queue.  A thread whose
next step is blocked (a lock held, a wait condition false) waits without a CPU and runs again
``wakeup_latency`` after the step that unblocked it.  schedule_timeout(n) sleeps n ticks, unless a
wake_up on a wait queue the thread is on comes first.  Retries are not parked (a thread that
refaults spins and pays for every attempt).  The scheduler always runs the thread that can start
earliest: a discrete-event simulation, deterministic for a given seed.
"""
from __future__ import annotations

import heapq

from ..engine.executor import Execution
from ..engine.runtime import CTX
from ..engine.step import SLEEP
from .hist import Histogram


class Observer:
    """What the kernel model reports while the simulation runs (see Kernel.observer)."""

    def __init__(self, sim: "TimedRun"):
        self.sim = sim

    def fault_start(self) -> None:
        self.sim.fault_begin(CTX.tid)

    def fault_done(self) -> None:
        self.sim.fault_end(CTX.tid)

    def counted(self, what: str) -> None:
        self.sim.counted(CTX.tid, what)


# Events that mean a fault collided with an in-flight swap-in of the same entry.
CONTENDED = {"backoffs", "fault_retry", "marker_waits", "swapcache_prepare_eexist", "refaults",
             "lock_waits"}


class TimedRun:
    def __init__(self, program, costs, *, max_steps: int = 5_000_000, latency_tids=None, recorder=None):
        self.costs = costs
        self.recorder = recorder      # report/perfetto.StepRecorder: sees every step and its times
        self.ex = Execution(program, max_steps=max_steps, record=False, parking=False)
        self.kernel = getattr(self.ex.world, "kernel", None)
        if self.kernel is not None:
            self.kernel.observer = Observer(self)
        n = len(self.ex.threads)
        self.ready = [0] * n
        self.cpu_free = [0] * costs.cpus
        heapq.heapify(self.cpu_free)
        self.sleeping: dict[int, int] = {}            # tid -> time its sleep would end
        self.blocked_since: dict[int, int] = {}
        self.fault_t0: dict[int, int] = {}
        self.contended: set[int] = set()
        self.latency_tids = set(range(n)) if latency_tids is None else set(latency_tids)
        self.lat_all = Histogram()
        self.lat_contended = Histogram()
        self.counts: dict[str, int] = {}
        self.lock_wait = 0
        self.now = 0
        self.sleeps = 0
        self.wakeups = 0
        self.ex.wake_listeners.append(self._on_wake)

    # --- observer callbacks ---------------------------------------------------------------
    def fault_begin(self, tid: int) -> None:
        self.fault_t0[tid] = self.ready[tid]
        self.contended.discard(tid)

    def fault_end(self, tid: int) -> None:
        t0 = self.fault_t0.pop(tid, None)
        if t0 is None or tid not in self.latency_tids:
            return
        lat = self.ready[tid] + self.costs.of("fault_entry") - t0
        self.lat_all.add(lat)
        if tid in self.contended:
            self.lat_contended.add(lat)
        self.counts["faults_measured"] = self.counts.get("faults_measured", 0) + 1

    def counted(self, tid: int, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1
        if what in CONTENDED and tid in self.fault_t0:
            self.contended.add(tid)
        if what == "faults":
            self.ready[tid] += self.costs.of("fault_entry")

    def _on_wake(self, queue, tids) -> None:
        for t in tids:
            if t in self.sleeping:
                self.ready[t] = min(self.ready[t], self.now + self.costs.wakeup_latency)
                self.wakeups += 1

    # --- the loop ------------------------------------------------------------------------------
    def run(self):
        ex = self.ex
        threads = ex.threads
        costs = self.costs
        while not ex.finished:
            en = ex.enabled()
            if not en:
                ex.finish()
                break
            live = [t.tid for t in threads if not t.done]
            for t in live:
                if t not in en and t not in self.blocked_since:
                    self.blocked_since[t] = self.ready[t]
            tid = min(en, key=lambda t: (self.ready[t], t))
            # threads the last step unblocked run again a wake-up latency after it
            for t in list(self.blocked_since):
                if t in en:
                    since = self.blocked_since.pop(t)
                    self.lock_wait += max(0, self.now - since)
                    self.ready[t] = max(self.ready[t], self.now + costs.wakeup_latency)
                    if t == tid:
                        self.counts["lock_waits"] = self.counts.get("lock_waits", 0) + 1
                    if t in self.fault_t0:
                        self.contended.add(t)
            step = threads[tid].pending
            cpu = heapq.heappop(self.cpu_free)
            start = max(self.ready[tid], cpu)
            self.now = start
            self.sleeping.pop(tid, None)
            if step.kind == SLEEP:
                # the thread gives up its CPU: a context switch, then ticks × 1/HZ (or a wake-up)
                end_cpu = start + costs.of("schedule" if step.n == 0 else "waitqueue")
                wake = end_cpu + step.n * costs.tick
                self.sleeping[tid] = wake
                self.sleeps += 1
                if self.recorder is not None:
                    self.recorder.before(ex, tid)
                ex.execute(tid, 0)
                if self.recorder is not None:
                    self.recorder.after(ex, tid, start, end_cpu)
                heapq.heappush(self.cpu_free, end_cpu)
                self.ready[tid] = wake       # a wake_up during the sleep moves it earlier
            else:
                if self.recorder is not None:
                    self.recorder.before(ex, tid)
                ex.execute(tid, 0)       # choices take their first value: allocation is "lowest"
                if step.cost == "think_until":
                    # idle until a point in time: the CPU is free meanwhile
                    heapq.heappush(self.cpu_free, start)
                    self.ready[tid] = max(start, step.n)
                else:
                    dur = step.n if step.cost == "think" else costs.of(step.cost)
                    heapq.heappush(self.cpu_free, start + dur)
                    self.ready[tid] = start + dur
                if self.recorder is not None:
                    self.recorder.after(ex, tid, start, self.ready[tid] if step.cost != "think_until" else start)
            self.now = max(self.now, self.ready[tid] if step.kind != SLEEP else start)
        self.elapsed = max(self.ready) if self.ready else 0
        return ex.outcome
