"""A LUT-network run end to end: train → compile → verify → export → synthesise → ``report.json``.

This is the orchestration behind ``lutnn train`` and ``lutnn demo``; benchmarks, the search and
the prediction API call it the same way::

    from lutnn.lutnet.config import load_config
    from lutnn.pipeline import run_pipeline
    report = run_pipeline(load_config("configs/digits.toml"), "runs/digits")
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from lutnn.errors import LutnnError
from lutnn.fileio import atomic_write
from lutnn.formats.blif import write_blif
from lutnn.lutnet.compile import check_against_model, compile_core, compile_design, compile_encoder, compile_head
from lutnn.lutnet.config import RunConfig
from lutnn.lutnet.network import LUTNetwork
from lutnn.netlist import Netlist

__all__ = ["export_run", "run_pipeline"]


def run_pipeline(
    cfg: RunConfig, out: str | Path, resume: bool = False, title: str = "lutnn", console: Any = None
) -> dict:
    """Train → compile → verify (netlist vs PyTorch, Verilog vs netlist) → synthesise → report + plot.

    ``console``: a rich Console for progress (None: quiet). Returns the report dict also written to
    ``out/report.json``.
    """
    from lutnn.lutnet.train import check_out_dir, plot_history
    from lutnn.lutnet.train import train as train_model

    out = Path(out)
    check_out_dir(out)
    created = not out.exists()
    t = time.perf_counter()
    try:
        res = train_model(cfg, out, resume=resume, console=console)
    except BaseException:
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()  # a run that failed before writing anything leaves no empty folder behind
        raise
    t_train = time.perf_counter() - t
    ds = res.prepared.dataset
    if console is not None:
        console.print(f"trained in {t_train:.1f} s; exporting to {out} …")
    e = cfg.export
    rep = export_run(
        res.model,
        res.prepared.q_test,
        ds.y_test,
        out,
        synth=e.synth,
        synth_scope=e.synth_scope,
        fmax=e.fmax,
        pipeline=e.pipeline or None,
        design_flow=e.design_flow,
        verilog=e.verilog,
        hdl_sim=e.hdl_sim if e.verilog else None,
        hdl_vectors=e.hdl_vectors,
        timings={"train_s": t_train},
    )
    plot_history(res.history, out / "accuracy.png", title=f"{title}: {ds.name}")
    rep["files"]["plot"] = "accuracy.png"
    rep["files"]["checkpoint"] = "checkpoint.pt"
    rep["history"] = res.history
    rep["dataset"] = {"name": ds.name, "train": len(ds.y_train), "test": len(ds.y_test), "source": ds.source}
    atomic_write(out / "report.json", json.dumps(rep, indent=2, default=_json_default))
    return rep


def export_run(
    model: LUTNetwork,
    q_test: np.ndarray,
    y_test: np.ndarray,
    out_dir,
    synth: str | None = "xilinx",
    synth_scope: str = "whole",
    verilog: bool = True,
    fmax: bool = True,
    pipeline: int | None = None,
    design_flow: str = "premapped",
    hdl_sim: str | None = "icarus",
    hdl_vectors: int = 1000,
    name: str = "lutnn_top",
    timings: dict | None = None,
) -> dict:
    """Compile, verify and write a trained model's hardware into ``out_dir``; returns the report dict.

    Writes ``netlist.blif`` (whole design), ``core.blif`` (LUT layers), ``design.v`` and
    ``report.json``. The netlist is simulated on the whole test set and compared with the model
    (disagreements must be 0); ``design.v`` is run in an HDL simulator on ``hdl_vectors``
    test samples and compared with the netlist; Yosys gives the LUT6 count of the core and of the
    whole design in one run with its per-part breakdown (:func:`lutnn.synth.design.synthesize_design`),
    and ``timing`` (LUT depth, FFs, latency, Fmax from nextpnr-ecp5 when ``fmax``); ``design_flow``
    picks the flow of both (``premapped``: lutnn's LUT6 mapping kept and optimised by Yosys; ``synth``
    then only applies to ``synth_scope="parts"``).
    ``synth_scope="parts"`` synthesises encoder, core and head one by one instead and reports the
    sum as ``luts.parts_upper_bound`` only (never as ``design_lut6``). ``pipeline=R`` also writes
    ``design_pipelined.v`` (a register stage every R LUT levels), checked cycle-accurately in the
    HDL simulator, and reports its FFs, latency and Fmax.
    """
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
    if verilog and pipeline:
        t = time.perf_counter()
        from lutnn.formats.verilog import write_verilog

        write_verilog(nl, out / "design_pipelined.v", module=name, pipeline_every=pipeline)
        report["files"]["verilog_pipelined"] = "design_pipelined.v"
        if hdl_sim:
            report["hdl_pipelined"] = _check_verilog(
                nl, out / "design_pipelined.v", q_test, y_test, hdl_sim, hdl_vectors
            )
        timings["verilog_pipelined_s"] = time.perf_counter() - t
    if synth:
        from lutnn.synth import synthesize
        from lutnn.synth.design import synthesize_design

        t = time.perf_counter()
        core_flow = design_flow if synth_scope == "whole" else synth
        rep_core = synthesize(core, flow=core_flow, k=6).report
        timings["synth_core_s"] = time.perf_counter() - t
        report["luts"].update({"core_lut6": int(rep_core.lut_count), "tool": rep_core.engine})
        t = time.perf_counter()
        if synth_scope == "parts":
            parts = {"encoder": synthesize(compile_encoder(model), flow=synth, k=6).report, "core": rep_core}
            parts["head"] = synthesize(compile_head(model), flow=synth, k=6).report
            report["luts"].update(
                {
                    "parts_upper_bound": sum(int(r.lut_count) for r in parts.values()),
                    "parts_separately": {k: int(r.lut_count) for k, r in parts.items()},
                    "scope": "parts",
                    "note": "encoder, core and head synthesised one by one: an upper bound, not the design's count",
                }
            )
            timings["synth_design_s"] = time.perf_counter() - t
        else:
            ds = synthesize_design(nl, flow=design_flow, parts=design_parts(model, name), fmax=fmax, pipeline=pipeline)
            report["luts"].update(ds.luts)
            report["luts"]["synth_report"] = ds.report.as_dict()
            report["timing"] = ds.timing
            if pipeline:
                from lutnn.synth.pipeline import pipeline_registers

                report["timing"]["ff"] = pipeline_registers(nl, pipeline)
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


def design_parts(model: LUTNetwork, name: str = "lutnn_top") -> tuple[Netlist, np.ndarray, list[str]]:
    """The design built like :func:`compile_design` but unswept, with each signal's part (0 encoder, 1 core, 2 head)."""
    from lutnn.lutnet.compile import _add_layers
    from lutnn.netlist import NetlistBuilder

    qz = model.quantizer
    b = NetlistBuilder(name, k=max(6, model.k))
    buses = [b.add_input(f"x{i}", qz.width) for i in range(qz.n_features)]
    n_pi = b.n_signals
    bits = model.encoder.build(b, buses)
    s_enc = b.n_signals
    h = _add_layers(b, model, bits)
    s_core = b.n_signals
    _cnt, idx = model.head.build(b, h)
    b.add_output("class_index", idx)
    ref = b.build()
    part = np.full(ref.n_signals, -1, dtype=np.int64)
    part[n_pi:s_enc] = 0
    part[s_enc:s_core] = 1
    part[s_core:] = 2
    return ref, part, ["encoder", "core", "head"]


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
