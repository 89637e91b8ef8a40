"""Circuit → BNN figures: neurons per AIG node, layers vs AIG depth, conversion time, verification.

For every AIGER file in ``../shared/circuits/*/`` plus majority/voter circuits built here:
AIG AND nodes and depth, neurons/layers without and with threshold packing, conversion and
ONNX-export time, and the equivalence verdict (exhaustive ≤ 20 inputs, else 10^5 random vectors
through torch and onnxruntime plus a SAT proof of the BNN turned back into a circuit).
Optionally (``--demos``) the zero-loss digits chain and the retraining demo.

    .venv/bin/python benchmarks/bench_bnn.py [--demos] [--sat-timeout 300] [--device cpu|cuda]

Writes ``benchmarks/results/bnn.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from lutnn.bnn import circuit_to_bnn
from lutnn.bnn.onnx_export import bnn_to_onnx
from lutnn.bnn.verify import verify_bnn
from lutnn.circuits import ge_const, popcount
from lutnn.fileio import atomic_write
from lutnn.formats import read_netlist
from lutnn.netlist import Netlist, NetlistBuilder

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "circuits"


def majority(n: int) -> Netlist:
    b = NetlistBuilder(f"maj{n}", k=4)
    x = b.add_input("x", n)
    b.add_output("y", [ge_const(b, popcount(b, list(x)), n // 2 + 1)])
    return b.build()


def voter(groups: int = 5, group: int = 5) -> Netlist:
    """Majority of ``groups`` majorities of ``group`` inputs each (popcount circuits, LUT form)."""
    b = NetlistBuilder(f"voter{groups}x{group}", k=4)
    x = b.add_input("x", groups * group)
    ms = [
        ge_const(b, popcount(b, [int(s) for s in x[g * group : (g + 1) * group]]), group // 2 + 1)
        for g in range(groups)
    ]
    b.add_output("y", [ge_const(b, popcount(b, ms), groups // 2 + 1)])
    return b.build()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--demos", action="store_true", help="also run the zero-loss and retraining demos")
    ap.add_argument("--sat-timeout", type=float, default=300)
    ap.add_argument("--random", type=int, default=100_000)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 avoids contention on shared cores)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bnn.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    console = Console(width=160)
    circuits: list[tuple[str, Netlist]] = [(f"built/{n.name}", n) for n in (majority(9), majority(15), voter())]
    for p in sorted(SHARED.glob("*/*.aig")):
        circuits.append((f"{p.parent.name}/{p.stem}", read_netlist(p)))
    rows = []
    for label, nl in circuits:
        console.print(f"[bold]{label}[/]: {nl.n_inputs} inputs, {nl.n_outputs} outputs, {nl.n_nodes} nodes")
        _, plain = circuit_to_bnn(nl, pack=False)
        bnn, rep = circuit_to_bnn(nl, pack=True)
        t = time.perf_counter()
        model = bnn_to_onnx(bnn)
        t_onnx = time.perf_counter() - t
        v = verify_bnn(
            nl, bnn, onnx_model=model, n_random=args.random, sat=True, sat_timeout=args.sat_timeout, device=args.device
        )
        for note in v.notes:
            console.print(f"  note: {note}")
        rows.append(
            {
                "circuit": label,
                "inputs": nl.n_inputs,
                "outputs": nl.n_outputs,
                "aig_nodes": rep.aig_nodes,
                "aig_depth": rep.aig_depth,
                "neurons_plain": plain.neurons,
                "layers_plain": plain.layers,
                "neurons": rep.neurons,
                "layers": rep.layers,
                "weights": rep.weights,
                "max_fanin": rep.max_fanin,
                "neuron_ratio": rep.neuron_ratio,
                "convert_s_plain": plain.seconds,
                "convert_s": rep.seconds,
                "onnx_export_s": t_onnx,
                "onnx_bytes": len(model.SerializeToString()),
                "verify": v.as_dict(),
            }
        )
    t = Table(title="circuit → BNN (threshold packing, max cut 8)")
    for c in (
        "circuit",
        "in",
        "AIG ANDs",
        "AIG depth",
        "neurons",
        "neurons/AND",
        "layers",
        "max fan-in",
        "convert s",
        "verdict",
    ):
        t.add_column(c, justify="left" if c in ("circuit", "verdict") else "right")
    for r in rows:
        v = r["verify"]
        verdict = f"{v['verdict']} ({v['method']}, {v['vectors']} vec)"
        t.add_row(
            r["circuit"],
            str(r["inputs"]),
            str(r["aig_nodes"]),
            str(r["aig_depth"]),
            str(r["neurons"]),
            f"{r['neuron_ratio']:.3f}",
            str(r["layers"]),
            str(r["max_fanin"]),
            f"{r['convert_s']:.2f}",
            verdict,
        )
    console.print(t)
    result: dict = {"circuits": rows}
    if args.demos:
        from lutnn.bnn.demo import zero_loss_demo
        from lutnn.bnn.retrain import retrain_demo

        z = zero_loss_demo()
        console.print(
            f"zero loss (digits, {z.test_samples} test samples): quantized {z.quantized_accuracy:.4f}, "
            f"circuit {z.circuit_accuracy:.4f}, BNN torch {z.bnn_torch_accuracy:.4f}, BNN onnx {z.bnn_onnx_accuracy:.4f}; "
            f"disagreeing samples {z.disagree_circuit}/{z.disagree_bnn_torch}/{z.disagree_bnn_onnx}; "
            f"{z.conversion.neurons} neurons in {z.conversion.layers} layers from {z.conversion.aig_nodes} AIG nodes"
        )
        r = retrain_demo()
        console.print(
            f"retrain (digits LUT circuit, {r.nodes} LUTs): original {r.original:.4f}, damaged {r.damaged:.4f} "
            f"({r.damaged_nodes} nodes), retrained {r.retrained:.4f}; topology unchanged {r.topology_unchanged}"
        )
        result["zero_loss"] = z.as_dict()
        result["retrain"] = r.as_dict()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, json.dumps(result, indent=2, default=str) + "\n")
    console.print(f"wrote {out}")


if __name__ == "__main__":
    main()
