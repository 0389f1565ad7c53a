"""Synchronization primitives with kernel semantics and kernel names, one per module."""
from .rwsem import RWSem
from .sleeplock import SleepLock
from .spinlock import SpinLock
from .waitqueue import WaitQueue, schedule, schedule_timeout

__all__ = ["RWSem", "SleepLock", "SpinLock", "WaitQueue", "schedule", "schedule_timeout"]
