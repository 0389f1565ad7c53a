"""swaplab transplant: a saved counterexample as a program and delay points for a real kernel.

    plan.py      replay the schedule, cut it into segments that end at an operation's end or at
                 a delay point
    points.py    the delay points: model steps -> kernel source locations, per version
    kernels.py   which real kernel stands for which design
    cprogram.py  the C program (templates/program.c with the plan's tables)
    machine.py   kernel build cache, initramfs, qemu
Kernel patches and the config fragment are package data in kernel/<version>/.
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..designs import DesignError, get_design
from ..engine import Schedule, ScheduleError
from ..report.files import write_atomic
from ..scenarios import ScenarioError, get_scenario
from .cprogram import device_slots, program_source
from .kernels import COUNTERPARTS, KernelDesign, NoCounterpart, counterpart
from .machine import MachineError, compile_program, initramfs, kernel_image, run_qemu
from .plan import Plan, TransplantError, make_plan

# The same moment on the swap-cache path, for a kernel that never takes the bypass: the slot
# has been read (into the swap cache) and the PTE lock not yet taken.
CACHE_PATH_POINTS = {"after_read": "after_readahead", "before_read": "after_cache_lookup"}


def load_trace(path: str):
    """(schedule, design class, scenario) of a file saved by `swaplab check --save-trace`."""
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as e:
        raise TransplantError(f"{path}: cannot read: {e.strerror}") from None
    try:
        sched = Schedule.loads(text)
    except ScheduleError as e:
        raise TransplantError(f"{path}: {e}") from None
    dname, sname = sched.meta.get("design"), sched.meta.get("scenario")
    if not dname or not sname:
        raise TransplantError(f"{path}: the schedule names no design or scenario (save it with "
                              "`swaplab check -d DESIGN -s SCENARIO --save-trace FILE`)")
    try:
        return sched, get_design(dname), get_scenario(sname)
    except (DesignError, ScenarioError) as e:
        raise TransplantError(f"{path}: {e}") from None


def point_names_for(kd: KernelDesign) -> dict[str, str]:
    return {} if kd.sync_io else dict(CACHE_PATH_POINTS)


def kernel_patches(kd: KernelDesign) -> list[tuple[str, bytes]]:
    base = resources.files("swaplab.transplant").joinpath(f"kernel/{kd.version}")
    out = [("delay-points.patch", base.joinpath("hooks.patch").read_bytes())]
    if kd.variant:
        out.append((kd.variant, base.joinpath(kd.variant).read_bytes()))
    return out


def describe_plan(plan: Plan, kd: KernelDesign, points: dict[str, str]) -> str:
    lines = [f"counterexample: {plan.design} on {plan.scenario.name} ({plan.verdict}, "
             f"{plan.preemptions} delay point(s))",
             f"kernel: {kd.what}", "", "segments, in the counterexample's order:"]
    for i, s in enumerate(plan.segments, 1):
        text = s.describe(plan.threads)
        if s.point and points.get(s.point):
            text += f" (on this kernel: {points[s.point]})"
        lines.append(f"  {i}. {text}")
    return "\n".join(lines)


def write_files(plan: Plan, kd: KernelDesign, outdir: str) -> list[str]:
    """program.c, the kernel patches and plan.txt in outdir."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    points = point_names_for(kd)
    written = []
    write_atomic(str(out / "program.c"), program_source(plan, points))
    written.append(str(out / "program.c"))
    for name, data in kernel_patches(kd):
        write_atomic(str(out / name), data.decode())
        written.append(str(out / name))
    write_atomic(str(out / "plan.txt"), describe_plan(plan, kd, points) + "\n")
    written.append(str(out / "plan.txt"))
    return written


@dataclass
class RunReport:
    design: str
    against: str
    scenario: str
    kernel: str
    iterations: int
    losses: int
    skipped: int
    diverged: int
    seconds: float
    output: str

    @property
    def reproduced(self) -> bool:
        return self.losses > 0

    def to_json(self) -> dict:
        return {"design": self.design, "against": self.against, "scenario": self.scenario,
                "kernel": self.kernel, "iterations": self.iterations, "losses": self.losses,
                "reproduced": self.reproduced, "skipped": self.skipped, "diverged": self.diverged,
                "seconds": round(self.seconds, 1)}


def run(plan: Plan, against: str, *, iterations: int, version: str = "6.1", say=lambda s: None,
        keep: str | None = None) -> RunReport:
    """Build (or reuse) the kernel of ``against``, boot it with the plan's program, count losses."""
    kd = counterpart(against, version)
    t0 = time.perf_counter()
    image = kernel_image(kd, say)
    with tempfile.TemporaryDirectory(prefix="swaplab-transplant-") as tmp:
        work = Path(keep) if keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        exe = compile_program(program_source(plan, point_names_for(kd)), work)
        initrd = initramfs(exe, work, iterations=iterations, device_slots=device_slots(plan.scenario),
                           sync_io=kd.sync_io)
        say(f"booting {image.parent.name} under qemu (2 vCPUs, TCG): {iterations} iteration(s)")
        r = run_qemu(image, initrd, timeout=120 + iterations * 5.0, log=work / "console.log")
    return RunReport(plan.design, against, plan.scenario.name, f"{image.parent.name.split('-')[0]}: {kd.what}",
                     r.iterations, r.losses, r.skipped, r.diverged, time.perf_counter() - t0, r.output)


__all__ = ["COUNTERPARTS", "MachineError", "NoCounterpart", "Plan", "RunReport", "TransplantError",
           "counterpart", "load_trace", "make_plan", "run", "write_files"]
