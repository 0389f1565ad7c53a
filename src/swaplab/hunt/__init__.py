"""swaplab hunt: generate scenarios and check them until the verdict covers every small scenario.

Layout (syzkaller's): the scenario language and its generator, mutator and shrinker
(lang, enumerate, mutate, shrink); the coverage signal (signal); what a worker does with one
scenario (check, findings.shrink_finding); where workers run (pool); the coordinator that alone
owns the store (coordinator, store); the command's front end (cli).  docs/hunt.md explains it.
"""
from .coordinator import HuntConfig, HuntResult, hunt
from .enumerate import Bound, enumerate_scenarios

__all__ = ["HuntConfig", "HuntResult", "hunt", "Bound", "enumerate_scenarios"]
