"""The context model code runs in: which execution, which thread, which step.

Model code is ordinary Python that cannot see the executor, so the executor publishes the
current execution here before resuming a thread.  Only the executor writes these fields.
"""
from __future__ import annotations


class _Context:
    __slots__ = ("execution", "tid", "step", "checking", "tracing", "in_model")

    def __init__(self) -> None:
        self.execution = None   # the running Execution (or None outside exploration)
        self.tid = -1           # thread id whose step body is running; -1 during setup/final check
        self.step = None        # the Step whose body is running
        self.checking = False   # contract-checking mode: refuse undeclared accesses
        self.tracing = False    # record notes for counterexample printing
        self.in_model = False   # model code is running (a step body, setup, a final check):
        #                         the watchdog may interrupt it (engine/deadline.py)


CTX = _Context()


def current_tid() -> int:
    return CTX.tid


def note(text: str) -> None:
    """Attach a remark to the current step; shown in printed counterexamples only."""
    if CTX.tracing and CTX.execution is not None:
        CTX.execution.add_note(text)


def note_lazy(fn) -> None:
    """Like :func:`note`, but builds the text only when tracing (keeps exploration fast)."""
    if CTX.tracing and CTX.execution is not None:
        CTX.execution.add_note(fn())


def register(obj) -> int:
    """Give a new shared object its stable identity in the current execution."""
    ex = CTX.execution
    if ex is None:
        raise RuntimeError("shared objects can only be created inside a Program's setup or threads")
    return ex.register(obj)
