"""A canonical, hashable picture of an execution's whole state, for stateful search.

Two states with the same picture must behave the same from then on: same enabled threads, same
steps, same outcomes.  The picture therefore covers everything a thread's future can depend on:

* every thread's generator chain — for each frame, its code and instruction offset and its
  locals — and its pending step;
* everything reachable from those (the model's objects, ghost state such as an oracle's
  record of what the user wrote, closures of guards and final checks), walked by value;
* the executor's own per-thread state: spinlocks held (not retry-loop records: see
  ``dpor_cache.state_picture``).

Objects are pictured by value; an object reached twice is pictured once and then referred to by
the order it was first met, so sharing and cycles are kept.  Fields that cannot change behavior
are left out when a class lists them in ``fingerprint_skip`` (statistics counters, observers,
the creation step of an object).  Objects that live across executions and never change (a
scenario's specification) can be registered with :func:`static_type` and are pictured by
identity.  A value of a kind this module does not know makes :class:`Unhashable` propagate,
and the caller must then treat the state as new: never merging is always sound.
"""
from __future__ import annotations

import gc
import operator
import types

from .liveness import live_locals
from .objects import Shared
from .symmetry import PerThread, Tid

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


_PLANS: dict[type, tuple] = {}


def _plan(cls) -> tuple:
    """(slot names to picture, names to skip in __dict__, has __dict__, is a shared object)."""
    p = _PLANS.get(cls)
    if p is None:
        skip = frozenset(_skips(cls))
        names = []
        for k in reversed(cls.__mro__):
            sl = k.__dict__.get("__slots__", ())
            if isinstance(sl, str):
                sl = (sl,)
            names.extend(n for n in sl if n not in ("__dict__", "__weakref__") and n not in skip)
        has_dict = any("__dict__" in k.__dict__ for k in cls.__mro__ if k is not object)
        # one C call fetches every slot (a tuple even for one name)
        getter = (operator.attrgetter(*names) if len(names) > 1 else
                  (lambda x, n=names[0]: (getattr(x, n),)) if names else None)
        p = _PLANS[cls] = (tuple(names), skip, has_dict, issubclass(cls, Shared), getter)
    return p


_UNSET = ("<unset>",)
# a frame's code, function and frame object: named already by the code and offset
_HEADER = (types.CodeType, types.FunctionType, types.FrameType)
_ITERATORS = (type(iter([])), type(iter(range(0))), type(iter(())), type(enumerate([])),
              type(iter({})), type(iter(set())))
_GEN = types.GeneratorType
_FUNC = types.FunctionType
_METHOD = types.MethodType
_BUILTIN = types.BuiltinFunctionType


_LAYOUTS: dict = {}      # code -> (its cell and free variables, its local slots in order)
_KEPT: dict = {}         # (code, offset) -> the variables a picture keeps, sorted


def _layout(code) -> tuple:
    """(the code's cell and free variables, its local slots in the order a frame holds them)."""
    layout = _LAYOUTS.get(code)
    if layout is None:
        cells = frozenset(code.co_cellvars) | frozenset(code.co_freevars)
        slots = tuple(code.co_varnames) + tuple(c for c in code.co_cellvars
                                                if c not in code.co_varnames) + code.co_freevars
        layout = _LAYOUTS[code] = (cells, slots)
    return layout


def _kept(code, lasti, live) -> tuple:
    """The variables of a frame suspended at ``lasti`` that its picture shows: the live ones
    and those a closure shares, in name order."""
    key = (code, lasti)
    names = _KEPT.get(key)
    if names is None:
        cells = _layout(code)[0]
        names = _KEPT[key] = tuple(sorted(n for n in cells.union(code.co_varnames)
                                          if n in live or n in cells))
    return names


def _value_stack(gen, frame, code, names):
    """The values on a suspended generator's evaluation stack, or None if the garbage
    collector's view of it is not laid out as CPython 3.11 lays it out: the generator's code,
    name and qualname, the frame, the f_locals dict if made, the function and the code, then
    every bound local slot
    (variables in co_varnames order, then cells and free variables), then the stack."""
    refs = gc.get_referents(gen)
    k = 4
    if len(refs) > k and refs[k] is names:
        k += 1                             # f_locals, once something has asked for it
    if len(refs) < k + 2 or refs[0] is not code or refs[3] is not frame \
            or type(refs[k]) is not types.FunctionType or refs[k + 1] is not code:
        return None
    k += 2
    cells, slots = _layout(code)
    for name in slots:
        if name in cells:
            if k >= len(refs) or type(refs[k]) is not types.CellType:
                return None
        elif name in names:
            if k >= len(refs) or refs[k] is not names[name]:
                return None
        else:
            continue                       # unbound: the gc does not list an empty slot
        k += 1
    return refs[k:]


def picture(roots, live, perm=None, per_thread=()) -> tuple[tuple, dict[int, int]]:
    """The canonical picture of a state: the contents of the ``live`` shared objects (in
    creation order) and everything reachable from ``roots``.  Returns it with the canonical
    number of every live shared object by ``oid`` (its position in ``live``).  Raw ``oid``
    values are not part of the picture: two executions that created and freed different
    objects on the way can still reach the same state, and the numbering translates between
    them.  A reference to a shared object that is no longer live (a freed folio's field) is
    pictured as dead: touching it is a use-after-free whatever it holds.

    With ``perm`` (thread id -> its place in a canonical order of the threads; engine/symmetry.py),
    the picture is that of the state with the threads renamed so: every :class:`Tid` is renamed,
    every :class:`PerThread` list is reordered, and the shared objects of the ``per_thread``
    lists exchange their numbers as their threads do (the renamed state would have made each
    thread's entry where it made the entry of the thread now in its place).  The caller orders
    the threads of ``roots`` the same way."""
    keep = []                      # objects walked by value, in the order first met (alive,
                                   # so their ids stay unique)
    atoms = _ATOMS
    static = _STATIC
    pos = {id(o): i for i, o in enumerate(live)}
    if perm is not None:
        inv = [0] * len(perm)
        for t, slot in enumerate(perm):
            inv[slot] = t
        moved = {}
        for lst in per_thread:
            if len(lst) == len(perm) and all(id(o) in pos for o in lst):
                for t, o in enumerate(lst):
                    moved[id(o)] = pos[id(lst[perm[t]])]
        if moved:
            pos.update(moved)
            order = [None] * len(live)
            for o in live:
                order[pos[id(o)]] = o
            live = order

    # id -> how a second reference to it is pictured: ("S", position) for a live shared
    # object, ("@", order first met) for anything else walked by value (one lookup for both)
    seen = {i: ("S", p) for i, p in pos.items()}

    def walk(x):
        t = type(x)
        if t in atoms:
            return x
        if t is tuple:
            return ("T", *[walk(e) for e in x])
        if t is Tid:
            return x if perm is None else perm[x]
        ref = seen.get(id(x))
        if ref is not None:
            return ref
        if t in static or t is object:       # plain object(): a stateless sentinel
            return ("static", id(x))
        if isinstance(x, tuple):             # a namedtuple (a PTE value): immutable, so by
            return (t.__name__, *[walk(e) for e in x])   # value: which copy it is cannot matter
        if t is frozenset:
            return ("Set", *sorted((walk(e) for e in x), key=repr))
        seen[id(x)] = ("@", len(keep))
        keep.append(x)
        if t is list:
            return ("L", *[walk(e) for e in x])
        if t is PerThread:
            if perm is None or len(x) != len(perm):
                return ("L", *[walk(e) for e in x])
            return ("L", *[walk(x[inv[k]]) for k in range(len(x))])
        if t is dict:
            return ("D", *[(walk(k), walk(v)) for k, v in x.items()])
        if t is _GEN:
            frame = x.gi_frame
            if frame is None:
                return ("gen-done", x.gi_code.co_qualname)
            # The locals by name, then everything the suspended frame holds: its value stack
            # too (a for loop's iterator, an operand pushed before a nested yield), which
            # f_locals does not show.  The gc's view of a generator lists both.
            # (by name: the f_locals dict keeps the order in which it first saw each variable)
            names = frame.f_locals
            code = x.gi_code
            live = live_locals(code, frame.f_lasti)
            stack = None if live is None else _value_stack(x, frame, code, names)
            if stack is None:               # liveness not known: every variable counts
                loc = [(k, walk(names[k])) for k in sorted(names)]
                held = [walk(r) for r in gc.get_referents(x) if type(r) not in _HEADER and r is not names]
                return ("G", code.co_qualname, frame.f_lasti, *loc, "|", *held)
            # dead variables (never read again from here) are left out: engine/liveness.py
            loc = [(k, walk(names[k])) for k in _kept(code, frame.f_lasti, live) if k in names]
            return ("G", code.co_qualname, frame.f_lasti, *loc, "|", *[walk(r) for r in stack])
        if t is set:
            return ("Set", *sorted((walk(e) for e in x), key=repr))
        if t is _FUNC:
            cl = x.__closure__
            return ("F", x.__qualname__, walk(x.__defaults__),
                    tuple([walk(c.cell_contents) for c in cl]) if cl else ())
        if t is _METHOD:
            return ("M", x.__func__.__qualname__, walk(x.__self__))
        if t is type:
            return ("C", x.__qualname__)
        if t is _BUILTIN:                    # any, len (on a value stack: any((yield from f())))
            owner = x.__self__
            if owner is None or type(owner) is types.ModuleType:
                return ("B", x.__qualname__)
            return ("B", x.__qualname__, walk(owner))   # a bound method of a builtin type
        if t is types.CodeType:
            return ("code", x.co_qualname)
        if t is range:
            return ("range", x.start, x.stop, x.step)
        if t is types.CellType:                  # a variable a closure shares
            try:
                return ("cell", walk(x.cell_contents))
            except ValueError:
                return ("cell",)
        if t in _ITERATORS:
            fn, args, *rest = x.__reduce__()        # the sequence and the position reached
            return (t.__name__, walk(args), *[walk(r) for r in rest])
        plan = _plan(t)
        if plan[3]:
            return ("dead", t.__qualname__)
        return fields(x, t, plan)

    def fields(x, t, plan):
        names, skip, has_dict, _, getter = plan
        out = [t.__qualname__]
        if getter is not None:
            try:
                vals = getter(x)
            except AttributeError:          # a slot never set: name it so
                vals = None
            if vals is not None:
                for v in vals:
                    out.append(v if type(v) in atoms else walk(v))
            else:
                for name in names:
                    try:
                        v = getattr(x, name)
                    except AttributeError:
                        out.append(_UNSET)
                        continue
                    out.append(walk(v) if type(v) not in atoms else v)
        if has_dict:
            for name, v in x.__dict__.items():
                if name not in skip:
                    out.append(name)
                    out.append(walk(v) if type(v) not in atoms else v)
        elif not names:
            raise Unhashable(f"cannot picture a {t.__qualname__}")
        return tuple(out)

    contents = []
    for o in live:
        t = type(o)
        contents.append(fields(o, t, _plan(t)))
    pic = (tuple(contents), walk(roots))
    return pic, {o.oid: i for i, o in enumerate(live)}
