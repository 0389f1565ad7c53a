"""Plots of a bench run: latency CDF per design, throughput bars (PNG and SVG)."""
from __future__ import annotations

from pathlib import Path

from ..report.files import atomic_path


# No creation date in the files: regenerating a plot from the same run gives the same bytes
# (make docs rewrites docs/img; an unchanged figure should not show up as a change).
_REPRODUCIBLE = {"png": {"Software": None}, "svg": {"Date": None}}


def write_plots(results, workload: str, outdir: str) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams["svg.hashsalt"] = "swaplab"      # fixed ids in the SVG, not random ones

    d = Path(outdir)
    d.mkdir(parents=True, exist_ok=True)
    written = []
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in results:
        pts = r.hist.cdf()
        if pts:
            pts = [(pts[0][0], 0.0)] + pts            # start each curve at 0
            ax.step([max(x, 1) / 1000 for x, _ in pts], [y for _, y in pts], where="post", label=r.design)
    ax.set_xscale("log")
    ax.set_xlabel("fault latency (µs, log scale)")
    ax.set_ylabel("fraction of faults ≤ x")
    ax.set_title(f"swaplab bench: {workload}: fault latency CDF")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    for ext in ("png", "svg"):
        p = d / f"{workload}-latency-cdf.{ext}"
        with atomic_path(p) as tmp:
            fig.savefig(tmp, dpi=110, bbox_inches="tight", format=ext,
                        metadata=_REPRODUCIBLE[ext])
        written.append(str(p))
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.bar([r.design for r in results], [r.throughput for r in results])
    ax.set_ylabel("faults per simulated second")
    ax.set_title(f"swaplab bench: {workload}: throughput")
    ax.tick_params(axis="x", rotation=45)
    for ext in ("png", "svg"):
        p = d / f"{workload}-throughput.{ext}"
        with atomic_path(p) as tmp:
            fig.savefig(tmp, dpi=110, bbox_inches="tight", format=ext,
                        metadata=_REPRODUCIBLE[ext])
        written.append(str(p))
    plt.close(fig)
    return written
