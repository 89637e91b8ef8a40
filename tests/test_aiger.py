"""AIGER read/write (lutnn.formats.aiger): exact round trips, EPFL circuits, latches, malformed files."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lutnn.aig import is_aig, to_aig
from lutnn.errors import FormatError, LutnnError
from lutnn.formats.aiger import aiger_comments, format_aiger, parse_aiger, read_aiger, write_aiger
from lutnn.netlist import Bus, random_netlist
from lutnn.sim import simulate, simulate_exhaustive


def _equivalent(a, b, n_random: int = 4096) -> bool:
    if a.n_inputs <= 20:
        return bool(np.array_equal(simulate_exhaustive(a), simulate_exhaustive(b)))
    x = np.random.default_rng(0).integers(0, 2, size=(n_random, a.n_inputs))
    return bool(np.array_equal(simulate(a, x), simulate(b, x)))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 9), st.integers(0, 40), st.integers(0, 6), st.integers(0, 2**31), st.booleans())
def test_round_trip_any_netlist(n_in: int, n_nodes: int, k: int, seed: int, binary: bool) -> None:
    nl = random_netlist(n_in, n_nodes, k, seed=seed, min_arity=0, n_outputs=5, locality=10)
    back = parse_aiger(format_aiger(nl, binary=binary), "rt.aig")
    assert back.inputs == nl.inputs and back.outputs == nl.outputs
    assert _equivalent(back, nl)
    if not is_aig(nl):  # a canonical AIG comes back gate for gate
        assert back.same_structure(to_aig(nl))
    again = parse_aiger(format_aiger(back, binary=not binary), "rt2.aig")
    assert again.same_structure(back)


def test_round_trip_wide_netlist_random_vectors(tmp_path: Path) -> None:
    nl = random_netlist(40, 300, 6, seed=5, n_outputs=12)
    for suffix in (".aig", ".aag"):
        p = write_aiger(nl, tmp_path / f"w{suffix}")
        back = read_aiger(p)
        assert _equivalent(back, nl)
        assert back.same_structure(to_aig(nl))
    assert (tmp_path / "w.aag").read_text().startswith("aag ")
    assert (tmp_path / "w.aig").read_bytes().startswith(b"aig ")


@pytest.mark.parametrize("name", ["ctrl", "dec", "multiplier"])
def test_epfl_files_read_and_rewrite_identically(shared_dir: Path, name: str) -> None:
    path = shared_dir / "circuits" / "epfl" / f"{name}.aig"
    nl = read_aiger(path)
    assert is_aig(nl)
    data = path.read_bytes()
    header = data.split(b"\n", 1)[0].split()
    _, _m, i, _, o, a = (int(x) if x.isdigit() else x for x in header)
    assert (nl.n_inputs, nl.n_outputs, int((nl.arity == 2).sum())) == (i, o, a)
    # the AIG part of our output is byte-identical to the original (symbols/comments may differ)
    assert format_aiger(nl).split(b"\nc\n")[0] == data.split(b"\nc\n")[0]
    assert parse_aiger(format_aiger(nl, binary=False), "x.aag").same_structure(nl)
    assert any("ABC" in c for c in aiger_comments(path))


def test_epfl_multiplier_multiplies(shared_dir: Path) -> None:
    nl = read_aiger(shared_dir / "circuits" / "epfl" / "multiplier.aig")
    assert [b.name for b in nl.inputs] == ["a", "b"] and nl.outputs == [Bus("f", 128)]
    rnd = random.Random(1)
    pairs = [(rnd.getrandbits(64), rnd.getrandbits(64)) for _ in range(200)] + [(2**64 - 1, 2**64 - 1), (0, 5)]
    bits = np.array([[(a >> j) & 1 for j in range(64)] + [(b >> j) & 1 for j in range(64)] for a, b in pairs])
    out = simulate(nl, bits)
    for (a, b), row in zip(pairs, out, strict=True):
        assert sum(int(v) << j for j, v in enumerate(row)) == a * b


def test_epfl_decoder_decodes(shared_dir: Path) -> None:
    nl = read_aiger(shared_dir / "circuits" / "epfl" / "dec.aig")
    out = simulate_exhaustive(nl)  # 256 patterns → 256 outputs: one-hot
    hot = [[(int(out[o, 0 if m < 64 else m // 64]) >> (m % 64)) & 1 for o in range(256)] for m in range(256)]
    assert all(sum(r) == 1 for r in hot)
    assert len({r.index(1) for r in hot}) == 256


ASCII_HALF_ADDER = b"""aag 7 2 0 2 3
2
4
6
12
6 13 15
12 2 4
14 3 5
i0 x
i1 y
o0 s
o1 c
c
half adder from the AIGER manual
"""


def test_ascii_symbols_and_comments(tmp_path: Path) -> None:
    p = tmp_path / "ha.aag"
    p.write_bytes(ASCII_HALF_ADDER)
    nl = read_aiger(p)
    assert [b.name for b in nl.inputs] == ["x", "y"] and [b.name for b in nl.outputs] == ["s", "c"]
    out = simulate(nl, np.array([[0, 0], [1, 0], [0, 1], [1, 1]]))
    assert out.tolist() == [[0, 0], [1, 0], [1, 0], [0, 1]]
    assert aiger_comments(p) == ["half adder from the AIGER manual"]


def test_unnamed_ports_become_buses() -> None:
    nl = parse_aiger(b"aag 3 2 0 2 1\n2\n4\n6\n7\n6 2 4\n", "t.aag")
    assert nl.inputs == [Bus("i", 2)] and nl.outputs == [Bus("o", 2)]
    assert simulate(nl, np.array([[1, 1], [1, 0]])).tolist() == [[1, 0], [0, 1]]


def test_constant_outputs_and_inputs_as_outputs() -> None:
    nl = parse_aiger(b"aag 1 1 0 4 0\n2\n0\n1\n2\n3\n", "c.aag")
    assert simulate(nl, np.array([[0], [1]])).tolist() == [[0, 1, 0, 1], [0, 1, 1, 0]]
    assert parse_aiger(format_aiger(nl), "c.aig").same_structure(nl)


LATCHED = b"aag 3 1 1 1 1\n2\n4 6\n6\n6 2 5\ni0 en\nl0 state\no0 q\n"


def test_latches_error_names_the_option() -> None:
    with pytest.raises(FormatError, match=r"l\.aag:1: .*latches='cut'"):
        parse_aiger(LATCHED, "l.aag")


def test_latches_cut_become_inputs_and_outputs() -> None:
    nl = parse_aiger(LATCHED, "l.aag", latches="cut")
    assert [b.name for b in nl.inputs] == ["en", "latch_q"]
    assert [b.name for b in nl.outputs] == ["q", "latch_d"]
    # next = en & ~state ; q = next
    x = np.array([[0, 0], [1, 0], [0, 1], [1, 1]])
    assert simulate(nl, x).tolist() == [[0, 0], [1, 1], [0, 0], [0, 0]]
    binary = b"aig 3 1 1 1 1\n6\n6\n" + bytes([6 - 5, 5 - 2]) + b"i0 en\no0 q\n"
    assert parse_aiger(binary, "l.aig", latches="cut").same_structure(nl)


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        (b"agg 1 1 0 1 0\n2\n2\n", r"b\.aag:1: not an AIGER file"),
        (b"aag 1 1 0\n", r"b\.aag:1: bad header"),
        (b"aag 1 1 0 1 0 1\n2\n2\n", r"b\.aag:1: AIGER 1\.9 properties B \(bad states\)=1"),
        (b"aag 1 1 0 1 0\n2\n9\n", r"b\.aag:3: literal 9 in output 0 is out of range"),
        (b"aag 3 1 0 1 1\n2\n4\n4 2 6\n", r"b\.aag:4: AND gate 4 reads literal 6, whose variable is never defined"),
        (b"aag 3 1 0 1 2\n2\n4\n4 2 6\n6 2 4\n", r"b\.aag: combinational cycle through AND gate"),
        (b"aag 2 1 0 1 1\n2\n4\n4 2\n", r"b\.aag:4: expected 3 unsigned integers for AND gate 0"),
        (b"aag 2 2 0 1 0\n2\n", r"b\.aag:3: file ends before input 1"),
        (b"aag 2 1 0 1 1\n2\n4\n2 2 2\n", r"b\.aag:4: variable 1 \(literal 2\) is defined twice"),
        (b"aag 1 1 0 1 0\n2\n2\nx1 foo\n", r"b\.aag:4: bad symbol table line"),
        (b"aig 3 2 0 1 1\n6\n", r"b\.aag: binary AND section truncated"),
        (b"aig 3 2 0 1 1\n6\n\x00\x01", r"b\.aag: AND gate 0 \(literal 6\): bad delta encoding"),
        (b"aag 1 1 0 1 0\n3\n2\n", r"b\.aag:2: input 0: literal 3 must be even"),
    ],
)
def test_malformed_files(data: bytes, pattern: str) -> None:
    with pytest.raises(FormatError, match=pattern):
        parse_aiger(data, "b.aag")


def test_missing_file_and_bad_option(tmp_path: Path) -> None:
    with pytest.raises(LutnnError, match="AIGER file not found"):
        read_aiger(tmp_path / "nope.aig")
    with pytest.raises(LutnnError, match="latches must be"):
        parse_aiger(ASCII_HALF_ADDER, "x", latches="keep")  # type: ignore[arg-type]
