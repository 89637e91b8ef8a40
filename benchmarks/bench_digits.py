"""Digits benchmark: train → netlist → Verilog (Icarus) → Yosys synth_xilinx; accuracy vs LUT6 (core, whole).

Target (issue): ≥ 97% test accuracy with ≤ 1,000 LUT6 for the whole design, trained in under a
minute on 2 cores. Peers measured on this machine: difflogic 96.9% with 8,000 gates (51 s),
DWN 96.7% with 3,000 LUT6 (core only, 15 s).

    .venv/bin/python benchmarks/bench_digits.py [--config configs/digits.toml ...] [--no-synth]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lutnn.cli.train_cmds import run_pipeline
from lutnn.config import load_config

ROOT = Path(__file__).resolve().parents[1]


def run(config: Path, out_root: Path, synth: bool, threads: int | None) -> dict:
    cfg = load_config(config)
    if not synth:
        cfg.export.synth = None
    if threads:
        cfg.train.threads = threads
    rep = run_pipeline(cfg, out_root / config.stem, title=config.stem)
    luts, acc, tm = rep["luts"], rep["accuracy"], rep["timings"]
    return {
        "config": str(config.relative_to(ROOT)) if config.is_relative_to(ROOT) else str(config),
        "dataset": rep["dataset"]["name"],
        "layers": rep["model"]["layers"],
        "encoder": rep["model"]["encoder"],
        "acc_pytorch": acc["pytorch"],
        "acc_netlist": acc["netlist"],
        "acc_verilog": acc["verilog"],
        "disagreements": rep["netlist_vs_pytorch"]["disagreements"],
        "hdl_mismatches": rep.get("hdl", {}).get("mismatches_vs_netlist"),
        "core_nodes": luts["core_nodes"],
        "core_lut6": luts["core_lut6"],
        "design_lut6": luts["design_lut6"],
        "design_depth": luts.get("design_depth_synth") or luts["design_depth"],
        "tool": luts["tool"],
        "train_s": tm.get("train_s"),
        "synth_s": (tm.get("synth_core_s") or 0) + (tm.get("synth_design_s") or 0),
    }


def print_table(rows: list[dict], title: str) -> None:
    print(f"\n{title}")
    print(
        f"{'config':28s} {'acc':>7s} {'core LUT6':>10s} {'whole LUT6':>11s} {'depth':>6s} {'train s':>8s} {'disagree':>9s}"
    )
    for r in rows:

        def f(v, fmt):
            return format(v, fmt) if v is not None else "—"

        print(
            f"{r['config']:28s} {100 * r['acc_pytorch']:6.2f}% {f(r['core_lut6'], '10d')} {f(r['design_lut6'], '11d')} "
            f"{f(r['design_depth'], '6d')} {r['train_s']:8.1f} {r['disagreements']:9d}"
        )
    if rows and rows[0]["tool"]:
        print(f"LUT counts: {rows[0]['tool']}")


def main(default_configs: list[str], name: str, title: str) -> None:
    ap = argparse.ArgumentParser(description=title)
    ap.add_argument("--config", nargs="+", default=default_configs)
    ap.add_argument("--no-synth", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", default=str(ROOT / "runs" / "bench"))
    a = ap.parse_args()
    rows = [
        run(ROOT / c if not Path(c).is_absolute() else Path(c), Path(a.runs), not a.no_synth, a.threads)
        for c in a.config
    ]
    print_table(rows, title)
    out = ROOT / "benchmarks" / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"benchmark": name, "rows": rows}, indent=2, default=str))
    print(f"wrote {out}")


if __name__ == "__main__":
    main(["configs/digits.toml"], "digits", "LUT networks on scikit-learn digits (450 test samples)")
