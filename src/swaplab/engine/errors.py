"""Exceptions model code raises to report a property violation or misuse of the engine."""
from __future__ import annotations


class Violation(Exception):
    """A property the model checks failed.  ``kind`` is a short category (e.g. ``data-loss``)."""

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


class ModelError(Exception):
    """The model broke the engine's contract (e.g. touched shared state outside a step)."""


def check(cond: bool, kind: str, message: str) -> None:
    """Raise a :class:`Violation` when ``cond`` is false."""
    if not cond:
        raise Violation(kind, message)
