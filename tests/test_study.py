"""lutnn study: encoder distortion, topology and statistics against known answers; the grid resumes; the report."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from lutnn.cli import app
from lutnn.errors import LutnnError
from lutnn.study.distortion import code_bits, distortion
from lutnn.study.grid import grid_points, run_study, spec_from_dict
from lutnn.study.stats import bootstrap_spearman, spearman
from lutnn.study.topology import layer_topology

runner = CliRunner()


def test_full_thermometer_is_an_l1_isometry():
    rng = np.random.default_rng(0)
    q = rng.integers(0, 16, (300, 5))
    bits = code_bits("thermometer", q, q, 4, 15)  # every threshold 1..15: H = L1 exactly
    assert bits.shape == (300, 75)
    d = distortion(q, bits, n_pairs=500)
    assert d["spearman_l1"] == pytest.approx(1.0) and d["distortion"] == pytest.approx(1.0)
    assert d["lip_lower"] == d["lip_upper"] == pytest.approx(1.0) and d["collision_frac"] == 0


def test_binary_code_distorts_and_onehot_collides():
    q = np.arange(16)[:, None]
    b = code_bits("binary", q, q, 4, 1)
    assert (b.sum(1) == [bin(v).count("1") for v in range(16)]).all()
    d = distortion(q, b, n_pairs=2000)
    assert d["distortion"] >= 8  # 7 -> 8 flips 4 bits for distance 1; 0 -> 8 flips 1 bit for distance 8
    oh = code_bits("onehot", q, q, 4, 3)  # 4 bins of 4 values
    assert (oh.sum(1) == 1).all() and oh.shape == (16, 4)
    assert distortion(q, oh, n_pairs=2000)["collision_frac"] > 0
    with pytest.raises(LutnnError, match="unknown code"):
        code_bits("morse", q, q, 4, 1)


def test_layer_topology_known_answers():
    conn = np.array([[0, 1], [0, 1], [0, 1], [0, 1]])  # every node reads inputs 0 and 1 of 4
    t = layer_topology(conn, 4)
    assert t["unused_frac"] == 0.5 and t["overlap"] == 1.0 and t["overlap_random"] == 0.5
    assert t["fanout_max"] == 4 and t["dup_frac"] == 0.0
    t = layer_topology(np.array([[0, 0], [1, 2], [3, 2]]), 4)
    assert t["dup_frac"] == pytest.approx(1 / 3)
    even = layer_topology(np.arange(8).reshape(4, 2), 8)
    assert even["fanout_cv"] == 0 and even["fanout_gini"] == 0 and even["overlap"] == 0


def test_spearman_and_bootstrap():
    x = np.arange(30.0)
    assert spearman(x, x**3) == pytest.approx(1.0) and spearman(x, -x) == pytest.approx(-1.0)
    s = bootstrap_spearman(x, x + np.random.default_rng(0).normal(0, 5, 30))
    assert s["n"] == 30 and s["lo"] <= s["rho"] <= s["hi"] and s["rho"] > 0.7
    assert np.isnan(spearman([1, 1, 1], [1, 2, 3]))


def test_spec_errors_are_one_line():
    for bad, msg in (
        ({"colour": 1}, "unknown key"),
        ({"axes": {"model.k": []}}, "non-empty"),
        ({"axes": {"optimizer.lr": [1]}}, "must start with"),
        ({"seeds": "0"}, "seeds"),
        ({"base": {"model": {"k": 99}}}, "model.k"),
        ({"measure": {"samplez": 3}}, r"\[measure\]"),
    ):
        with pytest.raises(LutnnError, match=msg) as e:
            spec_from_dict(bad)
        assert "\n" not in str(e.value)


TINY = {
    "name": "tiny",
    "seeds": [0],
    "base": {
        "data": {"name": "digits", "train_subset": 300, "test_subset": 100},
        "model": {"layers": [20]},
        "train": {"epochs": 1, "threads": 1, "device": "cpu"},
    },
    "axes": {"encoder": [{"kind": "thermometer", "levels": 2}, {"kind": "gray"}], "model.k": [3]},
    "measure": {"samples": 256, "data_limit": 50},
}


def test_grid_trains_measures_and_resumes(tmp_path):
    spec = spec_from_dict(TINY)
    pts = grid_points(spec)
    assert len(pts) == 2 and pts[1][0]["encoder"] == {"kind": "gray"} and pts[0][0]["model"]["k"] == 3
    logs = []
    res = run_study(spec, tmp_path, log=logs.append)
    assert len(res) == 2 and len(logs) == 2
    r = res[0]
    assert r["gap"] == pytest.approx(r["train_acc"] - r["test_acc"])
    m = r["measures"]
    assert m["data_test"]["samples"] == 50 and m["uniform"]["samples"] == 256
    assert 0 <= m["data_test"]["noise_stability"]["0.01"] <= 1 and "spearman_l1" in m["distortion"]
    assert m["topology"]["locality"] > 0  # digits are images
    logs.clear()
    assert len(run_study(spec, tmp_path, log=logs.append)) == 2 and logs == []  # nothing retrained
    # lutnn measure on one of the run folders: data-distribution measures, one JSON object
    run = next(tmp_path.glob("runs/*/checkpoint.pt")).parent
    out = runner.invoke(app, ["measure", str(run), "--json", "--data", "train"])
    assert out.exit_code == 0, out.output
    d = json.loads(out.stdout)
    assert d["distribution"] == "data:train" and d["samples"] == 300 and len(d["influences"]) == d["n_inputs"]
    # the report over the folder
    spec_file = tmp_path / "tiny.toml"
    spec_file.write_text(_toml(TINY))
    out = runner.invoke(app, ["study", str(spec_file), "--out", str(tmp_path), "--report-only"])
    assert out.exit_code == 0, out.output
    text = (tmp_path / "report.md").read_text()
    assert "Spearman" in text and "2 networks" in text and any((tmp_path / "report_figures").glob("*_q1.png"))


def _toml(d: dict) -> str:
    """The few TOML shapes TINY uses (tables of scalars, lists and inline tables)."""

    def v(x):
        if isinstance(x, bool):
            return "true" if x else "false"
        if isinstance(x, str):
            return json.dumps(x)
        if isinstance(x, list):
            return "[" + ", ".join(v(e) for e in x) + "]"
        if isinstance(x, dict):
            return "{ " + ", ".join(f"{json.dumps(k)} = {v(e)}" for k, e in x.items()) + " }"
        return str(x)

    lines = [f"{k} = {v(x)}" for k, x in d.items() if not isinstance(x, dict)]
    for k, x in d.items():
        if isinstance(x, dict):
            lines.append(f"[{k}]")
            lines += [f"{json.dumps(kk)} = {v(e)}" for kk, e in x.items()]
    return "\n".join(lines) + "\n"


def test_cli_study_report_only_needs_networks(tmp_path):
    spec_file = tmp_path / "s.toml"
    spec_file.write_text(_toml(TINY))
    out = runner.invoke(app, ["study", str(spec_file), "--out", str(tmp_path / "empty"), "--report-only"])
    assert isinstance(out.exception, LutnnError) and "no finished networks" in str(out.exception)
