"""Mutation operators: the small mistakes a kernel patch makes, as AST transformations of one
kernel method.

Each operator finds its *sites* in a FunctionDef, in source order; a site's ``apply()`` changes
the tree it was found in.  A mutant is (function, operator, index of the site): to build it,
the function's tree is copied, the operator's sites are found again in the copy, and the
index-th is applied.  The operators:

``drop-check``   an ``if`` that backs out (its body returns, continues, breaks or raises) has
                 its test replaced by ``False`` (by ``(test) and False`` when evaluating the
                 test takes a step, a trylock say, which still happens): a check or recheck
                 is gone.
``negate``       an ``if``/``while`` test is negated.
``drop-lock``    a critical section loses its lock: the lock statement (``spin_lock``,
                 ``folio_lock``, ``down_read``, ...) and the unlocks of the same lock in the same
                 function are removed; a ``folio_trylock`` test becomes ``True``; a one-step
                 critical section (``locked_step``) becomes a plain step that does not wait.
                 (Removing the lock alone would only trip the unlock's ownership check; an
                 unlock in another function, e.g. the read completion's folio_unlock, still
                 does.)
``drop-unlock``  one unlock statement is removed.
``split-step``   an atomic step is cut in two: a copy of the step is inserted inside its body
                 (between two statements, or between a test and its branches), so another
                 thread can run in the middle; a ``.rmw()`` becomes a ``.read()`` then a
                 ``.write()``.  Both halves declare every object of the step, so the search stays
                 sound: only the atomicity is lost.
``swap``         two adjacent statements that each take a step, and do not use each other's
                 results, change order.
``skip-ref``     a reference count change is skipped: folio_put/folio_get, ``.ref``/
                 ``.mapcount``/``inuse_pages``/per-cpu ``si->users`` updates, swap_map count
                 changes (swap_free, swap_duplicate, put_swap_folio, put_swap_device, ``count``
                 arithmetic in the swap_map helpers).
``off-by-one``   ``<``/``<=`` and ``>``/``>=`` trade places; ``== c``/``!= c`` become ``c + 1``.

Not mutated: the model's own assertions (an ``if`` whose body only raises ``Violation``: a
kernel BUG_ON or the model detecting a bad state).  Dropping one can only hide a violation,
never cause one, and negating one makes it fire whenever it is reached: neither says anything
about the scenarios.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Callable

OPERATORS = ("drop-check", "negate", "drop-lock", "drop-unlock", "split-step", "swap", "skip-ref",
             "off-by-one")

LOCKS = ("lock", "down_read", "down_write")
UNLOCKS = ("unlock", "up_read", "up_write")
# calls (self.NAME(...)) that change a reference count or a swap_map count
REF_CALLS = ("folio_put", "swap_free", "swap_duplicate", "put_swap_folio", "put_swap_device",
             "swapcache_clear")
# cells whose ``.value`` arithmetic is a reference count
REF_FIELDS = ("ref", "mapcount", "inuse_pages")
# locals that hold a count being changed (swap_map helpers, this CPU's si->users counter)
REF_LOCALS = ("count", "mine")
ASSERTIONS = ("Violation", "ModelError", "ValueError", "NotImplementedError")

MUTANT_PREFIX = "__mutate_"      # names a mutant adds (a helper, a split test's value)


@dataclass
class Site:
    operator: str
    line: int
    what: str                    # one line: "drop check `if not pte_same(...)`"
    apply: Callable[[], None]    # changes the tree the site was found in


def clone(node):
    """A deep copy of an AST (several times faster than copy.deepcopy, which keeps a memo)."""
    if isinstance(node, list):
        return [clone(x) for x in node]
    if not isinstance(node, ast.AST):
        return node
    new = node.__class__()
    for name in node._fields:
        if hasattr(node, name):
            setattr(new, name, clone(getattr(node, name)))
    for name in node._attributes:
        if hasattr(node, name):
            setattr(new, name, getattr(node, name))
    return new


# --- walking a function ------------------------------------------------------------------------
_NESTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def statements(body: list):
    """(statement, the list holding it, its index) for every statement, in source order; nested
    functions and classes are not entered."""
    for i, s in enumerate(body):
        yield s, body, i
        if isinstance(s, _NESTED):
            continue
        for field in ("body", "orelse", "finalbody"):
            sub = getattr(s, field, None)
            if isinstance(sub, list) and sub and isinstance(sub[0], ast.stmt):
                yield from statements(sub)
        for h in getattr(s, "handlers", None) or ():
            yield from statements(h.body)


def own_exprs(stmt) -> list:
    """The expressions that belong to ``stmt`` itself (not to statements nested in it)."""
    out = []
    for _, v in ast.iter_fields(stmt):
        if isinstance(v, ast.expr):
            out.append(v)
        elif isinstance(v, list):
            out.extend(e for e in v if isinstance(e, ast.expr))
    return out


def walk_expr(node):
    """ast.walk, without entering lambdas (their bodies run elsewhere)."""
    todo = [node]
    while todo:
        n = todo.pop(0)
        yield n
        if isinstance(n, ast.Lambda):
            continue
        todo.extend(ast.iter_child_nodes(n))


def yield_froms(stmt):
    """(node, field, the ``yield from`` held in that field) for every ``yield from`` in the
    statement's own expressions: where an operator can put a constant in its place."""
    for e in own_exprs(stmt):
        for n in walk_expr(e):
            for field, v in ast.iter_fields(n):
                if isinstance(v, ast.YieldFrom):
                    yield n, field, v


def has_yield(node) -> bool:
    return any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in walk_expr(node)) if isinstance(node, ast.expr) \
        else any(isinstance(n, (ast.Yield, ast.YieldFrom)) for e in own_exprs(node) for n in walk_expr(e))


def stmt_has_yield(stmt) -> bool:
    """Does running ``stmt`` (with what is nested in it) take a step?"""
    for s, _, _ in statements([stmt]):
        if has_yield(s):
            return True
    return False


def short(node, width: int = 60) -> str:
    """Source text of ``node`` with call arguments elided: ``not pte_same(...)``."""
    n = clone(node)
    for c in ast.walk(n):
        if isinstance(c, ast.Call) and (c.args or c.keywords):
            c.args, c.keywords = [ast.Name("...")], []
        if isinstance(c, ast.Lambda):
            c.body = ast.Name("...")
    text = " ".join(ast.unparse(n).split())
    return text if len(text) <= width else text[:width - 3] + "..."


def _call_attr(node) -> str | None:
    """The attribute name called: ``x.y.lock(...)`` -> "lock"."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _yield_from_call(stmt, names) -> ast.Call | None:
    """``yield from X.name(...)`` as a statement, ``name`` in ``names``: the Call."""
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.YieldFrom) \
            and _call_attr(stmt.value.value) in names:
        return stmt.value.value
    return None


def _is_assertion(stmt) -> bool:
    """An ``if`` whose body only raises a Violation (a BUG_ON, the model's own detector)."""
    if not isinstance(stmt, ast.If) or stmt.orelse or len(stmt.body) != 1:
        return False
    r = stmt.body[0]
    if not isinstance(r, ast.Raise) or r.exc is None:
        return False
    exc = r.exc.func if isinstance(r.exc, ast.Call) else r.exc
    return isinstance(exc, ast.Name) and exc.id in ASSERTIONS


def _backs_out(body: list) -> bool:
    return bool(body) and isinstance(body[-1], (ast.Return, ast.Raise, ast.Continue, ast.Break))


def _tests(fdef):
    """(if/while statement, its test) for every condition that is not an assertion's."""
    for s, _, _ in statements(fdef.body):
        if isinstance(s, (ast.If, ast.While)) and not _is_assertion(s):
            if isinstance(s.test, ast.Constant):
                continue                  # while True
            yield s


def _set(obj, field, value):
    return lambda: setattr(obj, field, value)


# --- the operators -------------------------------------------------------------------------------
def drop_check(fdef, env) -> list[Site]:
    out = []
    for s in _tests(fdef):
        if isinstance(s, ast.If) and _backs_out(s.body):
            out.append(Site("drop-check", s.lineno, f"drop check `if {short(s.test)}`",
                            _set(s, "test", _never(s.test))))
    return out


def _never(test):
    """A test that is never true: ``False``, or ``(test) and False`` when the test takes steps
    (a trylock, a read): the steps still happen, only the branch is gone."""
    if has_yield(test):
        return ast.BoolOp(ast.And(), [test, ast.Constant(False)])
    return ast.Constant(False)


def negate(fdef, env) -> list[Site]:
    out = []
    for s in _tests(fdef):
        kw = "if" if isinstance(s, ast.If) else "while"
        out.append(Site("negate", s.lineno, f"negate `{kw} {short(s.test)}`",
                        _set(s, "test", ast.UnaryOp(ast.Not(), s.test))))
    return out


def _receiver(call: ast.Call) -> str:
    return ast.dump(call.func.value)


def _drop_unlocks(fdef, recv: str) -> None:
    """Every unlock of the lock ``recv`` in fdef becomes ``pass`` (its lock is gone)."""
    for s, blk, j in list(statements(fdef.body)):
        c = _yield_from_call(s, UNLOCKS)
        if c is not None and _receiver(c) == recv:
            blk[j] = ast.Pass()


def _drop_section(body, i, fdef, recv: str, replacement):
    """Remove the lock at body[i] (or replace it) and every unlock of the same lock in fdef."""
    def apply():
        _drop_unlocks(fdef, recv)
        body[i] = replacement
    return apply


def drop_lock(fdef, env) -> list[Site]:
    out = []
    for s, body, i in statements(fdef.body):
        c = _yield_from_call(s, LOCKS)
        if c is not None:
            out.append(Site("drop-lock", s.lineno, f"drop lock `{short(c)}` and its unlocks here",
                            _drop_section(body, i, fdef, _receiver(c), ast.Pass())))
            continue
        c = _yield_from_call(s, ("locked_step",))
        if c is not None and "Step" in env and c.args:
            plain = ast.Expr(ast.Yield(ast.Call(ast.Name("Step", ast.Load()),
                                                [ast.Call(ast.Name("tuple", ast.Load()), [c.args[0]], [])]
                                                + c.args[1:2], [])))
            out.append(Site("drop-lock", s.lineno, f"drop the lock of one-step section `{short(c)}`",
                            _replace(body, i, plain)))
            continue
        for n, field, v in yield_froms(s):
            if _call_attr(v.value) == "trylock":
                out.append(Site("drop-lock", s.lineno,
                                f"drop trylock `{short(v.value)}` (taken as success) and its unlocks here",
                                _drop_trylock(n, field, fdef, _receiver(v.value))))
    return out


def _drop_trylock(parent, field, fdef, recv):
    """The trylock in parent.field taken as success, and every unlock of that lock gone."""
    def apply():
        _drop_unlocks(fdef, recv)
        setattr(parent, field, ast.Constant(True))
    return apply


def _replace(body, i, new):
    def apply():
        body[i] = new
    return apply


def drop_unlock(fdef, env) -> list[Site]:
    out = []
    for s, body, i in statements(fdef.body):
        c = _yield_from_call(s, UNLOCKS)
        if c is not None:
            out.append(Site("drop-unlock", s.lineno, f"drop unlock `{short(c)}`", _replace(body, i, ast.Pass())))
    return out


def _step_statement(s) -> str | None:
    """The label of a statement that yields one step whose body follows it: ``yield Step(...)``,
    ``yield from L.locked_step(...)`` or ``yield from atomic(...)``."""
    if not isinstance(s, ast.Expr):
        return None
    v = s.value
    if isinstance(v, ast.Yield) and isinstance(v.value, ast.Call) and isinstance(v.value.func, ast.Name) \
            and v.value.func.id == "Step" and v.value.args:
        return _step_label(v.value)
    if isinstance(v, ast.YieldFrom) and isinstance(v.value, ast.Call):
        f = v.value.func
        if (isinstance(f, ast.Attribute) and f.attr == "locked_step") or (isinstance(f, ast.Name) and f.id == "atomic"):
            return _step_label(v.value)
    return None


def _step_label(call: ast.Call) -> str:
    """The step's label as written (an f-string shows its template), else the call."""
    label = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "label"), None)
    if isinstance(label, ast.Constant):
        return str(label.value)[:50]
    if isinstance(label, ast.JoinedStr):
        text = "".join(v.value if isinstance(v, ast.Constant) else "{" + ast.unparse(v.value) + "}"
                       for v in label.values)
        return text if len(text) <= 50 else text[:47] + "..."
    return short(call)


def _body_after(body, i) -> list:
    """The statements after body[i] that run in its step: up to the first one that takes a step
    (or ends the block)."""
    out = []
    for s in body[i + 1:]:
        if stmt_has_yield(s):
            break
        out.append(s)
        if isinstance(s, (ast.Return, ast.Raise, ast.Continue, ast.Break)):
            break
    return out


def touches_shared(node) -> bool:
    """Does ``node`` read or write a shared object inside a step body (``x.value``)?"""
    return any(isinstance(n, ast.Attribute) and n.attr == "value" for n in ast.walk(node))


def split_step(fdef, env) -> list[Site]:
    """Only cuts with shared state on both sides count: a cut before a statistic, a trace note,
    the oracle's ghost record of what the user stored (``mm.logical``) or an engine declaration
    (``folio.publish()``) would mutate the model's bookkeeping, not the kernel."""
    out = []
    for s, body, i in statements(fdef.body):
        label = _step_statement(s)
        if label is not None:
            run = _body_after(body, i)
            for k in range(1, len(run)):
                if isinstance(run[k - 1], (ast.Return, ast.Raise, ast.Continue, ast.Break)):
                    break
                if touches_shared(run[k]) and any(touches_shared(r) for r in run[:k]):
                    out.append(Site("split-step", run[k].lineno,
                                    f"split step `{label}` before `{short(run[k], 40)}`",
                                    _insert(body, i + 1 + k, s)))
            for k, t in enumerate(run):
                if isinstance(t, ast.If) and not _is_assertion(t) and touches_shared(t.test) \
                        and any(touches_shared(b) for b in t.body + t.orelse):
                    out.append(Site("split-step", t.lineno,
                                    f"split step `{label}` between test `{short(t.test, 40)}` and its branches",
                                    _split_test(body, i + 1 + k, s)))
        for e in own_exprs(s):
            if isinstance(e, ast.YieldFrom) and _call_attr(e.value) == "rmw" and e.value.args:
                if isinstance(s, ast.Expr) or (isinstance(s, ast.Assign) and len(s.targets) == 1):
                    out.append(Site("split-step", s.lineno, f"split `{short(e.value)}` into a read and a write",
                                    _split_rmw(body, i)))
    return out


def _insert(body, j, step_stmt):
    def apply():
        body.insert(j, clone(step_stmt))
    return apply


def _split_test(body, j, step_stmt):
    def apply():
        t = body[j]
        name = f"{MUTANT_PREFIX}test"
        body[j:j + 1] = [ast.Assign([ast.Name(name, ast.Store())], t.test), clone(step_stmt),
                         ast.If(ast.Name(name, ast.Load()), t.body, t.orelse)]
    return apply


def _split_rmw(body, i):
    """``[v =] yield from X.rmw(fn, label...)`` -> ``old = yield from X.read(label...);
    yield from X.write((fn)(old), label...); [v = old]``."""
    def apply():
        s = body[i]
        call = s.value.value
        cell = call.func.value
        fn, rest = call.args[0], call.args[1:]
        kws = call.keywords
        old = f"{MUTANT_PREFIX}old"
        read = ast.Assign([ast.Name(old, ast.Store())],
                          ast.YieldFrom(ast.Call(ast.Attribute(cell, "read", ast.Load()), list(rest), kws)))
        write = ast.Expr(ast.YieldFrom(ast.Call(ast.Attribute(clone(cell), "write", ast.Load()),
                                                [ast.Call(fn, [ast.Name(old, ast.Load())], [])] + clone(rest),
                                                clone(kws))))
        new = [read, write]
        if isinstance(s, ast.Assign):
            new.append(ast.Assign(s.targets, ast.Name(old, ast.Load())))
        body[i:i + 1] = new
    return apply


_SIMPLE = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign)


def _names(node, ctx) -> set:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ctx)}


def swap(fdef, env) -> list[Site]:
    out = []
    for s, body, i in statements(fdef.body):
        if i + 1 >= len(body):
            continue
        a, b = s, body[i + 1]
        if not (isinstance(a, _SIMPLE) and isinstance(b, _SIMPLE) and has_yield(a) and has_yield(b)):
            continue
        wa, wb = _names(a, ast.Store), _names(b, ast.Store)
        if isinstance(a, ast.AugAssign):
            wa |= _names(a.target, ast.Load) | {getattr(a.target, "id", "")}
        if isinstance(b, ast.AugAssign):
            wb |= {getattr(b.target, "id", "")}
        if wa & (_names(b, ast.Load) | wb) or wb & _names(a, ast.Load):
            continue                      # one uses the other's result: not a reordering
        out.append(Site("swap", a.lineno, f"swap `{short(a, 40)}` and `{short(b, 40)}`", _swap(body, i)))
    return out


def _swap(body, i):
    def apply():
        body[i], body[i + 1] = body[i + 1], body[i]
    return apply


def _ref_target(t) -> bool:
    """``X.ref.value``, ``X.mapcount.value``, ``si.inuse_pages.value``, ``count``, ``mine.value``."""
    if isinstance(t, ast.Name):
        return t.id in REF_LOCALS
    if isinstance(t, ast.Attribute) and t.attr == "value":
        v = t.value
        return (isinstance(v, ast.Attribute) and v.attr in REF_FIELDS) or \
            (isinstance(v, ast.Name) and v.id in REF_LOCALS)
    return False


def _ref_store(t) -> bool:
    """``folio.mapcount.value = 1`` and the like: a count set outright."""
    return isinstance(t, ast.Attribute) and t.attr == "value" and isinstance(t.value, ast.Attribute) \
        and t.value.attr in ("ref", "mapcount")


def _self_call(node) -> str | None:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "self":
        return node.func.attr
    return None


def skip_ref(fdef, env) -> list[Site]:
    out = []
    for s, body, i in statements(fdef.body):
        if isinstance(s, ast.Expr) and isinstance(s.value, ast.YieldFrom):
            call = s.value.value
            name = _self_call(call)
            attr = _call_attr(call)
            if name in REF_CALLS or (attr == "rmw" and isinstance(call.func.value, ast.Attribute)
                                     and call.func.value.attr in REF_FIELDS):
                out.append(Site("skip-ref", s.lineno, f"skip `{short(call)}`", _replace(body, i, ast.Pass())))
                continue
        if isinstance(s, ast.AugAssign) and isinstance(s.op, (ast.Add, ast.Sub)) and _ref_target(s.target):
            out.append(Site("skip-ref", s.lineno, f"skip `{short(s)}`", _replace(body, i, ast.Pass())))
            continue
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and _ref_store(s.targets[0]):
            out.append(Site("skip-ref", s.lineno, f"skip `{short(s)}`", _replace(body, i, ast.Pass())))
            continue
        # a count change used as a value: (yield from self.swap_duplicate(e)) < 0 -> 0 < 0
        for n, field, v in yield_froms(s):
            if _self_call(v.value) in ("swap_duplicate",) and not (isinstance(s, ast.Expr) and s.value is v):
                out.append(Site("skip-ref", s.lineno, f"skip `{short(v.value)}` (taken as success)",
                                _set(n, field, ast.Constant(0))))
    return out


_FLIP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt}


def off_by_one(fdef, env) -> list[Site]:
    out = []
    for s, _, _ in statements(fdef.body):
        if _is_assertion(s):
            continue
        for e in own_exprs(s):
            for n in walk_expr(e):
                if not isinstance(n, ast.Compare) or len(n.ops) != 1:
                    continue
                op = type(n.ops[0])
                if op in _FLIP:
                    out.append(Site("off-by-one", s.lineno, f"`{short(n)}` with {_FLIP[op].__name__}",
                                    _flip(n)))
                elif op in (ast.Eq, ast.NotEq):
                    for side in ("left", "comparators"):
                        v = getattr(n, side)
                        c = v[0] if side == "comparators" else v
                        if isinstance(c, ast.Constant) and type(c.value) is int:
                            out.append(Site("off-by-one", s.lineno, f"`{short(n)}` with {c.value + 1}",
                                            _bump(c)))
    return out


def _flip(n):
    def apply():
        n.ops = [_FLIP[type(n.ops[0])]()]
    return apply


def _bump(c):
    def apply():
        c.value = c.value + 1
    return apply


FINDERS = {"drop-check": drop_check, "negate": negate, "drop-lock": drop_lock, "drop-unlock": drop_unlock,
           "split-step": split_step, "swap": swap, "skip-ref": skip_ref, "off-by-one": off_by_one}


def find_sites(fdef: ast.FunctionDef, operator: str, env) -> list[Site]:
    """The sites of ``operator`` in ``fdef`` (``env``: the names the function's module defines)."""
    return FINDERS[operator](fdef, env)
