"""Built-in scenarios (the .toml files beside this module) and the loader."""
from __future__ import annotations

from pathlib import Path

from .loader import Scenario, ScenarioError, load_scenario, parse_scenario

HERE = Path(__file__).parent
HISTORY = HERE / "history"       # the history gallery's catching scenarios (designs/history)

# The order `swaplab compare` shows them in: the seed race first.
ORDER = ["two-faults", "slot-reuse", "dontneed-refault", "fork-vs-fault", "shared-after-fork",
         "swapoff-vs-fault", "willneed-then-faults", "three-faults", "two-pages-swap-slots"]


def builtin_names() -> list[str]:
    found = sorted(p.stem for p in HERE.glob("*.toml"))
    return [n for n in ORDER if n in found] + [n for n in found if n not in ORDER]


def history_names() -> list[str]:
    """The history gallery's scenarios: built in, but not in the default matrix."""
    return sorted(p.stem for p in HISTORY.glob("*.toml"))


def get_scenario(name_or_path: str) -> Scenario:
    """A built-in scenario (the matrix's or the history gallery's) by name, or a file by path."""
    p = HERE / f"{name_or_path}.toml"
    if not p.exists() and (HISTORY / f"{name_or_path}.toml").exists():
        p = HISTORY / f"{name_or_path}.toml"
    if "/" not in name_or_path and not name_or_path.endswith(".toml"):
        if not p.exists():
            raise ScenarioError(name_or_path, None, f"no built-in scenario {name_or_path!r}; built-in: "
                                f"{', '.join(builtin_names() + history_names())} (or give a path to a .toml file)")
        return load_scenario(p)
    return load_scenario(name_or_path)


__all__ = ["Scenario", "ScenarioError", "load_scenario", "parse_scenario", "builtin_names", "history_names", "get_scenario"]
