"""Trained LUT network → LUT netlist, bit-exactly.

Every trained node already *is* a K-input LUT: its thresholded table becomes the netlist
node's truth table and its connectivity the fan-ins. :func:`compile_core` emits just the LUT
layers (input bus ``bits`` = encoder outputs, output bus ``h`` = last layer);
:func:`compile_design` emits the whole design — one input bus per raw feature (``x0``, ``x1``,
…; the quantizer's integer), the encoder's comparators, the LUT layers, a popcount per class and
the argmax (output bus ``class_index``) — and prunes nodes no output uses.
:func:`check_against_model` simulates the netlist on given samples and counts the samples
where it disagrees with the PyTorch model in inference mode (it must be 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lutnn.errors import LutnnError
from lutnn.netlist import Netlist, NetlistBuilder, table_words
from lutnn.nn.network import LUTNetwork
from lutnn.sim import simulate_buses

__all__ = [
    "Agreement",
    "check_against_model",
    "compile_core",
    "compile_design",
    "compile_encoder",
    "compile_head",
    "export_run",
    "netlist_predict",
    "pack_tables",
    "read_bits",
]


def pack_tables(bits: np.ndarray) -> np.ndarray:
    """``uint8 [n, 2**K]`` truth-table bits → ``uint64 [n, words]`` netlist tables (bit m = entry m)."""
    n, m = bits.shape
    k = int(m).bit_length() - 1
    if 1 << k != m:
        raise LutnnError(f"truth tables must have 2**K entries, got {m}")
    w = table_words(k)
    padded = np.zeros((n, w * 64), dtype=np.uint8)
    padded[:, :m] = bits
    return np.packbits(padded.reshape(n, w, 64), axis=2, bitorder="little").view("<u8").reshape(n, w).astype(np.uint64)


def _add_layers(b: NetlistBuilder, model: LUTNetwork, inputs: np.ndarray) -> np.ndarray:
    """Add every LUT layer, reading ``inputs`` (the encoder bits); returns the last layer's signals."""
    sig = np.asarray(inputs, dtype=np.int64)
    for layer in model.layers:
        conn = layer.connections()
        fanins = sig[conn]
        sig = b.add_luts(fanins, pack_tables(layer.truth_tables()))
    return sig


def compile_core(model: LUTNetwork, name: str = "lut_core") -> Netlist:
    """The LUT layers alone: input bus ``bits`` (encoder outputs), output bus ``h`` (last layer).

    Nodes no last-layer node depends on are dropped, so ``n_nodes`` counts the live core.
    """
    b = NetlistBuilder(name, k=max(6, model.k))
    x = b.add_input("bits", model.encoder.n_bits)
    h = _add_layers(b, model, x)
    b.add_output("h", h)
    return b.build().sweep()


def compile_encoder(model: LUTNetwork, name: str = "lut_encoder") -> Netlist:
    """The encoder alone: raw-feature buses in, output bus ``bits`` (only the bits live first-layer nodes read)."""
    qz = model.quantizer
    b = NetlistBuilder(name, k=max(6, model.k))
    buses = [b.add_input(f"x{i}", qz.width) for i in range(qz.n_features)]
    bits = np.asarray(model.encoder.build(b, buses), dtype=np.int64)
    b.add_output("bits", bits[read_bits(model)])
    return b.build().sweep()


def read_bits(model: LUTNetwork) -> np.ndarray:
    """Encoder bits (ascending) that some live first-layer node reads; nodes no later layer reads do not count."""
    live = np.arange(model.layers[-1].out_features)
    for layer in model.layers[:0:-1]:
        live = np.unique(layer.connections()[live])
    return np.unique(model.layers[0].connections()[live])


def compile_head(model: LUTNetwork, name: str = "lut_head") -> Netlist:
    """The group-sum head alone: input bus ``h`` (last LUT layer), output bus ``class_index``."""
    b = NetlistBuilder(name, k=max(6, model.k))
    h = b.add_input("h", model.layers[-1].out_features)
    _cnt, idx = model.head.build(b, h)
    b.add_output("class_index", idx)
    return b.build().sweep()


def compile_design(model: LUTNetwork, name: str = "lutnn_top", counts: bool = False) -> Netlist:
    """Encoder + LUT layers + group-sum head + argmax, pruned: raw-feature buses in, ``class_index`` out.

    With ``counts=True`` the per-class popcounts are outputs too (``count0``, …) for debugging.
    """
    qz = model.quantizer
    b = NetlistBuilder(name, k=max(6, model.k))
    buses = [b.add_input(f"x{i}", qz.width) for i in range(qz.n_features)]
    bits = model.encoder.build(b, buses)
    h = _add_layers(b, model, bits)
    cnt, idx = model.head.build(b, h)
    b.add_output("class_index", idx)
    if counts:
        for c, bus in enumerate(cnt):
            b.add_output(f"count{c}", bus)
    return b.build().sweep()


@dataclass
class Agreement:
    """Netlist vs PyTorch on the same samples: predictions and how many disagree."""

    samples: int
    disagreements: int
    model_pred: np.ndarray
    netlist_pred: np.ndarray

    @property
    def exact(self) -> bool:
        return self.disagreements == 0

    def as_dict(self) -> dict:
        return {"samples": self.samples, "disagreements": self.disagreements}


def netlist_predict(nl: Netlist, q: np.ndarray) -> np.ndarray:
    """Class indices of ``compile_design``'s netlist for integer features ``q [N, F]``."""
    q = np.asarray(q, dtype=np.int64)
    n_feat = sum(1 for bus in nl.inputs if bus.name.startswith("x"))
    if q.ndim != 2 or q.shape[1] != n_feat:
        raise LutnnError(f"{nl.name}: expected [samples, {n_feat}] integer features, got shape {q.shape}")
    return simulate_buses(nl, {f"x{i}": q[:, i] for i in range(q.shape[1])})["class_index"]


def check_against_model(model: LUTNetwork, nl: Netlist, q: np.ndarray) -> Agreement:
    """Simulate the whole-design netlist on ``q`` and compare with ``model.predict`` (inference mode)."""
    with torch.no_grad():
        mp = model.predict(q)
    npred = netlist_predict(nl, q)
    return Agreement(len(q), int((mp != npred).sum()), mp, npred)


# ---------------------------------------------------------------- run export (netlist, Verilog, reports)
def export_run(
    model: LUTNetwork,
    q_test: np.ndarray,
    y_test: np.ndarray,
    out_dir,
    synth: str | None = "xilinx",
    synth_scope: str = "design",
    verilog: bool = True,
    hdl_sim: str | None = "icarus",
    hdl_vectors: int = 1000,
    name: str = "lutnn_top",
    timings: dict | None = None,
) -> dict:
    """Compile, verify and write a trained model's hardware into ``out_dir``; returns the report dict.

    Writes ``netlist.blif`` (whole design), ``core.blif`` (LUT layers), ``design.v`` and
    ``report.json``. The netlist is simulated on the whole test set and compared with the model
    (disagreements must be 0); ``design.v`` is run in an HDL simulator on ``hdl_vectors``
    test samples and compared with the netlist; Yosys gives LUT6 counts of core and whole
    (``synth_scope="parts"``: encoder, core and head synthesised one by one and summed — the
    WebAssembly Yosys takes tens of minutes on whole designs of several thousand LUTs but
    seconds on each part; no optimisation across the two boundaries, so an upper bound).
    """
    import json
    import time
    from pathlib import Path

    from lutnn.fileio import atomic_write
    from lutnn.formats.blif import write_blif

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    timings = dict(timings or {})
    y_test = np.asarray(y_test)
    t = time.perf_counter()
    core = compile_core(model)
    nl = compile_design(model, name=name)
    timings["compile_s"] = time.perf_counter() - t
    t = time.perf_counter()
    agree = check_against_model(model, nl, q_test)
    timings["netlist_check_s"] = time.perf_counter() - t
    if agree.disagreements:
        raise LutnnError(
            f"netlist disagrees with the PyTorch model on {agree.disagreements} of {agree.samples} test samples; "
            "this is a lutnn bug — please report it with the checkpoint"
        )
    write_blif(nl, out / "netlist.blif")
    write_blif(core, out / "core.blif")
    report: dict = {
        "model": {
            "layers": [layer.out_features for layer in model.layers],
            "k": model.k,
            "encoder": model.encoder.describe(),
            "classes": model.n_classes,
            "group": model.head.group,
        },
        "accuracy": {
            "pytorch": float((agree.model_pred == y_test).mean()),
            "netlist": float((agree.netlist_pred == y_test).mean()),
            "verilog": None,
        },
        "netlist_vs_pytorch": agree.as_dict(),
        "luts": {
            "core_nodes": int(core.n_nodes),
            "design_nodes": int(nl.n_nodes),
            "design_depth": int(nl.depth()),
            "core_lut6": None,
            "design_lut6": None,
            "tool": None,
        },
        "interface": {
            "inputs": model.quantizer.describe(),
            "output": {
                "bus": "class_index",
                "width": int(nl.outputs[0].width),
                "meaning": "index of the predicted class",
            },
            "module": name,
        },
        "files": {"netlist": "netlist.blif", "core": "core.blif"},
    }
    if verilog:
        t = time.perf_counter()
        from lutnn.formats.verilog import write_verilog

        write_verilog(nl, out / "design.v", module=name)
        report["files"]["verilog"] = "design.v"
        timings["verilog_s"] = time.perf_counter() - t
        if hdl_sim:
            t = time.perf_counter()
            report["hdl"] = _check_verilog(nl, out / "design.v", q_test, y_test, hdl_sim, hdl_vectors)
            report["accuracy"]["verilog"] = report["hdl"]["accuracy"]
            timings["hdl_sim_s"] = time.perf_counter() - t
    else:
        (out / "design.v").unlink(missing_ok=True)  # never leave an older run's design.v beside this report
    if synth:
        from lutnn.synth import synthesize

        t = time.perf_counter()
        rep_core = synthesize(core, flow=synth, k=6).report
        timings["synth_core_s"] = time.perf_counter() - t
        report["luts"].update({"core_lut6": int(rep_core.lut_count), "tool": f"Yosys ({synth} flow)"})
        t = time.perf_counter()
        if synth_scope == "parts":
            parts = {"encoder": synthesize(compile_encoder(model), flow=synth, k=6).report, "core": rep_core}
            parts["head"] = synthesize(compile_head(model), flow=synth, k=6).report
            depths = [getattr(r, "depth", None) for r in parts.values()]
            report["luts"].update(
                {
                    "design_lut6": sum(int(r.lut_count) for r in parts.values()),
                    "design_lut6_parts": {k: int(r.lut_count) for k, r in parts.items()},
                    "design_depth_synth": sum(depths) if None not in depths else None,
                    "tool": f"Yosys ({synth} flow; whole design = encoder + core + head, each synthesised alone)",
                }
            )
        else:
            rep = synthesize(nl, flow=synth, k=6).report
            report["luts"].update(
                {
                    "design_lut6": int(rep.lut_count),
                    "design_depth_synth": int(rep.depth) if getattr(rep, "depth", None) is not None else None,
                    "synth_report": rep.as_dict(),
                }
            )
        timings["synth_design_s"] = time.perf_counter() - t
    report["timings"] = {k: round(float(v), 3) for k, v in timings.items()}
    atomic_write(out / "report.json", json.dumps(report, indent=2, default=_json_default))
    hdl = report.get("hdl") or {}
    if hdl.get("mismatches_vs_netlist"):
        raise LutnnError(
            f"{out / 'design.v'} disagrees with the netlist on {hdl['mismatches_vs_netlist']} of {hdl['vectors']} "
            f"test vectors in {hdl['simulator']} (see report.json): a Verilog export bug, please report it"
        )
    return report


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def _check_verilog(nl: Netlist, path, q: np.ndarray, y: np.ndarray, simulator: str, n: int) -> dict:
    """Run ``design.v`` on the first ``n`` test samples; compare with the netlist, bit for bit."""
    from lutnn.sim import encode_buses, simulate
    from lutnn.verify import simulate_verilog

    q = np.asarray(q[:n], dtype=np.int64)
    bits = encode_buses(nl, {f"x{i}": q[:, i] for i in range(q.shape[1])})
    ref = simulate(nl, bits)
    got = np.asarray(simulate_verilog(path, nl, bits, simulator=simulator))
    mism = int((got != ref).any(axis=1).sum())
    cls = (got[:, nl.output_bus("class_index")].astype(np.int64) << np.arange(nl.outputs[0].width)).sum(1)
    return {
        "simulator": simulator,
        "vectors": len(q),
        "mismatches_vs_netlist": mism,
        "accuracy": float((cls == np.asarray(y[: len(q)])).mean()),
    }
