"""How `swaplab transplant` reports: the plan, the files written, a run's result."""
from __future__ import annotations


def run_text(r) -> str:
    rate = f"{100.0 * r.losses / r.iterations:.0f}%" if r.iterations else "n/a"
    lines = [f"{r.design} counterexample on {r.scenario}, run on {r.against}'s kernel ({r.kernel})",
             f"losses: {r.losses} of {r.iterations} iterations ({rate}); "
             f"{'REPRODUCED' if r.reproduced else 'not reproduced'}  [{r.seconds:.1f} s]"]
    if r.skipped:
        lines.append(f"{r.skipped} iteration(s) skipped: the swap device was not in the state the model assumes")
    if r.diverged:
        lines.append(f"{r.diverged} iteration(s) did not follow the counterexample's order (a thread was "
                     "blocked or never reached its delay point: the design under test kept it out)")
    losses = [ln for ln in r.output.splitlines() if ln.startswith("LOSS")]
    if losses:
        lines.append("first losses:")
        lines += ["  " + ln for ln in losses[:3]]
    return "\n".join(lines)


def _kernel_cell(k: dict) -> str:
    if "error" in k:
        return "run failed: " + k["error"].splitlines()[0]
    extra = []
    if k.get("skipped"):
        extra.append(f"{k['skipped']} skipped")
    if k.get("diverged"):
        extra.append(f"{k['diverged']} off-order")
    return f"{k['losses']}/{k['iterations']} lost" + (f" ({', '.join(extra)})" if extra else "")


def _agrees(model: str, k: dict) -> str:
    if "error" in k:
        return "?"
    lossy = model not in ("ok", "diverges")
    if lossy == (k["losses"] > 0):
        return "yes"
    return "**NO**"


def validation_markdown(doc: dict) -> str:
    """The agreement table of `make validate` (docs/validation.md)."""
    out = [f"Measured by `make validate` on {doc['date']}: {doc['iterations']} iterations per run, "
           f"{doc['seconds']:.0f} s in all.", "",
           "Model verdicts (every interleaving, `swaplab check`):", "",
           "| scenario | " + " | ".join(COLS) + " | transplant |", "|---" * (len(COLS) + 2) + "|"]
    for row in doc["rows"]:
        m = row["model"]
        cells = ["(not checked)"] * len(COLS) if m is None else \
            [f"{m[d]['verdict']}" + ("" if m[d]["coverage"] in ("complete", "n/a") else f" ({m[d]['coverage']})")
             for d in COLS]
        how = ("cannot: " + row["cannot"].split(": ", 1)[-1]) if "cannot" in row else \
            ("no counterexample to transplant" if not row["runs"] else "see below")
        out.append(f"| {row['scenario']} | " + " | ".join(cells) + f" | {how} |")
    out += ["", "Counterexamples on real kernels (the same program and delay points on each kernel):", "",
            "| scenario | counterexample | delay points | kernel | model, this schedule | kernel result | agree |",
            "|---|---|---|---|---|---|---|"]
    for row in doc["rows"]:
        for r in row["runs"]:
            if "cannot" in r:
                out.append(f"| {row['scenario']} | {r['counterexample']} | — | — | — | cannot: {r['cannot']} | — |")
                continue
            out.append(f"| {row['scenario']} | {r['counterexample']} | {', '.join(r['points'])} | {r['against']} | "
                       f"{r['model']} | {_kernel_cell(r['kernel'])} | {_agrees(r['model'], r['kernel'])} |")
    if doc.get("controls"):
        out += ["", "Controls: bypass × slot-reuse with T0 paused at each point of its swap-in (bypass kernel):", "",
                "| delay point | model, this schedule | kernel result | agree |", "|---|---|---|---|"]
        for c in doc["controls"]:
            out.append(f"| {c['point']} | {c['model']} | {_kernel_cell(c['kernel'])} | {_agrees(c['model'], c['kernel'])} |")
    return "\n".join(out)


COLS = ("bypass", "prepare-sleep", "swapcache")
