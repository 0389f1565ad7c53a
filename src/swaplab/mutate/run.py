"""Run mutants against scenarios: is each one caught?

For one mutant (a patched design), the scenarios that can tell it apart (the unmutated design
passes them, and their baseline search calls the mutated function) are searched in two phases,
cheapest scenario first, stopping at the first catch:

1. preemption-bounded search (up to 2 preemptions) on every scenario: most mutants break the
   model on the first schedules it runs;
2. only if none caught it: stateful DPOR on every scenario the first phase did not explore
   completely.

A catch is any failed execution: a violation of the oracle, a crash (a kernel BUG, a model
error, an exception in the mutated code), a deadlock or a livelock.  Budgets are executions per
search (so a run is reproducible whatever else the machine does) plus a time limit per
(mutant, scenario) as a safety net; a search a budget stopped is incomplete.  Verdicts:

``caught``     some scenario failed;
``survived``   no failure, and at least one scenario that reaches the function was explored
               completely (every interleaving, or every schedule of the bounded search);
``timeout``    no failure, and every search that could have failed was stopped by a budget;
``unreached``  no scenario's baseline search calls the function.

For a mutant that is not caught, each complete search also says whether the mutant reaches the
same final states as the unmutated design (pages, PTEs, swap_map: the state fingerprint).  Same
states everywhere suggests an equivalent mutant; different states that the oracle accepts show
what the oracle cannot see (a pageout that silently does nothing is safe).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..engine import explore
from ..kernel import make_program
from .mutants import Mutant, patched_design
from .reach import Baseline, digests

CAUGHT, SURVIVED, TIMEOUT, UNREACHED = "caught", "survived", "timeout", "unreached"


@dataclass
class Budget:
    preemptions: int = 2            # bound of the first phase
    bounded_executions: int = 1000  # per scenario, first phase
    stateful_executions: int = 5000     # per scenario, second phase
    time_limit: float = 30.0        # seconds per (mutant, scenario), both phases together
    # Steps per execution: the built-in scenarios' executions take a few hundred; a mutant that
    # loops forever (a check that always retries) is a step-bound failure, found sooner with a
    # lower bound (the time limit is only checked between executions).
    max_steps: int = 5000
    # Seconds per mutant over all its scenarios (None: no limit).  A survivor is searched on every
    # scenario that reaches its function, which is most of a run's time; past this limit the
    # scenarios not searched yet (the most expensive: they come last) are named in the result.
    mutant_time_limit: float | None = None

    def to_json(self) -> dict:
        return {"preemptions": self.preemptions, "bounded_executions": self.bounded_executions,
                "stateful_executions": self.stateful_executions, "time_limit": self.time_limit,
                "max_steps": self.max_steps, "mutant_time_limit": self.mutant_time_limit}


@dataclass
class Search:
    scenario: str
    phase: str                      # "bounded" or "stateful"
    verdict: str                    # "ok" or the failure kind
    complete: bool
    executions: int
    seconds: float
    stopped_by: str = ""
    same_finals: bool | None = None     # complete: the same final states as the baseline?

    def to_json(self) -> dict:
        return {"scenario": self.scenario, "phase": self.phase, "verdict": self.verdict,
                "complete": self.complete, "executions": self.executions,
                "seconds": round(self.seconds, 3), "stopped_by": self.stopped_by,
                "same_final_states": self.same_finals}


@dataclass
class MutantResult:
    mutant: Mutant
    design: str
    status: str
    caught_by: dict | None = None   # scenario, phase, kind, message, preemptions
    searches: list[Search] = field(default_factory=list)
    seconds: float = 0.0
    # (scenario, phase) pairs the mutant's time limit left unsearched
    not_searched: list = field(default_factory=list)

    @property
    def changes_final_states(self) -> bool | None:
        """Not caught, yet some complete search ended in final states the unmutated design
        never reaches (None: no complete search to compare)."""
        seen = [s.same_finals for s in self.searches if s.same_finals is not None]
        return None if not seen else not all(seen)

    def to_json(self) -> dict:
        return {**self.mutant.to_json(), "design": self.design, "status": self.status,
                "caught_by": self.caught_by, "seconds": round(self.seconds, 2),
                "changes_final_states": self.changes_final_states,
                "searches": [s.to_json() for s in self.searches],
                "not_searched": [{"scenario": n, "phase": p} for n, p in self.not_searched]}


def _search(program, scenario: str, phase: str, budget: Budget, executions: int, seconds: float):
    """(the search, what caught the mutant or None, the final states if it was complete)."""
    t0 = time.perf_counter()
    try:
        r = explore(program, phase, max_executions=executions, time_limit=max(0.05, seconds),
                    preemptions=budget.preemptions, max_steps=budget.max_steps, minimize=False)
    except KeyboardInterrupt:
        raise
    except Exception as e:  # the mutated code broke the engine itself: that, too, is a catch
        return Search(scenario, phase, "crash", False, 0, time.perf_counter() - t0, "error"), \
            {"kind": "crash", "message": f"the search failed: {type(e).__name__}: {e}", "preemptions": None}, None
    st = r.stats
    if st.interrupted:
        raise KeyboardInterrupt
    complete = bool(st.complete)
    if r.violations:
        v = r.violations[0]
        return Search(scenario, phase, v.kind, False, st.executions, st.seconds, st.stopped_by), \
            {"kind": v.kind, "message": v.message, "preemptions": v.preemptions}, None
    return Search(scenario, phase, "ok", complete, st.executions, st.seconds, st.stopped_by), None, \
        (digests(st.final_states) if complete else None)


def run_mutant(m: Mutant, design: type, scenarios: list, baselines: dict[str, Baseline],
               budget: Budget) -> MutantResult:
    """Search ``scenarios`` (those ``baselines`` says the unmutated design passes and may reach
    the function, cheapest first) under ``m`` applied to ``design``."""
    t0 = time.perf_counter()
    res = MutantResult(m, design.name, UNREACHED)
    usable = [s for s in scenarios if baselines[s.name].verdict == "ok" and baselines[s.name].may_reach(m.key)]
    if not usable:
        return res
    usable.sort(key=lambda s: (baselines[s.name].seconds, s.name))
    patched = patched_design(m, design)
    spent: dict[str, float] = {}
    complete: set[str] = set()
    for phase in ("bounded", "stateful"):
        for s in usable:
            if s.name in complete:
                continue
            left = budget.time_limit - spent.get(s.name, 0.0)
            if phase == "bounded":
                # the first phase may use a quarter of the scenario's time
                left = budget.time_limit / 4
            if left <= 0.05:
                continue
            if budget.mutant_time_limit is not None and time.perf_counter() - t0 >= budget.mutant_time_limit:
                res.not_searched.append((s.name, phase))
                continue
            if budget.mutant_time_limit is not None:    # the last search may not overrun it by much
                left = min(left, max(0.1, budget.mutant_time_limit - (time.perf_counter() - t0)))
            executions = budget.bounded_executions if phase == "bounded" else budget.stateful_executions
            search, caught, finals = _search(make_program(patched, s), s.name, phase, budget, executions, left)
            b = baselines[s.name]
            if finals is not None and b.complete:
                search.same_finals = finals == b.finals
            res.searches.append(search)
            spent[s.name] = spent.get(s.name, 0.0) + search.seconds
            if caught is not None:
                res.status = CAUGHT
                res.caught_by = {"scenario": s.name, "phase": phase, **caught}
                res.seconds = time.perf_counter() - t0
                return res
            if search.complete:
                complete.add(s.name)
    res.status = SURVIVED if complete else TIMEOUT
    res.seconds = time.perf_counter() - t0
    return res


# --- many mutants --------------------------------------------------------------------------------
_JOB: dict = {}            # what the forked workers need, set before they start


def _run_one(i: int) -> tuple[int, MutantResult]:
    j = _JOB
    return i, run_mutant(j["mutants"][i], j["design"], j["scenarios"], j["baselines"], j["budget"])


def _quiet_worker() -> None:
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the parent decides what stops


def run_mutants(mutants: list[Mutant], design: type, scenarios: list, baselines: dict[str, Baseline],
                budget: Budget, *, jobs: int = 1, on_done=None) -> dict[int, MutantResult]:
    """Run every mutant, ``jobs`` at a time in worker processes.  ``on_done(i, result)`` as each
    finishes.  Ctrl-C stops the workers and raises KeyboardInterrupt after reporting what
    finished."""
    out: dict[int, MutantResult] = {}
    if jobs <= 1 or len(mutants) <= 1:
        for i, m in enumerate(mutants):
            out[i] = run_mutant(m, design, scenarios, baselines, budget)
            if on_done:
                on_done(i, out[i])
        return out
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed
    _JOB.update(mutants=mutants, design=design, scenarios=scenarios, baselines=baselines, budget=budget)
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("fork"), initializer=_quiet_worker)
    futures = []
    try:
        futures = [pool.submit(_run_one, i) for i in range(len(mutants))]
        for f in as_completed(futures):
            i, r = f.result()
            out[i] = r
            if on_done:
                on_done(i, r)
    except KeyboardInterrupt:
        for f in futures:
            f.cancel()
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return out
