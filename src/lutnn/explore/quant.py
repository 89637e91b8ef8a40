"""Quantized-network trials of a search (``family = "quantnet"``): QAT on the search split, the exact circuit, its cost.

A trial trains the config's fixed-point net (``lutnn qat``'s model and training) on the training
split minus the validation split, folds it into its integer model, compiles that into an exact
LUT netlist (truth tables of sparse neurons when every neuron fits 12 address bits, else the
adder datapath), checks the netlist against the integer model on every validation input and
scores the validation split from the netlist. A front point is the same circuit tested on the
test split, written as ``design.v`` and synthesised whole by Yosys (``synth; abc -lut 6``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lutnn.errors import LutnnError
from lutnn.explore.common import exported_point
from lutnn.explore.space import SearchSpace
from lutnn.fileio import atomic_write

__all__ = ["QuantSplit", "export_quant_point", "quant_circuit", "quant_split", "run_quant_trial"]

TT_LIMIT = 12  # address bits per neuron up to which the truth-table route compiles it (as lutnn compile --route auto)


@dataclass
class QuantSplit:
    """A quant config's data: the search's train / validation split of the training data, and the test split."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    prep: dict
    source: str


_SPLITS: dict[Any, QuantSplit] = {}


def quant_split(space: SearchSpace, data: dict[str, Any]) -> QuantSplit:
    """The stratified validation split (``val_fraction``, seeded by ``[search] seed``) of a quant config's data."""
    key = (json.dumps(data, sort_keys=True), space.options.val_fraction, space.options.seed)
    if key not in _SPLITS:
        from sklearn.model_selection import train_test_split

        from lutnn.quantnet.config import quant_dataset

        xtr, ytr, xte, yte, n_classes, prep = quant_dataset(data)
        tr, va = train_test_split(
            np.arange(len(ytr)), test_size=space.options.val_fraction, random_state=space.options.seed, stratify=ytr
        )
        _SPLITS[key] = QuantSplit(
            xtr[tr], ytr[tr], xtr[va], ytr[va], xte, yte, n_classes, prep,
            f"{data.get('name')}: {len(tr)} train / {len(va)} validation carved from the training split, "
            f"{len(yte)} test",
        )  # fmt: skip
    return _SPLITS[key]


def quant_circuit(im, codes: np.ndarray, export: dict[str, Any] | None = None):
    """The integer model's exact LUT netlist (LUTs of ≤ 6 inputs, ``class`` output) and its route, checked on ``codes``.

    ``export``: the space's ``route`` (auto | tt | datapath) and ``limit`` (address bits per truth table).
    """
    from lutnn.quantnet.neurons import _check_limit, compile_neurons, count_disagreements

    ex = export or {}
    route, limit = ex.get("route") or "auto", int(ex.get("limit") or TT_LIMIT)
    if route == "auto":
        try:
            _check_limit(im, limit)
            route = "tt"
        except LutnnError:
            route = "datapath"
    if route == "tt":
        nl = compile_neurons(im, limit=limit, scores=False, max_lut=6, decompose=True)
    else:
        from lutnn.quantnet.datapath import compile_datapath

        nl = compile_datapath(im)
    bad = count_disagreements(im, nl, codes)["class_disagreements"]
    if bad:
        raise LutnnError(
            f"the compiled circuit ({route} route) disagrees with the integer model on {bad} of {len(codes)} "
            "inputs: a compiler bug, please report it with the trial's model.json"
        )
    return nl, route


def _accuracy(im, nl, codes: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of the netlist's ``class`` output, simulated bit-exactly."""
    from lutnn.quantnet.neurons import input_values
    from lutnn.sim import simulate_buses

    return float((simulate_buses(nl, input_values(im, codes))["class"] == np.asarray(y)).mean())


def run_quant_trial(
    space: SearchSpace,
    d: dict[str, Any],
    tdir: Path,
    *,
    threads: int,
    cost: str,
    on_epoch: Callable[[dict], None] | None = None,
    source: str = "trial",
) -> dict[str, Any]:
    """Train one quant config on the search split into ``tdir``; its validation accuracy from the netlist and its cost."""
    import torch

    from lutnn.quantnet.build import build_quant_model, qat_augment
    from lutnn.quantnet.intmodel import save_integer_model
    from lutnn.quantnet.qat import save_quant_model, train_qat

    torch.set_num_threads(max(1, threads))
    d = {sec: {k: v for k, v in t.items() if v is not None} for sec, t in d.items()}
    sp = quant_split(space, d["data"])
    tdir.mkdir(parents=True, exist_ok=True)
    atomic_write(tdir / "config.json", json.dumps(d, indent=1))
    model = build_quant_model(dict(d["model"]), sp.x_train.shape[1], sp.n_classes, source)
    tr = dict(d.get("train", {}))
    if "augment" in tr:
        tr["augment"] = qat_augment(tr["augment"], sp.x_train.shape[1], source)
    t0 = time.perf_counter()
    hist = train_qat(model, sp.x_train, sp.y_train, x_val=sp.x_val, y_val=sp.y_val, progress=False,
                     on_epoch=on_epoch, **tr)  # fmt: skip
    train_s = time.perf_counter() - t0
    im = model.integer_model()
    im.meta["prep"], im.meta["data"] = sp.prep, d["data"]
    save_quant_model(model, tdir / "model.pt", data=d["data"])
    save_integer_model(im, tdir / "model.json")
    codes = im.quantize_input(sp.x_val)
    nl, route = quant_circuit(im, codes, d.get("export"))
    res: dict[str, Any] = {
        "val_accuracy": _accuracy(im, nl, codes, sp.y_val),
        "design_nodes": int(nl.n_nodes),
        "depth_lut": int(nl.depth()),
        "route": route,
        "train_s": round(train_s, 2),
        "history": hist,
    }
    if cost == "synth":
        from lutnn.synth.design import synthesize_design

        ds = synthesize_design(nl, flow="lut", fmax=False, fraig=False)
        res["design_lut6"] = int(ds.luts["design_lut6"])
        res["depth_lut"] = int(ds.timing["depth_lut"] or res["depth_lut"])
    atomic_write(tdir / "trial.json", json.dumps(res, indent=1))
    return res


def _interface(im, sp: QuantSplit, data: dict[str, Any]) -> dict[str, Any]:
    """How raw features become the design's input buses, and what its output means."""
    from lutnn.data import load_dataset

    names = None
    try:
        names = load_dataset(data["name"], data.get("path"), data.get("label")).class_names
    except Exception:  # synthetic data: classes are their indices
        names = None
    return {
        "inputs": [f"x{i}" for i in range(im.n_features)],
        "bits": int(im.in_bits),
        "signed": bool(im.in_signed),
        "code": f"clamp(round(feature / {im.in_scale!r})) after the data preparation below",
        "prep": sp.prep,
        "output": "class (argmax of the class scores, first maximum on ties)",
        "classes": list(names) if names is not None else list(range(sp.n_classes)),
    }


def _check_verilog(im, nl, path: Path, codes: np.ndarray, y: np.ndarray, simulator: str) -> dict[str, Any]:
    """``design.v`` in an HDL simulator against the netlist, bit for bit, on ``codes``."""
    from lutnn.quantnet.neurons import input_values
    from lutnn.sim import encode_buses, simulate
    from lutnn.verify import simulate_verilog

    bits = encode_buses(nl, input_values(im, codes))
    ref = simulate(nl, bits)
    got = np.asarray(simulate_verilog(path, nl, bits, simulator=simulator))
    sl = nl.output_bus("class")
    cls = (got[:, sl].astype(np.int64) << np.arange(sl.stop - sl.start)).sum(1)
    return {
        "simulator": simulator,
        "vectors": len(codes),
        "mismatches_vs_netlist": int((got != ref).any(axis=1).sum()),
        "accuracy": float((cls == np.asarray(y)).mean()),
    }


def export_quant_point(space: SearchSpace, study_trial, out: Path) -> dict[str, Any]:
    """One quantnet front point: its circuit tested on the test split, ``design.v``, whole-design Yosys LUT6."""
    from lutnn.formats import write_netlist
    from lutnn.lutnet.config import config_toml
    from lutnn.quantnet.intmodel import IntegerMLP
    from lutnn.synth.design import synthesize_design
    from lutnn.tools import have_tool

    tdir, fdir, done = exported_point(out, study_trial)
    if done is not None:  # a resumed run: this point was exported already
        return done
    d = json.loads((tdir / "config.json").read_text())
    im = IntegerMLP.from_json(json.loads((tdir / "model.json").read_text()))
    sp = quant_split(space, d["data"])
    codes = im.quantize_input(sp.x_test)
    nl, route = quant_circuit(im, codes, d.get("export"))
    acc = _accuracy(im, nl, codes, sp.y_test)
    ds = synthesize_design(nl, flow="lut", fmax=False, fraig=False)
    fdir.mkdir(parents=True, exist_ok=True)
    write_netlist(nl, fdir / "netlist.blif")
    write_netlist(nl, fdir / "design.v")
    n_hdl = min(len(codes), int(d.get("export", {}).get("hdl_vectors") or 1000))
    hdl = _check_verilog(im, nl, fdir / "design.v", codes[:n_hdl], sp.y_test[:n_hdl], "icarus") if (
        have_tool("iverilog")
    ) else None  # fmt: skip
    if hdl and hdl["mismatches_vs_netlist"]:
        raise LutnnError(f"{fdir / 'design.v'} disagrees with the netlist on {hdl['mismatches_vs_netlist']} vectors")
    import shutil

    shutil.copyfile(tdir / "model.json", fdir / "model.json")
    rep: dict[str, Any] = {
        "family": "quantnet",
        "accuracy": {"netlist": acc, "integer_model": float((im.predict(codes) == sp.y_test).mean())},
        "luts": {
            **ds.luts,
            "design_nodes": int(nl.n_nodes),
            "design_depth": int(nl.depth()),
            "design_depth_synth": ds.timing["depth_lut"],
            "core_lut6": None,
            "route": route,
        },
        "timing": ds.timing,
        "hdl": hdl,
        "interface": _interface(im, sp, d["data"]),
        "dataset": {"name": d["data"].get("name"), "source": sp.source},
        "explore": {
            "trial": study_trial.number,
            "val_accuracy": study_trial.user_attrs.get("val_accuracy"),
            "search_cost": study_trial.values[1] if len(study_trial.values) > 1 else None,
            "params": dict(study_trial.params),
        },
        "files": {"design": "design.v", "netlist": "netlist.blif", "integer_model": "model.json",
                  "config": "config.toml"},
    }  # fmt: skip
    atomic_write(
        fdir / "config.toml",
        config_toml(
            d,
            f"found by lutnn explore {space.path.name}, trial {study_trial.number}; trained on the training split\n"
            f"minus a {space.options.val_fraction:.0%} validation split; train it with lutnn qat",
        ),
    )
    atomic_write(fdir / "report.json", json.dumps(rep, indent=2, default=str))
    return rep
