"""Swap-in synchronization designs, one module each, each a small override of the kernel model.

A design can also come from a file of the user's: ``path/to/file.py:ClassName`` names a class
that subclasses :class:`swaplab.kernel.Kernel` (or any design here).
"""
from __future__ import annotations

import importlib.util
import inspect
import re
import sys
from pathlib import Path

from ..kernel import Kernel
from .bypass import Bypass
from .countpin import CountPin
from .prepare import PrepareBusy, PrepareSchedule, PrepareSleep
from .ptemarker import PteMarker
from .swapcache import SwapCache
from .swapcachesync import SwapCacheSync
from .swapmap import SwapmapInflight
from .waitqueue import PrepareWaitqueue
from .history import HISTORIC

BUILTIN = [SwapCache, Bypass, PrepareBusy, PrepareSchedule, PrepareSleep, PrepareWaitqueue, CountPin,
           PteMarker, SwapmapInflight, SwapCacheSync]
DESIGNS = {d.name: d for d in BUILTIN}          # the matrix `swaplab compare` shows
# The history gallery's pre-fix designs (designs/history): built in, but only in the gallery.
ALL_DESIGNS = DESIGNS | {d.name: d for d in HISTORIC}

# A design's ``kind``:
KINDS = {
    "upstream": "shipped in a kernel release (still there, or replaced by a later change)",
    "historic-bug": "the code before a commit that fixed a race (the race is the reason it is here)",
    "proposal": "posted for discussion, neither merged nor turned down",
    "alternative": "posted and turned down in favour of the fix that was merged",
}


class DesignError(Exception):
    """A design name or file could not be loaded; str() says what to do."""


def get_design(spec: str) -> type[Kernel]:
    """A built-in design by name, or ``path.py:ClassName``."""
    if spec in ALL_DESIGNS:
        return ALL_DESIGNS[spec]
    if ":" not in spec or not spec.split(":", 1)[0].endswith(".py"):
        raise DesignError(f"no design {spec!r}: built-in designs are {', '.join(ALL_DESIGNS)}; "
                          "or give path/to/file.py:ClassName")
    path, cls_name = spec.rsplit(":", 1)
    p = Path(path)
    if not p.is_file():
        raise DesignError(f"{path}: no such file (the design spec is path/to/file.py:ClassName)")
    mod_name = f"swaplab_user_design_{abs(hash(str(p.resolve())))}"
    try:
        loader_spec = importlib.util.spec_from_file_location(mod_name, p)
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[mod_name] = module      # inspect (the design's file and lines) looks here
        loader_spec.loader.exec_module(module)
    except SyntaxError as e:
        raise DesignError(f"{path}:{e.lineno}: syntax error: {e.msg}") from None
    except Exception as e:  # the user's module failed while importing
        raise DesignError(f"{path}: importing it failed: {type(e).__name__}: {e}") from None
    cls = getattr(module, cls_name, None)
    if cls is None:
        raise DesignError(f"{path}: defines no {cls_name!r}; classes there: "
                          f"{', '.join(n for n, v in vars(module).items() if isinstance(v, type)) or 'none'}")
    if not (isinstance(cls, type) and issubclass(cls, Kernel)):
        raise DesignError(f"{path}:{cls_name} must be a class that subclasses swaplab.kernel.Kernel "
                          "(or a built-in design such as swaplab.designs.bypass.Bypass)")
    _own_name(cls, cls_name, p)
    return cls


def _kebab(name: str) -> str:
    """SpinUntilClear -> spin-until-clear."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", name).lower().replace("_", "-")


def _own_name(cls, cls_name: str, path: Path) -> None:
    """A user design has a name of its own: the class's ``name`` when it sets one, else one
    made from the class name; never a built-in's (in ``compare`` its row would overwrite the
    built-in's, and every verdict would be printed under the wrong design)."""
    builtin = ALL_DESIGNS.get(getattr(cls, "name", None))
    try:
        line = inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        line = 1
    if "name" in vars(cls):
        if builtin is not None and builtin is not cls:
            raise DesignError(f"{path}:{line}: {cls_name}.name is {cls.name!r}, the name of a built-in "
                              f"design; give your design its own (e.g. name = \"my-{cls.name}\")")
        return
    derived = _kebab(cls_name)
    if derived in ALL_DESIGNS:
        raise DesignError(f"{path}:{line}: {cls_name} sets no name, and the one made from its class "
                          f"name, {derived!r}, is a built-in design's; set name = \"...\" in the class")
    parent = builtin.name if builtin is not None else getattr(cls, "name", "?")
    cls.name = derived
    if "summary" not in vars(cls):
        cls.summary = f"a user design ({path.name}:{cls_name}, based on {parent})"
    if "reference" not in vars(cls):
        cls.reference = str(path.resolve())


__all__ = ["DESIGNS", "ALL_DESIGNS", "BUILTIN", "KINDS", "DesignError", "get_design"]

