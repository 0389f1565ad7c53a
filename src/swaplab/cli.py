"""The swaplab command line: designs, scenarios, check, replay, compare, bench.

Exit status (swaplab/exitcodes.py, README "Exit status"):
  0    every search complete (or complete up to the bound asked for) and as expected
  1    a violation (compare: a verdict that differs from the scenario's [expect])
  2    bad input or a design error (a Python exception in the design's own code)
  3    a search incomplete (time limit, execution budget, a dead worker), no violation
  130  interrupted (Ctrl-C); what was found so far is still reported
--json prints one JSON document on stdout (schemas: docs/schema/<command>.json); progress
goes to stderr, and only when stderr is a terminal.
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

from . import exitcodes
from .designs import ALL_DESIGNS, DESIGNS, DesignError, get_design
from .engine import STRATEGIES, Schedule, ScheduleError, replay
from .inputs import Seconds, output_dir, output_file, split_names
from .kernel import make_program
from .report.files import write_atomic
from .report.html import check_html, matrix_html, replay_html
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


class _Group(click.Group):
    def invoke(self, ctx):
        # Ctrl-C outside a search (loading, printing): exit 130 as the table says, not click's 1
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("swaplab: interrupted", err=True)
            ctx.exit(exitcodes.INTERRUPTED)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]},
             epilog="\b\n" + exitcodes.TABLE)
@click.version_option(package_name="swaplab")
def main():
    """Explore every interleaving of a Linux swap-in design and print the race."""


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def designs(as_json):
    """List the built-in designs."""
    if as_json:
        click.echo(json.dumps([{"name": d.name, "kind": d.kind, "summary": d.summary, "reference": d.reference}
                               for d in ALL_DESIGNS.values()], indent=1))
        return
    t = Table(box=None, show_header=True, header_style="bold")
    t.add_column("design")
    t.add_column("kind")
    t.add_column("what it is")
    for d in ALL_DESIGNS.values():
        t.add_row(d.name, d.kind, d.summary)
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
    f = click.option("--time-limit", type=Seconds(), default=None,
                     help="Seconds for the whole check, minimization included.")(f)
    f = click.option("--seed", type=int, default=0, show_default=True, help="For pct and random.")(f)
    f = click.option("--depth", type=click.IntRange(1, 10), default=3, show_default=True, help="PCT depth d.")(f)
    f = click.option("--max-steps", type=click.IntRange(10), default=10000, show_default=True,
                     help="Steps one execution may take; beyond it a thread loops (step-bound).")(f)
    return f


@main.command("check")
@click.option("--design", "-d", required=True, help="A built-in design or path/to/file.py:Class.")
@click.option("--scenario", "-s", required=True, help="A built-in scenario or a .toml file.")
@_search_options
@click.option("--save-trace", type=click.Path(dir_okay=False), help="Write the counterexample's schedule here.")
@click.option("--full", is_flag=True, help="Show every step of the counterexample, not only those that change state.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False),
              help="Also write a self-contained HTML report with a step-through view of the counterexample.")
@click.option("--perfetto", "perfetto_file", type=click.Path(dir_okay=False),
              help="Also write the counterexample as Chrome trace-event JSON (Perfetto UI, chrome://tracing).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def check_cmd(design, scenario, strategy, preemptions, max_executions, time_limit, seed, depth, max_steps,
              save_trace, full, html_file, perfetto_file, as_json):
    """Check one design on one scenario."""
    output_file(save_trace, "--save-trace")
    output_file(html_file, "--html")
    output_file(perfetto_file, "--perfetto")
    d, s = _load(design, scenario)
    if preemptions is None:
        preemptions = 1 if strategy == "auto" else 2
    prog, update = _progress(f"{d.name} × {s.name}", not as_json)
    t0 = time.perf_counter()
    try:
        if prog:
            prog.start()
        v = check(d, s, strategy=strategy, max_executions=max_executions, time_limit=time_limit,
                  preemptions=preemptions, seed=seed, depth=depth, progress=update, max_steps=max_steps)
    finally:
        if prog:
            prog.stop()
    trace_text = _trace_text(d, s, v, full, _render_limit(time_limit, t0)) if v.violation is not None else None
    saved = None
    if save_trace:
        saved = _save_schedule(save_trace, v, design, scenario)
    if as_json:
        doc = v.to_json()
        doc["trace"] = trace_text
        click.echo(json.dumps(doc, indent=1))
    else:
        _print_verdict(d, s, v, trace_text)
        if saved:
            out.print(saved, markup=False)
    _write_reports(html_file, lambda: check_html(d, s, v, trace_text), perfetto_file, d, s,
                   v.violation.schedule if v.violation is not None else None, as_json)
    sys.exit(exitcodes.for_verdict(v))


def _write_reports(html_file, make_html, perfetto_file, d, s, schedule, quiet: bool) -> None:
    """--html and --perfetto of check and replay (report/html.py, report/perfetto.py)."""
    from .report.perfetto import schedule_trace
    if html_file:
        write_atomic(html_file, make_html())
        if not quiet:
            out.print(f"HTML written to {html_file}", markup=False)
    if perfetto_file:
        if schedule is None:
            err.print("no counterexample: --perfetto wrote nothing")
        else:
            write_atomic(perfetto_file, schedule_trace(make_program(d, s), schedule, f"{d.name} on {s.name}"))
            if not quiet:
                out.print(f"Perfetto trace written to {perfetto_file}  (open it in Perfetto UI or chrome://tracing)",
                          markup=False)


def _render_limit(time_limit, t0) -> float | None:
    """Time left to replay a counterexample for its trace: what the check left of its limit,
    and at least 40% of the limit (so a check that used all its time still shows its trace,
    and the whole command stays within twice the limit)."""
    if time_limit is None:
        return None
    return max(time_limit - (time.perf_counter() - t0), time_limit * 0.4)


def _spec_for_file(spec: str) -> str:
    """A design or scenario as given on the command line, with a file path made absolute so
    that a saved schedule replays from any directory."""
    if ":" in spec and spec.split(":", 1)[0].endswith(".py"):
        path, cls = spec.rsplit(":", 1)
        return f"{os.path.abspath(path)}:{cls}"
    if "/" in spec or spec.endswith(".toml"):
        return os.path.abspath(spec)
    return spec


def _save_schedule(path: str, v: Verdict, design: str, scenario: str) -> str:
    """Write the counterexample's schedule; with none, remove an old file there (a stale
    schedule would replay a violation this run did not find).  Returns what to tell the user."""
    if v.violation is None:
        try:
            os.unlink(path)
            return f"no violation found: no schedule to save; removed the old {path}"
        except FileNotFoundError:
            return f"no violation found: no schedule saved to {path}"
    sched = v.violation.schedule
    sched.meta.update({"design": _spec_for_file(design), "scenario": _spec_for_file(scenario),
                       "verdict": v.status, "message": v.violation.message,
                       "minimal": v.violation.minimal is not False})
    write_atomic(path, sched.dumps() + "\n")
    return f"schedule saved to {path}  (swaplab replay {path})"


def _trace_text(d, s, v: Verdict, full: bool, time_limit: float | None = None) -> str:
    ex, divergence = replay(make_program(d, s), v.violation.schedule, time_limit=time_limit)
    minimal = "" if v.violation.minimal is not False else "; NOT minimal: its minimization was cut short"
    head = (f"{d.name} on {s.name}: {v.status} "
            f"({v.violation.preemptions} preemption{'s' if v.violation.preemptions != 1 else ''}, "
            f"{len(v.violation.schedule)} steps{minimal})")
    cut = f"\n\n(trace cut: {divergence})" if ex.timed_out else ""
    return format_columns(ex, verbose=full, title=head) + cut + f"\n\n=> {v.status}: {v.violation.message}"


def _print_verdict(d, s, v: Verdict, trace_text) -> None:
    out.print(f"design    {d.name}: {d.summary}", markup=False)
    out.print(f"scenario  {s.name}: {s.description}", markup=False)
    out.print(f"verdict   {v.describe()}", markup=False)
    searches = "; ".join(f"{r.strategy}: {r.stats.executions} executions, {r.stats.steps} steps, "
                         f"{'complete' if r.stats.complete else 'stopped: ' + (r.stats.stopped_by or 'budget')}"
                         + (f", {r.guarantee}" if r.guarantee else "") for r in v.results)
    out.print(f"explored  {searches} ({v.seconds:.2f}s)", markup=False)
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
@click.option("--time-limit", type=Seconds(), default=None, help="Seconds.")
@click.option("--full", is_flag=True, help="Show every step.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False),
              help="Also write a self-contained HTML report with a step-through view of the replay.")
@click.option("--perfetto", "perfetto_file", type=click.Path(dir_okay=False),
              help="Also write the replay as Chrome trace-event JSON (Perfetto UI, chrome://tracing).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def replay_cmd(file, design, scenario, time_limit, full, html_file, perfetto_file, as_json):
    """Print a saved counterexample, or replay it under another design and say where it diverges."""
    output_file(html_file, "--html")
    output_file(perfetto_file, "--perfetto")
    try:
        with open(file, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise BadInput(f"{file}: cannot read: {e.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadInput(f"{file}: not UTF-8 text (byte {e.start}): a saved schedule is the JSON "
                       f"`swaplab check --save-trace` writes") from None
    try:
        sched = Schedule.loads(text)
    except ScheduleError as e:
        raise BadInput(f"{file}: {e}") from None
    dname = design or sched.meta.get("design")
    sname = scenario or sched.meta.get("scenario")
    if not isinstance(dname, str) or not isinstance(sname, str) or not dname or not sname:
        raise BadInput(f"{file}: the schedule does not name its design and scenario; give --design and --scenario")
    try:
        d, s = _load(dname, sname)
    except BadInput as e:
        if scenario is None and sname == sched.meta.get("scenario"):
            e.message = f"{file}: the saved scenario cannot be loaded: {e.message}; give --scenario"
        raise
    names = [t.name for t in s.threads]
    if sched.threads and sched.threads != names:
        raise BadInput(f"{file}: the schedule was saved for threads {', '.join(sched.threads)}, but "
                       f"scenario {s.name} has {', '.join(names) or 'none'}: it was saved for another "
                       f"scenario (or the file changed since); give the right --scenario")
    if any(t >= len(names) for t in sched.steps):
        raise BadInput(f"{file}: the schedule names thread {max(sched.steps)}, but scenario {s.name} "
                       f"has {len(names)} threads")
    ex, divergence = replay(make_program(d, s), sched, time_limit=time_limit)
    outcome = ex.outcome
    kind = None if outcome is None else ("design-error" if outcome.kind == "model-error" else outcome.kind)
    if as_json:
        click.echo(json.dumps({"design": d.name, "scenario": s.name, "steps_replayed": ex.seq,
                               "steps_saved": len(sched), "divergence": divergence,
                               "timed_out": ex.timed_out,
                               "outcome": None if outcome is None else {"kind": kind,
                                                                          "message": outcome.message}},
                              indent=1))
    else:
        title = f"{d.name} on {s.name}: replaying {file} ({len(sched)} steps saved)"
        out.print(format_columns(ex, verbose=full, title=title), markup=False)
        out.print("")
        if divergence:
            stack = ""
            t = ex.threads[sched.steps[ex.seq]] if ex.seq < len(sched) and sched.steps[ex.seq] < len(ex.threads) else None
            if t is not None and not t.done and not ex.timed_out:
                from .engine.executor import _stack
                stack = " in " + " → ".join(_stack(t.gen)[2:]) if _stack(t.gen) else ""
            out.print(f"=> {d.name} diverges from the saved schedule at {divergence}{stack}", markup=False)
        if outcome is not None:
            out.print(f"=> {kind}: {outcome.message}", markup=False)
        elif not divergence:
            out.print("=> the schedule runs to the end with no violation", markup=False)
    _write_reports(html_file, lambda: replay_html(d, s, file, sched, format_columns(ex, verbose=full)),
                   perfetto_file, d, s, sched, as_json)
    if kind == "design-error":
        sys.exit(exitcodes.BAD_INPUT)
    if outcome is not None:
        sys.exit(exitcodes.FOUND)
    sys.exit(exitcodes.INCOMPLETE if ex.timed_out else exitcodes.OK)


@main.command("compare")
@click.option("--designs", "design_list", help="Comma-separated designs (default: all built-in).")
@click.option("--scenarios", "scenario_list", help="Comma-separated scenarios or .toml files (default: all built-in).")
@click.option("--max-executions", type=click.IntRange(1), default=200000, show_default=True,
              help="Budget of the stateful search per cell.")
@click.option("--preemptions", type=click.IntRange(0, 10), default=1, show_default=True,
              help="Bound of the bounded search that runs first in each cell.")
@click.option("--time-limit", type=Seconds(), default=120.0, show_default=True,
              help="Seconds per cell (the slowest built-in cells need about 50).")
@click.option("--jobs", "-j", type=click.IntRange(1), default=None,
              help="Cells checked at once, one process each (default: one per CPU).")
@click.option("--html", "html_file", type=click.Path(dir_okay=False), help="Also write the matrix as HTML.")
@click.option("--history", is_flag=True, help="Run the history gallery instead: each historic bug's pre-fix "
              "design and its fix on the scenarios that catch it (docs/history.md).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def compare_cmd(design_list, scenario_list, max_executions, preemptions, time_limit, jobs, html_file, history,
                as_json):
    """The designs × scenarios matrix, with each distinct counterexample below it."""
    if history:
        if design_list or scenario_list or html_file:
            raise BadInput("--history runs the gallery's own designs and scenarios: drop --designs, "
                           "--scenarios and --html")
        _compare_history(max_executions, preemptions, time_limit, jobs, as_json)
        return
    output_file(html_file, "--html")
    dnames = split_names(design_list, "designs") or list(DESIGNS)
    snames = split_names(scenario_list, "scenarios") or builtin_names()
    ds = [_load(n)[0] for n in dnames]
    ss = [_load(None, n)[1] for n in snames]
    if len({d.name for d in ds}) < len(ds):
        dup = next(d.name for d in ds if sum(e.name == d.name for e in ds) > 1)
        raise BadInput(f"two of the designs given are named {dup!r}: give each design its own name")
    known = list(ALL_DESIGNS) + [d.name for d in ds if d.name not in ALL_DESIGNS]
    for sc in ss:
        try:
            sc.check_expect_names(known)
        except ScenarioError as e:
            raise BadInput(str(e)) from None
    pairs = [(d, s) for d in ds for s in ss]
    from .cells import cpu_count
    jobs = min(jobs or cpu_count(), len(pairs))
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
    traces = _distinct_traces(ds, ss, cells, time_limit)
    ordered = [(d, s) for d in dn for s in sn if (d, s) in cells]      # the matrix's order
    mismatches = [(d, s, cells[d, s][1], cells[d, s][0].status) for d, s in ordered
                  if cells[d, s][1] not in (None, cells[d, s][0].status) and cells[d, s][0].finished]
    lost = [(d, s, cells[d, s][0]) for d, s in ordered if not cells[d, s][0].finished]
    limit = "no time limit" if time_limit is None else f"{time_limit:g}s"
    notes = [f"{sum(v.finished for v, _ in cells.values())} of {total} cells in {elapsed:.1f}s ({jobs} at a time); "
             f"each cell: bounded search up to {preemptions} preemption(s), then stateful DPOR up to "
             f"{max_executions} executions or {limit}."]
    if interrupted:
        notes.append("INTERRUPTED: the matrix holds only the cells finished before Ctrl-C "
                     "(cut: stopped part way; -: never started).")
    for d, s, v in lost:
        why = v.error or ("the search did not finish (" + ", ".join(
            r.stats.stopped_by or "budget" for r in v.results if not r.stats.complete) + ")")
        notes.append(f"{d} on {s}: {v.short()}: {why}")
    for d, s, e, got in mismatches:
        notes.append(f"{d} on {s}: expected {e}, found {got}")
    if as_json:
        click.echo(json.dumps({"cells": [dict(cells[k][0].to_json(), expected=cells[k][1]) for k in ordered],
                               "not_run": [{"design": d, "scenario": s} for d in dn for s in sn
                                           if (d, s) not in cells],
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
        write_atomic(html_file, matrix_html(ds, ss, cells, notes))
        if not as_json:
            out.print(f"\nHTML written to {html_file}")
    sys.exit(exitcodes.for_cells([v for v, _ in cells.values()], mismatches=bool(mismatches),
                                 interrupted=interrupted))


def _compare_history(max_executions, preemptions, time_limit, jobs, as_json) -> None:
    """`compare --history`: every gallery cell; exit 1 unless each verdict is the expected one."""
    from .designs.history import gallery_cells
    from .report.history import gallery_json, gallery_text
    todo = gallery_cells()
    pairs = [_load(d, s) for _, d, s, _ in todo]
    found: dict = {}
    t0 = time.perf_counter()
    interrupted = False
    try:
        with _CellProgress("history", len(pairs), not as_json) as bar:
            def done(i, v):
                found[i] = v
                bar.at(f"{v.design} × {v.scenario}")
                bar.advance()
            from .cells import cpu_count
            check_many(pairs, jobs=min(jobs or cpu_count(), len(pairs)), on_done=done,
                       max_executions=max_executions, time_limit=time_limit, preemptions=preemptions,
                       bounded_budget=4000)
    except KeyboardInterrupt:
        interrupted = True
    rows = [(e, d, s, want, found.get(i)) for i, (e, d, s, want) in enumerate(todo)]
    doc = gallery_json(rows)
    if as_json:
        doc.update(interrupted=interrupted, seconds=round(time.perf_counter() - t0, 2))
        click.echo(json.dumps(doc, indent=1))
    else:
        out.print(gallery_text(rows), markup=False)
        out.print(f"\n{len(found)} of {len(rows)} cells in {time.perf_counter() - t0:.1f}s; each cell: bounded "
                  f"search up to {preemptions} preemption(s), then stateful DPOR up to {max_executions} "
                  f"executions or {time_limit:g}s; {len(doc['mismatches'])} differ from the expected verdict"
                  + ("; INTERRUPTED" if interrupted else ""), markup=False)
    sys.exit(exitcodes.for_cells(list(found.values()), mismatches=bool(doc["mismatches"]),
                                 interrupted=interrupted))


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
            b += (str(v.executions) + ("" if e is None or not v.finished
                                       else " ✓" if e == v.status else " ✗")).center(cw)
        lines += [a.rstrip(), b.rstrip()]
    out.print("\n".join(lines), markup=False)
    out.print("")
    for i, s in enumerate(sn):
        out.print(f"S{i + 1} = {s}", markup=False)
    out.print("first line: verdict (ok: every interleaving explored; ok≤K: every schedule with at most K "
              "preemptions explored; ok?: a budget ran out; otherwise the violation found); second line: "
              "executions explored, ✓/✗ = matches/differs from the scenario's [expect]", markup=False)
    shown = {v.short() for v, _ in cells.values()}
    extra = [text for key, text in (("ok~", "ok~: every sampled run asked for made, no violation"),
                                    ("cut", "cut: stopped by Ctrl-C part way, no verdict"),
                                    ("died", "died: its worker process died, no verdict"))
             if key in shown] + (["-: never run"] if len(cells) < len(dn) * len(sn) else [])
    if extra:
        out.print("; ".join(extra), markup=False)


def _distinct_traces(ds, ss, cells, time_limit=None):
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
    return [(f"{d.name} on {s.name}: {v.status}", _trace_text(d, s, v, False, time_limit))
            for d, s, v in best.values()]


@main.command("hunt")
@click.option("--design", "-d", "hunt_designs", multiple=True,
              help="A design to hunt (repeatable; default: swapcache).")
@click.option("--time-limit", type=click.FloatRange(1), default=None, help="Seconds (default: until Ctrl-C).")
@click.option("--workers", type=click.IntRange(1), default=1, show_default=True,
              help="Worker processes on this machine (or Dask workers with --scheduler local).")
@click.option("--scheduler", help="A Dask scheduler, tcp://HOST:8786, or 'local' for a LocalCluster.")
@click.option("--store", "store_path", type=click.Path(dir_okay=False), default=".swaplab/hunt.db",
              show_default=True, help="The SQLite store; a hunt resumes from it.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the mutations.")
@click.option("--bound", default="2,2,1,1", show_default=True,
              help="T,K,P,S: threads, ops per thread, pages, slots of the exhaustive enumeration.")
@click.option("--max-scenarios", type=click.IntRange(1), default=None, help="Stop after this many scenarios.")
@click.option("--seeds", "seed_specs", multiple=True,
              help="Start the corpus from: builtin, history, none, a .toml file or a directory (repeatable; "
                   "default: builtin and history).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (docs/schema/hunt.json).")
@click.option("--report", is_flag=True, help="Show the findings in the store; hunt nothing.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False), help="With --report: also write HTML.")
@click.option("--export-corpus", "export_dir", type=click.Path(file_okay=False),
              help="Write the store's corpus as TOML files into this directory; hunt nothing.")
def hunt_cmd(hunt_designs, time_limit, workers, scheduler, store_path, seed, bound, max_scenarios, seed_specs,
             as_json, report, html_file, export_dir):
    """Generate scenarios (every one up to a bound, then coverage-guided mutants) and check them."""
    from .hunt.cli import run_hunt
    try:
        code = run_hunt(designs=list(hunt_designs) or ["swapcache"], time_limit=time_limit, workers=workers,
                        scheduler=scheduler, store=store_path, seed=seed, bound=bound,
                        max_scenarios=max_scenarios, as_json=as_json, report=report, html_file=html_file,
                        export_dir=export_dir, seeds=list(seed_specs) or ["builtin", "history"])
    except ValueError as e:
        raise BadInput(str(e)) from None
    sys.exit(code)


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
@click.option("--perfetto", "perfetto_file", type=click.Path(dir_okay=False),
              help="Also write every run as Chrome trace-event JSON on the simulated clock (the first "
                   "20000 steps of each run).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def bench_cmd(workloads, design_list, seed, hz, cpus, costs_file, plot_dir, perfetto_file, as_json):
    """Timed simulation: what each design costs in fault latency, retries and throughput."""
    from .sim.bench import run_bench
    from .sim.costs import CostError, load_costs
    from .sim.workloads import WORKLOADS
    output_dir(plot_dir, "--plot")
    output_file(perfetto_file, "--perfetto")
    try:
        costs = load_costs(costs_file, hz=int(hz) if hz else None, cpus=cpus)
    except CostError as e:
        raise BadInput(str(e)) from None
    ds = [_load(n)[0] for n in (split_names(design_list, "designs") or list(DESIGNS))]
    wls = list(dict.fromkeys(workloads)) or list(WORKLOADS)
    docs = []
    from .report.perfetto import StepRecorder, trace_json
    recorders = []
    interrupted = False
    try:
        with _CellProgress("bench", len(ds) * len(wls), not as_json) as bar:
            for w in wls:
                results = []
                for d in ds:
                    bar.at(f"{w} × {d.name}")
                    rec = StepRecorder(f"{w} × {d.name}") if perfetto_file else None
                    results.append(run_bench(d, w, costs, seed=seed, recorder=rec))
                    if rec is not None:
                        recorders.append(rec)
                    bar.advance()
                docs.append((w, results))
    except KeyboardInterrupt:
        interrupted = True
        err.print("interrupted: showing the workloads finished so far")
    if as_json:
        click.echo(json.dumps({"hz": costs.hz, "cpus": costs.cpus, "seed": seed, "interrupted": interrupted,
                               "workloads": {w: [r.to_json() for r in rs] for w, rs in docs}}, indent=1))
    for w, results in docs:
        if not as_json:
            _print_bench(w, results, costs)
        if plot_dir:
            from .sim.plots import write_plots
            files = write_plots(results, w, plot_dir)
            if not as_json:
                out.print("plots: " + ", ".join(files), markup=False)
    if perfetto_file:
        write_atomic(perfetto_file, trace_json([r.finish() for r in recorders]))
        if not as_json:
            out.print(f"Perfetto trace written to {perfetto_file}", markup=False)
    if interrupted:
        sys.exit(exitcodes.INTERRUPTED)
    if any(r.outcome.startswith("model-error") for _, rs in docs for r in rs):
        sys.exit(exitcodes.BAD_INPUT)       # a design raised: its figures mean nothing


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


@main.command("mutants")
@click.option("--design", "-d", "design_name", default="swapcache", show_default=True,
              help="The design the mutants patch (a built-in design or path/to/file.py:Class).")
@click.option("--scenarios", "scenario_specs", multiple=True,
              help="Scenarios: comma-separated built-in names, .toml files, directories of .toml files "
                   "(a hunt corpus) or 'builtin' (the library; the default). Repeatable.")
@click.option("--only", "only", multiple=True,
              help="Mutate only this function (MODULE.func or func) or module (swapfile). Repeatable.")
@click.option("--operators", "operator_list", help="Comma-separated operators (default: all).")
@click.option("--mutant", "mutant_ids", multiple=True,
              help="Run only these mutants (comma-separated ids, as --list prints them; repeatable), e.g. the "
                   "survivors of an earlier run against a new scenario.")
@click.option("--time-limit", type=click.FloatRange(0.1), default=30.0, show_default=True,
              help="Seconds per (mutant, scenario), both phases together: a safety net, budgets are executions.")
@click.option("--mutant-time-limit", type=click.FloatRange(0.1), default=None,
              help="Seconds per mutant over all its scenarios (default: no limit); the scenarios left "
                   "unsearched are named in the log.")
@click.option("--max-executions", type=click.IntRange(1), default=5000, show_default=True,
              help="Executions of the stateful search per (mutant, scenario).")
@click.option("--bounded-executions", type=click.IntRange(1), default=1000, show_default=True,
              help="Executions of the first, preemption-bounded search per (mutant, scenario).")
@click.option("--jobs", "-j", type=click.IntRange(1), default=1, show_default=True,
              help="Mutants checked at once, one process each.")
@click.option("--equivalents", "equivalents_file", type=click.Path(dir_okay=False),
              help="The file of mutants decided equivalent (default: the one in swaplab/mutate).")
@click.option("--baseline-time-limit", type=click.FloatRange(0.1), default=120.0, show_default=True,
              help="Seconds for the unmutated design's search of each scenario.")
@click.option("--baseline-cache", "baseline_cache", type=click.Path(dir_okay=False),
              default=".swaplab/mutants-baselines.json", show_default=True,
              help="Keep the unmutated design's searches here, keyed by scenario, design and source hash, "
                   "and reuse them in later runs.")
@click.option("--no-baseline-cache", is_flag=True, help="Search every baseline again and keep none.")
@click.option("--log", "log_file", type=click.Path(dir_okay=False),
              help="Append each mutant's result to this file as one JSON line as soon as it is known.")
@click.option("--from-log", "from_log", type=click.Path(dir_okay=False), multiple=True,
              help="Score the results --log runs wrote (with the current equivalents file) instead of running; "
                   "repeatable: a mutant caught in any run is caught.")
@click.option("--list", "list_only", is_flag=True, help="List the mutants and exit.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def mutants_cmd(design_name, scenario_specs, only, operator_list, mutant_ids, time_limit, mutant_time_limit,
                max_executions, bounded_executions, jobs, equivalents_file, baseline_time_limit, baseline_cache,
                no_baseline_cache, log_file, from_log, list_only, as_json):
    """Mutation adequacy: mutate the kernel model, check every scenario against each mutant, score."""
    from . import mutate
    from .mutate.campaign import LogError, resolve_scenarios, results_from_logs, run_campaign
    from .mutate.score import EQUIVALENT_FILE
    from .mutate.source import kernel_functions
    from .report import mutants as report
    design, _ = _load(design_name)
    operators = tuple(o.strip() for o in operator_list.split(",")) if operator_list else None
    bad = [o for o in operators or () if o not in mutate.OPERATORS]
    if bad:
        raise BadInput(f"no operator {bad[0]!r}: choose among {', '.join(mutate.OPERATORS)}")
    fns = kernel_functions()
    keys = {f.key for f in fns} | {f.name for f in fns} | {f.module for f in fns}
    for o in only:
        if o not in keys:
            raise BadInput(f"--only {o}: no such kernel function or module; give MODULE.func, e.g. "
                           "memory.do_swap_page, or a module, e.g. swapfile (`swaplab mutants --list` shows them)")
    ids = [i.strip() for spec in mutant_ids for i in spec.split(",") if i.strip()]
    for i in ids:
        try:
            mutate.parse_id(i)
        except mutate.MutantError as e:
            raise BadInput(f"--mutant: {e}") from None
    if list_only:
        ms = mutate.generate(list(only) or None, **({"operators": operators} if operators else {}))
        if ids:
            ms = [m for m in ms if m.id in set(ids)]
        if as_json:
            click.echo(json.dumps([dict(m.to_json(), applies=mutate.applies_to(m, design)) for m in ms], indent=1))
        else:
            for m in ms:
                out.print(f"{m.id:48} {m.describe()}" + ("" if mutate.applies_to(m, design) else
                                                          f"  (not run: {design.name} overrides it)"), markup=False)
        return
    try:
        equivalents = mutate.load_equivalents(equivalents_file or EQUIVALENT_FILE)
        if from_log:
            stale_lines: list = []
            results = results_from_logs(list(from_log), stale_lines)
        else:
            scenarios = resolve_scenarios(list(scenario_specs))
    except (mutate.EquivalentsError, ScenarioError, LogError) as e:
        raise BadInput(str(e)) from None
    if from_log:
        sc = mutate.score(results, equivalents, all_ids={m.id: m for m in mutate.generate()})
        if as_json:
            click.echo(json.dumps(report.json_doc(results, equivalents, sc, [], [], {
                "from_logs": list(from_log),
                "stale_log_lines": [{"where": w, "id": i, "site_then": a, "site_now": b}
                                    for w, i, a, b in stale_lines]}), indent=1))
        else:
            out.print(report.text_report(results, equivalents, sc, [], [], [f"scored from {', '.join(from_log)}"]
                                         + report.stale_log_notes(stale_lines)), markup=False)
        sys.exit(1 if sc.wrong_equivalents else 0)
    budget = mutate.Budget(bounded_executions=bounded_executions, stateful_executions=max_executions,
                           time_limit=time_limit, mutant_time_limit=mutant_time_limit)
    from .mutate.baseline_cache import BaselineCache
    cache = BaselineCache(None if no_baseline_cache else baseline_cache)
    bar = _CellProgress("mutants", 0, not as_json)
    log = open(log_file, "a", encoding="utf-8") if log_file else None
    with bar:
        def baselines_done(c):
            if bar.prog:
                bar.prog.update(bar.task, total=len(c.mutants))

        def done(i, r):
            bar.at(r.mutant.id)
            bar.advance()
            if log:
                log.write(json.dumps(r.to_json()) + "\n")
                log.flush()
        c = run_campaign(design, scenarios, only=list(only) or None, operators=operators, ids=ids, budget=budget,
                         jobs=jobs, baseline_time_limit=baseline_time_limit, baseline_cache=cache,
                         on_baselines=baselines_done,
                         on_done=done)
    if log:
        log.close()
    sc = c.score(equivalents)
    base = [c.baselines[s.name] for s in scenarios if s.name in c.baselines]
    notes = [f"{len(c.results)} of {len(c.mutants)} mutants of {design.name} in {c.seconds:.1f}s ({jobs} at a time; "
             f"baselines {c.baseline_seconds:.1f}s); per (mutant, scenario): bounded search up to "
             f"{budget.preemptions} preemptions and {budget.bounded_executions} executions, then stateful DPOR up "
             f"to {budget.stateful_executions} executions; {budget.time_limit:g}s at most"
             + (f"; {mutant_time_limit:g}s per mutant at most." if mutant_time_limit else ".")]
    if cache.hits:
        notes.append(f"{cache.hits} of {len(scenarios)} baselines reused from {baseline_cache}.")
    if c.not_applicable:
        notes.append(f"{len(c.not_applicable)} mutants not run: {design.name} overrides their functions.")
    if c.interrupted:
        notes.append("INTERRUPTED: the score covers only the mutants finished before Ctrl-C.")
    if as_json:
        meta = {"design": design.name, "date": time.strftime("%Y-%m-%d", time.gmtime()),
                "budget": budget.to_json(), "seconds": round(c.seconds, 1),
                "baseline_seconds": round(c.baseline_seconds, 1), "jobs": jobs, "interrupted": c.interrupted,
                "not_applicable": [m.id for m in c.not_applicable]}
        click.echo(json.dumps(report.json_doc(c.results, equivalents, sc, base, c.excluded, meta), indent=1))
    else:
        out.print(report.text_report(c.results, equivalents, sc, base, c.excluded, notes), markup=False)
    sys.exit(1 if c.interrupted or sc.wrong_equivalents else 0)


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
