"""Pipelining sweep: LUT4 / FF / Fmax (nextpnr-ecp5) / latency for R LUT levels per register stage, each verified.

For every R: the pipelined Verilog export (``format_verilog(pipeline_every=R)``) is verified
against the netlist (balanced pipeline + SAT without registers + Icarus with the latency offset,
:mod:`lutnn.verify.pipeline`), and the pipelined design (:mod:`lutnn.synth.pipeline`) is
synthesised with ``synth_ecp5`` and placed and routed with nextpnr-ecp5 between input/output
shift registers. R = 0 is the combinational design. Writes benchmarks/results/<name>.json.

    .venv/bin/python benchmarks/bench_pipeline.py runs/digits/netlist.blif --r 0 1 2 4
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from lutnn.fileio import atomic_write
from lutnn.formats import read_netlist
from lutnn.formats.verilog import format_verilog, pipeline_latency
from lutnn.synth.design import nextpnr_version
from lutnn.synth.pipeline import pipeline_registers
from lutnn.synth.yosys import synthesize
from lutnn.tools.yosys import yosys_tool
from lutnn.verify.pipeline import verify_pipelined

ROOT = Path(__file__).resolve().parent
console = Console(width=140)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("netlist", type=Path)
    ap.add_argument("--r", nargs="+", type=int, default=[0, 1, 2, 4])
    ap.add_argument("--no-verify", action="store_true")
    ap.add_argument("--timeout", type=float, default=1200)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    nl = read_netlist(args.netlist)
    name = args.netlist.parent.name or args.netlist.stem
    out = args.out or ROOT / "results" / f"pipeline_{name}.json"
    console.print(f"{args.netlist}: {nl.n_nodes} LUT nodes, depth {nl.depth()}")
    rows: list[dict] = []
    t_all = time.perf_counter()
    for r in args.r:
        row: dict = {"R": r, "latency_cycles": pipeline_latency(nl, r) if r else 0}
        row["ff_design"] = pipeline_registers(nl, r) if r else 0
        if r and not args.no_verify:
            with tempfile.TemporaryDirectory() as td:
                v = Path(td) / "design_pipelined.v"
                v.write_text(format_verilog(nl, pipeline_every=r))
                pv = verify_pipelined(v, nl, vectors=500, timeout=args.timeout)
            row["verify"] = pv.as_dict()
        t0 = time.perf_counter()
        rep = synthesize(nl, "ecp5", timeout=args.timeout, fmax=True, pipeline_every=r or None).report
        row.update(
            {
                "ecp5_lut4": rep.lut_count,
                "ecp5_ff": rep.ff_count,
                "ecp5_cells": rep.cells_by_type,
                "fmax_mhz": round(rep.fmax_mhz, 1) if rep.fmax_mhz else None,
                "device": rep.device,
                "router": rep.router,
                "synth_s": round(rep.runtime_s, 1),
                "pnr_s": round(rep.pnr_runtime_s or 0, 1),
                "total_s": round(time.perf_counter() - t0, 1),
                "notes": rep.notes,
            }
        )
        rows.append(row)
        console.print(row)
        _save(out, args, nl, rows, t_all)
    t = Table(title=f"pipelining {name} ({nl.n_nodes} LUT6 nodes, depth {nl.depth()}); ECP5 via nextpnr")
    for c in ("R", "latency", "FF (design)", "ECP5 LUT4", "ECP5 FF", "Fmax MHz", "verified"):
        t.add_column(c, justify="right")
    for row in rows:
        ver = row.get("verify")
        t.add_row(
            str(row["R"] or "comb."),
            str(row["latency_cycles"]),
            str(row["ff_design"]),
            str(row["ecp5_lut4"]),
            str(row["ecp5_ff"]),
            str(row["fmax_mhz"]),
            "-" if ver is None else ("✓" if ver["ok"] else "✗ " + "; ".join(ver["problems"])),
        )
    console.print(t)


def _save(out: Path, args, nl, rows: list[dict], t_all: float) -> None:
    data = {
        "benchmark": "bench_pipeline",
        "command": "python benchmarks/bench_pipeline.py " + " ".join(sys.argv[1:]),
        "design": str(args.netlist),
        "nodes": nl.n_nodes,
        "depth": nl.depth(),
        "yosys": yosys_tool(),
        "nextpnr": f"nextpnr-ecp5 {nextpnr_version()}",
        "fmax_setup": "synth_ecp5 + nextpnr-ecp5 (LFE5U-25F CABGA256 or larger), design between I/O shift registers",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}",
        "total_s": round(time.perf_counter() - t_all, 1),
        "rows": rows,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, json.dumps(data, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
