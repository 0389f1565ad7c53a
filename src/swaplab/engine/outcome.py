"""What a search returns: outcomes of executions, statistics, the verdict."""
from __future__ import annotations

from dataclasses import dataclass, field

from .schedule import Schedule

# Outcome kinds the engine itself produces.  Model code adds its own (data-loss, ...).
DEADLOCK = "deadlock"
LIVELOCK = "livelock"
CRASH = "crash"            # a BUG the model itself reports (Violation("crash", ...))
MODEL_ERROR = "model-error"  # model code raised a Python exception or broke the engine's contract
STEP_BOUND = "step-bound"  # the execution ran longer than max_steps (a thread loops)


@dataclass
class Outcome:
    """A failed execution: what went wrong, and the schedule that reproduces it."""
    kind: str
    message: str
    schedule: Schedule | None = None
    step: int = 0                  # index of the step at which it was detected
    preemptions: int = 0
    detail: list[str] = field(default_factory=list)
    thread: str = ""               # the thread that failed (model-error) or looped (step-bound)
    # where that thread was: (file, line, function) of its model frames, outermost first
    where: list[tuple[str, int, str]] = field(default_factory=list)
    minimal: bool | None = None    # minimization: None not tried, True done, False cut short

    def signature(self) -> tuple:
        return (self.kind, self.message)


@dataclass
class Stats:
    executions: int = 0
    steps: int = 0
    sleep_blocked: int = 0         # DPOR executions cut short because every thread slept
    cut_known: int = 0             # stateful: executions ended at a state explored before
    final_states: set = field(default_factory=set)
    seconds: float = 0.0
    complete: bool = False
    interrupted: bool = False
    stopped_by: str = ""           # "", "max-executions", "time-limit", "interrupt", "first-violation"
    #                                ("" with complete False: the strategy ran the executions asked for)

    @property
    def distinct_final_states(self) -> int:
        return len(self.final_states)

    def to_json(self) -> dict:
        return {
            "executions": self.executions,
            "steps": self.steps,
            "sleep_blocked": self.sleep_blocked,
            "cut_at_known_state": self.cut_known,
            "distinct_final_states": self.distinct_final_states,
            "seconds": round(self.seconds, 3),
            "complete": self.complete,
            "stopped_by": self.stopped_by,
        }


@dataclass
class SearchResult:
    strategy: str
    stats: Stats
    violations: list[Outcome] = field(default_factory=list)
    bound: int | None = None       # preemption bound the verdict holds for (bounded search)
    guarantee: str = ""            # e.g. PCT's per-run probability
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def verdict(self) -> str:
        if self.violations:
            return "violation"
        if self.stats.complete:
            return "no violation" + (f" (up to {self.bound} preemptions)" if self.bound is not None else "")
        return "no violation found (search incomplete)"
