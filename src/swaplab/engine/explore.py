"""The search driver: runs executions as a strategy directs, collects outcomes and statistics,
minimizes counterexamples, replays schedules."""
from __future__ import annotations

import time

from .deadline import Deadline, TimeUp, watchdog
from .executor import Execution, Program
from .outcome import Outcome, SearchResult, Stats
from .schedule import Schedule
from .step import CHOICE
from .strategies import DFS, DPOR, PCT, Bounded, CachedDPOR, RandomWalk, Replay, Strategy

STRATEGIES = ("stateful", "dpor", "dfs", "bounded", "pct", "random")


def make_strategy(name: str, *, preemptions: int = 2, seed: int = 0, depth: int = 3,
                  executions: int = 1000) -> Strategy:
    if name == "stateful":
        return CachedDPOR()
    if name == "dpor":
        return DPOR()
    if name == "dfs":
        return DFS()
    if name == "bounded":
        return Bounded(preemptions)
    if name == "pct":
        return PCT(depth=depth, seed=seed, executions=executions)
    if name == "random":
        return RandomWalk(seed=seed, executions=executions)
    raise ValueError(f"unknown strategy {name!r}: choose one of {', '.join(STRATEGIES)}")


# Steps between two looks at the clock: a look costs ~60 ns, a step ~15 µs.
_CLOCK_EVERY = 64


def run_execution(program: Program, strategy: Strategy, *, max_steps: int = 20000,
                  tracing: bool = False, checking: bool = False,
                  deadline: Deadline | None = None, on_step=None) -> Execution:
    """Run one execution to its end, asking ``strategy`` for every decision.  When ``deadline``
    passes first, the execution stops where it is with ``timed_out`` set (and ``abandoned``:
    it proves nothing).  ``on_step(ex)``, if given, is called after every step (a report's
    snapshot of the state; the engine does not know what the program's state is)."""
    ex = Execution(program, tracing=tracing, checking=checking, max_steps=max_steps)
    if ex.finished:
        return ex
    try:
        _run(ex, strategy, deadline, on_step)
    except TimeUp:      # the watchdog stopped model code that did not yield
        ex.timed_out = ex.abandoned = True
    return ex


def _run(ex: Execution, strategy: Strategy, deadline: Deadline | None, on_step) -> None:
    threads = ex.threads
    timed = deadline is not None and deadline.at is not None
    while True:
        if timed and ex.seq % _CLOCK_EVERY == 0 and deadline.passed():
            ex.timed_out = ex.abandoned = True
            break
        en = ex.enabled()
        if not en:
            ex.finish()
            break
        tid = strategy.pick(ex, en)
        if tid is None:
            ex.abandoned = True
            break
        step = threads[tid].pending
        choice = strategy.choose(ex, tid, step.n) if step.kind == CHOICE else 0
        ex.execute(tid, choice)
        if on_step is not None:
            on_step(ex)
        if ex.outcome is not None:
            break


def schedule_of(ex: Execution, program: Program) -> Schedule:
    return Schedule(steps=list(ex.ev_tid), choices=dict(ex.choices),
                    threads=[t.name for t in ex.threads], meta={"program": program.name})


def explore(program: Program, strategy: str | Strategy = "dpor", *, max_executions: int | None = None,
            time_limit: float | None = None, max_steps: int = 20000, stop_on_first: bool = True,
            minimize: bool = True, minimize_budget: int = 20000, preemptions: int = 2, seed: int = 0,
            depth: int = 3, checking: bool = False, progress=None,
            progress_every: float = 0.25, deadline: Deadline | None = None) -> SearchResult:
    """Explore ``program``'s interleavings and return the verdict with statistics.

    ``progress(stats)`` is called about every ``progress_every`` seconds.  Ctrl-C ends the search
    cleanly: the result says it was interrupted and keeps what was found.  ``time_limit``
    (seconds from now) or ``deadline`` bounds the whole call, minimization included: it is
    checked between steps, and a watchdog interrupts model code that stops yielding
    (engine/deadline.py).  A counterexample whose minimization was cut short says so
    (``Outcome.minimal`` False).
    """
    deadline = Deadline.of(deadline, time_limit)
    with watchdog(deadline):
        return _explore(program, strategy, deadline, max_executions=max_executions,
                        max_steps=max_steps, stop_on_first=stop_on_first, minimize=minimize,
                        minimize_budget=minimize_budget, preemptions=preemptions, seed=seed,
                        depth=depth, checking=checking, progress=progress,
                        progress_every=progress_every)


def _explore(program, strategy, deadline: Deadline, *, max_executions, max_steps, stop_on_first,
             minimize, minimize_budget, preemptions, seed, depth, checking, progress,
             progress_every) -> SearchResult:
    if isinstance(strategy, str):
        strat = make_strategy(strategy, preemptions=preemptions, seed=seed, depth=depth,
                              executions=max_executions or 1000)
    else:
        strat = strategy
    stats = Stats()
    result = SearchResult(strategy=strat.describe(), stats=stats)
    seen: set = set()
    t0 = time.perf_counter()
    next_report = t0 + progress_every
    strat.start(program)
    try:
        while True:
            if max_executions is not None and stats.executions >= max_executions:
                stats.stopped_by = "max-executions"
                break
            if deadline.passed():
                stats.stopped_by = "time-limit"
                break
            if not strat.next_execution():
                stats.complete = strat.exhaustive
                break
            ex = run_execution(program, strat, max_steps=max_steps, checking=checking,
                               deadline=deadline)
            if ex.timed_out:
                stats.steps += ex.seq       # the cut execution is thrown away, its work counted
                stats.stopped_by = "time-limit"
                break
            stats.executions += 1
            stats.steps += ex.seq
            strat.finished(ex)
            if getattr(ex, "cut_at_known_state", False):
                stats.cut_known += 1
            elif ex.abandoned:
                stats.sleep_blocked += 1
            elif ex.outcome is not None:
                out = ex.outcome
                out.schedule = schedule_of(ex, program)
                if out.signature() not in seen:
                    seen.add(out.signature())
                    result.violations.append(out)
                if stop_on_first:
                    stats.stopped_by = "first-violation"
                    break
            else:
                stats.final_states.add(ex.final_state())
            if progress is not None:
                now = time.perf_counter()
                if now >= next_report:
                    stats.seconds = now - t0
                    progress(stats)
                    next_report = now + progress_every
    except KeyboardInterrupt:
        stats.interrupted = True
        stats.stopped_by = "interrupt"
        stats.complete = False
    except TimeUp:
        # model code ran past the deadline without yielding: that execution is thrown away
        stats.stopped_by = "time-limit"
        stats.complete = False
    stats.seconds = time.perf_counter() - t0
    reached = getattr(strat, "reached_final_states", None)
    if reached is not None:
        stats.final_states |= reached()
    if isinstance(strat, Bounded):
        # the highest bound whose every schedule was run (None: every schedule at all was run)
        result.bound = None if strat.saturated else (strat.levels_done[-1] if strat.levels_done else None)
        if strat.saturated:
            stats.complete = True
    if stats.stopped_by == "time-limit":
        stats.complete = False
    result.guarantee = strat.guarantee
    if minimize and result.violations and not stats.interrupted:
        shrunk = []
        try:
            for v in result.violations:
                shrunk.append(minimize_outcome(program, v, budget=minimize_budget, max_steps=max_steps,
                                               deadline=deadline))
        except KeyboardInterrupt:
            stats.interrupted = True
            result.notes.append("minimization interrupted: counterexamples are as found")
        for v in result.violations[len(shrunk):]:
            v.minimal = False
        result.violations = shrunk + result.violations[len(shrunk):]
        if any(v.minimal is False for v in result.violations):
            result.notes.append("a counterexample is not minimal: its minimization was cut short")
    if progress is not None:
        try:
            progress(stats)
        except KeyboardInterrupt:
            stats.interrupted = True
            stats.complete = False
    return result


def minimize_outcome(program: Program, found: Outcome, *, budget: int = 20000,
                     max_steps: int = 20000, deadline: Deadline | None = None) -> Outcome:
    """The same kind of failure with the fewest preemptions, then the fewest steps.

    Runs preemption-bounded search level by level (0, 1, ... up to the preemptions of ``found``)
    and keeps, at the first level where the failure appears, the shortest failing schedule.  If
    the budget of executions or the deadline runs out first, the shortest counterexample seen so
    far is kept with ``minimal`` False.
    """
    strat = Bounded(found.preemptions)
    strat.start(program)
    best: Outcome | None = None
    best_level = None
    runs = 0
    done = False
    while True:
        if runs >= budget or (deadline is not None and deadline.passed()):
            break
        if not strat.next_execution():
            done = True
            break
        if best is not None and strat.level > best_level:
            done = True
            break
        ex = run_execution(program, strat, max_steps=max_steps, deadline=deadline)
        if ex.timed_out:
            break
        runs += 1
        strat.finished(ex)
        out = ex.outcome
        if out is not None and not ex.abandoned and out.kind == found.kind:
            if best is None or ex.seq < len(best.schedule):
                out.schedule = schedule_of(ex, program)
                best, best_level = out, strat.level
    if best is None:
        found.minimal = False
        return found
    best.minimal = done
    if (best.preemptions, len(best.schedule)) <= (found.preemptions, len(found.schedule)):
        best.detail = best.detail or found.detail
        return best
    found.minimal = False
    return found


def replay(program: Program, schedule: Schedule, *, tracing: bool = True, max_steps: int = 20000,
           time_limit: float | None = None, deadline: Deadline | None = None, on_step=None):
    """Run ``schedule`` once.  Returns (execution, divergence message or None).  If the time
    limit passes first, the execution stops there and the message says so.  ``on_step(ex)`` is
    called after every step (see run_execution)."""
    deadline = Deadline.of(deadline, time_limit)
    strat = Replay(schedule)
    strat.start(program)
    strat.next_execution()
    with watchdog(deadline):
        ex = run_execution(program, strat, tracing=tracing, max_steps=max_steps, deadline=deadline,
                           on_step=on_step)
    if ex.timed_out:
        return ex, (f"step {ex.seq}: the time limit ran out before the schedule's "
                    f"{len(schedule)} steps were replayed")
    return ex, strat.divergence
