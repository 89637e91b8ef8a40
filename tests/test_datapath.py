"""The directly built datapath netlist reproduces the integer model bit for bit (scores and first-max class)."""

from __future__ import annotations

import numpy as np
import pytest

from lutnn.quantnet.datapath import compile_datapath
from lutnn.quantnet.intmodel import IntegerMLP, IntLayer, code_range
from lutnn.quantnet.neurons import count_disagreements


def _random_model(seed: int, in_bits: int, in_signed: bool, out_bits: int | None, n=(9, 7, 5)) -> IntegerMLP:
    rng = np.random.default_rng(seed)
    layers = []
    bits, signed = in_bits, in_signed
    for li in range(len(n) - 1):
        last = li == len(n) - 2
        w = rng.integers(-5, 6, size=(n[li + 1], n[li]))
        w[rng.random(w.shape) < 0.3] = 0
        ob = out_bits if last else 2
        osg = bool(rng.integers(2)) if ob else True
        L = IntLayer(w, w != 0, bits, signed, ob, osg)
        lo, hi = L.acc_bounds()
        if ob:
            k = (1 << ob) - 1
            t = np.sort(rng.integers(lo[:, None] - 2, hi[:, None] + 3, size=(len(w), k)), axis=1)
            L.thresholds = t.astype(np.int64)
            bits, signed = ob, osg
        else:
            L.bias = rng.integers(-20, 21, size=len(w))
        layers.append(L)
    return IntegerMLP(layers, in_bits, in_signed, 1.0, n[-1]).validate()


@pytest.mark.parametrize(("in_bits", "in_signed", "out_bits"), [(1, False, None), (3, True, None), (2, False, 3)])
def test_datapath_matches_integer_model(in_bits, in_signed, out_bits):
    im = _random_model(in_bits * 10 + int(in_signed), in_bits, in_signed, out_bits)
    nl = compile_datapath(im)
    lo, hi = code_range(in_bits, in_signed)
    codes = np.random.default_rng(1).integers(lo, hi + 1, size=(3000, im.n_features))
    r = count_disagreements(im, nl, codes)
    assert r["score_disagreements"] == 0 and r["class_disagreements"] == 0, r
    assert nl.max_arity <= 6
