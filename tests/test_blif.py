"""BLIF read/write (lutnn.formats.blif): exact round trips, cover semantics, malformed-file errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lutnn.errors import FormatError, LutnnError
from lutnn.formats.blif import format_blif, parse_blif, read_blif, write_blif
from lutnn.netlist import Bus, NetlistBuilder, random_netlist
from lutnn.sim import simulate, simulate_exhaustive


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 8), st.integers(0, 40), st.sampled_from([0, 1, 2, 3, 4, 6, 7]), st.integers(0, 2**31))
def test_round_trip_same_structure(n_in: int, n_nodes: int, k: int, seed: int) -> None:
    nl = random_netlist(n_in, n_nodes, k, seed=seed, min_arity=0, n_outputs=5, locality=12)
    back = parse_blif(format_blif(nl))
    assert back.same_structure(nl)
    assert np.array_equal(simulate_exhaustive(back), simulate_exhaustive(nl))


def test_round_trip_buses_names_and_shared_outputs(tmp_path: Path) -> None:
    b = NetlistBuilder("busy", k=2)
    a = b.add_input("a", 3)
    c = b.add_input("c", 1)
    x = b.xor(a[0], c[0])
    b.signal_names[x] = "my sig"
    b.add_output("y", [x, a[1], x])  # an input and a repeated signal drive outputs
    b.add_output("z", [x])
    nl = b.build()
    p = write_blif(nl, tmp_path / "busy.blif")
    text = p.read_text()
    assert ".inputs a[0] a[1] a[2] c" in text
    back = read_blif(p)
    assert back.same_structure(nl)
    assert back.inputs == [Bus("a", 3), Bus("c", 1)] and back.outputs == [Bus("y", 3), Bus("z", 1)]
    assert back.name == "busy"


def _eval(text: str, rows: list[list[int]]) -> list[list[int]]:
    return simulate(parse_blif(text), np.array(rows)).tolist()


def test_dont_care_and_off_set_covers() -> None:
    on = ".model t\n.inputs a b c\n.outputs y\n.names a b c y\n1-1 1\n01- 1\n.end\n"
    off = ".model t\n.inputs a b c\n.outputs y\n.names a b c y\n1-1 0\n01- 0\n.end\n"
    pats = [[(m >> 0) & 1, (m >> 1) & 1, (m >> 2) & 1] for m in range(8)]
    ref = [[int((a and c) or (not a and b))] for a, b, c in pats]
    assert _eval(on, pats) == ref
    assert _eval(off, pats) == [[1 - r[0]] for r in ref]


def test_constants_conn_continuation_comments() -> None:
    text = """# a comment
.model t
.inputs a \\
  b
.outputs one zero w empty
.names one
1
.names zero
.names empty
.conn a w   # wire
.names a b dummy
11 1
.end
"""
    out = _eval(text, [[0, 0], [1, 1]])
    assert out == [[1, 0, 0, 0], [1, 0, 1, 0]]


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        (".model t\n.inputs a\n.outputs y\n.latch a y 0\n", r"x\.blif:4: \.latch is not supported"),
        (".model t\n.inputs a\n.outputs y\n.subckt foo a=a y=y\n", r"x\.blif:4: \.subckt is not supported"),
        (".model t\n.inputs a\n.outputs y\n.names a y\n1 1\n0 0\n", r"x\.blif:4: a \.names cover mixes 1 and 0"),
        (".model t\n.inputs a\n.outputs y\n.names a y\n11 1\n", r"x\.blif:5: bad cover row '11 1'"),
        (".model t\n.inputs a\n.outputs y\n.names a y\n2 1\n", r"x\.blif:5: bad cover row"),
        (".model t\n.inputs a\n.outputs y\n.names b y\n1 1\n", r"x\.blif:4: signal b \(input 0 of y\) is never driven"),
        (
            ".model t\n.inputs a\n.outputs y\n.names a y\n1 1\n.names a y\n1 1\n",
            r"x\.blif:6: signal y is driven more than once",
        ),
        (".model t\n.inputs a\n.outputs y z\n.names a y\n1 1\n", r"x\.blif: output z is never driven"),
        (".model t\n.inputs a\n.outputs y\n.names a q y\n11 1\n.names y q\n1 1\n", r"x\.blif: combinational cycle"),
        (".model t\n.inputs a\n.outputs y\n.frobnicate\n", r"x\.blif:4: unknown BLIF directive \.frobnicate"),
        (".model t\n.inputs a\n.outputs y\n1 1\n", r"x\.blif:4: unexpected line '1 1' outside a \.names block"),
        (".model t\n.inputs a a\n", r"x\.blif: input a declared twice"),
        ("hello world\n", r"x\.blif:1: unexpected line"),
        ("", r"x\.blif: no \.model"),
        (
            ".model t\n.names " + " ".join(f"i{j}" for j in range(17)) + " y\n",
            r"x\.blif:2: \.names with 17 inputs exceeds",
        ),
        (".model t\n.outputs y\n.names y\n2\n", r"x\.blif:4: a constant \.names row must be a single 0 or 1"),
        (".model t\n.conn a\n", r"x\.blif:2: \.conn needs exactly two signals"),
    ],
)
def test_malformed(text: str, pattern: str) -> None:
    with pytest.raises(FormatError, match=pattern):
        parse_blif(text, "x.blif")


def test_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(LutnnError, match="BLIF file not found"):
        read_blif(tmp_path / "none.blif")
    p = tmp_path / "bin.blif"
    p.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(FormatError, match="not a text file"):
        read_blif(p)
    with pytest.raises(LutnnError, match=r"directory .* does not exist"):
        write_blif(random_netlist(2, 2, 2), tmp_path / "no" / "x.blif")
    assert not list(tmp_path.glob("*.tmp"))
