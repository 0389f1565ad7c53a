"""Which local variables of a suspended generator can still be read: dead-variable reduction.

Two states that differ only in a local variable the thread will never read again (a value it
already tested, a PTE it already compared) behave the same from then on, so a state's picture
can leave such variables out, and stateful search then meets more states it has seen.  This is
the classic dead-variable reduction of explicit-state model checkers (SPIN's, for one), done on
CPython 3.11 bytecode: a backward data-flow analysis over the code's control-flow graph, with
the edges into exception handlers, of the fast locals (LOAD_FAST uses, STORE_FAST and
DELETE_FAST define).  Variables that a closure shares (cells) are always taken as live: a
closure may read them at any time.

Where the analysis does not know the bytecode (an opcode it was not written for, a Python
other than 3.11), :func:`live_locals` returns None and the caller keeps every variable: never
dropping a variable is always sound.
"""
from __future__ import annotations

import dis
import sys
import types

_USE = {"LOAD_FAST"}
_DEF = {"STORE_FAST", "DELETE_FAST"}
_NO_FALLTHROUGH = {"RETURN_VALUE", "RAISE_VARARGS", "RERAISE", "JUMP_FORWARD", "JUMP_BACKWARD",
                   "JUMP_BACKWARD_NO_INTERRUPT"}
_JUMPS = set(dis.hasjrel) | set(dis.hasjabs)
# opcodes that read or write fast locals in a way the analysis does not follow
_UNKNOWN = {"LOAD_FAST_CHECK", "LOAD_FAST_AND_CLEAR", "LOAD_FAST_LOAD_FAST", "STORE_FAST_LOAD_FAST",
            "STORE_FAST_STORE_FAST", "LOAD_NAME", "STORE_NAME", "DELETE_NAME", "IMPORT_STAR"}

_SUPPORTED = sys.version_info[:2] == (3, 11)
_CACHE: dict[types.CodeType, dict | None] = {}


def _analyse(code: types.CodeType) -> dict | None:
    """offset of each YIELD_VALUE -> the fast locals live when the generator resumes there."""
    instrs = list(dis.get_instructions(code))
    if not instrs:
        return {}
    index = {ins.offset: k for k, ins in enumerate(instrs)}
    try:
        table = dis._parse_exception_table(code)       # 3.11: (start, end, target, depth, lasti)
    except Exception:
        return None
    succ: list[list[int]] = []
    use: list[frozenset] = []
    kill: list[frozenset] = []
    for k, ins in enumerate(instrs):
        if ins.opname in _UNKNOWN:
            return None
        out = []
        if ins.opname not in _NO_FALLTHROUGH and k + 1 < len(instrs):
            out.append(k + 1)
        if ins.opcode in _JUMPS:
            t = index.get(ins.argval)
            if t is None:
                return None
            out.append(t)
        for entry in table:
            if entry.start <= ins.offset < entry.end:
                t = index.get(entry.target)
                if t is None:
                    return None
                out.append(t)
        succ.append(out)
        use.append(frozenset((ins.argval,)) if ins.opname in _USE else frozenset())
        kill.append(frozenset((ins.argval,)) if ins.opname in _DEF else frozenset())
    # live_in[k] = use[k] | (live_out[k] - kill[k]), iterated to the fixed point
    live_in = [frozenset()] * len(instrs)
    changed = True
    while changed:
        changed = False
        for k in range(len(instrs) - 1, -1, -1):
            out = frozenset().union(*[live_in[s] for s in succ[k]]) if succ[k] else frozenset()
            new = use[k] | (out - kill[k])
            if new != live_in[k]:
                live_in[k] = new
                changed = True
    resume = {}
    for k, ins in enumerate(instrs):
        if ins.opname == "YIELD_VALUE":
            resume[ins.offset] = frozenset().union(*[live_in[s] for s in succ[k]]) if succ[k] \
                else frozenset()
    return resume


def live_locals(code: types.CodeType, lasti: int) -> frozenset | None:
    """The fast locals a generator of ``code`` suspended at byte offset ``lasti`` may still
    read (cells excepted: keep those), or None if that is not known."""
    if not _SUPPORTED:
        return None
    res = _CACHE.get(code, _CACHE)
    if res is _CACHE:
        try:
            res = _analyse(code)
        except Exception:
            res = None
        _CACHE[code] = res
    if res is None:
        return None
    return res.get(lasti)
