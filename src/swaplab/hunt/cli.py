"""`swaplab hunt`: the thin front end.  Reads the options, runs the coordinator or reads the
store, prints JSON or text (report/hunt.py).  Exit status: 0 no finding, 1 findings, 2 bad input
(a ValueError whose message says what to fix)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..designs import DesignError, get_design
from ..report.files import write_atomic
from ..report.hunt import HuntProgress, findings_html, findings_text
from .coordinator import HuntConfig, hunt
from .enumerate import Bound
from .seeds import seed_texts
from .store import Store, StoreError


def _summary(res) -> str:
    return (f"{res.scenarios} scenarios checked in all ({res.seconds:.0f}s this run"
            f"{', INTERRUPTED' if res.interrupted else ''}); branch coverage {res.branches_hit}/"
            f"{res.branches_total} (swaplab.kernel: {res.kernel_branches_hit}/{res.kernel_branches_total}); "
            f"corpus {res.corpus}; enumeration {'complete' if res.enumeration_done else 'not finished'}; "
            f"{len(res.findings)} finding(s)")


def export_corpus(store_path: str, directory: str) -> int:
    st = Store(store_path)
    try:
        rows = st.corpus()
    finally:
        st.close()
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    for cid, toml in rows:
        write_atomic(d / f"corpus-{cid:05d}.toml", toml)
    return len(rows)


def run_hunt(*, designs, time_limit, workers, scheduler, store, seed, bound, max_scenarios, as_json,
             report, html_file, export_dir, seeds=("none",)) -> int:
    try:
        b = Bound.parse(bound)
        for d in designs:
            get_design(d)
    except DesignError as e:
        raise ValueError(str(e)) from None
    if html_file and not report:
        raise ValueError("--html goes with --report (swaplab hunt --report --html FILE)")
    try:
        if export_dir:
            n = export_corpus(store, export_dir)
            click.echo(json.dumps({"corpus": n, "directory": export_dir}) if as_json
                       else f"{n} corpus scenario(s) written to {export_dir}")
            return 0
        if report:
            st = Store(store)
            try:
                findings = st.findings()
                scenarios = st.get("scenarios", 0)
            finally:
                st.close()
            summary = f"{store}: {scenarios} scenarios checked, {len(findings)} finding(s)"
            if html_file:
                write_atomic(html_file, findings_html(findings, summary))
            if as_json:
                click.echo(json.dumps({"scenarios": scenarios, "findings": findings}, indent=1))
            else:
                click.echo(findings_text(findings, summary))
            return 1 if findings else 0
        cfg = HuntConfig(designs=designs, store=Path(store), bound=b, seed=seed, time_limit=time_limit,
                         max_scenarios=max_scenarios, workers=workers,
                         scheduler=None if scheduler == "local" else scheduler, dask=scheduler == "local",
                         initial=seed_texts(list(seeds)))
        progress = HuntProgress()
        try:
            res = hunt(cfg, progress=progress)
        finally:
            progress.close()
    except StoreError as e:
        raise ValueError(str(e)) from None
    if as_json:
        click.echo(json.dumps(res.to_json(), indent=1))
    else:
        click.echo(findings_text(res.findings, _summary(res)))
    if as_json:
        print(_summary(res), file=sys.stderr)
    return 1 if res.findings else 0
