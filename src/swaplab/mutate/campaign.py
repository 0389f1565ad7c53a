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
                  max_steps: int, jobs: int = 1, cache=None) -> dict[str, Baseline]:
    """The unmutated design on every scenario, ``jobs`` at a time; those ``cache`` (a
    BaselineCache) holds are taken from it, the others searched and added to it."""
    kw = {"time_limit": time_limit, "max_executions": max_executions, "max_steps": max_steps}
    out: dict[str, Baseline] = {}
    todo = []
    for s in scenarios:
        b = cache.get(design, s, **kw) if cache is not None else None
        if b is not None:
            out[s.name] = b
        else:
            todo.append(s)
    if jobs <= 1 or len(todo) <= 1:
        for s in todo:
            out[s.name] = baseline(design, s, **kw)
            if cache is not None:       # kept as soon as it is known: a later Ctrl-C loses nothing
                cache.put(design, s, out[s.name], **kw)
                cache.save()
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("fork")) as pool:
            futures = {s.name: (s, pool.submit(baseline, design, s, **kw)) for s in todo}
            for n, (s, f) in futures.items():
                out[n] = f.result()
                if cache is not None:
                    cache.put(design, s, out[n], **kw)
        if cache is not None:
            cache.save()
    return {s.name: out[s.name] for s in scenarios}


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
        all_ids = {m.id: m for m in generate()}
        return score(self.results, equivalents, all_ids=all_ids)


def run_campaign(design: type, scenarios: list, *, only=None, operators=None, ids=None, budget: Budget,
                 baseline_time_limit: float = 120.0, baseline_executions: int = 100000, jobs: int = 1,
                 baseline_cache=None, on_baselines=None, on_done=None) -> Campaign:
    t0 = time.perf_counter()
    kw = {"operators": operators} if operators else {}
    every = generate(only, **kw)
    if ids:                             # --mutant: just these (e.g. the survivors of a run)
        wanted = set(ids)
        every = [m for m in every if m.id in wanted]
    mutants = [m for m in every if applies_to(m, design)]
    c = Campaign(design, scenarios, mutants, budget,
                 not_applicable=[m for m in every if not applies_to(m, design)])
    try:
        c.baselines = run_baselines(design, scenarios, time_limit=baseline_time_limit,
                                    max_executions=baseline_executions, max_steps=budget.max_steps, jobs=jobs,
                                    cache=baseline_cache)
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


class LogError(Exception):
    """A --log file that cannot be read back; str() names the file, the line and the fix."""


# How much a verdict says, to merge runs: a catch anywhere is a catch.
_RANK = {"caught": 3, "survived": 2, "timeout": 1, "unreached": 0}


def results_from_logs(paths: list[str], stale: list | None = None) -> list[MutantResult]:
    """The results ``swaplab mutants --log FILE`` runs wrote, one JSON line per mutant, to score
    again (after equivalent.toml changed) without running the mutants again.  Several logs
    (runs over different scenarios, e.g. the built-in library and the scenarios written for its
    survivors) merge: a mutant caught in any run is caught; otherwise survived beats timeout
    beats unreached, and the searches of every run are kept.

    A line whose id names another site today than when it was written (the kernel function was
    edited since: ids count sites in source order) is not a result for today's mutant: it is
    left out, and ``(file:line, id, the site then, the site now)`` is added to ``stale``."""
    out: dict[str, MutantResult] = {}
    for path in paths:
        for r in _read_log(path, stale):
            key = r.mutant.id + "/" + r.design
            old = out.get(key)
            if old is None:
                out[key] = r
                continue
            best, other = (r, old) if _RANK.get(r.status, 0) > _RANK.get(old.status, 0) else (old, r)
            best.searches = other.searches + best.searches if best is r else best.searches + other.searches
            best.seconds = old.seconds + r.seconds
            out[key] = best
    return list(out.values())


def _read_log(path: str, stale: list | None = None) -> list[MutantResult]:
    import json
    from .mutants import MutantError, parse_id
    from .run import Search
    from .score import _ID
    out = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise LogError(f"{path}: cannot read it: {e}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            then = str(d.get("description", "")).split(" ", 1)[-1]
            try:
                m = parse_id(d["id"])
            except MutantError:
                if not (isinstance(d["id"], str) and _ID.match(d["id"])):
                    raise
                if stale is not None:       # the function, or this site of it, is gone
                    stale.append((f"{path}:{n}", d["id"], then, "no such site"))
                continue
            if then != m.what:
                if stale is not None:
                    stale.append((f"{path}:{n}", m.id, then, m.what))
                continue
            out.append(MutantResult(m, d["design"], d["status"], d.get("caught_by"),
                                    [Search(s["scenario"], s["phase"], s["verdict"], s["complete"], s["executions"],
                                            s["seconds"], s.get("stopped_by", ""), s.get("same_final_states"))
                                     for s in d.get("searches", [])], d.get("seconds", 0.0),
                                    [(x["scenario"], x["phase"]) for x in d.get("not_searched", [])]))
        except (ValueError, KeyError, TypeError, MutantError) as e:
            raise LogError(f"{path}:{n}: not a line `swaplab mutants --log` writes ({type(e).__name__}: {e}); "
                           "give the file a --log run wrote") from None
    return out
