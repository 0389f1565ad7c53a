"""The compare matrix as one self-contained HTML file (no scripts, no external assets)."""
from __future__ import annotations

import html


def matrix_html(designs, scenarios, cells, traces, notes) -> str:
    css = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
           "td,th{border:1px solid #999;padding:4px 8px;text-align:center}"
           ".ok{background:#dfd}.bad{background:#fcc}.unk{background:#ffd}.miss{outline:3px solid #c00}"
           "pre{background:#f6f6f6;padding:1em;overflow-x:auto;font-size:12px}")
    out = ["<!doctype html><html><head><meta charset='utf-8'><title>swaplab compare</title>",
           f"<style>{css}</style></head><body><h1>swaplab compare</h1>",
           "<p>Each cell: the verdict, and the executions explored. ok = every interleaving explored; "
           "ok≤K = every schedule with at most K preemptions explored; ok? = a budget ran out.</p>",
           "<table><tr><th>design \\ scenario</th>"]
    out += [f"<th>{html.escape(s)}</th>" for s in scenarios]
    out.append("</tr>")
    for d in designs:
        out.append(f"<tr><th>{html.escape(d)}</th>")
        for s in scenarios:
            if (d, s) not in cells:             # never run (compare was interrupted)
                out.append("<td class='unk'>-</td>")
                continue
            v, expected = cells[(d, s)]
            cls = "ok" if v.ok and v.complete == "complete" and not v.interrupted else \
                "unk" if v.ok or v.status == "died" else "bad"
            miss = " miss" if expected is not None and expected != v.status and v.finished else ""
            title = f"expected {expected}" if expected else ""
            out.append(f"<td class='{cls}{miss}' title='{html.escape(title)}'>{html.escape(v.short())}"
                       f"<br><small>{v.executions}</small></td>")
        out.append("</tr>")
    out.append("</table>")
    for n in notes:
        out.append(f"<p>{html.escape(n)}</p>")
    for title, text in traces:
        out.append(f"<h2>{html.escape(title)}</h2><pre>{html.escape(text)}</pre>")
    out.append("</body></html>")
    return "\n".join(out)
