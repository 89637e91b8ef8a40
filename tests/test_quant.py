"""QuantMLP: the folded integer model agrees with the fake-quantized float model; bad input is refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lutnn.quantnet.intmodel import IntegerMLP, QuantError
from lutnn.quantnet.io import load_quant_model
from lutnn.quantnet.qat import QuantMLP, evaluate, save_quant_model, train_qat


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = d.data / 16.0, d.target
    return x[:1400], y[:1400], x[1400:], y[1400:]


@pytest.fixture(scope="module")
def trained(digits):
    xtr, ytr, _, _ = digits
    m = QuantMLP(64, [24], 10, in_bits=2, in_scale=1 / 3, w_bits=4, act_bits=3, fan_in=[8, 6], seed=0)
    train_qat(m, xtr, ytr, epochs=12, lr=1e-2, progress=False)
    return m


def test_integer_model_matches_float_and_learns(trained, digits):
    _, _, xte, yte = digits
    im = trained.integer_model()
    codes = im.quantize_input(xte)
    acc_int = float((im.predict(codes) == yte).mean())
    acc_float = evaluate(trained, xte, yte)
    assert acc_int > 0.6, acc_int
    # thresholds reproduce the float quantizers up to rounding ties
    assert abs(acc_int - acc_float) < 0.03
    # fan-in masks are respected
    assert (im.layers[0].fan_in() == 8).all() and (im.layers[1].fan_in() == 6).all()
    assert (im.layers[0].weight[~im.layers[0].mask] == 0).all()


def test_hidden_codes_match_float_activations(trained, digits):
    """Hidden layer codes of the integer model equal the float model's quantized activations (almost always)."""
    _, _, xte, _ = digits
    im = trained.integer_model()
    codes = im.quantize_input(xte)
    h_int = im.forward(codes, all_layers=True)[0]
    with torch.no_grad():
        x = trained.input_quant(torch.as_tensor(xte, dtype=torch.float32))
        h = trained.acts[0](trained.layers[0](x))
        h_float = torch.round(h / trained.acts[0].scale).numpy().astype(np.int64)
    assert (h_int != h_float).mean() < 0.01


def test_learned_mask_and_roundtrip(tmp_path, digits):
    xtr, ytr, xte, _ = digits
    m = QuantMLP(64, [16], 10, in_bits=1, in_scale=0.5, w_bits=2, act_bits=1, fan_in=[5, 4], mask="learned", seed=1)
    train_qat(m, xtr[:300], ytr[:300], epochs=3, warmup_epochs=1, progress=False)
    im = m.integer_model()
    assert (im.layers[0].fan_in() == 5).all() and (im.layers[1].fan_in() == 4).all()
    p = save_quant_model(m, tmp_path / "m.pt")
    m2 = load_quant_model(p)
    codes = im.quantize_input(xte)
    assert np.array_equal(m2.integer_model().forward(codes), im.forward(codes))
    im2 = IntegerMLP.from_json(im.to_json())
    assert np.array_equal(im2.forward(codes), im.forward(codes))


@pytest.mark.parametrize("epochs", [2, 4, 8])
def test_gradual_pruning_narrows_then_reaches_fan_in(digits, epochs):
    # cubic schedule: fan-in shrinks monotonically over prune_epochs and ends at the target even if cut short
    xtr, ytr, _, _ = digits
    m = QuantMLP(64, [16], 10, in_bits=1, in_scale=0.5, w_bits=3, act_bits=2, fan_in=[5, 4], mask="learned", seed=1)
    seen = []
    orig = m.apply_learned_masks

    def spy(progress=1.0):
        orig(progress)
        seen.append(int(m.layers[0].mask.sum(1).max()))

    m.apply_learned_masks = spy
    train_qat(m, xtr[:300], ytr[:300], epochs=epochs, warmup_epochs=1, prune_epochs=4, progress=False)
    assert seen == sorted(seen, reverse=True) and seen[-1] == 5
    if epochs >= 5:  # the schedule ran its course: intermediate widths between 64 and 5
        assert len(seen) == 4 and 5 < seen[0] < 64
    im = m.integer_model()
    assert (im.layers[0].fan_in() == 5).all() and (im.layers[1].fan_in() == 4).all()


def test_augment_sees_every_training_batch(digits):
    xtr, ytr, _, _ = digits
    m = QuantMLP(64, [8], 10, in_bits=1, in_scale=0.5, w_bits=3, act_bits=2, fan_in=[5, 4], seed=0)
    shapes = []

    def aug(xb, gen):
        shapes.append(tuple(xb.shape))
        return torch.zeros_like(xb)  # blank images: nothing left to learn from

    train_qat(m, xtr[:256], ytr[:256], epochs=2, batch_size=64, progress=False, augment=aug)
    assert shapes == [(64, 64)] * 8
    assert evaluate(m, xtr[:256], ytr[:256]) < 0.3


def test_bad_configs_name_the_problem():
    with pytest.raises(QuantError, match=r"bit-widths must be integers 1\.\.8"):
        QuantMLP(4, [3], 2, w_bits=9)
    with pytest.raises(QuantError, match="layer 1: fan-in 5 exceeds"):
        QuantMLP(8, [3], 2, fan_in=[2, 5])
    with pytest.raises(QuantError, match="one per layer"):
        QuantMLP(8, [3], 2, act_bits=[2, 2])
    m = QuantMLP(4, [3], 2)
    with pytest.raises(QuantError, match="NaN"):
        train_qat(m, np.full((4, 4), np.nan), np.zeros(4, int), epochs=1, progress=False)
    with pytest.raises(QuantError, match=r"expects \[N, 4\]"):
        train_qat(m, np.zeros((4, 5)), np.zeros(4, int), epochs=1, progress=False)
    with torch.no_grad():
        m.layers[0].linear.weight[0, 0] = float("nan")
    with pytest.raises(QuantError, match="layer 0: weights or bias are NaN"):
        m.integer_model()


def test_integer_model_rejects_out_of_range_codes(trained):
    im = trained.integer_model()
    with pytest.raises(QuantError, match="input codes must lie in"):
        im.forward(np.full((1, 64), 7))
    with pytest.raises(QuantError, match="shape"):
        im.forward(np.zeros((1, 63), int))
