"""Mutants of the kernel model: one operator applied at one site of one kernel method, and the
patched design that runs it.

A mutant's id is ``module.function:operator:index`` (``memory.do_swap_page:drop-check:3``): the
index counts that operator's sites in the function in source order, so the id stays the same
from run to run as long as the function's source does.  Applying a mutant never touches the
kernel package: the mutated FunctionDef is compiled with the kernel file's name and line numbers
(tracebacks and traces point into the real file) against the names of the kernel module it
comes from, and set on a subclass of the design under test.
"""
from __future__ import annotations

import ast
import functools
from dataclasses import dataclass

from .operators import OPERATORS, clone, find_sites
from .source import KernelFunction, find_function, kernel_functions


@dataclass(frozen=True)
class Mutant:
    module: str              # kernel module stem: "memory"
    cls: str                 # the kernel class that defines the function: "Memory"
    function: str            # "do_swap_page"
    operator: str            # one of operators.OPERATORS
    index: int               # which site of that operator in the function (source order)
    line: int                # the site's line in the kernel file
    what: str                # "drop check `if not pte_same(...)`"

    @property
    def id(self) -> str:
        return f"{self.module}.{self.function}:{self.operator}:{self.index}"

    @property
    def key(self) -> str:
        return f"{self.module}.{self.function}"

    def describe(self) -> str:
        """One line: ``memory.py:do_swap_page:412 drop check `if not pte_same(...)```."""
        return f"{self.module}.py:{self.function}:{self.line} {self.what}"

    def to_json(self) -> dict:
        return {"id": self.id, "module": self.module, "function": self.function, "operator": self.operator,
                "index": self.index, "line": self.line, "description": self.describe()}


def _env(fn: KernelFunction) -> dict:
    return vars(fn.module_object())


def mutants_of(fn: KernelFunction, operators=OPERATORS) -> list[Mutant]:
    out = []
    env = _env(fn)
    for op in operators:
        for i, site in enumerate(find_sites(fn.node, op, env)):   # finding sites changes nothing
            out.append(Mutant(fn.module, fn.cls, fn.name, op, i, site.line, site.what))
    return out


def generate(only: list[str] | None = None, operators=OPERATORS) -> list[Mutant]:
    """Every mutant of the kernel model, or of the functions ``only`` names (``memory.do_swap_page``,
    just ``do_swap_page``, or a whole module: ``swapfile``), with the given operators."""
    return list(_generate(tuple(only or ()), tuple(operators)))


@functools.lru_cache(maxsize=None)
def _generate(only: tuple, operators: tuple) -> tuple:
    fns = kernel_functions()
    if only:
        fns = [f for f in fns if f.key in only or f.name in only or f.module in only]
    out = []
    for f in fns:
        out.extend(mutants_of(f, operators))
    return tuple(out)


class MutantError(Exception):
    """A mutant id that names nothing (a function or site that does not exist)."""


def parse_id(mutant_id: str) -> Mutant:
    """The Mutant with this id (``memory.do_swap_page:drop-check:3``)."""
    try:
        key, op, idx = mutant_id.rsplit(":", 2)
        fn = find_function(key)
        index = int(idx)
    except (ValueError, KeyError):
        raise MutantError(f"{mutant_id!r} is not a mutant id (module.function:operator:index, e.g. "
                          "memory.do_swap_page:drop-check:0)") from None
    if op not in OPERATORS:
        raise MutantError(f"{mutant_id!r}: no operator {op!r} (operators: {', '.join(OPERATORS)})")
    found = [m for m in mutants_of(fn, (op,)) if m.index == index]
    if not found:
        raise MutantError(f"{mutant_id!r}: {key} has no {op} site number {index}")
    return found[0]


def mutated_tree(m: Mutant) -> ast.FunctionDef:
    """The FunctionDef of ``m``'s function with ``m`` applied (a fresh copy each call)."""
    fn = find_function(m.key)
    tree = clone(fn.node)
    sites = find_sites(tree, m.operator, _env(fn))
    if m.index >= len(sites):
        raise MutantError(f"{m.id}: the function has changed, it has only {len(sites)} {m.operator} sites")
    sites[m.index].apply()
    return ast.fix_missing_locations(tree)


@functools.lru_cache(maxsize=None)
def build_function(m: Mutant):
    """Compile ``m``: a function object to put in place of the kernel method."""
    fn = find_function(m.key)
    tree = mutated_tree(m)
    # inside a class of the same name, so the function's qualified name is the kernel's
    cls = ast.ClassDef(fn.cls, [], [], [tree], [], lineno=tree.lineno, col_offset=0,
                       end_lineno=tree.end_lineno, end_col_offset=0)
    mod = ast.Module([cls], [])
    code = compile(mod, fn.path, "exec")
    # The kernel module's names, copied: names resolve as in the real function, and a helper a
    # mutant adds never lands in the kernel module itself.
    env = dict(_env(fn))
    ns: dict = {}
    exec(code, env, ns)
    return ns[fn.cls].__dict__[m.function]


def applies_to(m: Mutant, design: type) -> bool:
    """Does ``design`` run the kernel's version of ``m``'s function (it does not override it)?"""
    original = find_function(m.key).original()
    return getattr(design, m.function, None) is original


def patched_design(m: Mutant, design: type) -> type:
    """A subclass of ``design`` whose one method is ``m``'s mutated function."""
    if not applies_to(m, design):
        raise MutantError(f"{design.name} overrides {m.function}: the kernel's version, which {m.id} "
                          "mutates, never runs under it")
    return type(f"{design.__name__}_mutant", (design,),
                {m.function: build_function(m), "name": design.name, "mutant": m.id,
                 "__module__": __name__})
