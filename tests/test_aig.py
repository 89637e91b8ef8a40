"""LUT → AIG decomposition (lutnn.aig) and the truth-table algebra under it, checked exhaustively."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lutnn import truthtable as tt
from lutnn.aig import _program, aig_and_count, is_aig, to_aig
from lutnn.netlist import TABLE_AND2, TABLE_XOR2, NetlistBuilder, random_netlist
from lutnn.sim import simulate_exhaustive


@pytest.mark.parametrize("k", range(0, 9))
def test_truthtable_algebra(k: int) -> None:
    rnd = random.Random(k)
    full = tt.full_mask(k)
    for _ in range(40):
        t = rnd.getrandbits(1 << k)
        assert tt.cover_table(tt.isop(t, k), k) == t
        for j in range(k):
            m = tt.var_mask(j, k)
            c0, c1 = tt.cofactor0(t, j, k), tt.cofactor1(t, j, k)
            assert not tt.depends_on(c0, j, k) and not tt.depends_on(c1, j, k)
            assert ((c0 & ~m) | (c1 & m)) & full == t
            assert tt.depends_on(t, j, k) == (c0 != c1)
            f = tt.flip_var(t, j, k)
            assert tt.cofactor0(f, j, k) == c1 and tt.cofactor1(f, j, k) == c0
        sup = tt.support(t, k)
        small = tt.shrink(t, k, sup)
        for m in range(1 << k):  # shrunk table agrees with the original on every minterm
            m2 = sum(((m >> j) & 1) << p for p, j in enumerate(sup))
            assert (small >> m2) & 1 == (t >> m) & 1


def test_isop_with_dont_cares_is_irredundant() -> None:
    rnd = random.Random(3)
    k = 5
    for _ in range(30):
        on = rnd.getrandbits(32)
        up = on | rnd.getrandbits(32)
        cubes = tt.isop(on, k, up)
        cov = tt.cover_table(cubes, k)
        assert on & ~cov == 0 and cov & ~up == 0
        for i in range(len(cubes)):  # removing any cube loses part of the on-set
            rest = tt.cover_table(cubes[:i] + cubes[i + 1 :], k)
            assert on & ~rest != 0


def test_programs_exact_for_all_3_input_functions() -> None:
    for t in range(256):
        if tt.support(t, 3) != [0, 1, 2]:
            continue
        ands, out = _program(t, 3)
        for m in range(8):
            v = [0] + [(m >> j) & 1 for j in range(3)]
            for a, b in ands:
                v.append((v[a >> 1] ^ (a & 1)) & (v[b >> 1] ^ (b & 1)))
            assert v[out >> 1] ^ (out & 1) == (t >> m) & 1


def _check(nl) -> None:
    a = to_aig(nl)
    assert is_aig(a)
    assert a.inputs == nl.inputs and a.outputs == nl.outputs
    assert np.array_equal(simulate_exhaustive(a), simulate_exhaustive(nl))
    assert to_aig(a).same_structure(a)  # canonical form is a fixed point


@pytest.mark.parametrize("k", [2, 3, 4, 6, 8, 10])
def test_to_aig_random_netlists_exhaustive(k: int) -> None:
    for seed in range(12):
        _check(random_netlist(9, 40, k, seed=seed, min_arity=0, n_outputs=10))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 10), st.integers(0, 30), st.integers(0, 6), st.integers(0, 2**31))
def test_to_aig_hypothesis(n_in: int, n_nodes: int, k: int, seed: int) -> None:
    _check(random_netlist(n_in, n_nodes, k, seed=seed, min_arity=0, n_outputs=6, locality=8))


def test_constants_repeated_and_complemented_fanins() -> None:
    b = NetlistBuilder("t", k=4)
    x = b.add_input("x", 3)
    one, zero = b.const(1), b.const(0)
    nx = b.not_(x[0])
    g1 = b.add_lut([x[0], x[0], x[1]], 0b10010110)  # xor3 with a repeated fan-in = x1
    g2 = b.add_lut([x[0], nx, x[2]], 0b11101000)  # maj(x0, ~x0, x2) = x2
    g3 = b.add_lut([one, x[1]], TABLE_AND2)  # = x1
    g4 = b.add_lut([zero, x[2]], TABLE_XOR2)  # = x2
    b.add_output("y", [g1, g2, g3, g4, one, zero, nx, x[1]])
    nl = b.build()
    a = to_aig(nl)
    _check(nl)
    assert aig_and_count(a) == 0  # everything folds to wires, constants and inverters
    assert aig_and_count(nl) == 0


def test_structural_hashing_shares_identical_luts() -> None:
    b = NetlistBuilder("t", k=6)
    x = b.add_input("x", 6)
    t = 0x8000000000000001  # and6 | nor6
    s1 = b.add_lut(list(x), t)
    s2 = b.add_lut(list(x), t)
    b.add_output("y", [s1, s2])
    nl = b.build()
    a = to_aig(nl)
    assert a.output_signals[0] == a.output_signals[1]
    single = NetlistBuilder("s", k=6)
    xs = single.add_input("x", 6)
    single.add_output("y", [single.add_lut(list(xs), t)])
    assert aig_and_count(nl) == aig_and_count(single.build())


def test_mux_and_xor_sizes_are_small() -> None:
    for table, best in ((TABLE_XOR2, 3), (0b11100100, 3), (TABLE_AND2, 1), (0b11101000, 4)):
        k = 2 if table < 16 else 3
        b = NetlistBuilder("t", k=3)
        x = b.add_input("x", k)
        b.add_output("y", [b.add_lut(list(x), table)])
        assert aig_and_count(b.build()) <= best
