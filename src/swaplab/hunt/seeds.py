"""The scenarios a hunt starts its corpus from (syzkaller's seed programs).

The library's scenarios are hand-written races: the bound-2 ones sit about a thousand scenarios
deep in the enumeration, and their neighbours (one operation more, a fork, another device option)
are where a design nobody has written a scenario for is likely to break.  Seeding the corpus with
them lets mutation start there at once instead of after the enumeration reached them.

A seed is checked like any scenario (its cheap phase, once per store) and always enters the corpus,
whatever coverage it adds.  Its name, description, probes and `[expect]` are dropped: a mutant of a
seed is a new scenario, and the seed's expectations say nothing about it.
"""
from __future__ import annotations

import copy
from pathlib import Path

from ..scenarios import builtin_names, get_scenario, history_names
from ..scenarios.loader import ScenarioError, load_scenario
from .lang import to_toml

SOURCES = ("builtin", "history", "none")


def seed_texts(specs: list[str]) -> list[str]:
    """TOML texts of the seeds named by ``specs``: "builtin" (the library), "history" (the history
    gallery's scenarios), "none", a .toml file or a directory of them.  Raises ValueError with what
    to fix on a bad spec or a scenario the loader refuses."""
    out: list[str] = []
    for spec in specs:
        if spec == "none":
            continue
        if spec == "builtin":
            scenarios = [get_scenario(n) for n in builtin_names()]
        elif spec == "history":
            scenarios = [get_scenario(n) for n in history_names()]
        else:
            p = Path(spec)
            files = sorted(p.glob("*.toml")) if p.is_dir() else [p]
            if not p.exists() or not files:
                raise ValueError(f"--seeds {spec}: not 'builtin', 'history', 'none', a .toml file or a "
                                 "directory of .toml files")
            scenarios = []
            for f in files:
                try:
                    scenarios.append(load_scenario(f))
                except ScenarioError as e:
                    raise ValueError(f"--seeds {spec}: {e}") from None
        out += [to_toml(bare(s)) for s in scenarios]
    return out


def bare(s):
    """The scenario without what describes the original: its name, prose and expectations."""
    c = copy.deepcopy(s)
    c.name = f"seed-{s.name}"
    c.description = c.probes = ""
    c.expect = {}
    return c
