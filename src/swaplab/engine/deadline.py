"""Time limits that hold even when model code misbehaves.

A search checks its :class:`Deadline` between steps (every few dozen steps, so a check costs
nothing measurable).  That is enough for model code that keeps yielding steps, however long it
loops; it is not enough for code that never returns to the engine (``while True: pass`` inside a
step body).  For that, :func:`watchdog` arms a SIGALRM timer for the deadline and, when it
fires while model code is running (``CTX.in_model``), raises :class:`TimeUp` right there.

Why this is safe in CPython: a signal handler runs in the main thread between two bytecodes,
so an exception it raises appears at one precise point of the main thread.  The handler raises
only while the executor has handed control to model code (``CTX.in_model``: the executor sets
it around each resumption of a model thread and around setup and final checks); anywhere else
(the engine's own bookkeeping, a strategy's data structures, writing a file) it does nothing and
the next between-steps check stops the search cleanly.  The execution that ``TimeUp`` cuts is
thrown away, never reported.  TimeUp derives from BaseException so that model code's ``except
Exception`` does not swallow it, and the timer repeats every 50 ms after the deadline so a bare
``except:`` in a loop does not either.  What no watchdog inside the process can stop: C code
that never returns to the interpreter (a huge bignum power); a caller that needs that (the
compare workers) kills the process from outside.  Off the main thread (signals cannot be used
there) only the between-steps checks hold.
"""
from __future__ import annotations

import math
import signal
import threading
import time
from contextlib import contextmanager

from .runtime import CTX


class TimeUp(BaseException):
    """The deadline passed while model code was running without returning to the engine."""


class Deadline:
    """An absolute point in time (``time.perf_counter``) a search must stop by; None: never."""

    __slots__ = ("at",)

    def __init__(self, seconds: float | None = None):
        if seconds is not None and (math.isnan(seconds) or seconds < 0):
            raise ValueError(f"a time limit must be a number of seconds ≥ 0, not {seconds!r}")
        self.at = None if seconds is None or math.isinf(seconds) else time.perf_counter() + seconds

    @classmethod
    def of(cls, deadline: "Deadline | None" = None, seconds: float | None = None) -> "Deadline":
        """``deadline`` if given, else one ``seconds`` from now."""
        return deadline if deadline is not None else cls(seconds)

    def passed(self) -> bool:
        return self.at is not None and time.perf_counter() >= self.at

    def left(self) -> float | None:
        return None if self.at is None else max(0.0, self.at - time.perf_counter())

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Deadline(left={self.left()})"


_armed: list[Deadline] = []      # the watchdogs in force, innermost last
_REPEAT = 0.05                   # seconds between alarms once the deadline has passed


def _on_alarm(signum, frame) -> None:
    if CTX.in_model:
        raise TimeUp()


def _arm() -> None:
    lefts = [d.left() for d in _armed if d.at is not None]
    if lefts:
        signal.setitimer(signal.ITIMER_REAL, max(min(lefts), 0.001), _REPEAT)
    else:
        signal.setitimer(signal.ITIMER_REAL, 0)


@contextmanager
def watchdog(deadline: Deadline | None):
    """Interrupt model code that runs past ``deadline`` without yielding (see the module's
    docstring).  Nests: the earliest deadline in force is the one armed.  Does nothing off the
    main thread, on platforms without SIGALRM, or when another SIGALRM handler is installed
    (the caller's own alarm is left alone)."""
    usable = (deadline is not None and deadline.at is not None and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if usable:
        old = signal.getsignal(signal.SIGALRM)
        if old not in (signal.SIG_DFL, signal.SIG_IGN, None, _on_alarm):
            usable = False
    if not usable:
        yield
        return
    if not _armed:
        signal.signal(signal.SIGALRM, _on_alarm)
    _armed.append(deadline)
    try:
        _arm()
        yield
    finally:
        _armed.remove(deadline)
        _arm()
        if not _armed:
            signal.signal(signal.SIGALRM, old if old is not None else signal.SIG_DFL)
