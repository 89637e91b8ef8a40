"""`lutnn verify` is sound: constant LUTs reach Yosys defined, x is never a don't-care, judges must agree."""

from __future__ import annotations

import json

import numpy as np
import pytest

import lutnn.verify.sat as satmod
from lutnn.errors import ToolError
from lutnn.formats.blif import format_blif, parse_blif
from lutnn.formats.jsonfmt import from_json_dict
from lutnn.netlist import NetlistBuilder, random_netlist
from lutnn.sim import simulate
from lutnn.tools import have_tool
from lutnn.verify import check_equivalence, check_interfaces
from lutnn.verify.abccec import abc_cec, align_ports

needs_yosys = pytest.mark.skipif(not have_tool("yosys"), reason="Yosys not installed")


def json_lut(table: str):
    """``y = f(a0, a1)`` as a lutnn JSON netlist (k = 2), the issue's example."""
    d = {
        "format": "lutnn-netlist",
        "version": 1,
        "name": "t",
        "k": 2,
        "inputs": [{"name": "a", "width": 2}],
        "outputs": [{"name": "y", "width": 1}],
        "nodes": [{"fanins": [0, 1], "table": table}],
        "output_signals": [2],
    }
    return from_json_dict(json.loads(json.dumps(d)))


def constant_outputs(value: int = 0, n_const: int = 3):
    """A netlist whose last nodes are zero-input constants driving outputs (EPFL ``router`` has 27)."""
    b = NetlistBuilder("consts", k=2)
    a = b.add_input("a", 2)
    x = b.and_(int(a[0]), int(a[1]))
    cs = [b.add_lut([], value) for _ in range(n_const)]
    b.add_output("y", [x])
    b.add_output("z", cs)
    return b.build()


def test_blif_never_writes_a_coverless_names():
    nl = constant_outputs(0)
    for t in range(16):  # every 2-input table, incl. all-zero and all-one
        nl2 = json_lut(format(t, "x"))
        text = format_blif(nl2) + format_blif(nl)
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if line.startswith(".names"):
                nxt = lines[i + 1] if i + 1 < len(lines) else ""
                assert nxt and not nxt.startswith((".", "#")), f"coverless .names: {line!r} then {nxt!r}"
        back = parse_blif(format_blif(nl2))
        got = simulate(back, np.array([[0, 0], [1, 0], [0, 1], [1, 1]], np.uint8))[:, 0]
        assert got.tolist() == [(t >> m) & 1 for m in range(4)]


def test_blif_has_no_comment_between_nodes():
    """Yosys reads a comment line after a constant ``.names`` as a cover row ('Syntax error')."""
    text = format_blif(constant_outputs(0))
    body = text.split(".model", 1)[1]
    assert "#" not in body


@needs_yosys
def test_and_vs_constant_zero_is_not_equivalent():
    """The issue's example: y = a0 & a1 against y = 0 verified EQUIVALENT by SAT."""
    v = check_equivalence(json_lut("8"), json_lut("0"))
    assert not v.equivalent and v.counterexample == {"a": 3}
    v = check_equivalence(json_lut("8"), json_lut("8"))
    assert v.equivalent
    assert v.judges[0] == "yosys-sat" and "abc-iprove" in v.judges and v.judges[1].startswith("simulation-exhaustive")
    assert check_equivalence(json_lut("0"), json_lut("f"), cross_check=False).equivalent is False


@needs_yosys
@pytest.mark.parametrize("value", [0, 1])
def test_constant_last_luts_verify(value):
    nl = constant_outputs(value)
    assert check_equivalence(nl, nl).equivalent
    other = constant_outputs(1 - value)
    v = check_equivalence(nl, other)
    assert not v.equivalent and v.outputs_a["z"] != v.outputs_b["z"]


@needs_yosys
def test_miter_treats_undefined_as_failure(monkeypatch):
    """Even a coverless .names (x LUT, the old writer) reaching Yosys cannot be proved equal to AND."""

    def old_writer(nl):
        text = format_blif(nl)
        return text.replace("-- 0\n", "")  # the pre-fix writer: constant 0 over inputs as an empty cover

    monkeypatch.setattr(satmod, "format_blif", old_writer)
    assert "-- 0" not in old_writer(json_lut("0"))
    v = check_equivalence(json_lut("8"), json_lut("0"), cross_check=False)
    assert not v.equivalent


@needs_yosys
def test_judges_that_disagree_are_an_error(monkeypatch):
    """A SAT engine that wrongly says EQUIVALENT is caught by the simulation and ABC judges."""
    a, b = json_lut("8"), json_lut("e")

    def lying_sat(a, b, pin, pout, t0, timeout):
        return satmod.Verdict(True, "sat", None, 0.0)

    monkeypatch.setattr(satmod, "_check_sat", lying_sat)
    with pytest.raises(ToolError, match="judges disagree"):
        check_equivalence(a, b)
    # with more inputs than the exhaustive limit, random simulation is the second judge
    big = random_netlist(30, 60, k=4, seed=3, n_outputs=4)
    i = int(big.output_signals[0]) - big.n_inputs
    bad = big.with_table(i, big.truth_table(i) ^ 0xFFFF)  # output 0 inverted
    with pytest.raises(ToolError, match="judges disagree"):
        check_equivalence(big, bad)


@needs_yosys
def test_abc_judge_alone_finds_differences_and_aligns_ports():
    b1 = NetlistBuilder("p", k=2)
    x, y = b1.add_input("x", 2), b1.add_input("y", 1)
    b1.add_output("o", [b1.and_(int(x[1]), int(y[0])), b1.xor(int(x[0]), int(y[0]))])
    b2 = NetlistBuilder("q", k=2)
    y2, x2 = b2.add_input("y", 1), b2.add_input("x", 2)  # other declaration order, same function
    b2.add_output("o", [b2.and_(int(x2[1]), int(y2[0])), b2.xor(int(x2[0]), int(y2[0]))])
    a, b = b1.build(), b2.build()
    pin, pout = check_interfaces(a, b)
    assert abc_cec(a, align_ports(b, a, pin, pout)).equivalent
    bad = b.with_table(0, 0b0111)  # AND -> NAND-ish mutation of b's first node
    r = abc_cec(a, align_ports(bad, a, pin, pout))
    assert not r.equivalent and r.counterexample is not None
    ab = align_ports(bad, a, pin, pout)
    assert (simulate(a, r.counterexample[None]) != simulate(ab, r.counterexample[None])).any()


@needs_yosys
def test_constant_last_luts_synthesise():
    """EPFL ``router`` (27 constant-0 outputs) stopped Yosys with 'Syntax error' in synth and verify."""
    from lutnn.synth import synthesize

    nl = constant_outputs(0)
    mapped = synthesize(nl, "lut", 4, fmax=False).netlist
    assert mapped is not None and check_equivalence(nl, mapped).equivalent
