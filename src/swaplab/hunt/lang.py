"""The scenario language as data for the hunt: writing a Scenario back as TOML the loader reads,
validating a generated one through the loader, and the canonical form that makes scenarios equal
up to renaming (threads, pages, mms, fork children, values) one.

The loader (swaplab.scenarios.loader) stays the only judge of what a scenario is: every scenario
the hunt builds goes through ``validated()``, i.e. through ``parse_scenario(to_toml(s))``.
"""
from __future__ import annotations

import copy
import itertools

from ..scenarios.loader import OP_KINDS, PAGE_STATES, Device, MMSpec, Op, Page, Scenario, ScenarioError, \
    ThreadSpec, parse_scenario

__all__ = ["OP_KINDS", "PAGE_STATES", "to_toml", "validated", "canonical", "encode", "renumbered",
           "scenario", "Device", "MMSpec", "Op", "Page", "ThreadSpec", "Scenario"]

# Past this many (thread order × page order) candidates the canonical form keeps the page order
# (threads are still sorted): mutation can make scenarios bigger than any exhaustive bound.
MAX_PERMUTATIONS = 5040


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_toml(s: Scenario) -> str:
    """The scenario as a TOML file the loader accepts (and `swaplab check -s FILE` runs)."""
    out = [f"name = {_q(s.name)}"]
    if s.description:
        out.append(f"description = {_q(s.description)}")
    if s.probes:
        out.append(f"probes = {_q(s.probes)}")
    d = s.device
    out += ["", "[device]", f"slots = {d.slots}", f"synchronous = {'true' if d.synchronous else 'false'}",
            f"allocation = {_q(d.allocation)}"]
    # the widen options, written only when set (a default device reads as it always did)
    if d.vm_swap_full != "never":
        out.append(f"vm_swap_full = {_q(d.vm_swap_full)}")
    if d.read_errors:
        out.append("read_errors = [" + ", ".join(str(x) for x in d.read_errors) + "]")
    if d.slot_cache:          # issue 12 widen e: written only when on, so older files stay as they were
        out.append("slot_cache = true")
        if d.slot_cache_size != 64:
            out.append(f"slot_cache_size = {d.slot_cache_size}")
    for m in s.mms:
        out += ["", "[[mm]]", f"name = {_q(m.name)}"]
        if m.forked_from:
            out.append(f"forked_from = {_q(m.forked_from)}")
            continue
        pages = []
        for p in m.pages:
            fields = [f"state = {_q(p.state)}"]
            if p.state != "none":
                fields.append(f"value = {p.value}")
            if p.slot is not None:
                fields.append(f"slot = {p.slot}")
            if not p.exclusive:
                fields.append("exclusive = false")
            pages.append("{ " + ", ".join(fields) + " }")
        out.append("pages = [" + ", ".join(pages) + "]")
    for t in s.threads:
        out += ["", "[[thread]]", f"name = {_q(t.name)}", f"mm = {_q(t.mm)}",
                "ops = [" + ", ".join(_q(str(o)) for o in t.ops) + "]"]
    if s.expect:
        out += ["", "[expect]"] + [f"{_q(k)} = {_q(v)}" for k, v in s.expect.items()]
    return "\n".join(out) + "\n"


def validated(s: Scenario) -> Scenario:
    """The scenario as the loader reads it back; raises ScenarioError if the loader refuses it."""
    return parse_scenario(to_toml(s), f"<{s.name}>", s.name)


def is_valid(s: Scenario) -> bool:
    try:
        validated(s)
        return True
    except ScenarioError:
        return False


# --- canonical form -----------------------------------------------------------------------------
def _roots(s: Scenario) -> dict[str, str]:
    """mm name -> the name of the mm whose page list it uses (itself, or its fork parent)."""
    root = {}
    for m in s.mms:
        root[m.name] = root[m.forked_from] if m.forked_from else m.name
    return root


def encode(s: Scenario, thread_order=None, page_perm=None) -> tuple:
    """The scenario as a tuple that forgets every name: mms by position, fork children and values
    numbered in order of first appearance, a page-address list sorted.  ``thread_order`` lists
    thread indices in the order to encode them; ``page_perm[root mm][old page] = new page``."""
    vals: dict[int, int] = {0: 0}
    kids: dict[str, int] = {}

    def val(v):
        if v not in vals:
            vals[v] = len(vals)
        return vals[v]

    mm_index = {m.name: i for i, m in enumerate(s.mms)}
    root = _roots(s)
    perm = page_perm or {}
    d = s.device
    mms = []
    for m in s.mms:
        if m.forked_from:
            mms.append(("fork", mm_index[m.forked_from]))
            continue
        p = perm.get(m.name)
        order = list(range(len(m.pages)))
        if p is not None:
            order = sorted(order, key=lambda i: p[i])
        mms.append(("pages",) + tuple((m.pages[i].state, val(m.pages[i].value),
                                       -1 if m.pages[i].slot is None else m.pages[i].slot,
                                       m.pages[i].exclusive) for i in order))
    threads = []
    for ti in (thread_order if thread_order is not None else range(len(s.threads))):
        t = s.threads[ti]
        p = perm.get(root[t.mm])
        ops = []
        for o in t.ops:
            addrs = tuple(sorted(p[a] for a in o.addrs)) if p is not None else tuple(sorted(o.addrs))
            if o.kind == "fork":
                kids.setdefault(o.child, len(kids))
                ops.append((o.kind, (), 0, kids[o.child]))
            else:
                ops.append((o.kind, addrs, val(o.value) if o.value is not None else -1, -1))
        threads.append((mm_index[t.mm], tuple(ops)))
    # read errors name slots, which the canonical form keeps as they are (as it keeps a page's slot)
    dev = (d.slots, d.synchronous, d.allocation, d.vm_swap_full, tuple(sorted(d.read_errors)))
    if d.slot_cache:          # only when on: the keys of scenarios without it do not change
        dev += (("slot_cache", d.slot_cache_size),)
    return (dev, tuple(mms), tuple(threads))


def _page_perms(s: Scenario):
    roots = [m for m in s.mms if not m.forked_from]
    per_root = [list(itertools.permutations(range(len(m.pages)))) for m in roots]
    for combo in itertools.product(*per_root):
        yield {m.name: list(p) for m, p in zip(roots, combo)}


def _candidates(s: Scenario):
    n_threads = len(s.threads)
    n_page = 1
    for m in s.mms:
        if not m.forked_from:
            for k in range(2, len(m.pages) + 1):
                n_page *= k
    thread_orders = list(itertools.permutations(range(n_threads)))
    # read errors name slots, and the loader hands slots out in page order: renaming pages would
    # move an error to another page, so such scenarios keep their page order
    if len(thread_orders) * n_page > MAX_PERMUTATIONS or s.device.read_errors:
        page_perms = [None]
    else:
        page_perms = list(_page_perms(s))
    return thread_orders, page_perms


def canonical(s: Scenario) -> tuple:
    """The least encoding over every order of the threads and every renaming of the pages: two
    scenarios that differ only by names, values, thread order or page numbering have the same
    canonical form."""
    orders, perms = _candidates(s)
    return min(encode(s, o, p) for o in orders for p in perms)


def is_canonical(s: Scenario) -> bool:
    """Whether ``s`` as written is its class's representative (early exit on a smaller one)."""
    mine = encode(s)
    orders, perms = _candidates(s)
    for o in orders:
        for p in perms:
            if encode(s, o, p) < mine:
                return False
    return True


def canonical_key(s: Scenario) -> str:
    return repr(canonical(s))


def renumbered(s: Scenario, name: str | None = None) -> Scenario:
    """The same scenario with tidy names: mms A, B, ..., threads T0, T1, ..., fork children C1,
    C2, ..., values 1, 2, ... in order of appearance.  Keeps thread and page order."""
    s = copy.deepcopy(s)
    mm_names = {m.name: chr(ord("A") + i) for i, m in enumerate(s.mms)}
    vals: dict[int, int] = {0: 0}

    def val(v):
        if v not in vals:
            vals[v] = len(vals)
        return vals[v]
    for m in s.mms:
        m.name = mm_names[m.name]
        if m.forked_from:
            m.forked_from = mm_names[m.forked_from]
        for p in m.pages:
            p.value = val(p.value)
    kids: dict[str, str] = {}
    for i, t in enumerate(s.threads):
        t.name = f"T{i}"
        t.mm = mm_names[t.mm]
        for o in t.ops:
            if o.kind == "fork":
                kids.setdefault(o.child, f"C{len(kids) + 1}")
                o.child = kids[o.child]
            elif o.value is not None:
                o.value = val(o.value)
    if name:
        s.name = name
    return s


def scenario(name: str, pages: list[Page], threads: list[tuple[str, list[Op]]], *, slots: int = 1,
             synchronous: bool = True, allocation: str = "lowest", forked: bool = False,
             description: str = "") -> Scenario:
    """A one-process scenario (mm A, and B forked from it if ``forked``); threads as (mm, ops)."""
    mms = [MMSpec("A", pages)] + ([MMSpec("B", [], "A")] if forked else [])
    ts = [ThreadSpec(f"T{i}", mm, ops) for i, (mm, ops) in enumerate(threads)]
    return Scenario(name, description, Device(slots, synchronous, allocation), mms, ts)
