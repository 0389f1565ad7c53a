"""Print an execution the way kernel commit messages show races: one column per CPU, kernel
function names, and the values that matter where they change."""
from __future__ import annotations

import textwrap

from ..engine.objects import Cell

# Helper frames that say nothing to a kernel reader.
_HIDDEN = {"run_thread", "do_op", "body", "setup", "inc", "phil", "read", "write", "rmw", "locked_step"}
# folio->mapping's anon bit (issue 12 widen b) is set with the mapping it follows: noise too
_NOISE = ("reader[", "pcpu[", ".lock", "users.", ".mapping_anon")


def _fmt(obj, v) -> str:
    f = getattr(obj, "fmt", None)
    if v is None:
        return "empty"
    return f(v) if f else str(v)


def _function(stack: list[str]) -> str:
    shown = [s for s in stack if s not in _HIDDEN and not s.startswith("<")]
    return shown[-1] if shown else ""


# fork and swapoff change few values a reader sees (their locks and si->users are noise
# elsewhere), yet where they run decides a race: their own steps are always shown.
_ALWAYS = {"fork", "copy_page_range", "swapoff", "try_to_unuse"}


def step_lines(rec, verbose: bool) -> list[str]:
    lines = [rec["label"]]
    for obj, old, new in rec["changes"]:
        if not isinstance(obj, Cell) or any(n in obj.name for n in _NOISE):
            continue
        lines.append(f"  {obj.name}: {_fmt(obj, old)} -> {_fmt(obj, new)}")
    for n in rec["notes"]:
        lines.append(f"  ({n})")
    if rec.get("failed"):
        lines.append(f"  <= {rec['failed']} detected in this step")
    return lines


def interesting(rec) -> bool:
    """Steps worth a line by default: those that change a value or say something (a check
    that failed says so in a note), the step where the violation was detected, and the own
    steps of fork and swapoff."""
    if rec["notes"] or rec.get("failed"):
        return True
    shown = [f for f in rec["stack"] if f not in _HIDDEN and not f.startswith("<")]
    if any(f in _ALWAYS for f in shown[-2:]):     # theirs, or a lock they take
        return True
    return any(isinstance(o, Cell) and not any(n in o.name for n in _NOISE) for o, _, _ in rec["changes"])


def format_columns(ex, *, width: int = 46, verbose: bool = False, title: str = "") -> str:
    """The trace of a traced execution as CPU columns."""
    nthreads = len(ex.threads)
    cols = [f"CPU{t} ({ex.threads[t].name})" for t in range(nthreads)]
    out = []
    if title:
        out.append(title)
        out.append("")
    out.append("  ".join(c.ljust(width) for c in cols).rstrip())
    out.append("  ".join(("-" * min(width, 40)).ljust(width) for _ in cols).rstrip())
    last_fn = [None] * nthreads
    for rec in ex.trace:
        t = rec["tid"]
        if not verbose and not interesting(rec):
            continue
        fn = _function(rec["stack"])
        lines = []
        if fn and fn != last_fn[t]:
            lines.append(f"{fn}:")
            last_fn[t] = fn
        for ln in step_lines(rec, verbose):
            lines.extend(textwrap.wrap(ln, width, subsequent_indent="    ") or [""])
        for ln in lines:
            row = ["".ljust(width)] * nthreads
            row[t] = ("  " + ln if fn and not ln.endswith(":") else ln).ljust(width)
            out.append("  ".join(row).rstrip())
    return "\n".join(out)
