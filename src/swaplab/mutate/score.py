"""The mutation score, and the file of mutants decided equivalent for safety.

``equivalent.toml`` (beside this module) maps a mutant id to the reason it cannot change a
safety verdict (a path that only changes liveness or statistics, a check its caller repeats, a
function the design under test never runs...), and to the site the reason is about: a mutant's
id counts sites in source order, so an edit of the kernel function can make the same id name
another site; an entry whose ``site`` is not the mutant's any more is stale and does not count.
Those mutants leave the denominator:

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


class Equivalents(dict):
    """Mutant id (or ``design/id``) -> reason; ``sites`` holds the site each entry was written
    for (the mutant's description without its line: ``negate `if r == 0```), when it says."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.sites: dict[str, str] = {}


def load_equivalents(path: str | Path = EQUIVALENT_FILE) -> Equivalents:
    """Mutant id -> reason.  The file is TOML: ``"memory.f:negate:0" = { site = "negate `if r ==
    0`", why = "..." }`` (or just ``= "why"``, with no site to check), optionally inside tables
    named after a design (``[bypass]``) for mutants equivalent under that design only; top-level
    keys hold for every design."""
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


def _is_entry(v) -> bool:
    return isinstance(v, str) or (isinstance(v, dict) and "why" in v)


def _flatten(doc: dict, p: Path, text: str) -> Equivalents:
    out = Equivalents()

    def add(key, mid, v):
        reason, site = _check_entry(mid, v, p, text)
        out[key] = reason
        if site is not None:
            out.sites[key] = site
    for k, v in doc.items():
        if isinstance(v, dict) and not _is_entry(v):    # [design] table
            for mid, entry in v.items():
                add(f"{k}/{mid}", mid, entry)
        else:
            add(k, k, v)
    return out


def _check_entry(mid, entry, p: Path, text: str) -> tuple[str, str | None]:
    line = _line_of(text, mid)
    where = f"{p}:{line}" if line else str(p)
    if not _ID.match(mid):
        raise EquivalentsError(f"{where}: {mid!r} is not a mutant id: write module.function:operator:index "
                               "(as `swaplab mutants --json` prints it), quoted")
    site = None
    if isinstance(entry, dict):
        unknown = set(entry) - {"why", "site"}
        if unknown:
            raise EquivalentsError(f"{where}: the entry for {mid} has unknown keys {sorted(unknown)}: "
                                   "write { site = \"...\", why = \"...\" }")
        site = entry.get("site")
        if site is not None and (not isinstance(site, str) or not site.strip()):
            raise EquivalentsError(f"{where}: the entry for {mid} has an empty site: give the mutant's "
                                   "description without file and line, as `swaplab mutants --list` prints it")
        reason = entry.get("why")
    else:
        reason = entry
    if not isinstance(reason, str) or not reason.strip():
        raise EquivalentsError(f"{where}: the entry for {mid} needs a reason: a non-empty string saying why "
                               "the mutant cannot change a safety verdict")
    return reason, site


def _entry_key(equivalents: dict, mutant_id: str, design: str) -> str | None:
    for key in (f"{design}/{mutant_id}", mutant_id):
        if key in equivalents:
            return key
    return None


def site_matches(equivalents: dict, key: str, what: str | None) -> bool:
    """Was the entry ``key`` written for the site ``what`` (True when it names no site)?"""
    site = getattr(equivalents, "sites", {}).get(key)
    return site is None or what is None or site == what


def equivalent_reason(equivalents: dict[str, str], mutant, design: str) -> str | None:
    """The reason ``mutant`` (a Mutant, or an id: no site check) is equivalent, or None; an
    entry written for another site than the mutant's is not a reason."""
    mutant_id, what = (mutant, None) if isinstance(mutant, str) else (mutant.id, mutant.what)
    key = _entry_key(equivalents, mutant_id, design)
    if key is None or not site_matches(equivalents, key, what):
        return None
    return equivalents[key]


@dataclass
class Score:
    mutants: int = 0
    caught: int = 0
    equivalent: int = 0             # decided equivalent (and not caught)
    by_status: dict = field(default_factory=dict)
    wrong_equivalents: list = field(default_factory=list)   # listed equivalent, but caught
    stale_equivalents: list = field(default_factory=list)   # listed, but no such mutant (or site) any more

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


def score(results: list[MutantResult], equivalents: dict[str, str], *, all_ids=None) -> Score:
    """The score of ``results``.  ``all_ids`` (every mutant id of the kernel model, or a dict id
    -> Mutant to check sites too) lets stale entries of the file be told apart from entries for
    mutants this run left out (--only)."""
    s = Score(mutants=len(results))
    for r in results:
        s.by_status[r.status] = s.by_status.get(r.status, 0) + 1
        why = equivalent_reason(equivalents, r.mutant, r.design)
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
            elif isinstance(all_ids, dict) and not site_matches(equivalents, key, all_ids[mid].what):
                s.stale_equivalents.append(key)
    return s
