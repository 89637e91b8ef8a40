"""The netlist CLI: stats, export, simulate, verify, synth — outputs, verdicts, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lutnn.cli import app
from lutnn.errors import LutnnError
from lutnn.formats.blif import read_blif, write_blif
from lutnn.netlist import NetlistBuilder
from lutnn.sim import simulate
from lutnn.tools import have_tool

runner = CliRunner()
LUTNN = str(Path(sys.executable).parent / "lutnn")
needs_yosys = pytest.mark.skipif(not have_tool("yosys"), reason="Yosys not installed")
needs_icarus = pytest.mark.skipif(not have_tool("iverilog"), reason="Icarus Verilog not installed")


def small(seed=0):
    rng = np.random.default_rng(seed)
    b = NetlistBuilder("small", k=4)
    sigs = list(b.add_input("x", 8))
    for _ in range(12):
        f = rng.choice(len(sigs), size=4, replace=False)
        sigs.append(b.add_lut([sigs[j] for j in f], int(rng.integers(1, 1 << 16))))
    b.add_output("y", sigs[-3:])
    return b.build()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    nl = small()
    write_blif(nl, d / "a.blif")
    i = nl.n_nodes - 1
    write_blif(nl.with_table(i, nl.truth_table(i) ^ (1 << 5)), d / "bad.blif")
    return d, nl


def test_stats(files):
    d, nl = files
    r = runner.invoke(app, ["stats", str(d / "a.blif"), "--json", str(d / "s.json")])
    assert r.exit_code == 0, r.output
    assert "LUT nodes" in r.output and "12" in r.output
    s = json.loads((d / "s.json").read_text())
    assert s["nodes"] == 12 and s["depth"] == nl.depth()


@needs_icarus
def test_export_with_testbench_and_check(files):
    d, _ = files
    r = runner.invoke(
        app,
        [
            "export",
            str(d / "a.blif"),
            "-o",
            str(d / "a.v"),
            "--testbench",
            str(d / "tb.v"),
            "--vectors",
            "50",
            "--check",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "matches the netlist" in r.output
    assert (d / "a.v").exists() and (d / "tb.in.hex").exists()
    r = runner.invoke(app, ["export", str(d / "a.blif"), "-o", str(d / "p.v"), "--pipeline", "2", "--check"])
    assert r.exit_code == 0 and "latency" in r.output, r.output


@needs_icarus
def test_simulate_vectors(files):
    d, nl = files
    x = np.random.default_rng(3).integers(0, 2, (40, 8))
    np.save(d / "x.npy", x)
    write_args = ["simulate", str(d / "a.blif"), "--vectors", str(d / "x.npy"), "-o", str(d / "y.npy")]
    if (d / "a.v").exists():
        write_args += ["--verilog", str(d / "a.v")]
    r = runner.invoke(app, write_args)
    assert r.exit_code == 0, r.output
    assert np.array_equal(np.load(d / "y.npy"), simulate(nl, x))
    np.save(d / "wrong.npy", np.zeros((5, 3)))
    r = runner.invoke(app, ["simulate", str(d / "a.blif"), "--vectors", str(d / "wrong.npy")])
    assert isinstance(r.exception, LutnnError) and "[N, 8]" in str(r.exception)


@needs_yosys
def test_verify_verdicts(files):
    d, _ = files
    r = runner.invoke(app, ["verify", str(d / "a.blif"), str(d / "a.blif"), "--json", str(d / "v.json")])
    assert r.exit_code == 0 and "EQUIVALENT" in r.output, r.output
    assert json.loads((d / "v.json").read_text())["equivalent"] is True
    r = runner.invoke(app, ["verify", str(d / "a.blif"), str(d / "bad.blif")])
    assert r.exit_code == 1 and "NOT EQUIVALENT" in r.output and "counterexample" in r.output, r.output
    r = runner.invoke(app, ["verify", str(d / "a.blif"), str(d / "bad.blif"), "--method", "exhaustive"])
    assert r.exit_code == 1 and "NOT EQUIVALENT" in r.output


@needs_yosys
def test_synth_report_and_mapped_output(files):
    d, nl = files
    r = runner.invoke(
        app, ["synth", str(d / "a.blif"), "--lut", "3", "--report", str(d / "r.json"), "-o", str(d / "m.blif")]
    )
    assert r.exit_code == 0, r.output
    rep = json.loads((d / "r.json").read_text())
    m = read_blif(d / "m.blif")
    assert rep["flow"] == "lut" and rep["lut_count"] == int((m.arity > 0).sum()) and m.max_arity <= 3
    x = np.random.default_rng(0).integers(0, 2, (256, 8))
    assert np.array_equal(simulate(m, x), simulate(nl, x))


def test_errors_are_one_line_and_leave_no_file(tmp_path):
    bad = tmp_path / "broken.blif"
    bad.write_text(".model m\n.inputs a\n.outputs y\n.names a q y\n11 1\n.end\n")
    out = tmp_path / "out.v"
    p = subprocess.run([LUTNN, "export", str(bad), "-o", str(out)], capture_output=True, text=True)
    assert p.returncode == 1
    lines = [line for line in p.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "broken.blif:4" in lines[0] and "never driven" in lines[0] and not p.stdout.strip()
    assert "Traceback" not in p.stdout + p.stderr
    assert not out.exists() and not list(tmp_path.glob(".out.v*"))
    p = subprocess.run([LUTNN, "synth", str(tmp_path / "missing.blif")], capture_output=True, text=True)
    assert p.returncode == 1 and "not found" in p.stderr
    r = runner.invoke(app, ["synth", str(bad), "--flow", "asic"])
    assert isinstance(r.exception, LutnnError) and "unknown flow" in str(r.exception)


def test_latches_option(tmp_path):
    """An AIGER file with a latch is refused with the fix named, and read with `--latches cut`."""
    f = tmp_path / "toggle.aag"
    f.write_text("aag 1 0 1 1 0\n2 3\n2\n")  # one latch q' = ~q, output q
    r = runner.invoke(app, ["stats", str(f)])
    assert isinstance(r.exception, LutnnError) and "--latches cut" in str(r.exception)
    r = runner.invoke(app, ["stats", str(f), "--latches", "cut"])
    assert r.exit_code == 0, r.output
    assert "1 bits in 1 buses" in r.output


def test_main_prints_errors_literally(tmp_path, monkeypatch, capsys):
    """`lutnn` prints a LutnnError as one line with exit code 1, keeping text like `[model]` (not rich markup)."""
    import sys

    from lutnn.cli import main

    bad = tmp_path / "bad.toml"
    bad.write_text('[data]\nname = "digits"\n[model]\nhidden = [8]\ncolour = 3\n')
    monkeypatch.setattr(sys, "argv", ["lutnn", "qat", str(bad)])
    with pytest.raises(SystemExit) as e:
        main()
    assert e.value.code == 1
    err = capsys.readouterr().err
    assert "unknown [model] keys ['colour']" in err and "Traceback" not in err
