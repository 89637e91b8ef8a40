"""CLI outputs: parent folders created before the work, --version, verify's columns named after both designs."""

from __future__ import annotations

from typer.testing import CliRunner

from lutnn import __version__
from lutnn.cli import app
from lutnn.formats.blif import write_blif
from lutnn.netlist import NetlistBuilder

runner = CliRunner()


def _nl(flip: bool = False):
    b = NetlistBuilder("t", k=2)
    x = b.add_input("x", 2)
    b.add_output("y", [b.add_lut(list(x), 0b0110 ^ (0b1000 if flip else 0))])
    return b.build()


def test_version() -> None:
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and r.output.strip() == f"lutnn {__version__}"


def test_outputs_get_their_folders(tmp_path) -> None:
    write_blif(_nl(), tmp_path / "a.blif")
    out = tmp_path / "new" / "deeper" / "s.json"
    r = runner.invoke(app, ["stats", str(tmp_path / "a.blif"), "--json", str(out)])
    assert r.exit_code == 0 and out.exists(), r.output
    v = tmp_path / "v" / "d.v"
    r = runner.invoke(app, ["export", str(tmp_path / "a.blif"), "-o", str(v)])
    assert r.exit_code == 0 and v.exists(), r.output


def test_output_folder_that_cannot_exist_fails_before_the_work(tmp_path) -> None:
    write_blif(_nl(), tmp_path / "a.blif")
    (tmp_path / "file").write_text("x")
    r = runner.invoke(app, ["synth", str(tmp_path / "a.blif"), "-o", str(tmp_path / "file" / "m.blif")])
    assert r.exit_code != 0 and "cannot create the folder" in str(r.exception)
    assert "LUT" not in r.output  # no synthesis report: it stopped while parsing


def test_verify_names_both_designs(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for d, flip in (("one", False), ("two", True)):
        (tmp_path / d).mkdir()
        write_blif(_nl(flip), tmp_path / d / "netlist.blif")
    r = runner.invoke(app, ["verify", "one/netlist.blif", "two/netlist.blif", "--method", "exhaustive"])
    assert r.exit_code == 1 and "NOT EQUIVALENT" in r.output
    assert "A: one/netlist.blif" in r.output and "B: two/netlist.blif" in r.output, r.output
