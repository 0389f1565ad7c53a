"""Mutation adequacy: how much is a "no violation" verdict worth?

Mutants of the kernel model (``swaplab.kernel``: a check dropped, a lock dropped, an atomic step
split, two steps swapped, a reference count change skipped, ...) are made by AST transformation
and applied as patched designs; every scenario is searched under each; the mutation score is the
share of (non-equivalent) mutants some scenario catches.  See docs/hunt.md, "Mutation adequacy".
"""
from .mutants import Mutant, MutantError, applies_to, build_function, generate, parse_id, patched_design
from .operators import OPERATORS
from .run import Budget, MutantResult, run_mutant
from .score import EquivalentsError, Score, load_equivalents, score

__all__ = ["Mutant", "MutantError", "applies_to", "build_function", "generate", "parse_id", "patched_design",
           "OPERATORS", "Budget", "MutantResult", "run_mutant", "EquivalentsError", "Score",
           "load_equivalents", "score"]
