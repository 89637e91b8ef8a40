"""Plot pipelining sweeps: ECP5 Fmax, flip-flops and latency against R (LUT levels per register stage).

Each design is a bench_pipeline.py JSON, optionally with the run's report.json for the combinational
point (R = 0, same tools) when the sweep did not run it:

    .venv/bin/python benchmarks/plot_pipeline.py \
        digits=benchmarks/results/pipeline_digits.json:models/digits/report.json \
        mnist_top2=benchmarks/results/pipeline_mnist_top2.json:models/mnist_top2/report.json \
        -o docs/img/pipeline.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def sweep_points(sweep: Path, report: Path | None) -> list[dict]:
    """(R, Fmax, FF, latency cycles, latency ns) per row, R = 0 from the report when the sweep lacks it."""
    rows = [r for r in json.loads(sweep.read_text())["rows"] if r.get("fmax_mhz")]
    pts = [
        {"R": r["R"], "fmax": r["fmax_mhz"], "ff": r.get("ecp5_ff", r["ff_design"]), "cycles": r["latency_cycles"]}
        for r in rows
    ]
    if report is not None and not any(p["R"] == 0 for p in pts):
        t = json.loads(report.read_text())["timing"]
        if t.get("fmax_mhz") and not t.get("pipeline_every"):
            pts.append({"R": 0, "fmax": t["fmax_mhz"], "ff": 0, "cycles": 0})
    for p in pts:  # a combinational design takes one clock period of the I/O registers around it
        p["ns"] = 1000.0 * max(p["cycles"], 1) / p["fmax"]
    return sorted(pts, key=lambda p: (p["R"] != 0, -p["R"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("designs", nargs="+", help="name=sweep.json[:report.json]")
    ap.add_argument("-o", "--out", type=Path, default=Path("docs/img/pipeline.png"))
    args = ap.parse_args()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for spec in args.designs:
        name, _, paths = spec.partition("=")
        sweep, _, report = paths.partition(":")
        pts = sweep_points(Path(sweep), Path(report) if report else None)
        labels = ["comb." if p["R"] == 0 else f"R={p['R']}" for p in pts]
        for ax, key in zip(axes, ("fmax", "ff", "ns"), strict=True):
            ax.plot(range(len(pts)), [p[key] for p in pts], "o-", label=name)
            for i, p in enumerate(pts):
                ax.annotate(f"{p[key]:.0f}", (i, p[key]), textcoords="offset points", xytext=(4, 4), fontsize=7)
            ax.set_xticks(range(len(pts)), labels)
        print(
            name,
            [(lab, p["fmax"], p["ff"], p["cycles"], round(p["ns"], 1)) for lab, p in zip(labels, pts, strict=True)],
        )
    for ax, title in zip(axes, ("Fmax (MHz, nextpnr-ecp5)", "flip-flops", "latency (ns) = cycles / Fmax"), strict=True):
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    axes[1].set_yscale("symlog", linthresh=10)
    axes[1].set_ylim(bottom=0)
    axes[0].legend()
    fig.suptitle(
        "Pipelining the whole design: a register stage every R LUT levels (ECP5 LFE5U, Yosys synth_ecp5)", fontsize=10
    )
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
