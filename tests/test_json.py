"""JSON netlist form (lutnn.formats.jsonfmt) and the extension dispatch in lutnn.formats."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lutnn.errors import FormatError, LutnnError
from lutnn.formats import format_of, read_netlist, write_netlist
from lutnn.formats.jsonfmt import from_json_dict, read_json, to_json_dict, write_json
from lutnn.netlist import NetlistBuilder, random_netlist
from lutnn.sim import simulate_exhaustive


def _same(a, b) -> bool:
    return a.same_structure(b) and a.name == b.name and a.signal_names == b.signal_names and a.k == b.k


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 8), st.integers(0, 40), st.sampled_from([0, 1, 2, 3, 6, 7, 9]), st.integers(0, 2**31))
def test_round_trip_exact(n_in: int, n_nodes: int, k: int, seed: int) -> None:
    nl = random_netlist(n_in, n_nodes, k, seed=seed, min_arity=0, n_outputs=4, locality=12)
    nl.signal_names = {nl.n_signals - 1: "last", 0: "first"}
    d = json.loads(json.dumps(to_json_dict(nl)))
    assert _same(from_json_dict(d), nl)


def test_file_round_trip_and_layout(tmp_path: Path) -> None:
    b = NetlistBuilder("adder", k=3)
    a = b.add_input("a", 2)
    x = b.add_input("b", 1)
    s = b.xor(a[0], x[0])
    c = b.maj(a[0], a[1], x[0])
    b.add_output("s", [s, c])
    b.signal_names[c] = "carry"
    nl = b.build()
    p = write_json(nl, tmp_path / "n.json", indent=1)
    d = json.loads(p.read_text())
    assert d["format"] == "lutnn-netlist" and d["version"] == 1
    assert d["nodes"][0] == {"fanins": [0, 2], "table": "6"}
    assert d["nodes"][1] == {"fanins": [0, 1, 2], "table": "e8"}
    assert d["signal_names"] == {"4": "carry"}
    back = read_json(p)
    assert _same(back, nl)
    assert np.array_equal(simulate_exhaustive(back), simulate_exhaustive(nl))


def _base() -> dict:
    b = NetlistBuilder("t", k=2)
    x = b.add_input("x", 2)
    b.add_output("y", [b.and_(x[0], x[1])])
    return to_json_dict(b.build())


@pytest.mark.parametrize(
    ("mutate", "pattern"),
    [
        (lambda d: d.update(format="other"), "'format' must be 'lutnn-netlist'"),
        (lambda d: d.update(version=7), "unsupported version 7"),
        (lambda d: d.pop("nodes"), r"missing required field\(s\) \['nodes'\]"),
        (lambda d: d.update(extra=1), r"unknown field\(s\) \['extra'\]"),
        (lambda d: d["inputs"].append({"name": "z"}), r"inputs\[1\] must be an object"),
        (lambda d: d["inputs"][0].update(width=0), r"inputs\[0\]\.width must be at least 1"),
        (lambda d: d["nodes"][0].update(table="zz"), r"nodes\[0\]\.table 'zz' is not hexadecimal"),
        (lambda d: d["nodes"][0].update(table="18"), r"nodes\[0\]\.table 0x18 has bits above 2\*\*2"),
        (lambda d: d["nodes"][0].update(fanins=[0, "1"]), r"nodes\[0\]\.fanins\[1\] must be an integer"),
        (lambda d: d["nodes"][0].update(fanins=[0, 2]), "not earlier in topological order"),
        (lambda d: d["nodes"][0].update(fanins=[0, 1, 1]), "has 3 fan-ins but k=2"),
        (lambda d: d.update(output_signals=[9]), "output bit y is undriven"),
        (lambda d: d.update(signal_names={"99": "q"}), "signal_names refers to missing signal 99"),
        (lambda d: d.update(k=20), "exceeds the maximum LUT size"),
    ],
)
def test_schema_errors(mutate, pattern: str) -> None:
    d = _base()
    mutate(d)
    with pytest.raises(FormatError, match=pattern):
        from_json_dict(d, "bad.json")


def test_invalid_json_names_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.json"
    p.write_text('{\n  "format": "lutnn-netlist",\n  oops\n}\n')
    with pytest.raises(FormatError, match=r"bad\.json:3: invalid JSON"):
        read_json(p)


@pytest.mark.parametrize("ext", [".blif", ".aig", ".aag", ".json"])
def test_dispatch_round_trip(tmp_path: Path, ext: str) -> None:
    nl = random_netlist(7, 60, 4, seed=3, min_arity=0, n_outputs=6)
    p = write_netlist(nl, tmp_path / f"n{ext}")
    back = read_netlist(p)
    assert np.array_equal(simulate_exhaustive(back), simulate_exhaustive(nl))
    assert back.inputs == nl.inputs and back.outputs == nl.outputs


def test_dispatch_errors(tmp_path: Path) -> None:
    with pytest.raises(LutnnError, match=r"extension '\.txt'.*\.blif, \.aig, \.aag, \.json, \.v, \.sv"):
        format_of(tmp_path / "n.txt")
    with pytest.raises(LutnnError, match="unknown netlist format 'edif'"):
        format_of("x.blif", "edif")
    assert format_of("x.dat", "aiger") == "aig"
    with pytest.raises(LutnnError, match="netlist file not found"):
        read_netlist(tmp_path / "missing.blif")
    p = write_netlist(random_netlist(3, 5, 2, seed=0), tmp_path / "n.data", fmt="json")
    assert read_netlist(p, fmt="json").n_nodes == 5
