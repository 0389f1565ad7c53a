"""Which kernel functions a scenario reaches, and whether the design under test passes it.

A mutant changes one function, so until that function is first called a mutated run is the
unmutated run step for step: a scenario whose complete search never calls the function cannot
catch the mutant, and need not be searched again for it.  The baseline search also says
whether the unmutated design passes the scenario at all: a scenario it already fails cannot tell
a mutant from the original, and is left out (and reported).
"""
from __future__ import annotations

import functools
import hashlib
import time
from dataclasses import dataclass, field

from ..engine import explore
from ..kernel import make_program
from .source import kernel_functions


@dataclass
class Baseline:
    """The unmutated design on one scenario."""
    scenario: str
    verdict: str                   # "ok" or the violation kind
    complete: bool                 # the search explored every interleaving
    reached: frozenset = field(default_factory=frozenset)   # kernel function keys called
    finals: frozenset = field(default_factory=frozenset)    # digests of the final states (when complete)
    seconds: float = 0.0
    executions: int = 0

    def may_reach(self, key: str) -> bool:
        """Could a mutant of ``key`` behave differently here?  When the search was incomplete
        an unreached function may still be reachable: assume it is."""
        return key in self.reached or not self.complete

    def to_json(self) -> dict:
        return {"scenario": self.scenario, "verdict": self.verdict, "complete": self.complete,
                "seconds": round(self.seconds, 2), "executions": self.executions,
                "functions_reached": len(self.reached), "final_states": len(self.finals)}


def state_digest(state) -> str:
    """A short, process-independent name for a final state (the kernel's fingerprint: tuples of
    names, PTE dataclasses and ints, whose repr is deterministic), so baselines can be kept in a
    file and compared with a mutant's final states in another process."""
    return hashlib.sha256(repr(state).encode()).hexdigest()[:20]


def digests(states) -> frozenset:
    return frozenset(state_digest(s) for s in states)


def _recording(fn, key, seen):
    @functools.wraps(fn)
    def probe(*args, **kwargs):
        seen.add(key)
        return fn(*args, **kwargs)
    return probe


def probe_design(design: type, seen: set) -> type:
    """A subclass of ``design`` that adds to ``seen`` the key of every kernel function it calls
    (the design's own overrides are left alone: mutants never replace them).  The wrapper only
    records: a generator function's wrapper returns its generator, so the frames the search
    pictures are the kernel's own."""
    methods = {}
    for f in kernel_functions():
        original = f.original()
        if getattr(design, f.name, None) is original:
            methods[f.name] = _recording(original, f.key, seen)
    return type(f"{design.__name__}_probe", (design,), {**methods, "name": design.name, "__module__": __name__})


def baseline(design: type, scenario, *, time_limit: float, max_executions: int = 200000,
             max_steps: int = 5000) -> Baseline:
    """Search ``scenario`` completely under the unmutated ``design`` (stateful DPOR within the
    budget), recording the kernel functions called.  ``max_steps`` is the mutants' bound on an
    execution's length: a scenario the unmutated design cannot finish within it is failed here
    (step-bound) and left out, rather than let every mutant be "caught" by it."""
    seen: set = set()
    program = make_program(probe_design(design, seen), scenario)
    t0 = time.perf_counter()
    r = explore(program, "stateful", max_executions=max_executions, time_limit=time_limit, max_steps=max_steps,
                minimize=False)
    verdict = r.violations[0].kind if r.violations else "ok"
    complete = bool(r.stats.complete) and not r.violations
    return Baseline(scenario.name, verdict, complete, frozenset(seen),
                    digests(r.stats.final_states) if complete else frozenset(),
                    time.perf_counter() - t0, r.stats.executions)
