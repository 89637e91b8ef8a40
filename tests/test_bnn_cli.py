"""`lutnn bnn` end to end: files in every format, verification verdicts, clean errors, no partial files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from lutnn.bnn import circuit_to_bnn, load_bnn
from lutnn.bnn.onnx_export import run_onnx
from lutnn.cli import app
from lutnn.formats import read_netlist, write_netlist
from lutnn.formats.aiger import write_aiger
from lutnn.netlist import random_netlist
from lutnn.sim import simulate

runner = CliRunner()


def _run(args):
    from lutnn.cli import main  # noqa: F401  (registers commands)

    r = runner.invoke(app, args, catch_exceptions=True)
    r.text = " ".join(r.output.split())  # rich wraps long lines
    return r


@pytest.mark.parametrize("ext", ["blif", "aag", "json"])
def test_cli_converts_and_verifies(tmp_path, ext):
    nl = random_netlist(8, 30, k=4, seed=3, n_outputs=5)
    src = tmp_path / f"c.{ext}"
    if ext == "aag":
        write_aiger(nl, src, binary=False)
    else:
        write_netlist(nl, src)
    out, js, back = tmp_path / "c.onnx", tmp_path / "r.json", tmp_path / "back.blif"
    r = _run(["bnn", str(src), "-o", str(out), "--verify", "--json", str(js), "--circuit", str(back)])
    assert r.exit_code == 0, r.output
    assert "EQUIVALENT" in r.output and "neurons" in r.output
    rep = json.loads(js.read_text())
    assert rep["verify"]["equivalent"] and rep["verify"]["method"] == "exhaustive"
    x = np.random.default_rng(0).integers(0, 2, (500, 8))
    ref = simulate(read_netlist(src), x)
    assert np.array_equal(run_onnx(str(out), x), ref)
    assert np.array_equal(simulate(read_netlist(back), x), ref)


def test_cli_large_input_falls_back_to_random(tmp_path):
    nl = random_netlist(30, 40, k=4, seed=1, n_outputs=4)
    src = tmp_path / "w.blif"
    write_netlist(nl, src)
    r = _run(["bnn", str(src), "--verify", "--no-sat", "--random", "3000", "--bnn-json", str(tmp_path / "w.bnn.json")])
    assert r.exit_code == 0, r.output
    assert "exhaustive check impossible" in r.text and "not a proof" in r.text
    assert load_bnn(tmp_path / "w.bnn.json").n_inputs == 30


def test_cli_errors_leave_no_files(tmp_path):
    out = tmp_path / "x.onnx"
    r = _run(["bnn", str(tmp_path / "missing.aig"), "-o", str(out)])
    assert r.exit_code != 0 and not out.exists()
    bad = tmp_path / "bad.blif"
    bad.write_text(".model m\n.inputs a\n.outputs y\n.names a y\n1 1\n.names q y\n")
    r = _run(["bnn", str(bad), "-o", str(out)])
    assert r.exit_code != 0 and not out.exists()
    good = tmp_path / "g.blif"
    write_netlist(random_netlist(4, 5, k=3, seed=0), good)
    r = _run(["bnn", str(good), "-o", str(tmp_path / "x.txt")])
    assert r.exit_code != 0 and "ONNX" in str(r.exception)
    assert list(tmp_path.glob("*.onnx")) == [] and list(tmp_path.glob(".*tmp")) == []


def test_cli_latches(tmp_path):
    p = tmp_path / "l.aag"
    # one latch toggled by input a: next = a xor q ; output q
    p.write_text("aag 5 1 1 1 3\n2\n4 10\n4\n6 2 5\n8 3 4\n10 7 9\n")
    r = _run(["bnn", str(p)])
    assert r.exit_code != 0 and "latch" in str(r.exception)
    r = _run(["bnn", str(p), "--latches", "cut", "--verify"])
    assert r.exit_code == 0, r.output
    assert "EQUIVALENT" in r.output


def test_epfl_circuits_exact(shared_dir):
    for name in ("ctrl", "dec"):
        nl = read_netlist(shared_dir / "circuits" / "epfl" / f"{name}.aig")
        bnn, rep = circuit_to_bnn(nl)
        assert rep.neurons < rep.aig_nodes and rep.layers <= rep.aig_depth
        from lutnn.bnn.verify import verify_bnn

        assert verify_bnn(nl, bnn).proved
