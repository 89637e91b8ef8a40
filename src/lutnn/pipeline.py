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
    cfg: RunConfig,
    out: str | Path,
    resume: bool = False,
    title: str = "lutnn",
    console: Any = None,
    dataset: Any = None,
    on_epoch: Any = None,
) -> dict:
    """Train → compile → verify (netlist vs PyTorch, Verilog vs netlist) → synthesise → report + plot.

    ``console``: a rich Console for progress (None: quiet). ``dataset``: a :class:`lutnn.data.Dataset`
    to use instead of loading ``cfg.data`` (a search passes train-minus-validation / validation here);
    ``on_epoch``: called with each epoch's history record (it may raise to stop the run). Returns the
    report dict also written to ``out/report.json``.
    """
    from lutnn.lutnet.train import check_out_dir, plot_history
    from lutnn.lutnet.train import train as train_model

    out = Path(out)
    check_out_dir(out)
    created = not out.exists()
    t = time.perf_counter()
    try:
        res = train_model(cfg, out, resume=resume, console=console, dataset=dataset, on_epoch=on_epoch)
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
