"""The swaplab command line: designs, scenarios, check, replay, compare.

Exit status: 0 no violation (or every verdict as expected), 1 a violation (or a verdict that
differs from the scenario's expectation), 2 bad input.  --json prints one JSON document on
stdout; progress goes to stderr, and only when stderr is a terminal.
"""
from __future__ import annotations

import json
import os
import sys
import time

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .designs import DESIGNS, DesignError, get_design
from .engine import STRATEGIES, Schedule, ScheduleError, replay
from .kernel import make_program
from .report.files import write_atomic
from .report.html import matrix_html
from .report.trace import format_columns
from .scenarios import ScenarioError, builtin_names, get_scenario
from .verify import Verdict, check, check_many

err = Console(stderr=True)
out = Console(highlight=False, soft_wrap=True)


class BadInput(click.ClickException):
    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"swaplab: error: {self.message}", err=True)


def _load(design: str | None = None, scenario: str | None = None):
    try:
        d = get_design(design) if design else None
        s = get_scenario(scenario) if scenario else None
    except (DesignError, ScenarioError) as e:
        raise BadInput(str(e)) from None
    return d, s


def _progress(label: str, enabled: bool):
    """A rich progress display on stderr, or nothing when stderr is not a terminal."""
    if not enabled or not err.is_terminal:
        return None, None
    prog = Progress(TextColumn("{task.description}"), BarColumn(bar_width=None),
                    TextColumn("{task.fields[info]}"), TimeElapsedColumn(), console=err, transient=True)
    task = prog.add_task(label, total=None, info="")

    def update(stats):
        prog.update(task, info=f"{stats.executions} executions, {stats.steps} steps")
    return prog, update


class _CellProgress:
    """A counted progress bar on stderr for a loop over cells; does nothing when stderr is not a
    terminal (or JSON was asked for)."""

    def __init__(self, label: str, total: int, enabled: bool):
        self.prog = Progress(TextColumn("{task.description}"), BarColumn(),
                             TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                             console=err, transient=True) if enabled and err.is_terminal else None
        self.label, self.total = label, total

    def __enter__(self):
        if self.prog:
            self.prog.start()
            self.task = self.prog.add_task(self.label, total=self.total)
        return self

    def __exit__(self, *exc):
        if self.prog:
            self.prog.stop()
        return False

    def at(self, description: str) -> None:
        if self.prog:
            self.prog.update(self.task, description=description)

    def advance(self) -> None:
        if self.prog:
            self.prog.advance(self.task)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="swaplab")
def main():
    """Explore every interleaving of a Linux swap-in design and print the race."""


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def designs(as_json):
    """List the built-in designs."""
    if as_json:
        click.echo(json.dumps([{"name": d.name, "summary": d.summary, "reference": d.reference}
                               for d in DESIGNS.values()], indent=1))
        return
    t = Table(box=None, show_header=True, header_style="bold")
    t.add_column("design")
    t.add_column("what it is")
    for d in DESIGNS.values():
        t.add_row(d.name, d.summary)
    out.print(t)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def scenarios(as_json):
    """List the built-in scenarios."""
    scs = [get_scenario(n) for n in builtin_names()]
    if as_json:
        click.echo(json.dumps([{"name": s.name, "description": s.description, "probes": s.probes,
                                "threads": len(s.threads), "expect": s.expect} for s in scs], indent=1))
        return
    t = Table(box=None, show_header=True, header_style="bold")
    t.add_column("scenario")
    t.add_column("what it does")
    for s in scs:
        t.add_row(s.name, s.description)
    out.print(t)


def _search_options(f):
    f = click.option("--strategy", type=click.Choice(("auto",) + STRATEGIES), default="auto", show_default=True,
                     help="auto = bounded search up to --preemptions, then stateful DPOR.")(f)
    f = click.option("--preemptions", type=click.IntRange(0, 10), default=None,
                     help="Preemption bound for bounded search [default: 1 with auto (stateful "
                          "search follows and finds deeper races), 2 with bounded].")(f)
    f = click.option("--max-executions", type=click.IntRange(1), default=2000000, show_default=True)(f)
    f = click.option("--time-limit", type=click.FloatRange(0.1), default=None, help="Seconds.")(f)
    f = click.option("--seed", type=int, default=0, show_default=True, help="For pct and random.")(f)
    f = click.option("--depth", type=click.IntRange(1, 10), default=3, show_default=True, help="PCT depth d.")(f)
    return f


@main.command("check")
@click.option("--design", "-d", required=True, help="A built-in design or path/to/file.py:Class.")
@click.option("--scenario", "-s", required=True, help="A built-in scenario or a .toml file.")
@_search_options
@click.option("--save-trace", type=click.Path(dir_okay=False), help="Write the counterexample's schedule here.")
@click.option("--full", is_flag=True, help="Show every step of the counterexample, not only those that change state.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def check_cmd(design, scenario, strategy, preemptions, max_executions, time_limit, seed, depth, save_trace,
              full, as_json):
    """Check one design on one scenario."""
    d, s = _load(design, scenario)
    if preemptions is None:
        preemptions = 1 if strategy == "auto" else 2
    prog, update = _progress(f"{d.name} × {s.name}", not as_json)
    try:
        if prog:
            prog.start()
        v = check(d, s, strategy=strategy, max_executions=max_executions, time_limit=time_limit,
                  preemptions=preemptions, seed=seed, depth=depth, progress=update)
    finally:
        if prog:
            prog.stop()
    trace_text = _trace_text(d, s, v, full) if v.violation is not None else None
    if save_trace and v.violation is not None:
        sched = v.violation.schedule
        sched.meta.update({"design": design, "scenario": scenario, "verdict": v.status,
                           "message": v.violation.message})
        write_atomic(save_trace, sched.dumps() + "\n")
    if as_json:
        doc = v.to_json()
        doc["trace"] = trace_text
        click.echo(json.dumps(doc, indent=1))
    else:
        _print_verdict(d, s, v, trace_text)
        if save_trace and v.violation is not None:
            out.print(f"schedule saved to {save_trace}  (swaplab replay {save_trace})")
    sys.exit(0 if v.ok else 1)


def _trace_text(d, s, v: Verdict, full: bool) -> str:
    ex, _ = replay(make_program(d, s), v.violation.schedule)
    head = (f"{d.name} on {s.name}: {v.violation.kind} "
            f"({v.violation.preemptions} preemption{'s' if v.violation.preemptions != 1 else ''}, "
            f"{len(v.violation.schedule)} steps)")
    return format_columns(ex, verbose=full, title=head) + f"\n\n=> {v.violation.kind}: {v.violation.message}"


def _print_verdict(d, s, v: Verdict, trace_text) -> None:
    out.print(f"design    {d.name}: {d.summary}")
    out.print(f"scenario  {s.name}: {s.description}")
    out.print(f"verdict   {v.describe()}")
    searches = "; ".join(f"{r.strategy}: {r.stats.executions} executions, {r.stats.steps} steps, "
                         f"{'complete' if r.stats.complete else 'stopped: ' + (r.stats.stopped_by or 'budget')}"
                         + (f", {r.guarantee}" if r.guarantee else "") for r in v.results)
    out.print(f"explored  {searches} ({v.seconds:.2f}s)")
    if v.interrupted:
        out.print("interrupted: the verdict covers only what was explored before Ctrl-C")
    expected = s.expect.get(d.name)
    if expected is not None:
        out.print(f"expected  {expected}: {'as expected' if expected == v.status else 'DIFFERS'}")
    if trace_text:
        out.print("")
        out.print(trace_text, markup=False)


@main.command("replay")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--design", "-d", help="Replay under this design instead of the one saved.")
@click.option("--scenario", "-s", help="The scenario, if the file does not name one.")
@click.option("--full", is_flag=True, help="Show every step.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def replay_cmd(file, design, scenario, full, as_json):
    """Print a saved counterexample, or replay it under another design and say where it diverges."""
    try:
        text = open(file, encoding="utf-8").read()
    except OSError as e:
        raise BadInput(f"{file}: cannot read: {e.strerror}") from None
    try:
        sched = Schedule.loads(text)
    except ScheduleError as e:
        raise BadInput(f"{file}: {e}") from None
    dname = design or sched.meta.get("design")
    sname = scenario or sched.meta.get("scenario")
    if not dname or not sname:
        raise BadInput(f"{file}: the schedule does not name its design and scenario; give --design and --scenario")
    d, s = _load(dname, sname)
    ex, divergence = replay(make_program(d, s), sched)
    outcome = ex.outcome
    if as_json:
        click.echo(json.dumps({"design": d.name, "scenario": s.name, "steps_replayed": ex.seq,
                               "steps_saved": len(sched), "divergence": divergence,
                               "outcome": None if outcome is None else {"kind": outcome.kind,
                                                                          "message": outcome.message}},
                              indent=1))
    else:
        title = f"{d.name} on {s.name}: replaying {file} ({len(sched)} steps saved)"
        out.print(format_columns(ex, verbose=full, title=title), markup=False)
        out.print("")
        if divergence:
            stack = ""
            t = ex.threads[sched.steps[ex.seq]] if ex.seq < len(sched) and sched.steps[ex.seq] < len(ex.threads) else None
            if t is not None and not t.done:
                from .engine.executor import _stack
                stack = " in " + " → ".join(_stack(t.gen)[2:]) if _stack(t.gen) else ""
            out.print(f"=> {d.name} diverges from the saved schedule at {divergence}{stack}", markup=False)
        if outcome is not None:
            out.print(f"=> {outcome.kind}: {outcome.message}", markup=False)
        elif not divergence:
            out.print("=> the schedule runs to the end with no violation", markup=False)
    sys.exit(1 if outcome is not None else 0)


@main.command("compare")
@click.option("--designs", "design_list", help="Comma-separated designs (default: all built-in).")
@click.option("--scenarios", "scenario_list", help="Comma-separated scenarios or .toml files (default: all built-in).")
@click.option("--max-executions", type=click.IntRange(1), default=200000, show_default=True,
              help="Budget of the stateful search per cell.")
@click.option("--preemptions", type=click.IntRange(0, 10), default=1, show_default=True,
              help="Bound of the bounded search that runs first in each cell.")
@click.option("--time-limit", type=click.FloatRange(0.1), default=60.0, show_default=True,
              help="Seconds per cell (the slowest built-in cells need about 50).")
@click.option("--jobs", "-j", type=click.IntRange(1), default=None,
              help="Cells checked at once, one process each (default: one per CPU).")
@click.option("--html", "html_file", type=click.Path(dir_okay=False), help="Also write the matrix as HTML.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def compare_cmd(design_list, scenario_list, max_executions, preemptions, time_limit, jobs, html_file, as_json):
    """The designs × scenarios matrix, with each distinct counterexample below it."""
    dnames = design_list.split(",") if design_list else list(DESIGNS)
    snames = scenario_list.split(",") if scenario_list else builtin_names()
    ds = [_load(n)[0] for n in dnames]
    ss = [_load(None, n)[1] for n in snames]
    jobs = jobs or os.cpu_count() or 1
    pairs = [(d, s) for d in ds for s in ss]
    cells: dict = {}
    t0 = time.perf_counter()
    total = len(pairs)
    interrupted = False
    try:
        with _CellProgress("compare", total, not as_json) as bar:
            def done(i, v):
                d, s = pairs[i]
                cells[(d.name, s.name)] = (v, s.expect.get(d.name))
                bar.at(f"{d.name} × {s.name}")
                bar.advance()
            check_many(pairs, jobs=jobs, on_done=done, max_executions=max_executions,
                       time_limit=time_limit, preemptions=preemptions, bounded_budget=4000)
    except KeyboardInterrupt:
        interrupted = True
    elapsed = time.perf_counter() - t0
    dn = [d.name for d in ds]
    sn = [s.name for s in ss]
    traces = _distinct_traces(ds, ss, cells)
    mismatches = [(d, s, e, v.status) for (d, s), (v, e) in cells.items() if e is not None and e != v.status]
    notes = [f"{len(cells)} of {total} cells in {elapsed:.1f}s ({jobs} at a time); each cell: bounded search "
             f"up to {preemptions} preemption(s), then stateful DPOR up to {max_executions} executions or "
             f"{time_limit:g}s."]
    if interrupted:
        notes.append("INTERRUPTED: the matrix holds only the cells finished before Ctrl-C.")
    for d, s, e, got in mismatches:
        notes.append(f"{d} on {s}: expected {e}, found {got}")
    if as_json:
        click.echo(json.dumps({"cells": [dict(v.to_json(), expected=e) for (v, e) in cells.values()],
                               "mismatches": [{"design": d, "scenario": s, "expected": e, "found": g}
                                              for d, s, e, g in mismatches],
                               "interrupted": interrupted, "seconds": round(elapsed, 2)}, indent=1))
    else:
        _print_matrix(dn, sn, cells)
        for n in notes:
            out.print(n, markup=False)
        for title, text in traces:
            out.print("")
            out.print(text, markup=False)
    if html_file:
        write_atomic(html_file, matrix_html(dn, sn, {k: v for k, v in cells.items()}, traces, notes))
        if not as_json:
            out.print(f"\nHTML written to {html_file}")
    sys.exit(1 if mismatches or interrupted else 0)


def _print_matrix(dn, sn, cells) -> None:
    """Plain text, one column per scenario (numbered, named below), readable in a pipe or a mail."""
    w0 = max(len(d) for d in dn) + 2
    cw = 13
    head = "design".ljust(w0) + "".join(f"S{i + 1}".center(cw) for i in range(len(sn)))
    lines = [head, "-" * len(head)]
    for d in dn:
        a, b = d.ljust(w0), " " * w0
        for s in sn:
            if (d, s) not in cells:
                a += "-".center(cw)
                b += "".center(cw)
                continue
            v, e = cells[(d, s)]
            a += v.short().center(cw)
            b += (str(v.executions) + ("" if e is None else " ✓" if e == v.status else " ✗")).center(cw)
        lines += [a.rstrip(), b.rstrip()]
    out.print("\n".join(lines), markup=False)
    out.print("")
    for i, s in enumerate(sn):
        out.print(f"S{i + 1} = {s}", markup=False)
    out.print("first line: verdict (ok: every interleaving explored; ok≤K: every schedule with at most K "
              "preemptions explored; ok?: a budget ran out; otherwise the violation found); second line: "
              "executions explored, ✓/✗ = matches/differs from the scenario's [expect]", markup=False)


def _distinct_traces(ds, ss, cells):
    """One counterexample per distinct (design, violation kind), the shortest found."""
    best: dict = {}
    for d in ds:
        for s in ss:
            if (d.name, s.name) not in cells:
                continue
            v, _ = cells[(d.name, s.name)]
            if v.violation is None:
                continue
            key = (d.name, v.status)
            cur = best.get(key)
            if cur is None or len(v.violation.schedule) < len(cur[2].violation.schedule):
                best[key] = (d, s, v)
    return [(f"{d.name} on {s.name}: {v.status}", _trace_text(d, s, v, False)) for d, s, v in best.values()]


@main.command("bench")
@click.option("--workload", "-w", "workloads", multiple=True,
              type=click.Choice(["sequential-swapin", "reproducer", "server", "ui"]),
              help="A workload (repeatable; default: all four).")
@click.option("--designs", "design_list", help="Comma-separated designs (default: all built-in).")
@click.option("--seed", type=int, default=0, show_default=True, help="Staggers thread start times.")
@click.option("--hz", type=click.Choice(["100", "250", "1000"]), default=None, help="Override HZ (default 250).")
@click.option("--cpus", type=click.IntRange(1, 64), default=None, help="Override the CPU count (default 4).")
@click.option("--costs", "costs_file", type=click.Path(dir_okay=False), help="A TOML file overriding costs.")
@click.option("--plot", "plot_dir", type=click.Path(file_okay=False), help="Write PNG and SVG plots here.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def bench_cmd(workloads, design_list, seed, hz, cpus, costs_file, plot_dir, as_json):
    """Timed simulation: what each design costs in fault latency, retries and throughput."""
    from .sim.bench import run_bench
    from .sim.costs import CostError, load_costs
    from .sim.workloads import WORKLOADS
    try:
        costs = load_costs(costs_file, hz=int(hz) if hz else None, cpus=cpus)
    except CostError as e:
        raise BadInput(str(e)) from None
    ds = [_load(n)[0] for n in (design_list.split(",") if design_list else list(DESIGNS))]
    wls = list(workloads) or list(WORKLOADS)
    docs = []
    try:
        with _CellProgress("bench", len(ds) * len(wls), not as_json) as bar:
            for w in wls:
                results = []
                for d in ds:
                    bar.at(f"{w} × {d.name}")
                    results.append(run_bench(d, w, costs, seed=seed))
                    bar.advance()
                docs.append((w, results))
    except KeyboardInterrupt:
        err.print("interrupted: showing the workloads finished so far")
    if as_json:
        click.echo(json.dumps({"hz": costs.hz, "cpus": costs.cpus, "seed": seed,
                               "workloads": {w: [r.to_json() for r in rs] for w, rs in docs}}, indent=1))
    for w, results in docs:
        if not as_json:
            _print_bench(w, results, costs)
        if plot_dir:
            from .sim.plots import write_plots
            files = write_plots(results, w, plot_dir)
            if not as_json:
                out.print("plots: " + ", ".join(files), markup=False)


def _us(ns: float) -> str:
    return f"{ns / 1000:.1f}"


def _print_bench(w, results, costs) -> None:
    out.print(f"\nworkload {w}  (HZ={costs.hz}, {costs.cpus} CPUs; latencies in µs)", markup=False)
    head = (f"{'design':18} {'faults':>6} {'p50':>8} {'p99':>8} {'p99.9':>8} {'max':>8} {'faults/s':>10} "
            f"{'contended':>9} {'c-p50':>8} {'c-p99':>8} {'backoff/k':>9} {'retry/k':>8} {'sleeps':>6} "
            f"{'wakeups':>7} {'wasted':>6} {'lockwait-µs':>11}  outcome")
    out.print(head, markup=False)
    for r in results:
        out.print(f"{r.design:18} {r.faults:>6} {_us(r.p50):>8} {_us(r.p99):>8} {_us(r.p999):>8} {_us(r.max):>8} "
                  f"{r.throughput:>10.0f} {r.c_faults:>9} {_us(r.c_p50):>8} {_us(r.c_p99):>8} "
                  f"{r.per_1000(r.backoffs):>9.1f} {r.per_1000(r.retries):>8.1f} {r.sleeps:>6} {r.wakeups:>7} "
                  f"{r.wasted_reads:>6} {_us(r.lock_wait_ns):>11}  {r.outcome[:60]}", markup=False)
    if w == "sequential-swapin":
        base = next((r for r in results if r.design == "bypass"), None)
        if base and base.faults:
            per = {r.design: r.elapsed_ns / r.faults for r in results if r.faults}
            out.print("time per page: " + ", ".join(f"{d} {v / 1000:.2f} µs ({v / per['bypass']:.3f}×)"
                                                   for d, v in per.items()), markup=False)
    if w == "reproducer":
        for r in results:
            if r.faults:
                out.print(f"{r.design}: {r.backoffs} back-offs in {r.faults} faults "
                          f"({100.0 * r.backoffs / r.faults:.2f} per 100 faults; upstream: 0.24, 1528 in 647,132)",
                          markup=False)


@main.command("transplant")
@click.argument("trace", type=click.Path(dir_okay=False))
@click.option("--kernel", "version", default="6.1", show_default=True, help="Kernel version to target.")
@click.option("-o", "outdir", type=click.Path(file_okay=False), default="transplant", show_default=True,
              help="Where the C program, kernel patches and plan go.")
@click.option("--run", "do_run", is_flag=True, help="Build the kernel (cached), boot it under qemu, count losses.")
@click.option("--against", help="Run on this design's kernel instead of the trace's own.")
@click.option("--iterations", type=click.IntRange(1, 10000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the run's result as JSON.")
def transplant_cmd(trace, version, outdir, do_run, against, iterations, as_json):
    """Turn a saved counterexample into a C program and kernel delay points; --run it under qemu.

    Exit status with --run: 0 no loss, 1 a loss reproduced, 2 bad input or a counterexample that
    cannot transplant, 3 the machine failed (missing packages, build or boot)."""
    from . import transplant as tp
    from .report.transplant import run_text
    try:
        sched, d, s = tp.load_trace(trace)
        plan = tp.make_plan(d, s, sched)
        kd = tp.counterpart(against or d.name, version)
    except (tp.TransplantError, tp.NoCounterpart) as e:
        raise BadInput(str(e)) from None
    files = tp.write_files(plan, kd, outdir)
    if not do_run:
        out.print("\n".join(["wrote " + f for f in files]), markup=False)
        out.print(tp.describe_plan(plan, kd, tp.point_names_for(kd)), markup=False)
        return
    say = (lambda m: None) if as_json else (lambda m: err.print(m, markup=False))
    try:
        r = tp.run(plan, kd.design, iterations=iterations, version=version, say=say, keep=outdir)
    except tp.MachineError as e:
        click.echo(f"swaplab: error: {e}", err=True)
        sys.exit(3)
    if as_json:
        click.echo(json.dumps(r.to_json(), indent=1))
    else:
        out.print(run_text(r), markup=False)
    sys.exit(1 if r.reproduced else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
