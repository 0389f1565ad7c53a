"""swaplab's deterministic exploration engine.  It knows nothing about kernels.

Model threads are generator functions.  Every access to shared state is a visible step, yielded
before it happens (``v = yield from cell.read()``); code between two steps runs atomically.
See docs/engine.md for the contract and a worked example.
"""
from .control import choose, retry
from .errors import ModelError, Violation, check
from .executor import Execution, Program, World
from .explore import STRATEGIES, explore, make_strategy, minimize_outcome, replay, run_execution
from .objects import Array, Cell, Map, Shared, guarded_by
from .deadline import Deadline, TimeUp, watchdog
from .outcome import CRASH, DEADLOCK, LIVELOCK, MODEL_ERROR, STEP_BOUND, Outcome, SearchResult, Stats
from .runtime import current_tid, note, note_lazy
from .schedule import Schedule, ScheduleError
from .step import Step, atomic, step
from .sync import RWSem, SleepLock, SpinLock, WaitQueue, schedule, schedule_timeout

__all__ = [
    "Array", "Cell", "Map", "Shared", "guarded_by", "Program", "World", "Execution", "Step", "atomic", "step",
    "SpinLock", "SleepLock", "RWSem", "WaitQueue", "schedule", "schedule_timeout",
    "retry", "choose", "check", "Violation", "ModelError", "note", "note_lazy", "current_tid",
    "explore", "replay", "run_execution", "make_strategy", "minimize_outcome", "STRATEGIES",
    "Schedule", "ScheduleError", "Outcome", "SearchResult", "Stats",
    "DEADLOCK", "LIVELOCK", "CRASH", "MODEL_ERROR", "STEP_BOUND", "Deadline", "TimeUp", "watchdog",
]
