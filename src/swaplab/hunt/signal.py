"""The coverage signal: which arcs (line → line transitions) of the kernel model and of the design
under test a check ran, measured by coverage.py started and stopped around the check.

Generic on purpose (the model changes under the hunt): the measured code is every module of the
package ``swaplab.kernel`` plus the module of each class in a design's MRO outside it, found from
the modules themselves, never from line numbers.  A branch is what coverage.py calls one: an arc
out of a line with more than one possible exit; ``branch_universe`` lists them all statically.
"""
from __future__ import annotations

import inspect
from functools import lru_cache
from pathlib import Path

import swaplab

PACKAGE_DIR = Path(swaplab.__file__).resolve().parent
KERNEL_DIR = PACKAGE_DIR / "kernel"


def label(path: str | Path) -> str:
    """A file's name in the store: relative to the swaplab package, else absolute."""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(PACKAGE_DIR))
    except ValueError:
        return str(p)


def kernel_files() -> list[Path]:
    return sorted(KERNEL_DIR.glob("*.py"))


def design_files(design_cls) -> list[Path]:
    """Module files of the design's classes that are not part of the kernel model."""
    out = []
    for cls in design_cls.__mro__:
        try:
            f = Path(inspect.getfile(cls)).resolve()
        except (TypeError, OSError):
            continue
        if f.suffix == ".py" and f.parent != KERNEL_DIR and f not in out and PACKAGE_DIR / "engine" not in f.parents:
            if cls.__module__ != "builtins":
                out.append(f)
    return out


def measured_files(design_classes) -> list[Path]:
    files = kernel_files()
    for d in design_classes:
        files += [f for f in design_files(d) if f not in files]
    return files


@lru_cache(maxsize=None)
def _branches(path: str) -> frozenset:
    from coverage.parser import PythonParser
    parser = PythonParser(filename=path)
    parser.parse_source()
    exits = parser.exit_counts()
    return frozenset(a for a in parser.arcs() if exits.get(a[0], 0) > 1)


def branch_universe(files) -> dict[str, frozenset]:
    """Every branch arc of each file, by label."""
    return {label(f): _branches(str(Path(f).resolve())) for f in files}


def branches_hit(arcs: dict[str, set], universe: dict[str, frozenset]) -> int:
    return sum(len(universe[f] & set(map(tuple, a))) for f, a in arcs.items() if f in universe)


class Tracer:
    """coverage.py around one check at a time.  One per process (coverage.py traces the whole
    interpreter); ``measure(fn)`` runs ``fn`` and returns (its result, arcs by file label)."""

    def __init__(self, files):
        import coverage
        self.files = [str(Path(f).resolve()) for f in files]
        self.cov = coverage.Coverage(data_file=None, branch=True, include=self.files, config_file=False)

    def measure(self, fn):
        self.cov.erase()
        self.cov.start()
        try:
            result = fn()
        finally:
            self.cov.stop()
        data = self.cov.get_data()
        arcs = {}
        for f in data.measured_files():
            a = data.arcs(f)
            if a:
                arcs[label(f)] = sorted(a)
        return result, arcs
