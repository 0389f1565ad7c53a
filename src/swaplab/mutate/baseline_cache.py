"""The unmutated design's searches, kept in a file between `swaplab mutants` runs.

A mutation run starts with a complete search of every scenario under the unmutated design (which
kernel functions it calls, its final states): on this machine three-faults alone takes about two
minutes, and a run split by ``--only`` repeats the same searches for every module.  They depend
only on the scenario, the design and the code that runs (the kernel model, the engine, the
designs), so they are stored under a key made of those: the scenario's content (not its name or
path), the design's name and source, and a hash of every source file of ``swaplab.kernel``,
``swaplab.engine`` and ``swaplab.designs``.  Change any of them and the entry is not used again.

An entry made with a smaller budget than asked for that did not finish is searched again; a
complete one is reused whatever budget is asked for (a complete search is the same search).
The file is JSON, written atomically; a file that cannot be read is ignored (and rewritten):
it is a cache, never an input.
"""
from __future__ import annotations

import hashlib
import inspect
import json
from pathlib import Path

from .reach import Baseline

DEFAULT_CACHE = Path(".swaplab") / "mutants-baselines.json"
_PACKAGES = ("kernel", "engine", "designs")
_VERSION = 1                # bump when Baseline's meaning changes


def _swaplab_root() -> Path:
    return Path(__file__).resolve().parent.parent


def code_hash() -> str:
    """A hash of every source file the unmutated searches run."""
    h = hashlib.sha256()
    root = _swaplab_root()
    for pkg in _PACKAGES:
        for f in sorted((root / pkg).rglob("*.py")):
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def scenario_hash(scenario) -> str:
    """What the scenario is (device, mms, threads, probes), not what it is called or where its
    file lives."""
    text = repr((scenario.device, scenario.mms, scenario.threads, scenario.probes))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def design_hash(design: type) -> str:
    try:
        src = inspect.getsource(inspect.getmodule(design))
    except (OSError, TypeError):        # a class made at run time: its name only
        src = design.__qualname__
    return hashlib.sha256(f"{design.name}\n{src}".encode()).hexdigest()[:16]


def cache_key(design: type, scenario, max_steps: int, code: str) -> str:
    return f"v{_VERSION}:{code}:{design.name}:{design_hash(design)}:{scenario_hash(scenario)}:steps={max_steps}"


class BaselineCache:
    """``get``/``put`` Baselines; ``save()`` writes the file if anything was added."""

    def __init__(self, path: str | Path | None):
        self.path = Path(path) if path else None
        self.entries: dict[str, dict] = {}
        self.hits = 0
        self._dirty = False
        self._code = code_hash()
        if self.path and self.path.is_file():
            try:
                doc = json.loads(self.path.read_text(encoding="utf-8"))
                if isinstance(doc, dict) and isinstance(doc.get("entries"), dict):
                    self.entries = doc["entries"]
            except (OSError, ValueError):
                self.entries = {}

    def key(self, design: type, scenario, max_steps: int) -> str:
        return cache_key(design, scenario, max_steps, self._code)

    def get(self, design: type, scenario, *, time_limit: float, max_executions: int,
            max_steps: int) -> Baseline | None:
        d = self.entries.get(self.key(design, scenario, max_steps))
        if d is None:
            return None
        try:
            b = Baseline(scenario.name, d["verdict"], bool(d["complete"]), frozenset(d["reached"]),
                         frozenset(d["finals"]), float(d["seconds"]), int(d["executions"]))
            asked_less = time_limit <= d["time_limit"] and max_executions <= d["max_executions"]
        except (KeyError, TypeError, ValueError):
            return None
        # a failure found is found whatever the budget; an unfinished search only for as much
        if b.complete or b.verdict != "ok" or asked_less:
            self.hits += 1
            return b
        return None

    def put(self, design: type, scenario, b: Baseline, *, time_limit: float, max_executions: int,
            max_steps: int) -> None:
        self.entries[self.key(design, scenario, max_steps)] = {
            "scenario": scenario.name, "verdict": b.verdict, "complete": b.complete,
            "reached": sorted(b.reached), "finals": sorted(b.finals), "seconds": round(b.seconds, 3),
            "executions": b.executions, "time_limit": time_limit, "max_executions": max_executions}
        self._dirty = True

    def save(self) -> None:
        if not (self.path and self._dirty):
            return
        from ..report.files import write_atomic
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, json.dumps({"version": _VERSION, "entries": self.entries}, indent=0,
                                               sort_keys=True) + "\n")
        except OSError:         # a cache that cannot be written costs time, not results
            return
        self._dirty = False
