"""``lutnn bnn``: any circuit → an exactly equivalent binarized neural network (ONNX), verified.

``lutnn retrain`` fine-tunes any circuit's truth tables on your data (topology fixed),
``lutnn bnn-retrain`` shows that on a damaged digits circuit, and
``lutnn bnn-demo`` runs the zero-loss chain MLP → quantized → circuit → BNN.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from lutnn.cli.app import app, console, parent_dir
from lutnn.cli.netlist_cmds import read_cli_netlist
from lutnn.errors import LutnnError
from lutnn.fileio import atomic_write

__all__ = ["bnn", "bnn_demo", "bnn_retrain", "retrain"]


@app.command("bnn")
def bnn(
    file: Path = typer.Argument(..., help="circuit (.aig/.aag/.blif/.v/.json)"),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="write the BNN as ONNX (.onnx)", callback=parent_dir
    ),
    bnn_json: Path | None = typer.Option(
        None, "--bnn-json", help="also write the BNN arrays as JSON", callback=parent_dir
    ),
    circuit_out: Path | None = typer.Option(
        None,
        "--circuit",
        help="turn the BNN back into a circuit and write it (.blif/.aig/.json/.v)",
        callback=parent_dir,
    ),
    verify: bool = typer.Option(False, "--verify", help="check torch + onnxruntime against the circuit"),
    pack: bool = typer.Option(True, "--pack/--no-pack", help="pack threshold cones into single neurons"),
    max_cut: int = typer.Option(8, "--max-cut", help="largest cone (leaves) packed into one neuron (2..12)"),
    latches: str = typer.Option("error", "--latches", help="AIGER latches: error, or cut into extra inputs/outputs"),
    top: str | None = typer.Option(None, "--top", help="top module for Verilog input"),
    n_random: int = typer.Option(100_000, "--random", help="random vectors when inputs > 20"),
    sat: bool = typer.Option(True, "--sat/--no-sat", help="SAT proof (BNN → circuit) when inputs > 20"),
    sat_timeout: float = typer.Option(600, "--sat-timeout", help="seconds for the SAT proof"),
    lut: int = typer.Option(6, "--lut", "-k", help="LUT size for --circuit"),
    json_out: Path | None = typer.Option(
        None, "--json", help="write the figures and verdict as JSON", callback=parent_dir
    ),
) -> None:
    """Convert a circuit into an exactly equivalent BNN; print neurons, depth and the verdict."""
    from lutnn.bnn import circuit_to_bnn, save_bnn
    from lutnn.bnn.onnx_export import bnn_to_onnx
    from lutnn.bnn.verify import verify_bnn

    if output is not None and output.suffix.lower() != ".onnx":
        raise LutnnError(f"-o {output}: the BNN is written as ONNX; give a path ending in .onnx")
    nl = read_cli_netlist(file, top, latches)
    from lutnn.progress import reporting

    with reporting(console):  # the conversion's progress (AIG nodes mapped into threshold neurons)
        net, rep = circuit_to_bnn(nl, pack=pack, max_cut=max_cut)
    model = bnn_to_onnx(net) if (output is not None or verify) else None
    t = Table(title=f"{file.name} → BNN")
    t.add_column("figure")
    t.add_column("circuit (AIG)", justify="right")
    t.add_column("BNN", justify="right")
    t.add_row("nodes / neurons", str(rep.aig_nodes), str(rep.neurons))
    t.add_row("depth / layers", str(rep.aig_depth), str(rep.layers))
    t.add_row("weights", str(2 * rep.aig_nodes), str(rep.weights))
    t.add_row("max fan-in", "2", str(rep.max_fanin))
    t.add_row("neurons per AIG node", "", f"{rep.neuron_ratio:.3f}")
    t.add_row("conversion time", "", f"{rep.seconds:.2f} s")
    console.print(t)
    result = {"conversion": rep.as_dict()}
    back = None
    if circuit_out is not None:
        from lutnn.bnn.to_circuit import bnn_to_circuit

        back = bnn_to_circuit(net, k=lut)
    if verify:
        from lutnn.progress import stage

        with reporting(console), stage(f"verify the BNN against {file.name}"):
            v = verify_bnn(nl, net, onnx_model=model, n_random=n_random, sat=sat, sat_timeout=sat_timeout)
        for note in v.notes:
            console.print(f"[yellow]note:[/] {note}")
        mm = ", ".join(f"{k}: {c} mismatching vectors" for k, c in v.mismatches.items())
        colour = "green" if v.equivalent else "red"
        sat_s = {True: "SAT: proved", False: "SAT: counterexample", None: "SAT: not run"}[v.sat]
        console.print(f"verify ({v.method}, {v.vectors} vectors; {mm}; {sat_s}): [bold {colour}]{v.verdict}[/]")
        result["verify"] = v.as_dict()
        if not v.equivalent:
            raise LutnnError(f"the BNN differs from {file.name} on input {v.counterexample}; no files written")
    if output is not None:
        atomic_write(output, model.SerializeToString())
        console.print(f"wrote {output}")
    if bnn_json is not None:
        save_bnn(net, bnn_json)
        console.print(f"wrote {bnn_json}")
    if back is not None:
        from lutnn.formats import write_netlist

        write_netlist(back, circuit_out)
        console.print(f"wrote {circuit_out} ({back.n_nodes} LUTs, depth {back.depth()})")
    if json_out is not None:
        atomic_write(json_out, json.dumps(result, indent=2, default=str) + "\n")
        console.print(f"wrote {json_out}")


@app.command("bnn-demo")
def bnn_demo(
    hidden: int = typer.Option(24, help="hidden neurons of the quantized MLP"),
    epochs: int = typer.Option(30, help="QAT epochs"),
    seed: int = typer.Option(0, help="random seed"),
    json_out: Path | None = typer.Option(None, "--json", help="write the report as JSON", callback=parent_dir),
) -> None:
    """Zero loss: digits MLP → quantized → circuit → BNN; count disagreeing test samples (must be 0)."""
    from lutnn.bnn.demo import zero_loss_demo

    r = zero_loss_demo(hidden=hidden, epochs=epochs, seed=seed)
    t = Table(title=f"digits: quantized MLP → circuit → BNN ({r.test_samples} test samples)")
    t.add_column("stage")
    t.add_column("accuracy", justify="right")
    t.add_column("disagreeing samples vs quantized model", justify="right")
    t.add_row("quantized MLP (integer)", f"{r.quantized_accuracy:.4f}", "-")
    t.add_row(f"circuit ({r.circuit_nodes} LUTs)", f"{r.circuit_accuracy:.4f}", str(r.disagree_circuit))
    t.add_row(f"BNN torch ({r.conversion.neurons} neurons)", f"{r.bnn_torch_accuracy:.4f}", str(r.disagree_bnn_torch))
    t.add_row("BNN onnxruntime", f"{r.bnn_onnx_accuracy:.4f}", str(r.disagree_bnn_onnx))
    console.print(t)
    if json_out is not None:
        atomic_write(json_out, json.dumps(r.as_dict(), indent=2, default=str) + "\n")
    if r.disagree_circuit or r.disagree_bnn_torch or r.disagree_bnn_onnx:
        raise LutnnError("the BNN disagrees with the quantized model; this is a bug, please report it")


@app.command("bnn-retrain")
def bnn_retrain(
    damage: float = typer.Option(0.3, help="fraction of nodes whose truth tables get damaged"),
    flip: float = typer.Option(0.5, help="probability of flipping each entry of a damaged table"),
    epochs: int = typer.Option(15, help="table-retraining epochs"),
    lut_epochs: int = typer.Option(10, help="epochs of the LUT network that provides the circuit"),
    seed: int = typer.Option(0, help="random seed"),
    json_out: Path | None = typer.Option(None, "--json", help="write the report as JSON", callback=parent_dir),
) -> None:
    """Digits: damage a LUT-network circuit's truth tables, retrain them with the topology fixed."""
    from lutnn.bnn.retrain import retrain_demo

    r = retrain_demo(damage=damage, flip_prob=flip, epochs=epochs, lut_epochs=lut_epochs, seed=seed)
    t = Table(title=f"digits circuit ({r.nodes} LUTs): retraining truth tables, topology fixed")
    t.add_column("circuit")
    t.add_column("test accuracy", justify="right")
    t.add_row("original", f"{r.original:.4f}")
    t.add_row(f"damaged ({r.damaged_nodes} nodes)", f"{r.damaged:.4f}")
    t.add_row(f"retrained ({r.changed_entries} table entries changed)", f"{r.retrained:.4f}")
    console.print(t)
    console.print(f"topology unchanged: {r.topology_unchanged}; netlist = module: {r.netlist_matches_module}")
    if json_out is not None:
        atomic_write(json_out, json.dumps(r.as_dict(), indent=2) + "\n")


def _load_bits(path: Path, n_inputs: int) -> tuple:
    """Read ``x``/``y`` (and optional ``x_test``/``y_test``) 0/1 arrays from an ``.npz`` file, checked."""
    import numpy as np

    from lutnn.data import read_arrays

    d = read_arrays(path, "training data")
    if not isinstance(d, dict) or "x" not in d or "y" not in d:
        raise LutnnError(
            f"{path}: needs arrays x [N, {n_inputs}] (0/1 bits) and y [N] (class labels); has {sorted(d) if isinstance(d, dict) else 'one .npy array'}"
        )
    out = []
    for xk, yk in (("x", "y"), ("x_test", "y_test")):
        if xk not in d:
            out += [None, None]
            continue
        if yk not in d:
            raise LutnnError(f"{path}: has {xk} but no {yk}; give both (or neither)")
        x, y = np.asarray(d[xk]), np.asarray(d[yk]).reshape(-1)
        if x.ndim != 2 or x.shape[1] != n_inputs:
            raise LutnnError(
                f"{path}: {xk} has shape {x.shape}; the circuit has {n_inputs} input bits, so use [N, {n_inputs}]"
            )
        if not np.isin(x, (0, 1)).all():
            raise LutnnError(f"{path}: {xk} must hold 0/1 bits (one column per circuit input bit)")
        if len(y) != len(x) or (len(y) and (y.min() < 0 or not np.issubdtype(y.dtype, np.integer))):
            raise LutnnError(f"{path}: {yk} must be {len(x)} non-negative integer class labels")
        out += [x.astype(np.uint8), y.astype(np.int64)]
    return tuple(out)


@app.command("retrain")
def retrain(
    circuit: Path = typer.Argument(..., help="circuit to fine-tune (.blif/.aig/.aag/.json/.v)"),
    data: Path = typer.Argument(..., help=".npz with x [N, inputs] 0/1, y [N]; optional x_test, y_test"),
    output: Path = typer.Option(
        ..., "--output", "-o", help="retrained circuit (same topology), any netlist format", callback=parent_dir
    ),
    classes: int = typer.Option(0, help="number of classes (default: max label + 1)"),
    epochs: int = typer.Option(20, help="training epochs"),
    lr: float = typer.Option(0.05, help="Adam learning rate on the table logits"),
    tau: float = typer.Option(0.0, help="group-sum temperature (default: sqrt(outputs per class))"),
    seed: int = typer.Option(0, help="random seed"),
    latches: str = typer.Option("error", "--latches", help="AIGER latches: error or cut"),
    top: str | None = typer.Option(None, "--top", help="Verilog top module"),
) -> None:
    """Fine-tune a circuit's truth tables on data with its topology fixed (outputs read as class group sums)."""
    import math

    from lutnn.bnn.retrain import group_sum_accuracy, group_sum_logits, retrain_circuit
    from lutnn.formats import write_netlist

    nl = read_cli_netlist(circuit, top, latches)
    x, y, xt, yt = _load_bits(data, nl.n_inputs)
    nc = classes or int(max(y.max(), -1 if yt is None else yt.max())) + 1
    if nc < 2 or nl.n_outputs % nc:
        raise LutnnError(
            f"{circuit}: {nl.n_outputs} output bits cannot be split into {nc} equal class groups; "
            "the circuit's outputs must be the class groups of a group-sum head (pass --classes)"
        )
    if (xt is None) != (yt is None):
        raise LutnnError(f"{data}: give both x_test and y_test, or neither")
    xt, yt = (x, y) if xt is None else (xt, yt)
    t = tau or math.sqrt(nl.n_outputs // nc)
    before = group_sum_accuracy(nl, xt, yt, nc)
    net = retrain_circuit(
        nl, x, y, lambda h: group_sum_logits(h, nc, t), epochs=epochs, lr=lr, seed=seed, progress=True
    )
    new = net.to_netlist()
    after = group_sum_accuracy(new, xt, yt, nc)
    write_netlist(new, output)
    changed = int(sum(bin(new.truth_table(i) ^ nl.truth_table(i)).count("1") for i in range(nl.n_nodes)))
    which = "test" if xt is not x else "training"
    console.print(
        f"{circuit.name}: {nl.n_nodes} LUTs, {which} accuracy {before:.4f} → {after:.4f} "
        f"({changed} table entries changed, topology fixed); wrote {output}"
    )
