"""Arithmetic blocks (lutnn.circuits) checked exhaustively against integer arithmetic with lutnn.sim."""

from __future__ import annotations

import numpy as np
import pytest

from lutnn import circuits
from lutnn.netlist import NetlistBuilder
from lutnn.sim import simulate_buses


def _all_values(widths: list[int]) -> list[np.ndarray]:
    grids = np.meshgrid(*[np.arange(1 << w) for w in widths], indexing="ij")
    return [g.reshape(-1) for g in grids]


@pytest.mark.parametrize("k", [4, 6])
@pytest.mark.parametrize("w", [1, 3, 6, 9])
def test_const_comparators_exhaustive(k: int, w: int) -> None:
    consts = sorted({0, 1, (1 << w) - 1, 1 << w, (1 << w) // 3, (1 << w) // 2 + 1, 5 % (1 << w), -1})
    b = NetlistBuilder("cmp", k=k)
    x = b.add_input("x", w)
    ops = {
        "ge": circuits.ge_const,
        "gt": circuits.gt_const,
        "le": circuits.le_const,
        "lt": circuits.lt_const,
        "eq": circuits.eq_const,
    }
    for c in consts:
        for name, fn in ops.items():
            b.add_output(f"{name}_{c}".replace("-", "m"), [fn(b, x, c)])
    nl = b.build()
    assert nl.max_arity <= k
    (xs,) = _all_values([w])
    out = simulate_buses(nl, {"x": xs})
    ref = {"ge": np.greater_equal, "gt": np.greater, "le": np.less_equal, "lt": np.less, "eq": np.equal}
    for c in consts:
        for name in ops:
            np.testing.assert_array_equal(
                out[f"{name}_{c}".replace("-", "m")], ref[name](xs, c).astype(int), err_msg=f"{name} {c}"
            )


@pytest.mark.parametrize("k", [3, 6])
@pytest.mark.parametrize(("wa", "wb"), [(1, 1), (4, 4), (5, 3), (2, 6)])
def test_bus_compare_exhaustive(k: int, wa: int, wb: int) -> None:
    b = NetlistBuilder("cmp2", k=k)
    x, y = b.add_input("x", wa), b.add_input("y", wb)
    b.add_output("ge", [circuits.compare_ge(b, x, y)])
    b.add_output("gt", [circuits.compare_gt(b, x, y)])
    nl = b.build()
    assert nl.max_arity <= k
    xs, ys = _all_values([wa, wb])
    out = simulate_buses(nl, {"x": xs, "y": ys})
    np.testing.assert_array_equal(out["ge"], (xs >= ys).astype(int))
    np.testing.assert_array_equal(out["gt"], (xs > ys).astype(int))


@pytest.mark.parametrize("k", [3, 4, 6])
@pytest.mark.parametrize("n", [1, 2, 3, 7, 12])
def test_popcount_exhaustive(k: int, n: int) -> None:
    b = NetlistBuilder("pop", k=k)
    x = b.add_input("x", n)
    s = circuits.popcount(b, x)
    assert len(s) == circuits.bus_width(n)
    b.add_output("s", s)
    nl = b.build()
    assert nl.max_arity <= k
    (xs,) = _all_values([n])
    out = simulate_buses(nl, {"x": xs})["s"]
    ref = np.array([bin(int(v)).count("1") for v in xs])
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("k", [3, 6])
def test_adders_exhaustive(k: int) -> None:
    b = NetlistBuilder("add", k=k)
    x, y, z = b.add_input("x", 4), b.add_input("y", 3), b.add_input("z", 4)
    b.add_output("xy", circuits.add(b, x, y))
    b.add_output("xyz", circuits.add_many(b, [x, y, z]))
    b.add_output("x5", circuits.add_many(b, [x, circuits.const_bus(b, 5, 3)]))
    nl = b.build()
    xs, ys, zs = _all_values([4, 3, 4])
    out = simulate_buses(nl, {"x": xs, "y": ys, "z": zs})
    np.testing.assert_array_equal(out["xy"], xs + ys)
    np.testing.assert_array_equal(out["xyz"], xs + ys + zs)
    np.testing.assert_array_equal(out["x5"], xs + 5)


@pytest.mark.parametrize("k", [3, 6])
@pytest.mark.parametrize(("n", "w"), [(1, 2), (2, 3), (3, 3), (5, 2)])
def test_argmax_exhaustive_ties_to_lowest(k: int, n: int, w: int) -> None:
    b = NetlistBuilder("am", k=k)
    ins = [b.add_input(f"v{i}", w) for i in range(n)]
    b.add_output("idx", circuits.argmax(b, ins))
    nl = b.build()
    vals = _all_values([w] * n)
    out = simulate_buses(nl, {f"v{i}": v for i, v in enumerate(vals)})["idx"]
    np.testing.assert_array_equal(out, np.argmax(np.stack(vals, 1), axis=1))  # numpy: first maximum


def test_argmax_ten_classes_random() -> None:
    rng = np.random.default_rng(0)
    b = NetlistBuilder("am10", k=6)
    ins = [b.add_input(f"v{i}", 5) for i in range(10)]
    b.add_output("idx", circuits.argmax(b, ins))
    nl = b.build()
    vals = rng.integers(0, 8, size=(5000, 10))  # narrow range: many ties
    out = simulate_buses(nl, {f"v{i}": vals[:, i] for i in range(10)})["idx"]
    np.testing.assert_array_equal(out, np.argmax(vals, axis=1))


def test_mux_folds_constants() -> None:
    b = NetlistBuilder("m", k=6)
    s = b.add_input("s", 1)[0]
    zero, one = b.const(0), b.const(1)
    assert circuits.mux(b, s, zero, one) == s
    assert circuits.mux(b, one, zero, s) == s
    n_before = b.n_signals
    assert circuits.mux(b, s, one, one) == one
    assert b.n_signals == n_before
    with pytest.raises(Exception, match="does not fit"):
        circuits.const_bus(b, 9, 3)


def test_chain_cost_is_small() -> None:
    """An 8-bit comparator against a constant is two LUT6; 10-bit popcount stays compact."""
    b = NetlistBuilder("c", k=6)
    x = b.add_input("x", 8)
    b.add_output("o", [circuits.ge_const(b, x, 77)])
    assert b.build().n_nodes == 2
    # a threshold with trailing zero bits reads only the bits above them: one LUT6, or the top bit itself
    b = NetlistBuilder("c", k=6)
    x = b.add_input("x", 8)
    assert circuits.ge_const(b, x, 128) == x[7]
    b.add_output("o", [circuits.ge_const(b, x, 76)])
    assert b.build().n_nodes == 1
    # a K:3 counter removes one bit per LUT6, so an n-bit popcount needs about n - log2(n) LUT6
    for n, limit in [(10, 8), (30, 26), (100, 98)]:
        b = NetlistBuilder("p", k=6)
        b.add_output("s", circuits.popcount(b, b.add_input("x", n)))
        assert b.build().sweep().n_nodes <= limit


@pytest.mark.parametrize("k", [3, 4, 5, 6])
@pytest.mark.parametrize("n", [30, 100])
def test_wide_popcount_random(k: int, n: int) -> None:
    """Wide popcounts on random rows, dense and sparse ones included (the heads' class groups)."""
    rng = np.random.default_rng(n + k)
    b = NetlistBuilder("pop", k=k)
    xs = [b.add_input(f"x{i}", 1)[0] for i in range(n)]
    b.add_output("s", circuits.popcount(b, xs))
    nl = b.build().sweep()
    assert nl.max_arity <= k
    rows = rng.random((3000, n)) < np.repeat([0.5, 0.97, 0.03], 1000)[:, None]
    rows[0], rows[1] = True, False
    out = simulate_buses(nl, {f"x{i}": rows[:, i].astype(np.int64) for i in range(n)})["s"]
    np.testing.assert_array_equal(out, rows.sum(1))
