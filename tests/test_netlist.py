"""The core IR (lutnn.netlist): validation errors, the builder, sweep, levels/depth/stats/fanout."""

from __future__ import annotations

import numpy as np
import pytest

from lutnn.errors import NetlistError
from lutnn.netlist import (
    MAX_K,
    TABLE_AND2,
    TABLE_MUX,
    TABLE_NOT,
    TABLE_XOR2,
    Bus,
    Netlist,
    NetlistBuilder,
    random_netlist,
    table_from_function,
    table_words,
)
from lutnn.sim import simulate_buses, simulate_exhaustive


def _tiny() -> Netlist:
    b = NetlistBuilder("tiny", k=3)
    x = b.add_input("x", 3)
    a = b.and_(x[0], x[1])
    o = b.xor(a, x[2])
    b.add_output("y", [a, o])
    return b.build()


def test_table_words_and_from_function() -> None:
    assert [table_words(k) for k in (0, 1, 6, 7, 8, 16)] == [1, 1, 1, 2, 4, 1024]
    assert table_from_function(2, lambda b: b[0] and b[1]) == TABLE_AND2
    assert table_from_function(3, lambda b: b[1] if b[2] else b[0]) == TABLE_MUX


def test_from_unordered_sorts_and_names_cycles() -> None:
    # node 0 reads node 1 (signal 3): out of order but acyclic
    nl = Netlist.from_unordered(
        [Bus("x", 2)],
        [Bus("y", 1)],
        np.array([[3, 0], [0, 1]]),
        np.array([2, 2]),
        np.array([[TABLE_XOR2], [TABLE_AND2]]),
        [2],
    )
    assert nl.fanins.tolist() == [[0, 1], [2, 0]]
    assert nl.output_signals.tolist() == [3]
    with pytest.raises(NetlistError, match=r"combinational cycle through gate_[ab]"):
        Netlist.from_unordered(
            [Bus("x", 1)],
            [Bus("y", 1)],
            np.array([[0, 2], [1, 0]]),
            np.array([2, 2]),
            np.array([[TABLE_AND2], [TABLE_AND2]]),
            [1],
            node_labels=["gate_a", "gate_b"],
        )
    with pytest.raises(NetlistError, match="fan-in 1 is undriven"):
        Netlist.from_unordered([Bus("x", 1)], [Bus("y", 1)], np.array([[0, -1]]), np.array([2]), np.array([[8]]), [1])


def _raw(**kw) -> Netlist:
    nl = _tiny()
    d = dict(
        inputs=nl.inputs,
        outputs=nl.outputs,
        fanins=nl.fanins.copy(),
        arity=nl.arity.copy(),
        tables=nl.tables.copy(),
        output_signals=nl.output_signals.copy(),
    )
    d.update(kw)
    return Netlist(**d)


@pytest.mark.parametrize(
    ("kw", "pattern"),
    [
        ({"fanins": np.array([[0, -1, -1], [3, 2, -1]], np.int32)}, r"node 0 \(signal 3\): fan-in 1 is undriven"),
        ({"fanins": np.array([[0, 1, -1], [9, 2, -1]], np.int32)}, "refers to signal 9, which does not exist"),
        ({"fanins": np.array([[0, 4, -1], [3, 2, -1]], np.int32)}, "not earlier in topological order"),
        ({"fanins": np.array([[0, 1, 2], [3, 2, -1]], np.int32)}, "fan-in slot 2 beyond its arity must be -1"),
        ({"arity": np.array([4, 2], np.uint8)}, "arity 4 > fan-in storage width 3"),
        (
            {"tables": np.array([[TABLE_AND2 | 16], [TABLE_XOR2]], np.uint64)},
            r"node 0: truth table has bits set above 2\*\*2",
        ),
        ({"output_signals": np.array([3, 7], np.int32)}, r"output bit y\[1\] is undriven"),
        ({"output_signals": np.array([3], np.int32)}, "output buses total 2 bits but 1 output signals"),
        ({"outputs": [Bus("x", 2)]}, "bus names must be unique"),
        ({"tables": np.zeros((2, 2), np.uint64)}, "tables have 2 words per node; k=3 needs 1"),
    ],
)
def test_validate_errors(kw: dict, pattern: str) -> None:
    with pytest.raises(NetlistError, match=pattern):
        _raw(**kw).validate()


def test_validate_wide_tables_and_k_limit() -> None:
    b = NetlistBuilder("w", k=8)
    x = b.add_input("x", 8)
    b.add_output("y", [b.add_lut(list(x[:7]), (1 << 128) - 1)])
    nl = b.build()
    bad = nl.copy()
    bad.tables[0, 2] = 1  # bit 128 of a 7-input table
    with pytest.raises(NetlistError, match=r"bits set above 2\*\*7"):
        bad.validate()
    with pytest.raises(NetlistError, match="out of range"):
        NetlistBuilder("k", k=MAX_K + 1)
    big = Netlist(
        [Bus("x", 1)],
        [],
        np.zeros((0, MAX_K + 1), np.int32),
        np.zeros(0, np.uint8),
        np.zeros((0, 2048), np.uint64),
        np.zeros(0, np.int32),
    )
    with pytest.raises(NetlistError, match=f"exceeds the maximum LUT size {MAX_K}"):
        big.validate()


def test_builder_errors() -> None:
    b = NetlistBuilder("b", k=2)
    x = b.add_input("x", 2)
    with pytest.raises(NetlistError, match="has bits above 2\\*\\*2"):
        b.add_lut([x[0], x[1]], 0x1F)
    with pytest.raises(NetlistError, match="exceeds this builder's k=2"):
        b.add_lut([x[0], x[1], x[0]], 0)
    with pytest.raises(NetlistError, match="does not exist yet"):
        b.add_lut([x[0], 7], TABLE_AND2)
    b.and_(x[0], x[1])
    with pytest.raises(NetlistError, match="declare every input bus before adding nodes"):
        b.add_input("late", 1)
    with pytest.raises(NetlistError, match="at least 1 bit wide"):
        NetlistBuilder().add_input("z", 0)


def test_builder_gates_and_instantiate() -> None:
    sub = _tiny()
    b = NetlistBuilder("top", k=3)
    p = b.add_input("p", 3)
    q = b.add_input("q", 3)
    o1 = b.instantiate(sub, {"x": p})
    o2 = b.instantiate(sub, {"x": q[::-1]})
    c1 = b.const(1)
    assert b.const(1) == c1  # constants are shared
    b.add_output("a", o1["y"])
    b.add_output("b", o2["y"])
    b.add_output("m", [b.mux(p[0], b.not_(q[0]), b.or_(q[1], b.maj(p[1], p[2], c1)))])
    nl = b.build()
    vals = np.arange(64)
    pv, qv = vals & 7, vals >> 3
    out = simulate_buses(nl, {"p": pv, "q": qv})

    def tiny(v):
        x0, x1, x2 = v & 1, (v >> 1) & 1, (v >> 2) & 1
        a = x0 & x1
        return a | ((a ^ x2) << 1)

    qrev = ((qv & 1) << 2) | (qv & 2) | ((qv >> 2) & 1)
    assert np.array_equal(out["a"], tiny(pv))
    assert np.array_equal(out["b"], tiny(qrev))
    maj = ((pv >> 1) & 1) | ((pv >> 2) & 1)  # maj(p1, p2, 1) = p1 | p2
    ref = np.where(pv & 1, ((qv >> 1) & 1) | maj, 1 - (qv & 1))
    assert np.array_equal(out["m"], ref)
    with pytest.raises(NetlistError, match="input bus 'x' is not connected"):
        b.instantiate(sub, {})
    with pytest.raises(NetlistError, match="bus 'x' is 3 bits, got 2 signals"):
        b.instantiate(sub, {"x": p[:2]})
    with pytest.raises(NetlistError, match="builder allows k=2"):
        NetlistBuilder("small", k=2).instantiate(sub, {"x": [0, 0, 0]})


def test_sweep_keeps_function_and_drops_dangling() -> None:
    b = NetlistBuilder("s", k=2)
    x = b.add_input("x", 3)
    dead = b.and_(x[0], x[1])
    b.not_(dead)
    live = b.xor(x[1], x[2])
    b.add_output("y", [live, x[0]])
    nl = b.build()
    sw = nl.sweep()
    assert sw.n_nodes == 1 and nl.n_nodes == 3
    assert np.array_equal(simulate_exhaustive(sw), simulate_exhaustive(nl))
    big = random_netlist(10, 500, 6, seed=2, n_outputs=3)
    swb = big.sweep()
    assert swb.n_nodes < big.n_nodes
    assert np.array_equal(simulate_exhaustive(swb), simulate_exhaustive(big))
    assert swb.sweep().same_structure(swb)


def test_levels_depth_fanout_stats() -> None:
    b = NetlistBuilder("chain", k=2)
    x = b.add_input("x", 2)
    s = x[0]
    for _ in range(5):
        s = b.and_(s, x[1])
    c = b.const(0)
    b.add_output("y", [s, c, x[1]])
    nl = b.build()
    assert nl.levels().tolist() == [0, 0, 1, 2, 3, 4, 5, 0]
    assert nl.depth() == 5
    fo = nl.fanout()
    assert fo[1] == 6  # five ANDs + one output
    assert fo[0] == 1 and fo[-1] == 1
    st = nl.stats()
    assert (st.inputs, st.outputs, st.nodes, st.depth, st.max_fanout, st.k) == (2, 3, 6, 5, 6, 2)
    assert st.nodes_by_arity == {0: 1, 2: 5}
    assert st.as_dict()["nodes_by_arity"] == {"0": 1, "2": 5}
    assert nl.input_bus("x").tolist() == [0, 1]
    assert nl.output_bus("y") == slice(0, 3)
    with pytest.raises(NetlistError, match="no input bus named 'q'"):
        nl.input_bus("q")
    with pytest.raises(NetlistError, match="no output bus named 'q'"):
        nl.output_bus("q")


def test_with_table_and_same_structure() -> None:
    nl = _tiny()
    assert nl.same_structure(nl.copy())
    f = nl.with_table(0, TABLE_XOR2)
    assert not f.same_structure(nl)
    assert not np.array_equal(simulate_exhaustive(f), simulate_exhaustive(nl))
    with pytest.raises(NetlistError, match="bits set above"):
        nl.with_table(0, 1 << 5)
    inv = NetlistBuilder("n", k=1)
    i = inv.add_input("a", 1)
    inv.add_output("y", [inv.add_lut([i[0]], TABLE_NOT)])
    assert inv.build().truth_table(0) == TABLE_NOT
