"""Where mutants come from: the methods of the kernel model (``swaplab.kernel``), as the AST of
their source, each with the module it lives in.

Only methods of the classes :class:`swaplab.kernel.Kernel` is made of are mutated: a mutant is
applied as a subclass of a design that replaces one method, so module-level helpers
(``pte_same``, ``test_flags``) and the state classes (``Folio``, ``MM``) are out of reach without
changing the kernel package itself.  Left out on purpose: the oracle (it is the checker, not the
kernel) and the scenario plumbing of ``model.py`` (building the initial state, statistics, the
search's own declarations), which model no kernel code.
"""
from __future__ import annotations

import ast
import functools
import importlib
import inspect
from dataclasses import dataclass
from pathlib import Path

KERNEL_PACKAGE = "swaplab.kernel"

# model.py's Kernel methods that are not kernel code: the scenario's initial state, ghost
# statistics, the engine declarations that speed the search up, the user-thread driver.
NOT_KERNEL_CODE = frozenset({
    "__init__", "_build", "_build_mms", "_build_fork", "_take_slot", "new_mm", "count", "declared_swap_refs",
    "declare_unshared", "run_thread", "do_op", "mms_sharing",
})


@dataclass(frozen=True)
class KernelFunction:
    """One method of the kernel model: ``module`` is the file's stem (``memory``), ``cls`` the
    class that defines it (``Memory``), ``node`` its FunctionDef as parsed from ``path``."""
    module: str
    cls: str
    name: str
    path: str
    node: ast.FunctionDef

    @property
    def key(self) -> str:
        return f"{self.module}.{self.name}"

    def module_object(self):
        return importlib.import_module(f"{KERNEL_PACKAGE}.{self.module}")

    def owner(self) -> type:
        return getattr(self.module_object(), self.cls)

    def original(self):
        """The function object the kernel class holds."""
        return self.owner().__dict__[self.name]


def kernel_classes() -> list[type]:
    """The classes Kernel is made of, in its MRO order (Kernel first), that live in the kernel
    package."""
    from ..kernel import Kernel
    return [c for c in Kernel.__mro__ if c.__module__.startswith(KERNEL_PACKAGE + ".")]


@functools.lru_cache(maxsize=None)
def _parsed(path: str) -> ast.Module:
    return ast.parse(Path(path).read_text(), filename=path)


@functools.lru_cache(maxsize=None)
def kernel_functions() -> tuple[KernelFunction, ...]:
    """Every mutable kernel method, in module then source order."""
    out = []
    for cls in kernel_classes():
        module = importlib.import_module(cls.__module__)
        path = inspect.getsourcefile(module)
        stem = cls.__module__.rsplit(".", 1)[1]
        for node in _parsed(path).body:
            if not (isinstance(node, ast.ClassDef) and node.name == cls.__name__):
                continue
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name not in NOT_KERNEL_CODE \
                        and not item.decorator_list:
                    out.append(KernelFunction(stem, cls.__name__, item.name, path, item))
    out.sort(key=lambda f: (f.module, f.node.lineno))
    return tuple(out)


def find_function(key: str) -> KernelFunction:
    """``memory.do_swap_page`` → its KernelFunction; KeyError names the choices."""
    for f in kernel_functions():
        if f.key == key:
            return f
    raise KeyError(key)
