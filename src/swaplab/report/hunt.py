"""Presenting a hunt: the progress line on stderr, the findings as text and as HTML."""
from __future__ import annotations

import html
import sys
import time


class HuntProgress:
    """One line on stderr: scenarios/s, branch coverage, corpus, findings.  Rewritten in place on a
    terminal; otherwise a line every ``every`` seconds (a log stays short)."""

    def __init__(self, stream=None, every: float = 10.0):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every = 0.5 if self.tty else every
        self.last = 0.0

    def __call__(self, st: dict) -> None:
        now = time.monotonic()
        if now - self.last < self.every:
            return
        self.last = now
        line = (f"hunt: {st['scenarios']} scenarios ({st['rate']:.1f}/s), coverage {st['branches_hit']}/"
                f"{st['branches_total']} branches, corpus {st['corpus']}, findings {st['findings']}, "
                f"enumeration {st['enumeration']}, {st['seconds']:.0f}s")
        if self.tty:
            self.stream.write("\r\x1b[K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self.last:
            self.stream.write("\n")
            self.stream.flush()


def _ref(f: dict) -> str:
    if f["reference_ok"] is False:
        return "REFERENCE FAILS TOO: model bug or kernel bug"
    if f["reference_ok"] is None:
        return "reference not checked"
    return "reference ok"


def findings_text(findings: list[dict], header: str = "") -> str:
    """Findings with the reference design's failures first ("model bug or kernel bug")."""
    lines = [header] if header else []
    if not findings:
        lines.append("no findings")
        return "\n".join(lines)
    ordered = sorted(findings, key=lambda f: (f["reference_ok"] is not False, -f["count"]))
    for f in ordered:
        lines.append("")
        lines.append(f"{f['design']}: {f['kind']} in {f['function']}  ×{f['count']}  [{_ref(f)}]")
        lines.append(f"  signature  {f['signature']}")
        lines.append(f"  message    {f['message']}")
        if f.get("scenario_file"):
            lines.append(f"  scenario   {f['scenario_file']}  ({f['preemptions']} preemptions, {f['steps']} steps)")
            lines.append(f"  trace      {f['trace_file']}  (swaplab replay {f['trace_file']})")
        if f.get("reproduce"):
            lines.append(f"  reproduce  {f['reproduce']}")
    return "\n".join(lines)


def findings_html(findings: list[dict], summary: str) -> str:
    css = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
           "td,th{border:1px solid #999;padding:4px 8px;vertical-align:top}.model{background:#fcc}"
           "pre{background:#f6f6f6;padding:.5em;font-size:12px;white-space:pre-wrap}")
    out = ["<!doctype html><html><head><meta charset='utf-8'><title>swaplab hunt</title>",
           f"<style>{css}</style></head><body><h1>swaplab hunt</h1><p>{html.escape(summary)}</p>",
           "<table><tr><th>design</th><th>kind</th><th>function</th><th>count</th><th>reference</th>"
           "<th>scenario (minimized)</th></tr>"]
    for f in sorted(findings, key=lambda f: (f["reference_ok"] is not False, -f["count"])):
        cls = " class='model'" if f["reference_ok"] is False else ""
        out.append(f"<tr{cls}><td>{html.escape(f['design'])}</td><td>{html.escape(f['kind'])}</td>"
                   f"<td>{html.escape(f['function'])}</td><td>{f['count']}</td><td>{html.escape(_ref(f))}</td>"
                   f"<td><small>{html.escape(f['signature'])}<br>{html.escape(f['message'])}</small>"
                   f"<pre>{html.escape(f['toml'])}</pre></td></tr>")
    out.append("</table></body></html>")
    return "\n".join(out)
