"""A schedule is data: which thread ran at each step, and the value of each choice.

It refers to threads by their index in creation order and to nothing that depends on memory
addresses or hash seeds, so it replays exactly in another process.  Stored as versioned JSON.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

SCHEDULE_VERSION = 1


class ScheduleError(ValueError):
    """A saved schedule could not be read."""


@dataclass
class Schedule:
    steps: list[int]                              # thread index of each step, in order
    choices: dict[int, int] = field(default_factory=dict)   # step index -> chosen value
    threads: list[str] = field(default_factory=list)        # thread names, for humans and checks
    meta: dict = field(default_factory=dict)     # free-form: program, design, scenario, verdict

    def to_json(self) -> dict:
        return {
            "format": "swaplab-schedule",
            "version": SCHEDULE_VERSION,
            "threads": list(self.threads),
            "steps": list(self.steps),
            "choices": {str(k): v for k, v in sorted(self.choices.items())},
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, doc: dict) -> "Schedule":
        if not isinstance(doc, dict) or doc.get("format") != "swaplab-schedule":
            raise ScheduleError("not a swaplab schedule (expected \"format\": \"swaplab-schedule\")")
        if doc.get("version") != SCHEDULE_VERSION:
            raise ScheduleError(f"schedule version {doc.get('version')!r} is not supported "
                                f"(this swaplab reads version {SCHEDULE_VERSION})")
        steps = doc.get("steps")
        if not isinstance(steps, list) or not all(isinstance(s, int) and s >= 0 for s in steps):
            raise ScheduleError("\"steps\" must be a list of thread indices (non-negative integers)")
        raw = doc.get("choices", {})
        if not isinstance(raw, dict):
            raise ScheduleError("\"choices\" must be an object mapping step index to value")
        try:
            choices = {int(k): int(v) for k, v in raw.items()}
        except (TypeError, ValueError):
            raise ScheduleError("\"choices\" keys and values must be integers") from None
        threads = doc.get("threads", [])
        if not isinstance(threads, list):
            raise ScheduleError("\"threads\" must be a list of names")
        meta = doc.get("meta", {})
        return cls(steps=steps, choices=choices, threads=[str(t) for t in threads],
                   meta=meta if isinstance(meta, dict) else {})

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=1)

    @classmethod
    def loads(cls, text: str) -> "Schedule":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as e:
            raise ScheduleError(f"line {e.lineno}: not valid JSON: {e.msg}") from None
        return cls.from_json(doc)

    def __len__(self) -> int:
        return len(self.steps)
