"""The state of a program after each step of a counterexample, for the HTML step-through view.

The engine knows nothing of kernels: it only calls back after every step of a replay
(``replay(..., on_step=...)``).  Here every shared object the execution registered is pictured
by its name and formatted value, and the names are sorted into the sections a kernel reader
looks for (PTEs, swap_map, the swap cache, folios, locks).  Nothing here imports the kernel
model: the sections are recognized by the names the model gives its objects, and an object no
section claims goes to "other", so a new kind of object is shown, never lost.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..engine import Program, Schedule, replay
from ..engine.executor import Execution
from ..engine.objects import Cell
from ..engine.sync import RWSem, SleepLock, SpinLock, WaitQueue
from .trace import _fmt, _function, interesting

# (section title, pattern).  A pattern's "row" group names the table row and its "col" group
# the column ("value" when there is none).  The first section whose pattern matches wins.
SECTIONS = [
    ("PTEs", re.compile(r"^(?P<row>[^.\s]+)\.pte\[(?P<col>\d+)\]$")),
    # one column per swap slot: its swap_map byte, its swap-cache entry, what the device holds
    ("swap slots", re.compile(r"^(?P<row>swap_map|swap_cache|zram)\[(?P<col>\d+)\]$")),
    ("folios", re.compile(r"^(?P<col>folio#\d+)\.(?P<row>[A-Za-z_]+)$")),   # a column per folio
    ("locks", None),                 # every lock, wherever it lives (isinstance, below)
    ("other", re.compile(r"^(?P<row>.+)$")),
]
LOCK_TYPES = (SpinLock, SleepLock, RWSem)


def _lock_value(obj, threads) -> str:
    owner = obj.writer if isinstance(obj, RWSem) else obj.owner
    if isinstance(owner, int) and owner >= 0:
        name = threads[owner].name if owner < len(threads) else f"thread {owner}"
        return f"held by {name}" + (" (write)" if isinstance(obj, RWSem) else "")
    return "free"


def value_of(obj, threads) -> str:
    """How the step-through view prints one object's state."""
    if obj.dead():
        return "freed"
    if isinstance(obj, LOCK_TYPES):
        return _lock_value(obj, threads)
    if isinstance(obj, WaitQueue):
        waiting = obj.snapshot()
        return ", ".join(threads[t].name for t in waiting) if waiting else "empty"
    if isinstance(obj, Cell):
        return _fmt(obj, obj.peek())
    return str(obj.snapshot())


def picture(ex: Execution) -> dict[str, str]:
    """Every registered object's name -> its printed state, now."""
    return {o.name: value_of(o, ex.threads) for o in ex.objects}


def place(name: str, obj=None) -> tuple[str, str, str]:
    """(section, row, column) of an object in the view."""
    if obj is not None and isinstance(obj, LOCK_TYPES):
        m = re.match(r"^(?P<col>folio#\d+)\.lock$", name)
        if m:                       # PG_locked: a row of the folio table
            return "folios", "PG_locked", m["col"]
        return "locks", name, "state"
    for title, pat in SECTIONS:
        if pat is None:
            continue
        m = pat.match(name)
        if m:
            d = m.groupdict()
            return title, d["row"], d.get("col") or "value"
    return "other", name, "value"     # pragma: no cover - the last pattern matches anything


@dataclass
class StepView:
    tid: int
    function: str
    label: str
    notes: list[str]
    changes: list[str]           # "name: old -> new", as the text trace prints them
    interesting: bool


@dataclass
class Walkthrough:
    """A counterexample (or any replayed schedule) step by step, with the state after each."""
    threads: list[str]
    steps: list[StepView]
    initial: dict[str, str]
    states: list[dict[str, str]]               # after each step
    layout: dict[str, tuple[str, str, str]]    # object name -> (section, row, column)
    outcome: str | None = None
    divergence: str | None = None
    notes: list[str] = field(default_factory=list)

    def changed(self, i: int) -> set[str]:
        """Names whose printed state step ``i`` changed (an object it created counts)."""
        before = self.initial if i == 0 else self.states[i - 1]
        after = self.states[i]
        return {k for k, v in after.items() if before.get(k) != v}


def walk(program: Program, schedule: Schedule, *, max_steps: int = 20000) -> Walkthrough:
    """Replay ``schedule`` once, picturing every object after each step."""
    start = Execution(program)          # a fresh run of the setup: the state before step 0
    initial = picture(start)
    layout = {o.name: place(o.name, o) for o in start.objects}
    states: list[dict[str, str]] = []

    def snap(ex):
        states.append(picture(ex))
        for o in ex.objects:
            if o.name not in layout:
                layout[o.name] = place(o.name, o)

    ex, divergence = replay(program, schedule, max_steps=max_steps, on_step=snap)
    for o in ex.objects:
        layout.setdefault(o.name, place(o.name, o))
    steps = []
    for rec in ex.trace:
        changes = [f"{o.name}: {_fmt(o, old)} -> {_fmt(o, new)}" for o, old, new in rec["changes"]
                   if isinstance(o, Cell)]
        steps.append(StepView(rec["tid"], _function(rec["stack"]), rec["label"], list(rec["notes"]),
                              changes, interesting(rec)))
    out = ex.outcome
    return Walkthrough(threads=[t.name for t in ex.threads], steps=steps, initial=initial, states=states,
                       layout=layout, outcome=None if out is None else f"{out.kind}: {out.message}",
                       divergence=divergence)
