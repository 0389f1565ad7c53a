"""Run a workload under each design with the timed scheduler and summarize what it costs."""
from __future__ import annotations

import time
from dataclasses import dataclass

from ..kernel import make_program
from .costs import Costs
from .timed import TimedRun
from .workloads import build


@dataclass
class BenchResult:
    design: str
    workload: str
    faults: int
    elapsed_ns: int
    p50: float
    p99: float
    p999: float
    max: float
    c_faults: int
    c_p50: float
    c_p99: float
    backoffs: int
    retries: int
    sleeps: int
    wakeups: int
    wasted_reads: int
    lock_wait_ns: int
    outcome: str
    wall: float
    steps: int
    hist: object = None
    chist: object = None

    @property
    def throughput(self) -> float:
        return self.faults / (self.elapsed_ns / 1e9) if self.elapsed_ns else 0.0

    def per_1000(self, n: int) -> float:
        return 1000.0 * n / self.faults if self.faults else 0.0

    def to_json(self) -> dict:
        return {"design": self.design, "workload": self.workload, "faults": self.faults,
                "simulated_seconds": self.elapsed_ns / 1e9, "faults_per_second": round(self.throughput, 1),
                "latency_ns": {"p50": self.p50, "p99": self.p99, "p99.9": self.p999, "max": self.max},
                "contended_faults": self.c_faults,
                "contended_latency_ns": {"p50": self.c_p50, "p99": self.c_p99},
                "backoffs_per_1000": round(self.per_1000(self.backoffs), 3),
                "retries_per_1000": round(self.per_1000(self.retries), 3),
                "sleeps": self.sleeps, "wakeups": self.wakeups, "wasted_reads": self.wasted_reads,
                "lock_wait_ns": self.lock_wait_ns, "outcome": self.outcome,
                "wall_seconds": round(self.wall, 3), "steps": self.steps}


def run_bench(design_cls, workload: str, costs: Costs, *, seed: int = 0, recorder=None, **params) -> BenchResult:
    sc = build(workload, **params)
    latency_tids = [0] if workload == "ui" else None
    t0 = time.perf_counter()
    sim = TimedRun(make_program(design_cls, sc), costs, latency_tids=latency_tids, recorder=recorder)
    # the seed staggers thread start times by up to 2 µs: different, reproducible races
    import random
    rng = random.Random(seed)
    sim.ready = [rng.randrange(0, 2000) for _ in sim.ready]
    outcome = sim.run()
    wall = time.perf_counter() - t0
    c = sim.counts
    swapins = c.get("swapins", 0)
    reads = c.get("swap_read", 0)
    return BenchResult(
        design=design_cls.name, workload=workload, faults=sim.lat_all.n, elapsed_ns=sim.elapsed,
        p50=sim.lat_all.quantile(0.5), p99=sim.lat_all.quantile(0.99), p999=sim.lat_all.quantile(0.999),
        max=float(sim.lat_all.max), c_faults=sim.lat_contended.n, c_p50=sim.lat_contended.quantile(0.5),
        c_p99=sim.lat_contended.quantile(0.99), backoffs=c.get("backoffs", 0) + c.get("swapcache_prepare_eexist", 0),
        retries=c.get("refaults", 0) + c.get("fault_retry", 0), sleeps=sim.sleeps, wakeups=sim.wakeups,
        wasted_reads=max(0, reads - swapins - c.get("willneed_reads", 0)), lock_wait_ns=sim.lock_wait,
        outcome="ok" if outcome is None else f"{outcome.kind}: {outcome.message}", wall=wall,
        steps=sim.ex.seq, hist=sim.lat_all, chist=sim.lat_contended)
