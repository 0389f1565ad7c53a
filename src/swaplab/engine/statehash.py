"""A canonical, hashable picture of an execution's whole state, for stateful search.

Two states with the same picture must behave the same from then on: same enabled threads, same
steps, same outcomes.  The picture therefore covers everything a thread's future can depend on:

* every thread's generator chain — for each frame, its code and instruction offset and its
  locals — and its pending step;
* everything reachable from those (the model's objects, ghost state such as an oracle's
  record of what the user wrote, closures of guards and final checks), walked by value;
* the executor's own per-thread state: spinlocks held and retry-loop records (parking: the
  footprint, and which objects were created since the retry point).

Objects are pictured by value; an object reached twice is pictured once and then referred to by
the order it was first met, so sharing and cycles are kept.  Fields that cannot change behavior
are left out when a class lists them in ``fingerprint_skip`` (statistics counters, observers,
the creation step of an object).  Objects that live across executions and never change (a
scenario's specification) can be registered with :func:`static_type` and are pictured by
identity.  A value of a kind this module does not know makes :class:`Unhashable` propagate,
and the caller must then treat the state as new: never merging is always sound.
"""
from __future__ import annotations

import types

from .objects import Shared

_ATOMS = (int, float, str, bool, type(None), bytes)
_STATIC: set[type] = set()


class Unhashable(Exception):
    pass


def static_type(cls: type) -> type:
    """Declare that instances of ``cls`` outlive executions and are never changed (a class
    decorator is fine).  They are pictured by identity."""
    _STATIC.add(cls)
    return cls


def _skips(cls) -> tuple:
    out = ()
    for k in cls.__mro__:
        out += tuple(k.__dict__.get("fingerprint_skip", ()))
    return out


_SKIP_CACHE: dict[type, tuple] = {}
_SLOTS_CACHE: dict[type, tuple] = {}


def _slots(cls) -> tuple:
    s = _SLOTS_CACHE.get(cls)
    if s is None:
        names = []
        for k in reversed(cls.__mro__):
            sl = k.__dict__.get("__slots__", ())
            if isinstance(sl, str):
                sl = (sl,)
            names.extend(n for n in sl if n not in ("__dict__", "__weakref__"))
        s = _SLOTS_CACHE[cls] = tuple(names)
    return s


def picture(roots) -> tuple[tuple, dict[int, int]]:
    """The canonical picture of everything reachable from ``roots``, and the canonical number
    (order of first visit) of every shared object in it, by ``oid``.  Object identities are not
    part of the picture: two executions that created objects in different orders can still
    reach the same state, and the numbering translates between them."""
    memo: dict[int, int] = {}
    oids: dict[int, int] = {}
    keep = []                      # keep walked temporaries alive so their ids stay unique

    def walk(x):
        t = type(x)
        if t in _ATOMS:
            return x
        if t is tuple:
            return ("T",) + tuple(walk(e) for e in x)
        if t in _STATIC:
            return ("static", id(x))
        i = memo.get(id(x))
        if i is not None:
            return ("@", i)
        memo[id(x)] = len(memo)
        keep.append(x)
        if isinstance(x, tuple):                       # namedtuples (PTE values)
            return (t.__name__,) + tuple(walk(e) for e in x)
        if t is list:
            return ("L",) + tuple(walk(e) for e in x)
        if t is dict:
            return ("D",) + tuple((walk(k), walk(v)) for k, v in x.items())
        if t is set or t is frozenset:
            return ("Set",) + tuple(sorted((walk(e) for e in x), key=repr))
        if t is types.GeneratorType:
            frame = x.gi_frame
            if frame is None:
                return ("gen-done", x.gi_code.co_qualname)
            loc = frame.f_locals
            return ("G", x.gi_code.co_qualname, frame.f_lasti,
                    tuple((k, walk(v)) for k, v in loc.items()), walk(x.gi_yieldfrom))
        if t is types.FunctionType:
            cl = x.__closure__
            return ("F", x.__qualname__, walk(x.__defaults__),
                    tuple(walk(c.cell_contents) for c in cl) if cl else ())
        if t is types.MethodType:
            return ("M", x.__func__.__qualname__, walk(x.__self__))
        if t is type:
            return ("C", x.__qualname__)
        if t is types.CodeType:
            return ("code", x.co_qualname)
        skip = _SKIP_CACHE.get(t)
        if skip is None:
            skip = _SKIP_CACHE[t] = _skips(t)
        fields = []
        for name in _slots(t):
            if name in skip:
                continue
            try:
                v = getattr(x, name)
            except AttributeError:
                continue
            fields.append((name, walk(v)))
        d = getattr(x, "__dict__", None)
        if d is not None:
            for name, v in d.items():
                if name not in skip:
                    fields.append((name, walk(v)))
        elif not _slots(t):
            raise Unhashable(f"cannot picture a {t.__qualname__}")
        if isinstance(x, Shared):
            oids[x.oid] = memo[id(x)]
        return (t.__qualname__,) + tuple(fields)

    return walk(roots), oids
