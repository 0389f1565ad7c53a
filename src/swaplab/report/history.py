"""The history gallery as text: one block per fix commit, the pre-fix design's verdict and the
fixed design's on each catching scenario (``swaplab compare --history``)."""
from __future__ import annotations


def gallery_text(rows) -> str:
    """``rows``: (entry, design, scenario, expected, verdict or None), in gallery order."""
    lines = []
    last = None
    for entry, design, scenario, want, v in rows:
        if entry is not last:
            if last is not None:
                lines.append("")
            lines.append(f"{entry.commit} {entry.title!r} ({entry.version})")
            last = entry
        role = "before" if design == entry.buggy else "after "
        if v is None:
            got, mark, detail = "-", " ", "not run"
        else:
            got = v.short()
            mark = "✓" if v.status == want else "✗"
            detail = (f"{v.executions} executions, {v.complete}"
                      + (f", {v.violation.preemptions} preemption(s)" if v.violation is not None else ""))
        lines.append(f"  {role} {design:24} {scenario:26} {got:16} {mark} expected {want:15} ({detail})")
    return "\n".join(lines)


def gallery_json(rows) -> dict:
    cells = []
    for entry, design, scenario, want, v in rows:
        cells.append({"commit": entry.commit, "title": entry.title, "version": entry.version,
                      "role": "buggy" if design == entry.buggy else "fixed", "design": design,
                      "scenario": scenario, "expected": want,
                      "verdict": None if v is None else v.to_json()})
    return {"cells": cells,
            "mismatches": [c for c in cells if c["verdict"] is None or c["verdict"]["verdict"] != c["expected"]]}
