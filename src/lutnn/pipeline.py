"""A LUT-network run end to end: train → compile → verify → export → synthesise → ``report.json``.

This is the orchestration behind ``lutnn train`` and ``lutnn demo``; benchmarks, the search and
the prediction API call it the same way::

    from lutnn.lutnet.config import load_config
    from lutnn.pipeline import run_pipeline
    report = run_pipeline(load_config("configs/digits.toml"), "runs/digits")
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from lutnn.errors import LutnnError
from lutnn.fileio import atomic_write, json_default
from lutnn.formats.blif import write_blif
from lutnn.lutnet.compile import check_against_model, compile_core, compile_design, compile_encoder, compile_head
from lutnn.lutnet.config import RunConfig
from lutnn.lutnet.network import LUTNetwork
from lutnn.netlist import Netlist
from lutnn.progress import reporting, stage

__all__ = ["environment", "export_run", "netlist_sha256", "run_pipeline"]


def run_pipeline(
    cfg: RunConfig,
    out: str | Path,
    resume: bool = False,
    title: str = "lutnn",
    console: Any = None,
    force: bool = False,
    dataset: Any = None,
    on_epoch: Any = None,
) -> dict:
    """Train → compile → verify (netlist vs PyTorch, Verilog vs netlist) → synthesise → report + plot.

    ``console``: a rich Console for progress (None: quiet). ``dataset``: a :class:`lutnn.data.Dataset`
    to use instead of loading ``cfg.data`` (a search passes train-minus-validation / validation here);
    ``on_epoch``: called with each epoch's history record (it may raise to stop the run). Returns the
    report dict also written to ``out/report.json``. The run holds ``out/.lock``: a second run into the
    same folder is refused, and so is a folder that already holds files unless ``resume`` (continue it)
    or ``force`` (overwrite).
    """
    from lutnn.fileio import folder_lock
    from lutnn.lutnet.train import check_out_dir

    out = Path(out)
    check_out_dir(out)
    cfg.check()
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        with folder_lock(out):
            old = sorted(p.name for p in out.iterdir() if p.name != ".lock")
            if old and not resume and not force:
                raise LutnnError(
                    f"{out} already holds {', '.join(old[:4])}{' …' if len(old) > 4 else ''}; "
                    "use --resume to continue that run, --force to overwrite it, or another --out folder"
                )
            return _run_locked(cfg, out, resume, title, console, dataset, on_epoch)
    except BaseException:
        if created and out.is_dir() and not any(p.name != ".lock" for p in out.iterdir()):
            (out / ".lock").unlink(missing_ok=True)
            out.rmdir()  # a run that failed before writing anything leaves no empty folder behind
        raise


def _run_locked(
    cfg: RunConfig, out: Path, resume: bool, title: str, console: Any, dataset: Any = None, on_epoch: Any = None
) -> dict:
    from lutnn.lutnet.train import plot_history
    from lutnn.lutnet.train import train as train_model

    t = time.perf_counter()
    res = train_model(cfg, out, resume=resume, console=console, dataset=dataset, on_epoch=on_epoch)
    t_train = time.perf_counter() - t
    ds = res.prepared.dataset
    if console is not None:
        console.print(f"trained in {t_train:.1f} s; exporting to {out} …")
    e = cfg.export
    with reporting(console):
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
            timings={"train_s": res.seconds if resume else t_train},  # a resumed run's time includes its earlier part
            class_names=ds.class_names,
            feature_names=ds.feature_names,
        )
    plot_history(res.history, out / "accuracy.png", title=f"{title}: {ds.name}")
    rep["files"]["plot"] = "accuracy.png"
    rep["files"]["checkpoint"] = "checkpoint.pt"
    rep["chosen_from_data"] = res.prepared.chosen
    rep["predict"]["label"] = (
        cfg.data.label if isinstance(cfg.data.label, str) else ("label" if cfg.data.name == "unsw" else None)
    )
    from lutnn.lutnet.config import config_toml

    atomic_write(
        out / "config.toml",
        config_toml(cfg.as_dict(), "the exact config of this run; `lutnn train config.toml --out DIR` trains it again"),
    )
    rep["files"]["config"] = "config.toml"
    rep["history"] = res.history
    rep["dataset"] = {"name": ds.name, "train": len(ds.y_train), "test": len(ds.y_test), "source": ds.source}
    atomic_write(out / "report.json", json.dumps(rep, indent=2, default=json_default))
    return rep


def netlist_sha256(nl: Netlist) -> str:
    """SHA-256 of a netlist's function and interface in canonical form (arrays as little-endian int64/uint64)."""
    h = hashlib.sha256(b"lutnn.netlist.sha256/1\0")
    for bus in (*nl.inputs, None, *nl.outputs):
        h.update(b"|" if bus is None else f"{bus.name}:{int(bus.width)};".encode())
    for a, dt in ((nl.fanins, "<i8"), (nl.arity, "<i8"), (nl.tables, "<u8"), (nl.output_signals, "<i8")):
        a = np.ascontiguousarray(a, dtype=dt)
        h.update(repr(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def environment() -> dict:
    """What a trained design's bits may depend on: library versions, thread counts, CPU features.

    A seeded CPU run gives the same netlist for any thread count (test_reproducible.py); across CPUs,
    MKL and numba pick kernels by instruction set (AVX2/AVX-512/FMA), which can change float rounding.
    """
    import platform

    import numba
    import torch

    flags: set[str] = set()
    model = platform.processor()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
            elif line.startswith("model name") and model in ("", platform.processor()):
                model = line.split(":", 1)[1].strip()
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "numba": numba.__version__,
        "torch_threads": torch.get_num_threads(),
        "numba_threads": numba.get_num_threads(),
        "blas": "mkl" if torch.backends.mkl.is_available() else "other",
        "cpu": model or platform.machine(),
        "cpu_features": sorted(f for f in flags if f in ("avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl")),
        "thread_independent": True,
    }


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
    class_names: list[str] | None = None,
    feature_names: list[str] | None = None,
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
    ``class_names`` (default ``"0"``, ``"1"``, …) give ``class_index`` its meaning: index i is
    ``classes[i]`` in report.json; ``predict`` there holds what :func:`lutnn.load` needs (no torch).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    timings = dict(timings or {})
    y_test = np.asarray(y_test)
    t = time.perf_counter()
    with stage("compile → LUT netlist"):
        core = compile_core(model)
        nl = compile_design(model, name=name)
    timings["compile_s"] = time.perf_counter() - t
    t = time.perf_counter()
    with stage(f"netlist vs PyTorch on {len(q_test)} test samples"):
        agree = check_against_model(model, nl, q_test)
    timings["netlist_check_s"] = time.perf_counter() - t
    if agree.disagreements:
        raise LutnnError(
            f"netlist disagrees with the PyTorch model on {agree.disagreements} of {agree.samples} test samples; "
            "this is a lutnn bug — please report it with the checkpoint"
        )
    write_blif(nl, out / "netlist.blif")
    write_blif(core, out / "core.blif")
    classes = [str(c) for c in class_names] if class_names else [str(i) for i in range(model.n_classes)]
    if len(classes) != model.n_classes:
        raise LutnnError(f"export: {len(classes)} class names for a model of {model.n_classes} classes")
    report: dict = {
        "classes": classes,
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
                "meaning": "index of the predicted class in 'classes'",
                "classes": {str(i): c for i, c in enumerate(classes)},
            },
            "module": name,
        },
        "predict": {  # everything lutnn.load needs besides the netlists (plain JSON, exact)
            "quantizer": model.quantizer.state(),
            "encoder": model.encoder.spec(),
            "head": {"classes": int(model.n_classes), "group": int(model.head.group)},
            "feature_names": [str(f) for f in feature_names] if feature_names else [],
        },
        "files": {"netlist": "netlist.blif", "core": "core.blif"},
        "reproducibility": {
            "netlist_sha256": netlist_sha256(nl),
            "core_sha256": netlist_sha256(core),
            **environment(),
        },
    }
    if verilog:
        t = time.perf_counter()
        from lutnn.formats.verilog import format_verilog

        with stage("write design.v"):
            meaning = ", ".join(f"{i} = {c!r}" for i, c in enumerate(classes)).replace("\n", " ")
            head = f"// lutnn: output class_index means {meaning}; inputs x<i>: see report.json 'interface'\n"
            atomic_write(out / "design.v", head + format_verilog(nl, module=name))
        report["files"]["verilog"] = "design.v"
        timings["verilog_s"] = time.perf_counter() - t
        if hdl_sim:
            t = time.perf_counter()
            with stage(f"design.v in {hdl_sim} on {min(len(q_test), hdl_vectors)} test samples"):
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
        with stage(f"Yosys {core_flow}: core ({core.n_nodes} LUTs)"):
            rep_core = synthesize(core, flow=core_flow, k=6).report
        timings["synth_core_s"] = time.perf_counter() - t
        report["luts"].update({"core_lut6": int(rep_core.lut_count), "tool": rep_core.engine})
        t = time.perf_counter()
        if synth_scope == "parts":
            with stage(f"Yosys {synth}: encoder and head", total=2, unit="parts") as st:
                parts = {"encoder": synthesize(compile_encoder(model), flow=synth, k=6).report, "core": rep_core}
                st.advance()
                parts["head"] = synthesize(compile_head(model), flow=synth, k=6).report
                st.advance()
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
            with stage(f"Yosys {design_flow}: whole design ({nl.n_nodes} LUTs)"):
                ds = synthesize_design(
                    nl, flow=design_flow, parts=design_parts(model, name), fmax=fmax, pipeline=pipeline
                )
            report["luts"].update(ds.luts)
            report["luts"]["synth_report"] = ds.report.as_dict()
            report["timing"] = ds.timing
            if pipeline:
                from lutnn.synth.pipeline import pipeline_registers

                report["timing"]["ff"] = pipeline_registers(nl, pipeline)
            timings["synth_design_s"] = time.perf_counter() - t
    report["timings"] = {k: round(float(v), 3) for k, v in timings.items()}
    atomic_write(out / "report.json", json.dumps(report, indent=2, default=json_default))
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
