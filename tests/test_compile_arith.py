"""Arithmetic route: CSD datapath → Yosys/ABC gates equals the integer model; mapping keeps exactness."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lutnn.quantnet.arith import compile_arith, csd_digits, network_verilog, synth_netlist, verify_neurons
from lutnn.quantnet.neurons import compile_neurons, count_disagreements
from lutnn.quantnet.qat import QuantMLP, train_qat
from lutnn.tools import have_tool

pytestmark = pytest.mark.skipif(not have_tool("yosys"), reason="needs Yosys")


@pytest.mark.parametrize("w", [*range(-40, 41), 127, -128, 1000])
def test_csd_digits(w):
    d = csd_digits(w)
    assert sum(s << k for k, s in d) == w
    ks = [k for k, _ in d]
    assert all(b - a >= 2 for a, b in itertools.pairwise(ks))  # non-adjacent form


@pytest.fixture(scope="module")
def signed_dense():
    """A dense (no fan-in mask) net with signed inputs and activations: only the arithmetic route fits."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 5))
    y = (x[:, 0] - x[:, 1] + 0.5 * x[:, 2] > 0).astype(int) + (x[:, 3] > 0.3)
    m = QuantMLP(5, [6], 3, in_bits=3, in_signed=True, in_scale=0.5, w_bits=5, act_bits=3, act_signed=True, seed=2)
    train_qat(m, x, y, epochs=6, progress=False)
    return m, x


def test_dense_arith_route_exact(signed_dense):
    m, _x = signed_dense
    im = m.integer_model()
    nl = compile_arith(m, flow="gates")
    assert nl.max_arity <= 2
    grid = np.random.default_rng(0).integers(-4, 4, size=(20000, 5))
    assert count_disagreements(im, nl, grid) == {"samples": 20000, "score_disagreements": 0, "class_disagreements": 0}
    # the fault check: complementing one gate feeding an output changes some result
    drv = nl.output_signals[nl.output_bus("score0")] - nl.n_inputs
    i = int(drv[drv >= 0][0])
    bad = nl.with_table(i, nl.truth_table(i) ^ ((1 << (1 << int(nl.arity[i]))) - 1))
    assert count_disagreements(im, bad, grid)["score_disagreements"] > 0


def test_per_neuron_formal_check(signed_dense):
    m, _ = signed_dense
    r = verify_neurons(m, max_bits=18)
    assert r["neurons"] == 6 + 3 and r["mismatching_neurons"] == 0


def test_tt_and_arith_agree_and_lut_mapping_exact():
    rng = np.random.default_rng(1)
    x = rng.random((300, 8))
    y = (x[:, :4].sum(1) > x[:, 4:].sum(1)).astype(int)
    m = QuantMLP(8, [6, 4], 2, in_bits=2, in_scale=1 / 3, w_bits=3, act_bits=2, fan_in=[4, 3, 4], out_bits=3, seed=1)
    train_qat(m, x, y, epochs=5, progress=False)
    im = m.integer_model()
    codes = rng.integers(0, 4, size=(5000, 8))
    tt = compile_neurons(m)
    lut = synth_netlist(tt, flow="lut", k=4)
    assert lut.netlist.max_arity <= 4
    ar = compile_arith(m, flow="aig")
    for nl in (tt, lut.netlist, ar):
        r = count_disagreements(im, nl, codes)
        assert r["score_disagreements"] == 0 and r["class_disagreements"] == 0


def test_verilog_is_named_and_bad_flow():
    m = QuantMLP(3, [2], 2, in_bits=2, w_bits=2, act_bits=2)
    v = network_verilog(m, name="tiny")
    assert v.startswith("//") and "module tiny(" in v and "output [0:0] \\class " in v  # `class`: escaped
    from lutnn.errors import LutnnError

    with pytest.raises(LutnnError, match="unknown flow 'fpga'"):
        compile_arith(m, flow="fpga")
