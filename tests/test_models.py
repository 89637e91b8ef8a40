"""The published designs in ``models/``: each gives the accuracy its report states, from the netlist and
from ``design.v``, and its config is a valid run config (what a user checks before trusting a number)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import lutnn
from lutnn.data import load_dataset
from lutnn.lutnet.config import load_config

MODELS = sorted(p.parent for p in (Path(__file__).resolve().parents[1] / "models").glob("*/report.json"))


def _test_split(rep: dict, shared: Path | None):
    name = rep["dataset"]["name"]
    if name == "digits":
        return load_dataset("digits")
    if name == "mnist":
        if shared is None or not (shared / "datasets" / "mnist").exists():
            pytest.skip("MNIST not present under ../shared/datasets")
        return load_dataset("mnist", shared / "datasets" / "mnist")
    pytest.skip(f"no test data for {name}")


def test_models_exist() -> None:
    """The digits and MNIST points of docs/results.md ship as folders."""
    names = {p.name for p in MODELS}
    assert any(n.startswith("digits") for n in names), names
    assert any(n.startswith("mnist") for n in names), names


@pytest.mark.parametrize("model", MODELS, ids=[p.name for p in MODELS])
def test_model_accuracy_as_reported(model: Path, request: pytest.FixtureRequest) -> None:
    rep = json.loads((model / "report.json").read_text())
    shared = request.getfixturevalue("shared_dir") if rep["dataset"]["name"] != "digits" else None
    ds = _test_split(rep, shared)
    assert len(ds.y_test) == rep["dataset"]["test"]
    m = lutnn.load(model)
    pred = m.predict(ds.x_test)
    acc = float(np.mean(pred == np.asarray(m.classes_)[ds.y_test]))
    assert acc == pytest.approx(rep["accuracy"]["netlist"], abs=1e-12)
    assert rep["netlist_vs_pytorch"]["disagreements"] == 0
    assert rep["hdl"]["mismatches_vs_netlist"] == 0
    cfg = load_config(model / "config.toml")
    assert cfg.model.layers == rep["model"]["layers"]
    assert rep["luts"]["scope"] == "whole" and rep["luts"]["design_lut6"] > 0


@pytest.mark.parametrize("model", [p for p in MODELS if p.name.startswith("digits")], ids=lambda p: p.name)
def test_model_verilog_is_the_netlist(model: Path) -> None:
    """design.v proved equivalent to netlist.blif (Yosys SAT miter plus the independent judges)."""
    from lutnn.formats.blif import read_blif
    from lutnn.tools.yosys import have_yosys, read_verilog
    from lutnn.verify import check_equivalence

    if not have_yosys():
        pytest.skip("no Yosys")
    verdict = check_equivalence(read_blif(model / "netlist.blif"), read_verilog(model / "design.v"))
    assert verdict.equivalent, verdict
