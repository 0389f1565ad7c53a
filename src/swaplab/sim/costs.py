"""The cost table: durations of visible steps and timing parameters (costs.toml, overridable)."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT = Path(__file__).with_name("costs.toml")


class CostError(Exception):
    """A cost override file is wrong; str() names the file and the fix."""


@dataclass
class Costs:
    step: dict[str, int] = field(default_factory=dict)
    hz: int = 250
    wakeup_latency: int = 5000
    cpus: int = 4

    @property
    def tick(self) -> int:
        return 1_000_000_000 // self.hz

    def of(self, key: str | None) -> int:
        return self.step.get(key or "read", 5)


def load_costs(override: str | None = None, *, hz: int | None = None, cpus: int | None = None) -> Costs:
    base = tomllib.loads(DEFAULT.read_text())
    c = Costs(dict(base["costs"]), **base["timing"])
    if override:
        p = Path(override)
        try:
            doc = tomllib.loads(p.read_text())
        except FileNotFoundError:
            raise CostError(f"{override}: no such file") from None
        except tomllib.TOMLDecodeError as e:
            raise CostError(f"{override}: not valid TOML: {e}") from None
        for k, v in doc.get("costs", {}).items():
            if k not in c.step:
                raise CostError(f"{override}: unknown cost {k!r}; known: {', '.join(sorted(c.step))}")
            if not isinstance(v, int) or v < 0:
                raise CostError(f"{override}: costs.{k} must be a whole number of nanoseconds ≥ 0")
            c.step[k] = v
        for k, v in doc.get("timing", {}).items():
            if k not in ("hz", "wakeup_latency", "cpus") or not isinstance(v, int) or v <= 0:
                raise CostError(f"{override}: timing.{k} must be one of hz, wakeup_latency, cpus, a positive integer")
            setattr(c, k, v)
    if hz:
        c.hz = hz
    if cpus:
        c.cpus = cpus
    return c
