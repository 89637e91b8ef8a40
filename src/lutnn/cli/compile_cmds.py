"""``lutnn qat``, ``lutnn compile``, ``lutnn draw``: quantized nets → exact circuits, with reports and pictures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer
from rich.table import Table

from lutnn.cli.app import app, console, parent_dir
from lutnn.errors import LutnnError
from lutnn.fileio import atomic_write
from lutnn.quantnet.config import load_quant_config, quant_dataset

__all__ = ["compile_cmd", "draw_cmd", "qat"]


@app.command("qat")
def qat(
    config: Path = typer.Argument(..., help="TOML config (see configs/quant_*.toml)"),
    out: Path = typer.Option(
        None,
        "--out",
        "-o",
        help="model file (.pt); also writes the integer model beside it (.json)",
        callback=parent_dir,
    ),
    epochs: int = typer.Option(None, help="override [train] epochs"),
) -> None:
    """Quantization-aware training of a fixed-point MLP or conv net; prints float and integer-model accuracy."""
    from lutnn.quantnet.build import build_quant_model, qat_augment
    from lutnn.quantnet.intmodel import save_integer_model
    from lutnn.quantnet.qat import evaluate, save_quant_model, train_qat

    cfg = load_quant_config(config)
    xtr, ytr, xte, yte, n_classes, prep = quant_dataset(cfg["data"])
    m = build_quant_model(cfg["model"], xtr.shape[1], n_classes, str(config))
    tr = dict(cfg.get("train", {}))
    if epochs is not None:
        tr["epochs"] = epochs
    if "augment" in tr:
        tr["augment"] = qat_augment(tr["augment"], xtr.shape[1], str(config))
    hist = train_qat(m, xtr, ytr, x_val=xte, y_val=yte, **tr)
    im = m.integer_model()
    im.meta["prep"] = prep
    im.meta["data"] = cfg["data"]
    acc_f = evaluate(m, xte, yte)
    acc_i = float((im.predict(im.quantize_input(xte)) == yte).mean())
    out = out or Path(Path(config).stem + ".pt")
    save_quant_model(m, out, data=cfg["data"])
    save_integer_model(im, out.with_suffix(".json"))
    t = Table(title=f"QAT {Path(config).name}")
    for c in ("epochs", "float acc", "integer acc", "model", "integer model"):
        t.add_column(c)
    t.add_row(str(len(hist)), f"{acc_f:.4f}", f"{acc_i:.4f}", str(out), str(out.with_suffix(".json")))
    console.print(t)


def _load_model(path: Path, integer: bool = True):
    from lutnn.quantnet.io import load_quant_model

    if path.suffix == ".onnx":
        from lutnn.quantnet.qonnx import read_qonnx

        return read_qonnx(path)
    return load_quant_model(path)


def _test_codes(im, data_cfg: dict | None, samples: int) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Input codes to verify on, with labels and the float features when a dataset is configured."""
    if data_cfg:
        _, _, xte, yte, _, _ = quant_dataset(data_cfg)
        if xte.shape[1] != im.n_features:
            raise LutnnError(f"the dataset has {xte.shape[1]} features but the model takes {im.n_features}")
        return im.quantize_input(xte), yte, xte
    lo = -(1 << (im.in_bits - 1)) if im.in_signed else 0
    hi = (1 << (im.in_bits - 1)) if im.in_signed else (1 << im.in_bits)
    return np.random.default_rng(0).integers(lo, hi, size=(samples, im.n_features)), None, None


def _onnx_inputs(model: Path, input_grid: str | None, config: Path | None, samples: int):
    """Import a QONNX model; vectors to verify on (its input grid, and the config's test set) and the judge."""
    from lutnn.quantnet.qonnx import load_qonnx

    with console.status(f"importing {model.name} (qonnx cleanup; thresholds from the executor)"):
        qm = load_qonnx(model, input_grid=input_grid)
    for note in qm.notes:
        console.print(f"[dim]{note}[/dim]")
    sets = {"grid": qm.grid(samples)}
    labels = x_float = None
    if config:
        import tomllib

        try:
            data = tomllib.loads(config.read_text())["data"]
        except (OSError, KeyError, tomllib.TOMLDecodeError) as e:
            raise LutnnError(f"{config}: needs a readable TOML [data] table ({type(e).__name__}: {e})") from None
        _, _, xte, yte, _, _ = quant_dataset(data)
        sets["data"], labels, x_float = xte, yte, xte
    with console.status(f"running the QONNX executor on {sum(len(v) for v in sets.values()):,} vectors"):
        codes = qm.codes(sets["data"] if config else sets["grid"])

    def judge(nl):
        return {name: qm.check(nl, x) for name, x in sets.items()}

    return qm, codes, labels, x_float, judge


@app.command("compile")
def compile_cmd(
    model: Path = typer.Argument(..., help="quantized model: .pt (lutnn qat), .json (integer model) or .onnx (QONNX)"),
    route: str = typer.Option(
        "auto",
        help="tt (truth tables of sparse neurons), datapath (CSD adders built directly, any neuron), arith (the "
        "datapath through Yosys) or auto (tt when every neuron fits --limit, else datapath)",
    ),
    limit: int = typer.Option(12, help="truth-table route: most address bits (fan-in x bits) per neuron"),
    k: int = typer.Option(6, "--lut", "-k", help="LUT size of the K-LUT mapping"),
    config: Path = typer.Option(None, help="config whose [data] gives the test set to verify on (else random codes)"),
    samples: int = typer.Option(10000, help="random input codes to verify on when no dataset is given"),
    out: Path = typer.Option(
        None,
        "--out",
        "-o",
        help="write the netlist (.blif/.v/.json/.aig): K-LUT-mapped, or as compiled with --no-synth",
        callback=parent_dir,
    ),
    report: Path = typer.Option(None, help="write the report as JSON", callback=parent_dir),
    synth: bool = typer.Option(True, help="run Yosys/ABC (gates, K-LUTs, synth_xilinx)"),
    fmax: bool = typer.Option(False, help="also place and route on ECP5 with nextpnr for an Fmax"),
    decompose: bool = typer.Option(
        True, help="tt route: Curtis-decompose wide neurons before ABC (--no-decompose: Shannon split only)"
    ),
    timeout: float = typer.Option(1800, help="seconds per Yosys/ABC run before it is stopped with an error"),
    input_grid: str = typer.Option(
        None, help="ONNX without an input quantizer: its input grid (bipolar, binary, int8, uint8, int16:2^-10)"
    ),
) -> None:
    """Compile a quantized network into an exact circuit and report gates, LUTs, depth and accuracy.

    An ``.onnx`` (QONNX) model is judged by QONNX's executor: the circuit must pick the executor's class on
    ``--samples`` vectors of the model's input grid (and on the ``--config`` test set).
    """
    from lutnn.quantnet.arith import compile_and_report
    from lutnn.quantnet.neurons import as_integer_model

    judge = None
    if model.suffix == ".onnx":
        m, codes, labels, x_float, judge = _onnx_inputs(model, input_grid, config, samples)
        im = m.im
    else:
        m = _load_model(model)
        im = as_integer_model(m)
        cfg_data = load_quant_config(config)["data"] if config else None
        data_cfg = cfg_data or im.meta.get("data") or getattr(m, "data_config", None)
        codes, labels, x_float = _test_codes(im, data_cfg, samples)
    if route == "auto":
        from lutnn.quantnet.neurons import _check_limit

        try:
            _check_limit(im, limit)
            route = "tt"
        except LutnnError:
            route = "datapath"
    from lutnn.progress import reporting

    with reporting(console):  # a bar per stage (compile, checks, Yosys/ABC) on a terminal, lines elsewhere
        res = compile_and_report(
            im,
            codes,
            labels,
            name=model.stem.replace("-", "_") or "qnn",
            route=route,
            limit=limit,
            k=k,
            synth=synth,
            fmax=fmax,
            out=out,
            decompose=decompose,
            judge=judge,
            timeout=timeout,
        )
    import torch

    if x_float is not None and isinstance(m, torch.nn.Module):  # the QAT model in float arithmetic
        from lutnn.quantnet.qat import evaluate

        res["qat_float_acc"] = evaluate(m, x_float, labels)
    t = Table(title=f"lutnn compile {model.name} ({route} route)")
    t.add_column("figure")
    t.add_column("value", justify="right")
    rows = [
        ("test samples", res["compiled_samples"]),
        ("disagreements (scores)", res["compiled_score_disagreements"]),
        ("disagreements (class)", res["compiled_class_disagreements"]),
        ("QAT model accuracy (float arithmetic)", f"{res['qat_float_acc']:.4f}" if "qat_float_acc" in res else "-"),
        ("integer-model accuracy", f"{res['int_acc']:.4f}" if "int_acc" in res else "-"),
        ("circuit accuracy", f"{res['circuit_acc']:.4f}" if "circuit_acc" in res else "-"),
        ("2-input gates", res.get("gates", "-")),
        (f"{k}-LUTs (ABC)", res.get("luts", "-")),
        ("LUT depth", res.get("lut_depth", "-")),
        ("synth_xilinx LUTs", res.get("xilinx", {}).get("lut_total", "-")),
        ("synth_xilinx FFs", res.get("xilinx", {}).get("ff", "-")),
        ("ECP5 Fmax MHz", res.get("xilinx", {}).get("ecp5_fmax_mhz", "-")),
        ("time (s)", res["total_s"]),
    ]
    for key, what in (("judge_compiled", "compiled"), ("judge_lut", "K-LUT-mapped")):
        for src, r in res.get(key, {}).items():
            rows.append(
                (f"{what} circuit vs QONNX executor ({src})",
                 f"{r['circuit_disagreements']} of {r['vectors']} (ties {r['circuit_disagreements_ties']})")
            )  # fmt: skip
    for a, b in rows:
        t.add_row(a, str(b))
    console.print(t)
    genuine = [r["circuit_disagreements_genuine"] for key in ("judge_compiled", "judge_lut")
               for r in res.get(key, {}).values()]  # fmt: skip
    if any(genuine):
        raise LutnnError(f"{model.name}: the circuit disagrees with the QONNX executor on {max(genuine)} vectors "
                         "beyond float32 ties; please report this model")  # fmt: skip
    if out:
        console.print(f"wrote {out} ({'K-LUT-mapped' if synth else 'as compiled, not synthesised'})")
    if report:
        atomic_write(report, json.dumps(res, indent=1, default=str))


@app.command("draw")
def draw_cmd(
    model: Path = typer.Argument(None, help="quantized model (.pt/.json/.onnx); omit with --example"),
    out: list[Path] = typer.Option(
        ..., "--out", "-o", help="picture files (.png, .svg, .pdf, .dot); repeat for several", callback=parent_dir
    ),
    route: str = typer.Option("arith", help="arith (2-input gates of the datapath) or tt (truth-table LUTs, mapped)"),
    flow: str = typer.Option("gates", help="circuit to draw: gates (2-input gates) or lut (K-LUTs)"),
    k: int = typer.Option(4, "--lut", "-k", help="LUT size when --flow lut"),
    example: bool = typer.Option(False, help="draw the built-in 4-bit example (2 inputs, 2 hidden, 2 classes)"),
    max_gates: int = typer.Option(400, help="above this many gates the circuit panel becomes a summary"),
    max_neurons: int = typer.Option(120, help="above this many neurons the network panel becomes a summary"),
) -> None:
    """Draw the network graph and its circuit graph side by side (PNG/SVG)."""
    from lutnn.draw import draw_side_by_side
    from lutnn.quantnet.arith import compile_arith, synth_netlist
    from lutnn.quantnet.neurons import as_integer_model, compile_neurons

    if example:
        from lutnn.quantnet.intmodel import example_model

        im = example_model()
        title = "4-bit MLP (2-2-2) and the 2-input-gate circuit it compiles to"
    elif model is None:
        raise LutnnError("give a model file or --example")
    else:
        im = as_integer_model(_load_model(model))
        title = f"{model.name}: network and circuit"
    if route == "arith":
        nl = compile_arith(im, flow=flow if flow != "lut" else "lut", k=k)
    elif route == "tt":
        nl = synth_netlist(compile_neurons(im), flow=flow, k=k).netlist
    else:
        raise LutnnError(f"unknown route {route!r}; use arith or tt")
    paths = draw_side_by_side(im, nl, out, title=title, max_neurons=max_neurons, max_gates=max_gates)
    console.print(f"wrote {', '.join(str(p) for p in paths)} ({nl.n_nodes} gates, depth {nl.depth()})")
