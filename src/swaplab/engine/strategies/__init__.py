"""Exploration strategies, one per module, all behind :class:`base.Strategy`."""
from .base import Strategy
from .bounded import Bounded
from .dfs import DFS
from .dpor_cache import CachedDPOR
from .dpor import DPOR
from .pct import PCT
from .random_walk import RandomWalk
from .replay import Replay

__all__ = ["Strategy", "Bounded", "CachedDPOR", "DFS", "DPOR", "PCT", "RandomWalk", "Replay"]
