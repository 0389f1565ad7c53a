"""A whole mutation run, as `swaplab mutants` does it: which scenarios, the baselines, every
mutant, the score.  A thin layer over the modules beside it (like verify.py over the engine)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from ..scenarios import ScenarioError, builtin_names, get_scenario, load_scenario
from .mutants import Mutant, applies_to, generate
from .reach import Baseline, baseline
from .run import Budget, MutantResult, run_mutants
from .score import Score, score

BUILTIN = "builtin"      # --scenarios keyword: the built-in library


def resolve_scenarios(specs: list[str]) -> list:
    """Scenario objects for ``specs``: each a comma-separated list of built-in names, .toml files,
    directories (every .toml file in it, sorted: a hunt corpus) or ``builtin``.  Duplicates (by
    name) are kept once.  Raises ScenarioError (file, line, fix) on bad input."""
    out, seen = [], set()

    def add(s):
        if s.name not in seen:
            seen.add(s.name)
            out.append(s)
    for spec in specs or [BUILTIN]:
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            if part == BUILTIN:
                for n in builtin_names():
                    add(get_scenario(n))
            elif Path(part).is_dir():
                files = sorted(Path(part).glob("*.toml"))
                if not files:
                    raise ScenarioError(part, None, "the directory holds no .toml scenario files: give a "
                                        "directory of scenarios (e.g. one `swaplab hunt --export-corpus` wrote)")
                for f in files:
                    add(load_scenario(f))
            else:
                add(get_scenario(part))
    return out


def run_baselines(design: type, scenarios: list, *, time_limit: float, max_executions: int,
                  jobs: int = 1) -> dict[str, Baseline]:
    """The unmutated design on every scenario, ``jobs`` at a time."""
    if jobs <= 1 or len(scenarios) <= 1:
        return {s.name: baseline(design, s, time_limit=time_limit, max_executions=max_executions)
                for s in scenarios}
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("fork")) as pool:
        futures = {s.name: pool.submit(baseline, design, s, time_limit=time_limit, max_executions=max_executions)
                   for s in scenarios}
        return {n: f.result() for n, f in futures.items()}


@dataclass
class Campaign:
    design: type
    scenarios: list
    mutants: list[Mutant]
    budget: Budget
    baselines: dict[str, Baseline] = field(default_factory=dict)
    results: list[MutantResult] = field(default_factory=list)
    excluded: list[tuple[str, str]] = field(default_factory=list)   # (scenario, why)
    not_applicable: list[Mutant] = field(default_factory=list)      # the design overrides the function
    interrupted: bool = False
    seconds: float = 0.0
    baseline_seconds: float = 0.0

    def score(self, equivalents: dict[str, str]) -> Score:
        all_ids = {m.id for m in generate()}
        return score(self.results, equivalents, all_ids=all_ids)


def run_campaign(design: type, scenarios: list, *, only=None, operators=None, budget: Budget,
                 baseline_time_limit: float = 120.0, baseline_executions: int = 100000, jobs: int = 1,
                 on_baselines=None, on_done=None) -> Campaign:
    t0 = time.perf_counter()
    kw = {"operators": operators} if operators else {}
    every = generate(only, **kw)
    mutants = [m for m in every if applies_to(m, design)]
    c = Campaign(design, scenarios, mutants, budget,
                 not_applicable=[m for m in every if not applies_to(m, design)])
    try:
        c.baselines = run_baselines(design, scenarios, time_limit=baseline_time_limit,
                                    max_executions=baseline_executions, jobs=jobs)
        c.baseline_seconds = time.perf_counter() - t0
        for s in scenarios:
            b = c.baselines[s.name]
            if b.verdict != "ok":
                c.excluded.append((s.name, f"{design.name} itself fails it ({b.verdict}): it cannot tell a "
                                           "mutant from the original"))
        if on_baselines:
            on_baselines(c)
        done: dict[int, MutantResult] = {}

        def record(i, r):
            done[i] = r
            if on_done:
                on_done(i, r)
        try:
            run_mutants(mutants, design, scenarios, c.baselines, budget, jobs=jobs, on_done=record)
        finally:
            c.results = [done[i] for i in sorted(done)]
    except KeyboardInterrupt:
        c.interrupted = True
    c.seconds = time.perf_counter() - t0
    return c
