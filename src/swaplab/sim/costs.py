"""The cost table: durations of visible steps and timing parameters (costs.toml, overridable)."""
from __future__ import annotations

import re
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
            text = p.read_text(encoding="utf-8")
            doc = tomllib.loads(text)
        except FileNotFoundError:
            raise CostError(f"{override}: no such file") from None
        except UnicodeDecodeError:
            raise CostError(f"{override}: not UTF-8 text: a cost file is TOML") from None
        except OSError as e:
            raise CostError(f"{override}: cannot read it: {e.strerror}") from None
        except tomllib.TOMLDecodeError as e:
            raise CostError(f"{override}: not valid TOML: {e}") from None
        lines = text.splitlines()

        def at(pattern: str) -> str:
            """file:line of the first line matching ``pattern`` (tomllib gives no positions)."""
            rx = re.compile(pattern)
            n = next((i + 1 for i, ln in enumerate(lines) if rx.search(ln)), None)
            return f"{override}:{n}" if n else override
        for table, v in doc.items():
            if table not in ("costs", "timing"):
                where = at(r"^\s*\[\s*" + re.escape(table) + r"\s*\]|^\s*" + re.escape(table) + r"\s*[.=]")
                raise CostError(f"{where}: unknown table or key {table!r}; a cost file has the tables [costs] and [timing] only")
            if not isinstance(v, dict):
                where = at(r"^\s*" + re.escape(table) + r"\s*=")
                raise CostError(f"{where}: {table} must be a table")
        for k, v in doc.get("costs", {}).items():
            where = at(r"^\s*[\"']?" + re.escape(k) + r"[\"']?\s*=")
            if k not in c.step:
                raise CostError(f"{where}: unknown cost {k!r}; known: {', '.join(sorted(c.step))}")
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise CostError(f"{where}: costs.{k} must be a whole number of nanoseconds ≥ 0")
            c.step[k] = v
        for k, v in doc.get("timing", {}).items():
            if k not in ("hz", "wakeup_latency", "cpus") or isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                where = at(r"^\s*" + re.escape(k) + r"\s*=")
                raise CostError(f"{where}: timing.{k} must be one of hz, wakeup_latency, cpus, a positive integer")
            setattr(c, k, v)
    if hz:
        c.hz = hz
    if cpus:
        c.cpus = cpus
    return c
