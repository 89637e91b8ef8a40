"""Whole-design synthesis at full size (issue 17): the MNIST one-layer design and the quantized MNIST circuit.

Each design is synthesised whole, in one native Yosys run (pyosys), per flow; every row gives the
wall time (Yosys + read-back + depth + per-part attribution), the Yosys time alone, LUT6 count,
LUTs by size, depth in LUT levels, the per-part breakdown (MNIST), a check of the mapped result
against the input netlist (bit-exact simulation on random vectors) and the 1-minute load average
before and after, because on a shared machine a timing is an upper bound. Prints a table and
writes benchmarks/results/bench_synth_whole.json. Targets: MNIST one-layer whole in <= 120 s,
the ~10k-LUT6 quantized MNIST circuit in <= 300 s (2 cores).

Inputs (make them first; both are seeded):
    lutnn train configs/mnist_small.toml --out runs/bench/mnist_small_s0          # netlist.blif + checkpoint.pt
    lutnn qat configs/quant_mnist_hdr.toml --out runs/quant_mnist_hdr/model.pt      # the QAT model (~2 min)

    .venv/bin/python benchmarks/bench_synth_whole.py          # premapped + synth_xilinx (MNIST), premapped + ABC (quant)
    .venv/bin/python benchmarks/bench_synth_whole.py --mnist-flows premapped --quant-flows premapped   # seconds
    .venv/bin/python benchmarks/bench_synth_whole.py --wasm-flows premapped   # also the WebAssembly Yosys

Flows: ``premapped``, ``xilinx`` (``synth_xilinx -flatten -noiopad``, abc9), ``lut`` (``abc -lut 6``) and
``lut-nofraig`` (the same without ABC's SAT sweeping, as ``lutnn compile`` maps decomposed circuits).

The quantized circuit is the truth-table route's netlist split into LUTs of at most 6 inputs
(Curtis decomposition, then Shannon; what ``lutnn compile`` hands to Yosys), checked against the
integer model on the 10,000 test images before synthesis. ``report.json`` of the MNIST run (Fmax on
ECP5 from nextpnr, the pipeline's own whole-design figures) is copied into the JSON when present.
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
from lutnn.netlist import Netlist
from lutnn.sim import simulate_packed

ROOT = Path(__file__).resolve().parents[1]
console = Console(width=160)
TARGET_S = {"mnist_small": 120.0, "quant_mnist_hdr": 300.0}


def same_function(ref: Netlist, mapped: Netlist, words: int = 64, seed: int = 0) -> int:
    """Output bits where ``mapped`` differs from ``ref`` on ``64 * words`` random vectors (matched by bit name)."""
    rng = np.random.default_rng(seed)
    w = rng.integers(0, 2**63, size=(ref.n_inputs, words), dtype=np.int64).astype(np.uint64)
    w |= rng.integers(0, 2, size=(ref.n_inputs, words), dtype=np.int64).astype(np.uint64) << np.uint64(63)
    pos = {b: i for i, b in enumerate(ref.input_bit_names())}
    wm = np.zeros((mapped.n_inputs, words), dtype=np.uint64)
    for j, b in enumerate(mapped.input_bit_names()):
        if b in pos:
            wm[j] = w[pos[b]]
    out_ref = simulate_packed(ref, w)
    out_map = simulate_packed(mapped, wm)
    opos = {b: i for i, b in enumerate(mapped.output_bit_names())}
    bad = 0
    for i, b in enumerate(ref.output_bit_names()):
        if b not in opos or not np.array_equal(out_ref[i], out_map[opos[b]]):
            bad += 1
    return bad


def mnist_design(run: Path) -> tuple[Netlist, tuple | None, dict | None]:
    """netlist.blif of a trained run, its part labels (from checkpoint.pt) and its report.json (when present)."""
    from lutnn.formats import read_netlist
    from lutnn.lutnet.train import load_checkpoint
    from lutnn.pipeline import design_parts

    if not (run / "netlist.blif").exists():
        raise LutnnError(
            f"{run / 'netlist.blif'} not found; make it with: lutnn train configs/mnist_small.toml --out {run}"
        )
    nl = read_netlist(run / "netlist.blif")
    parts = design_parts(load_checkpoint(run).model, nl.name) if (run / "checkpoint.pt").exists() else None
    rep = json.loads((run / "report.json").read_text()) if (run / "report.json").exists() else None
    return nl, parts, rep


def quant_design(model_path: Path, config: Path) -> tuple[Netlist, dict]:
    """The quantized MNIST circuit split into <= 6-input LUTs, verified on the test set (must agree everywhere)."""
    from lutnn.quantnet.config import load_quant_config, quant_dataset
    from lutnn.quantnet.io import load_quant_model
    from lutnn.quantnet.neurons import as_integer_model, compile_neurons, count_disagreements

    if not model_path.exists():
        raise LutnnError(f"{model_path} not found; make it with: lutnn qat {config} --out {model_path}")
    im = as_integer_model(load_quant_model(model_path))
    _, _, xte, yte, _, _ = quant_dataset(load_quant_config(config)["data"])
    codes = im.quantize_input(xte)
    t = time.perf_counter()
    nl = compile_neurons(im, limit=12, name="mnist_hdr", max_lut=6, decompose=True)
    info = {"compile_s": round(time.perf_counter() - t, 2), "int_acc": float((im.predict(codes) == yte).mean())}
    info["split_vs_integer_model"] = count_disagreements(im, nl, codes)
    if info["split_vs_integer_model"]["class_disagreements"] or info["split_vs_integer_model"]["score_disagreements"]:
        raise LutnnError(f"the compiled circuit disagrees with {model_path}: {info['split_vs_integer_model']}")
    return nl, info


def run_one(name: str, nl: Netlist, flow: str, engine: str, parts, timeout: float) -> dict:
    """One whole-design synthesis (``lutnn.synth.design.synthesize_design``, no Fmax) → one result row.

    ``flow`` ``lut-nofraig`` is ``abc -lut 6`` without SAT sweeping (what ``lutnn compile`` runs on
    Curtis-decomposed circuits); ``lut`` keeps it.
    """
    from lutnn.synth.design import synthesize_design

    os.environ["LUTNN_YOSYS_ENGINE"] = engine
    row: dict = {"design": name, "input_nodes": int(nl.n_nodes), "input_depth": int(nl.depth()), "flow": flow}
    fraig = flow != "lut-nofraig"
    flow = "lut" if flow == "lut-nofraig" else flow
    row["load_before"] = round(os.getloadavg()[0], 2)
    t = time.perf_counter()
    try:
        with console.status(f"{name}: {flow} ({engine}) …"):
            ds = synthesize_design(nl, flow=flow, parts=parts, fmax=False, timeout=timeout, fraig=fraig)
        row["wall_s"] = round(time.perf_counter() - t, 1)
        row.update(
            {
                "engine": ds.luts["tool"],
                "yosys_s": round(ds.report.runtime_s, 1),
                "lut6": ds.luts["design_lut6"],
                "luts_by_size": ds.luts["luts_by_size"],
                "muxf": ds.luts["muxf"],
                "parts": ds.luts["design_lut6_parts"],
                "depth_lut": ds.timing["depth_lut"],
                "ff": ds.timing["ff"],
                "notes": ds.notes,
            }
        )
        if ds.netlist is not None:
            row["random_vectors"] = 64 * 64
            row["output_bits_differing"] = same_function(nl, ds.netlist)
    except LutnnError as e:
        row["wall_s"] = round(time.perf_counter() - t, 1)
        row["engine"] = engine
        row["error"] = str(e).splitlines()[0][:240]
    row["load_after"] = round(os.getloadavg()[0], 2)
    target = TARGET_S.get(name)
    row["target_s"] = target
    row["within_target"] = None if target is None or "error" in row else row["wall_s"] <= target
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mnist-run", type=Path, default=ROOT / "runs" / "bench" / "mnist_small_s0")
    ap.add_argument("--quant-model", type=Path, default=ROOT / "runs" / "quant_mnist_hdr" / "model.pt")
    ap.add_argument("--quant-config", type=Path, default=ROOT / "configs" / "quant_mnist_hdr.toml")
    ap.add_argument("--mnist-flows", nargs="*", default=["premapped", "xilinx"])
    ap.add_argument("--quant-flows", nargs="*", default=["premapped", "lut-nofraig"])
    ap.add_argument("--wasm-flows", nargs="*", default=[], help="flows also run on the WebAssembly Yosys (yowasp)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per Yosys run before it is stopped")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "bench_synth_whole.json")
    args = ap.parse_args()

    t_all = time.perf_counter()
    res: dict = {
        "benchmark": "bench_synth_whole",
        "command": "python benchmarks/bench_synth_whole.py " + " ".join(sys.argv[1:]),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}",
        "load_note": "1-minute load average before/after each run; the cores are shared, so times are upper bounds",
        "targets_s": TARGET_S,
        "designs": {},
        "rows": [],
    }
    todo: list[tuple[str, Netlist, str, str, object]] = []
    if args.mnist_flows:
        nl, parts, rep = mnist_design(args.mnist_run)
        res["designs"]["mnist_small"] = {
            "source": str(args.mnist_run / "netlist.blif"),
            "nodes": int(nl.n_nodes),
            "report_json": {k: rep.get(k) for k in ("luts", "timing", "timings", "accuracy")} if rep else None,
        }
        todo += [("mnist_small", nl, f, e, parts) for f in args.mnist_flows for e in _engines(f, args.wasm_flows)]
    if args.quant_flows:
        qnl, info = quant_design(args.quant_model, args.quant_config)
        res["designs"]["quant_mnist_hdr"] = {"source": str(args.quant_model), "nodes": int(qnl.n_nodes), **info}
        todo += [("quant_mnist_hdr", qnl, f, e, None) for f in args.quant_flows for e in _engines(f, args.wasm_flows)]
    for name, nl, flow, engine, parts in todo:
        row = run_one(name, nl, flow, engine, parts, args.timeout)
        res["rows"].append(row)
        console.print(
            f"  {name} {flow} {row['engine']}: {row['wall_s']} s (Yosys {row.get('yosys_s', '-')} s), "
            f"LUT6 {row.get('lut6', '-')}, depth {row.get('depth_lut', '-')}, parts {row.get('parts')}, "
            f"load {row['load_before']}→{row['load_after']} {row.get('error', '')}"
        )
        _save(args.out, res, t_all, partial=True)
    _save(args.out, res, t_all, partial=False)
    console.print(_table(res))
    console.print(f"wrote {args.out}")


def _engines(flow: str, wasm_flows: list[str]) -> list[str]:
    return ["pyosys", "yowasp"] if flow in wasm_flows else ["pyosys"]


def _table(res: dict) -> Table:
    t = Table(title="whole-design synthesis (one run per row; times are upper bounds on a shared machine)")
    for c in (
        "design",
        "nodes in",
        "flow",
        "engine",
        "wall s",
        "Yosys s",
        "target s",
        "LUT6",
        "depth",
        "parts",
        "equal",
        "load",
    ):
        t.add_column(c, justify="left" if c in ("design", "flow", "engine", "parts") else "right")
    for r in res["rows"]:
        ok = {True: "✓", False: "✗", None: "-"}[r.get("within_target")]
        t.add_row(
            r["design"],
            str(r["input_nodes"]),
            r["flow"],
            r["engine"],
            f"{r['wall_s']}",
            str(r.get("yosys_s", "-")),
            f"{r['target_s']:.0f} {ok}" if r.get("target_s") else "-",
            str(r.get("lut6", r.get("error", "-")[:40])),
            str(r.get("depth_lut", "-")),
            ", ".join(f"{k} {v}" for k, v in (r.get("parts") or {}).items()) or "-",
            "-" if "output_bits_differing" not in r else ("✓" if r["output_bits_differing"] == 0 else "✗"),
            f"{r['load_before']}→{r['load_after']}",
        )
    return t


def _save(path: Path, res: dict, t_all: float, partial: bool) -> None:
    """Write the rows so far (``partial`` until the run completes), so a long run is never lost."""
    res["total_s"] = round(time.perf_counter() - t_all, 1)
    res["partial"] = partial
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(res, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
