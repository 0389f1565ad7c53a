"""`swaplab mutants` output: the per-operator table, the survivors with their decisions, the score
line, and the JSON document."""
from __future__ import annotations

from ..mutate.operators import OPERATORS
from ..mutate.run import CAUGHT, SURVIVED, TIMEOUT, UNREACHED
from ..mutate.score import equivalent_reason

STATUSES = (CAUGHT, SURVIVED, TIMEOUT, UNREACHED)


def decision(r, equivalents) -> str:
    """What has been decided about a mutant that was not caught."""
    why = equivalent_reason(equivalents, r.mutant, r.design)
    return f"equivalent: {why}" if why else "undecided (a gap until a scenario kills it or a reason is given)"


def table(results, equivalents) -> str:
    rows = []
    for op in OPERATORS + ("all",):
        rs = [r for r in results if op == "all" or r.mutant.operator == op]
        if not rs:
            continue
        counts = [sum(1 for r in rs if r.status == st) for st in STATUSES]
        eq = sum(1 for r in rs if r.status != CAUGHT and equivalent_reason(equivalents, r.mutant, r.design))
        rows.append((op, len(rs), *counts, eq))
    head = ("operator", "mutants", *STATUSES, "equivalent")
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    lines = [fmt.format(*head), "-" * (sum(widths) + 2 * (len(widths) - 1))]
    lines += [fmt.format(*row) for row in rows]
    return "\n".join(lines)


def survivors(results, equivalents) -> list:
    return sorted((r for r in results if r.status != CAUGHT), key=lambda r: (r.mutant.module, r.mutant.line,
                                                                             r.mutant.id))


def survivor_lines(results, equivalents) -> str:
    out = []
    for r in survivors(results, equivalents):
        out.append(f"{r.status:<9} {r.mutant.id}\n          {r.mutant.describe()}\n"
                   f"          {decision(r, equivalents)}")
    return "\n".join(out)


def score_line(sc) -> str:
    if sc.value is None:
        return f"mutation score: n/a ({sc.mutants} mutants, all equivalent)"
    return (f"mutation score: {sc.caught}/{sc.denominator} = {100 * sc.value:.1f}% "
            f"({sc.mutants} mutants, {sc.equivalent} decided equivalent for safety)")


def stale_log_notes(stale) -> list[str]:
    """Notes for the log lines left out because their id names another site today."""
    if not stale:
        return []
    out = [f"{len(stale)} log lines left out: the kernel function changed since they were written, and "
           "their ids name other sites today (run those mutants again):"]
    out += [f"  {w} {i}: then {a}; now {b}" for w, i, a, b in stale[:20]]
    if len(stale) > 20:
        out.append(f"  ... and {len(stale) - 20} more")
    return out


def text_report(results, equivalents, sc, baselines, excluded, notes) -> str:
    parts = [table(results, equivalents), ""]
    s = survivor_lines(results, equivalents)
    if s:
        parts += ["not caught:", s, ""]
    parts.append(score_line(sc))
    for sid in sc.wrong_equivalents:
        parts.append(f"WRONG: {sid} is listed in equivalent.toml but a scenario catches it: remove the entry")
    for sid in sc.stale_equivalents:
        parts.append(f"stale: {sid} is listed in equivalent.toml but no such mutant exists any more, or its "
                     "site is not the one the entry was written for: decide it again")
    for name, why in excluded:
        parts.append(f"scenario {name} left out: {why}")
    parts += notes
    return "\n".join(parts)


def json_doc(results, equivalents, sc, baselines, excluded, meta) -> dict:
    return {**meta,
            "scenarios": [b.to_json() for b in baselines],
            "excluded_scenarios": [{"scenario": n, "reason": w} for n, w in excluded],
            "score": sc.to_json(),
            "survivors": [{"id": r.mutant.id, "description": r.mutant.describe(), "status": r.status,
                           "decision": decision(r, equivalents)} for r in survivors(results, equivalents)],
            "mutants": [dict(r.to_json(), equivalent=equivalent_reason(equivalents, r.mutant, r.design))
                        for r in results]}
