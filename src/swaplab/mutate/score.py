"""The mutation score, and the file of mutants decided equivalent for safety.

``equivalent.toml`` (beside this module) maps a mutant id to the reason it cannot change a
safety verdict (a path that only changes liveness or statistics, a check its caller repeats, a
function the design under test never runs...).  Those mutants leave the denominator:

    score = caught / (mutants run - equivalent)

so the score is reproducible from the file and the run.  A mutant listed as equivalent that a
scenario catches is reported: the reason was wrong (or the model changed) and the entry must go.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .run import CAUGHT, MutantResult

EQUIVALENT_FILE = Path(__file__).with_name("equivalent.toml")
_ID = re.compile(r"^[a-z_]+\.[A-Za-z_0-9]+:[a-z-]+:\d+$")


class EquivalentsError(Exception):
    """The equivalents file is malformed; str() names the file, the line and the fix."""


def load_equivalents(path: str | Path = EQUIVALENT_FILE) -> dict[str, str]:
    """Mutant id -> reason.  The file is TOML: ``"memory.f:negate:0" = "why"``, optionally
    inside tables named after a design (``[bypass]``) for mutants equivalent under that design
    only; top-level keys hold for every design."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise EquivalentsError(f"{p}: cannot read it: {e}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise EquivalentsError(f"{p}: not valid TOML: {e}. Fix the syntax there.") from None
    return _flatten(doc, p, text)


def _line_of(text: str, key: str) -> int | None:
    for i, line in enumerate(text.splitlines(), 1):
        if key in line:
            return i
    return None


def _flatten(doc: dict, p: Path, text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in doc.items():
        if isinstance(v, dict):                     # [design] table
            for mid, reason in v.items():
                _check_entry(mid, reason, p, text)
                out[f"{k}/{mid}"] = reason
        else:
            _check_entry(k, v, p, text)
            out[k] = v
    return out


def _check_entry(mid, reason, p: Path, text: str) -> None:
    line = _line_of(text, mid)
    where = f"{p}:{line}" if line else str(p)
    if not _ID.match(mid):
        raise EquivalentsError(f"{where}: {mid!r} is not a mutant id: write module.function:operator:index "
                               "(as `swaplab mutants --json` prints it), quoted")
    if not isinstance(reason, str) or not reason.strip():
        raise EquivalentsError(f"{where}: the entry for {mid} needs a reason: a non-empty string saying why "
                               "the mutant cannot change a safety verdict")


def equivalent_reason(equivalents: dict[str, str], mutant_id: str, design: str) -> str | None:
    return equivalents.get(f"{design}/{mutant_id}") or equivalents.get(mutant_id)


@dataclass
class Score:
    mutants: int = 0
    caught: int = 0
    equivalent: int = 0             # decided equivalent (and not caught)
    by_status: dict = field(default_factory=dict)
    wrong_equivalents: list = field(default_factory=list)   # listed equivalent, but caught
    stale_equivalents: list = field(default_factory=list)   # listed, but no such mutant was run

    @property
    def denominator(self) -> int:
        return self.mutants - self.equivalent

    @property
    def value(self) -> float | None:
        return self.caught / self.denominator if self.denominator else None

    def to_json(self) -> dict:
        return {"mutants": self.mutants, "caught": self.caught, "equivalent": self.equivalent,
                "non_equivalent": self.denominator,
                "score": None if self.value is None else round(self.value, 4),
                "by_status": self.by_status, "wrong_equivalents": self.wrong_equivalents,
                "stale_equivalents": self.stale_equivalents}


def score(results: list[MutantResult], equivalents: dict[str, str], *, all_ids: set | None = None) -> Score:
    """The score of ``results``.  ``all_ids`` (every mutant id of the kernel model) lets stale
    entries of the file be told apart from entries for mutants this run left out (--only)."""
    s = Score(mutants=len(results))
    for r in results:
        s.by_status[r.status] = s.by_status.get(r.status, 0) + 1
        why = equivalent_reason(equivalents, r.mutant.id, r.design)
        if r.status == CAUGHT:
            s.caught += 1
            if why is not None:
                s.wrong_equivalents.append(r.mutant.id)
        elif why is not None:
            s.equivalent += 1
    if all_ids is not None:
        for key in equivalents:
            mid = key.split("/", 1)[-1]
            if mid not in all_ids:
                s.stale_equivalents.append(key)
    return s
