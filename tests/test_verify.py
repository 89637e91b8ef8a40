"""Equivalence checking: SAT catches injected single-bit table changes, counterexamples are real, HDL simulation."""

from __future__ import annotations

import numpy as np
import pytest

from lutnn.errors import LutnnError
from lutnn.formats.verilog import write_verilog
from lutnn.netlist import NetlistBuilder
from lutnn.sim import simulate_buses
from lutnn.tools import have_tool
from lutnn.verify import check_equivalence, check_interfaces, check_simulation

needs_yosys = pytest.mark.skipif(not have_tool("yosys"), reason="Yosys not installed")
needs_icarus = pytest.mark.skipif(not have_tool("iverilog"), reason="Icarus Verilog not installed")


def random_netlist(n_in=14, n=40, seed=0, order=("a", "b")):
    """Random LUT6 network over buses ``a`` (8 bits) and ``b``; ``order`` picks the declaration order."""
    rng = np.random.default_rng(seed)
    widths = {"a": 8, "b": n_in - 8}
    bld = NetlistBuilder(f"rnd{seed}", k=6)
    bus = {name: bld.add_input(name, widths[name]) for name in order}
    sigs = [*bus["a"], *bus["b"]]  # the same logical signal list whatever the declaration order
    tables = rng.integers(0, 2**63, n).tolist()
    for i in range(n):
        f = rng.choice(len(sigs), size=6, replace=False)
        sigs.append(bld.add_lut([sigs[j] for j in f], int(tables[i]) | (int(rng.integers(0, 2)) << 63)))
    bld.add_output("y", sigs[-6:])
    bld.add_output("p", [sigs[-10]])
    return bld.build()


@pytest.fixture(scope="module")
def nl():
    return random_netlist()


def outputs_differ(a, b, cex) -> bool:
    ins = {k: np.array([v]) for k, v in cex.items()}
    ya, yb = simulate_buses(a, ins), simulate_buses(b, ins)
    return any(int(ya[k][0]) != int(yb[k][0]) for k in ya)


@needs_yosys
def test_sat_proves_self_and_reordered_buses(nl):
    v = check_equivalence(nl, nl)
    assert v.equivalent and v.ok and v.method == "sat" and v.counterexample is None
    other = random_netlist(order=("b", "a"))  # same function, buses declared in the other order
    assert [b.name for b in other.inputs] == ["b", "a"]
    assert check_equivalence(nl, other).equivalent
    assert check_equivalence(nl, other, method="exhaustive").equivalent


@needs_yosys
@pytest.mark.parametrize("node,bit", [(-1, 0), (-3, 37), (20, 5), (5, 63)])
def test_sat_catches_single_bit_table_change(nl, node, bit):
    i = node % nl.n_nodes
    bad = nl.with_table(i, nl.truth_table(i) ^ (1 << bit))
    truth = check_equivalence(nl, bad, method="exhaustive")  # 14 inputs: the ground truth
    v = check_equivalence(nl, bad, method="sat")
    assert v.equivalent == truth.equivalent
    if node in (-1, -3):
        assert not v.equivalent  # output-driving nodes: every change is visible
    if not v.equivalent:
        assert v.counterexample is not None and outputs_differ(nl, bad, v.counterexample)
        assert v.outputs_a != v.outputs_b
        assert outputs_differ(nl, bad, truth.counterexample)


def test_exhaustive_and_random_find_the_change(nl):
    i = nl.n_nodes - 1
    bad = nl.with_table(i, nl.truth_table(i) ^ (1 << 11))
    for method in ("exhaustive", "random"):
        v = check_equivalence(nl, bad, method=method)
        assert not v.equivalent and outputs_differ(nl, bad, v.counterexample), method
    assert check_equivalence(nl, nl, method="random", n_random=1000).vectors > 1000


def test_interface_mismatch_is_a_clear_error(nl):
    b = NetlistBuilder("other", k=2)
    x = b.add_input("a", 8)
    b.add_input("c", 6)
    b.add_output("y", list(x[:6]))
    b.add_output("p", [x[0]])
    with pytest.raises(LutnnError, match=r"different input buses: \['b\[6\]'\] vs \['c\[6\]'\]"):
        check_equivalence(nl, b.build())
    with pytest.raises(LutnnError, match="unknown equivalence method"):
        check_equivalence(nl, nl, method="bdd")
    pin, pout = check_interfaces(nl, random_netlist(order=("b", "a")))
    assert pin[0] == 6 and pin[8] == 0 and list(pout) == list(range(7))


def test_exhaustive_limit():
    b = NetlistBuilder("wide", k=2)
    x = b.add_input("x", 30)
    b.add_output("y", [b.and_(x[0], x[29])])
    nl = b.build()
    with pytest.raises(LutnnError, match="exhaustive checking stops at 24"):
        check_equivalence(nl, nl, method="exhaustive")


@needs_yosys
def test_sat_against_remapped_version(nl):
    from lutnn.synth import synthesize

    mapped = synthesize(nl, "lut", 4).netlist
    assert mapped.max_arity <= 4
    assert check_equivalence(nl, mapped).equivalent
    i = int(np.argmax(mapped.arity == 4))
    broken = mapped.with_table(i, mapped.truth_table(i) ^ 1)
    truth = check_equivalence(nl, broken, method="exhaustive")
    assert check_equivalence(nl, broken).equivalent == truth.equivalent


@needs_icarus
def test_hdl_simulation_catches_tampered_verilog(nl, tmp_path):
    p = write_verilog(nl, tmp_path / "d.v")
    v = check_simulation(nl, p, n_random=300)
    assert v.ok and v.vectors == 300 + 2 + 2 * nl.n_inputs
    # flip one truth-table bit inside the exported text: the simulator must notice
    text = p.read_text()
    last = nl.n_inputs + nl.n_nodes - 1
    key = f"T_n{last} = 64'h"
    pos = text.index(key) + len(key)
    hexs = text[pos : pos + 16]
    flipped = format(int(hexs, 16) ^ (1 << 3), "016x")
    p.write_text(text[:pos] + flipped + text[pos + 16 :])
    v = check_simulation(nl, p, n_random=300)
    assert not v.ok and v.mismatches > 0
    assert v.counterexample is not None and v.expected != v.got


@pytest.mark.slow
@pytest.mark.skipif(not have_tool("verilator"), reason="Verilator not installed")
def test_verilator_agrees(nl, tmp_path):
    p = write_verilog(nl, tmp_path / "d.v")
    v = check_simulation(nl, p, n_random=5000, simulator="verilator")
    assert v.ok and v.simulator == "verilator"
