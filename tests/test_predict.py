"""lutnn.load / lutnn predict: raw features → the exact netlist → class labels, equal to design.v in Icarus."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

import lutnn
from lutnn.cli import app
from lutnn.errors import LutnnError
from lutnn.lutnet.config import RunConfig
from lutnn.pipeline import run_pipeline
from lutnn.predict import read_features
from lutnn.sim import decode_buses, encode_buses
from lutnn.tools import have_tool

NAMES = ["barolo", "grignolino", "barbera"]  # not in sorted order: the saved order must be used


def write_wine(path):
    from sklearn.datasets import load_wine

    d = load_wine()
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([*d.feature_names, "cultivar"])
        for x, y in zip(d.data, d.target, strict=True):
            w.writerow([*x.tolist(), NAMES[y]])
    return d.data, np.array([NAMES[t] for t in d.target], dtype=object)


@pytest.fixture(scope="module")
def wine_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("predict")
    x, y = write_wine(d / "wine.csv")
    cfg = RunConfig.from_dict(
        {
            "data": {"name": "csv", "path": str(d / "wine.csv"), "label": "cultivar"},
            "encoder": {"kind": "quantile", "levels": 4},
            "model": {"layers": [60, 30]},
            "train": {"epochs": 2, "seed": 0},
            "export": {"synth": False, "hdl_sim": False},
        }
    )
    run_pipeline(cfg, d / "run")
    return d, x, y


def test_report_has_classes_and_plain_numbers(wine_run):
    d, _, _ = wine_run
    text = (d / "run" / "report.json").read_text()
    assert "np.float" not in text and "np.int" not in text
    rep = json.loads(text)
    assert rep["classes"] == sorted(NAMES)  # the data's string labels, index i = class_index i
    assert rep["interface"]["output"]["classes"] == {str(i): c for i, c in enumerate(sorted(NAMES))}
    first = (d / "run" / "design.v").read_text().splitlines()[0]
    assert first.startswith("//") and "0 = 'barbera', 1 = 'barolo', 2 = 'grignolino'" in first


def test_predict_api(wine_run):
    d, x, y = wine_run
    m = lutnn.load(d / "run")
    assert list(m.classes_) == sorted(NAMES) and m.n_features_in_ == 13
    pred = m.predict(x)
    assert set(pred) <= set(NAMES)
    assert m.score(x, y) == pytest.approx(float((pred == y).mean()))
    p = m.predict_proba(x)
    assert p.shape == (len(x), 3) and np.allclose(p.sum(1), 1)
    assert (m.classes_[p.argmax(1)] == pred).all()  # ties go to the lower index, as in hardware
    c = m.counts(x)
    assert c.min() >= 0 and c.max() <= m.group and np.issubdtype(c.dtype, np.integer)
    with pytest.raises(LutnnError, match="X has 3 features, but LUTClassifier is expecting 13 features as input"):
        m.predict(x[:, :3])


def test_predict_matches_icarus_on_every_row(wine_run):
    if not have_tool("iverilog"):
        pytest.skip("Icarus Verilog not installed")
    from lutnn.verify import simulate_verilog

    d, x, _ = wine_run
    m = lutnn.load(d / "run")
    nl = m.netlist
    q = m.quantize(x)
    bits = encode_buses(nl, {f"x{i}": q[:, i] for i in range(q.shape[1])})
    hw = decode_buses(nl, np.asarray(simulate_verilog(d / "run" / "design.v", nl, bits)))["class_index"]
    assert len(hw) == len(x) == 178
    assert (m.classes_[hw] == m.predict(x)).all()


def test_cli_predict_csv_and_npz(wine_run):
    d, x, y = wine_run
    r = CliRunner().invoke(
        app, ["predict", str(d / "run"), str(d / "wine.csv"), "-o", str(d / "o" / "p.csv"), "--proba"]
    )
    assert r.exit_code == 0, r.output
    acc = lutnn.load(d / "run").score(x, y)
    assert f"accuracy {acc:.2%}" in r.output
    rows = list(csv.reader(open(d / "o" / "p.csv")))
    assert rows[0] == ["prediction", *(f"p_{c}" for c in sorted(NAMES))] and len(rows) == 179
    np.savez(d / "new.npz", x=x[:10])  # no labels: no accuracy line
    r = CliRunner().invoke(app, ["predict", str(d / "run"), str(d / "new.npz"), "-o", str(d / "p2.csv")])
    assert r.exit_code == 0 and "accuracy" not in r.output
    assert [row[0] for row in csv.reader(open(d / "p2.csv"))][1:] == [
        str(p) for p in lutnn.load(d / "run").predict(x[:10])
    ]
    xr, yr = read_features(d / "wine.csv", lutnn.load(d / "run"))
    assert np.array_equal(xr, x) and (yr == y).all()


def test_load_does_not_import_torch(wine_run):
    d, x, _ = wine_run
    code = f"import sys, lutnn; m = lutnn.load({str(d / 'run')!r}); m.predict_proba([{x[0].tolist()}]); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_read_features_rebuilds_one_hot_columns_and_finds_the_label(tmp_path):
    from types import SimpleNamespace

    m = SimpleNamespace(
        feature_names_in_=np.array(["a", "proto=tcp", "proto=udp"], dtype=object),
        n_features_in_=3,
        label_column_="label",
    )
    (tmp_path / "d.csv").write_text("id,a,proto,label\n1,0.5,udp,1\n2,1.5,tcp,0\n")
    x, y = read_features(tmp_path / "d.csv", m)
    assert x.tolist() == [[0.5, 0.0, 1.0], [1.5, 1.0, 0.0]] and list(y) == ["1", "0"]
