"""Replay a saved schedule step by step.  If the program diverges (the scheduled thread is not
enabled, or has finished), stop and say where: :attr:`divergence` explains it."""
from __future__ import annotations

from .base import Strategy


class Replay(Strategy):
    name = "replay"
    exhaustive = True

    def __init__(self, schedule):
        self.schedule = schedule

    def start(self, program) -> None:
        self.done = False
        self.divergence: str | None = None
        self.diverged_at: int | None = None

    def next_execution(self) -> bool:
        if self.done:
            return False
        self.done = True
        return True

    def pick(self, ex, enabled):
        d = ex.seq
        steps = self.schedule.steps
        if d >= len(steps):
            self.divergence = (f"the schedule ends after {len(steps)} steps but the program goes on "
                               f"(threads still runnable: {', '.join(ex.threads[t].name for t in enabled)})")
            self.diverged_at = d
            return None
        t = steps[d]
        if t >= len(ex.threads):
            self.divergence = f"step {d}: the schedule names thread {t}, but the program has {len(ex.threads)}"
            self.diverged_at = d
            return None
        if t not in enabled:
            th = ex.threads[t]
            if th.done:
                why = f"{th.name} has already finished"
            elif th.pending.kind == "retry":
                why = f"{th.name} is parked at '{th.pending.label}' (retrying would change nothing)"
            else:
                why = f"{th.name} is blocked at '{th.pending.label}'"
            recent = [r["label"] for r in ex.trace if r["tid"] == t][-5:] if ex.trace else []
            if recent:
                why += "; its last steps: " + " → ".join(recent)
            self.divergence = f"step {d}: {why}"
            self.diverged_at = d
            return None
        return t

    def choose(self, ex, tid, n):
        v = self.schedule.choices.get(ex.seq, 0)
        return v if 0 <= v < n else 0
