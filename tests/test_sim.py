"""Bit-parallel simulator (lutnn.sim) against the per-sample reference, packing, buses, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest

from lutnn import sim
from lutnn.errors import LutnnError
from lutnn.netlist import NetlistBuilder, random_netlist
from lutnn.sim import (
    decode_buses,
    encode_buses,
    exhaustive_words,
    pack_bits,
    simulate,
    simulate_buses,
    simulate_exhaustive,
    simulate_naive,
    simulate_packed,
    unpack_bits,
)


@pytest.mark.parametrize("k", range(0, 9))
def test_simulate_matches_naive_per_arity(k: int) -> None:
    rng = np.random.default_rng(k)
    for seed in range(3):
        nl = random_netlist(12, 300, k, seed=100 * k + seed, min_arity=0 if seed else k, n_outputs=16, locality=40)
        x = rng.integers(0, 2, size=(333, nl.n_inputs))
        assert np.array_equal(simulate(nl, x), simulate_naive(nl, x))


@pytest.mark.parametrize("k", [10, 12])
def test_simulate_matches_naive_wide(k: int) -> None:
    nl = random_netlist(14, 40, k, seed=k, min_arity=k - 3, n_outputs=10)
    x = np.random.default_rng(0).integers(0, 2, size=(200, nl.n_inputs))
    assert np.array_equal(simulate(nl, x), simulate_naive(nl, x))


@pytest.mark.parametrize("n_samples", [0, 1, 63, 64, 65, 5000])
def test_sample_counts_and_chunking(n_samples: int) -> None:
    nl = random_netlist(10, 200, 6, seed=1, min_arity=0, n_outputs=9)
    x = np.random.default_rng(n_samples).integers(0, 2, size=(n_samples, nl.n_inputs))
    ref = simulate_naive(nl, x)
    assert simulate(nl, x).shape == (n_samples, 9)
    assert np.array_equal(simulate(nl, x), ref)
    w = pack_bits(x)
    for chunk in (1, 3, 64):
        assert np.array_equal(unpack_bits(simulate_packed(nl, w, chunk_words=chunk), n_samples), ref)


def test_pack_unpack_layout() -> None:
    x = np.zeros((130, 2), np.uint8)
    x[0, 0] = x[64, 1] = x[129, 0] = 1
    w = pack_bits(x)
    assert w.shape == (2, 3) and w.dtype == np.uint64
    assert w[0].tolist() == [1, 0, 2] and w[1].tolist() == [0, 1, 0]
    assert np.array_equal(unpack_bits(w, 130), x)
    rnd = np.random.default_rng(0).integers(0, 2, size=(777, 5))
    assert np.array_equal(unpack_bits(pack_bits(rnd), 777), rnd)


def test_exhaustive_words_enumerate_patterns() -> None:
    for n in (0, 1, 3, 6, 7, 9):
        bits = unpack_bits(exhaustive_words(n), 1 << n)
        m = np.arange(1 << n)
        ref = (m[:, None] >> np.arange(n)[None, :]) & 1
        assert np.array_equal(bits, ref)
    with pytest.raises(LutnnError, match="limit is 24"):
        exhaustive_words(25)


def test_simulate_exhaustive_matches_naive() -> None:
    nl = random_netlist(9, 120, 5, seed=4, min_arity=0, n_outputs=7)
    packed = simulate_exhaustive(nl)
    m = np.arange(512)
    x = (m[:, None] >> np.arange(9)[None, :]) & 1
    assert np.array_equal(unpack_bits(packed, 512), simulate_naive(nl, x))


def test_buses_signed_and_unsigned() -> None:
    b = NetlistBuilder("neg", k=3)
    a = b.add_input("a", 4)
    # two's-complement negation: ~a + 1, ripple
    carry = b.const(1)
    outs = []
    for i in range(4):
        na = b.not_(a[i])
        outs.append(b.xor(na, carry))
        carry = b.and_(na, carry)
    b.add_output("n", outs)
    b.add_output("u", list(a))
    nl = b.build()
    vals = np.arange(-8, 8)
    r = simulate_buses(nl, {"a": vals}, signed=True)
    assert np.array_equal(r["u"], vals)
    assert np.array_equal(r["n"], np.where(vals == -8, -8, -vals))
    ru = simulate_buses(nl, {"a": np.arange(16)}, signed={"n": False, "u": False})
    assert np.array_equal(ru["u"], np.arange(16))
    assert np.array_equal(ru["n"], (-np.arange(16)) % 16)
    bits = encode_buses(nl, {"a": np.array([5, -3])})
    assert bits.tolist() == [[1, 0, 1, 0], [1, 0, 1, 1]]
    assert decode_buses(nl, simulate(nl, bits), signed={"u": True})["u"].tolist() == [5, -3]


def test_bad_inputs() -> None:
    nl = random_netlist(3, 5, 2, seed=0)
    with pytest.raises(LutnnError, match=r"expected input bits of shape \[N, 3\]"):
        simulate(nl, np.zeros((4, 2)))
    with pytest.raises(LutnnError, match="0 or 1"):
        simulate(nl, np.full((4, 3), 2))
    with pytest.raises(LutnnError, match="NaN"):
        simulate(nl, np.full((4, 3), np.nan))
    with pytest.raises(LutnnError, match=r"packed inputs of shape \[3, W\]"):
        simulate_packed(nl, np.zeros((2, 1), np.uint64))
    with pytest.raises(LutnnError, match="2-D"):
        pack_bits(np.zeros(3))
    with pytest.raises(LutnnError, match=r"no values given for input bus\(es\) \['x'\]"):
        simulate_buses(nl, {})
    with pytest.raises(LutnnError, match="do not fit in 3 bits"):
        simulate_buses(nl, {"x": np.array([8])})
    with pytest.raises(LutnnError, match="needs integer values"):
        simulate_buses(nl, {"x": np.array([1.5])})
    with pytest.raises(LutnnError, match="limit is 24"):
        simulate_exhaustive(random_netlist(25, 3, 2))


def test_threads_mode_matches() -> None:
    nl = random_netlist(16, 3000, 6, seed=9, n_outputs=20)
    w = np.random.default_rng(1).integers(0, 2**63, size=(16, 300), dtype=np.int64).astype(np.uint64)
    ref = simulate_packed(nl, w)
    assert np.array_equal(sim.simulate_packed(nl, w, threads=True), ref)
