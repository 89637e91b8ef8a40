"""Hostile sizes are bounded: readers check declared sizes before allocating; each case ends fast with FormatError."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from lutnn.errors import FormatError
from lutnn.formats.aiger import parse_aiger
from lutnn.formats.blif import format_blif, parse_blif
from lutnn.formats.jsonfmt import parse_json
from lutnn.netlist import random_netlist

BASE = {
    "format": "lutnn-netlist",
    "version": 1,
    "name": "t",
    "k": 2,
    "inputs": [{"name": "a", "width": 2}],
    "outputs": [{"name": "y", "width": 1}],
    "nodes": [{"fanins": [0, 1], "table": "8"}],
    "output_signals": [2],
}


def json_with(**kw) -> str:
    d = json.loads(json.dumps(BASE))
    d.update(kw)
    return json.dumps(d)


def refused(fn, data, match: str, limit_s: float = 10.0) -> None:
    t = time.perf_counter()
    with pytest.raises(FormatError, match=match):
        fn(data)
    assert time.perf_counter() - t < limit_s


AIGER_CASES = {
    "header 10^9": (b"aig 1000000000 1000000000 0 0 0\n", "at most"),
    "header more ANDs than bytes": (b"aig 2000000 0 0 0 2000000\n\x02\x02", "can hold"),
    "ascii header more inputs than bytes": (b"aag 500000 500000 0 0 0\n2\n", "can hold"),
    "varint 1 MB": (b"aig 2 1 0 1 1\n4\n" + b"\xff" * 1_000_000 + b"\x01", "longer than 5 bytes"),
    "unicode digit in header": ("aag \u00b2 1 0 1 0\n".encode(), "bad header"),
    "unicode digit in symbol": ("aag 1 1 0 1 0\n2\n2\ni\u00b2 x\n".encode(), "symbol table"),
    "5000-digit number": (b"aag " + b"9" * 5000 + b" 1 0 1 0\n", "bad header"),
}


@pytest.mark.parametrize("case", list(AIGER_CASES))
def test_aiger_hostile(case):
    data, match = AIGER_CASES[case]
    refused(parse_aiger, data, match)


JSON_CASES = {
    "width 2^62": (json_with(inputs=[{"name": "a", "width": 2**62}]), r"inputs\[0\]\.width"),
    "total width": (json_with(inputs=[{"name": f"a{i}", "width": 1 << 23} for i in range(3)]), "bits in all"),
    "fan-in id 2^32 (wrapped to int32 before)": (
        json_with(nodes=[{"fanins": [2**32, 1], "table": "8"}]),
        "not a signal id",
    ),
    "output id 2^32 + 2": (json_with(output_signals=[2**32 + 2]), "not a signal id"),
    "nesting 10^5": ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    "k=16 x 10^5 nodes": (
        json_with(k=16, nodes=[{"fanins": [], "table": "0"}] * 100_000, output_signals=[2]),
        "MiB of tables",
    ),
    "table of 10^5 digits": (json_with(nodes=[{"fanins": [0, 1], "table": "0" * 100_000 + "8"}]), "digits"),
    "5000-digit integer": ('{"format": "lutnn-netlist", "version": 1, "k": ' + "9" * 5000 + "}", "invalid JSON"),
    "unicode digit key": (json_with(signal_names={"\u00b2": "x"}), "signal ids"),
    "output id 4e20 (OverflowError, found by fuzzing)": (json_with(output_signals=[4 * 10**20]), "out of range"),
    "negative k (ValueError, found by fuzzing)": (json_with(k=-14, nodes=[], output_signals=[0]), "at least 1"),
}


@pytest.mark.parametrize("case", list(JSON_CASES))
def test_json_hostile(case):
    data, match = JSON_CASES[case]
    refused(parse_json, data, match)


def test_blif_table_memory_is_bounded():
    names = " ".join(f"a{j}" for j in range(16))
    text = f".model m\n.inputs {names}\n.outputs y\n.names {names} y\n{'-' * 16} 1\n"
    text += "".join(f".names c{i}\n" for i in range(100_000)) + ".end\n"
    refused(parse_blif, text, "MiB")


@pytest.mark.parametrize("k", [14, 16])
def test_wide_covers_read_fast_and_exact(k):
    """One 14-input LUT took 119 s; lutnn could not read its own 16-input output."""
    nl = random_netlist(k, 2, k=k, seed=k, n_outputs=2)
    text = format_blif(nl)
    t = time.perf_counter()
    back = parse_blif(text)
    assert time.perf_counter() - t < 10
    assert all(back.truth_table(i) == nl.truth_table(i) for i in range(nl.n_nodes))


def test_dash_heavy_wide_cover_is_exact():
    k = 12
    rng = np.random.default_rng(0)
    rows = ["".join(rng.choice(list("01-"), k)) for _ in range(3000)]
    pins = " ".join(f"a[{j}]" for j in range(k))
    text = f".model m\n.inputs {pins}\n.outputs y\n.names {pins} y\n" + "".join(r + " 1\n" for r in rows) + ".end\n"
    t = time.perf_counter()
    nl = parse_blif(text)
    assert time.perf_counter() - t < 10
    table = nl.truth_table(0)
    for m in rng.integers(0, 1 << k, 300).tolist():
        want = any(all(c == "-" or int(c) == (m >> j) & 1 for j, c in enumerate(r)) for r in rows)
        assert (table >> m) & 1 == want
    off = parse_blif(text.replace(" 1\n", " 0\n"))  # the OFF-set polarity is the complement
    assert off.truth_table(0) == table ^ ((1 << (1 << k)) - 1)
