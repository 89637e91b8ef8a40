"""QuantCNN: conv layers unroll exactly, the integer model matches the fake-quantized float model,
compiled circuits agree with it on every digits test sample, and bad conv specs name the layer."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lutnn.quantnet.conv import QuantCNN, parse_conv_specs, unroll_conv
from lutnn.quantnet.intmodel import IntegerMLP, QuantError
from lutnn.quantnet.io import load_quant_model
from lutnn.quantnet.neurons import compile_neurons, count_disagreements
from lutnn.quantnet.qat import evaluate, save_quant_model, train_qat
from lutnn.tools import have_tool


@pytest.fixture(scope="module")
def digits():
    from lutnn.data import load_dataset

    d = load_dataset("digits")
    return d.x_train / 16.0, d.y_train, d.x_test / 16.0, d.y_test


@pytest.mark.parametrize(
    "shape, entry",
    [
        ((3, 7, 6), {"channels": 4, "kernel": [3, 2], "stride": [2, 1], "padding": [1, 1]}),
        ((2, 8, 8), {"channels": 3, "kernel": 3, "stride": 2}),
        ((2, 5, 5), {"channels": 4, "kernel": 3, "padding": 2, "groups": 2}),
        ((4, 9), {"channels": 6, "kernel": 3, "stride": 2, "padding": 2, "groups": 2}),
        ((1, 10), {"channels": 2, "kernel": 4, "stride": 3}),
    ],
)
def test_unroll_equals_torch_conv(shape, entry):
    """The unrolled weight matrix computes exactly torch's convolution (zero padding, stride, groups)."""
    rng = np.random.default_rng(len(shape) + entry["channels"])
    specs, shapes = parse_conv_specs([entry], shape, 3, 2, False, True)
    s = specs[0]
    w = rng.integers(-3, 4, size=(s.channels, shape[0] // s.groups, *s.kernel))
    x = rng.integers(-2, 2, size=(7, *shape))
    conv = F.conv2d if len(shape) == 3 else F.conv1d
    ref = conv(
        torch.tensor(x, dtype=torch.float64),
        torch.tensor(w, dtype=torch.float64),
        stride=s.stride,
        padding=s.padding,
        groups=s.groups,
    )
    weight, mask, out_shape = unroll_conv(w, shape, s)
    assert out_shape == tuple(ref.shape[1:]) == shapes[-1]
    assert np.array_equal(x.reshape(7, -1) @ weight.T, ref.flatten(1).numpy().astype(np.int64))
    assert (weight[~mask] == 0).all()
    assert mask.sum(1).max() == int(np.prod(s.kernel)) * shape[0] // s.groups  # an interior window is full


@pytest.fixture(scope="module")
def tt_cnn(digits):
    """1-bit pixels, a 3x3 stride-2 conv (fan-in 9 x 1 bit), 2-bit activations, sparse output (6 x 2 bits)."""
    xtr, ytr, _, _ = digits
    m = QuantCNN(
        64,
        [],
        10,
        in_shape=[1, 8, 8],
        conv=[{"channels": 6, "kernel": 3, "stride": 2, "padding": 1}],
        in_bits=1,
        in_scale=0.5,
        w_bits=3,
        act_bits=2,
        fan_in=6,
        mask="learned",
        seed=0,
    )
    train_qat(m, xtr, ytr, epochs=8, lr=2e-2, warmup_epochs=3, progress=False)
    return m


def test_integer_model_matches_fake_quant_forward(tt_cnn, digits):
    _, _, xte, yte = digits
    im = tt_cnn.integer_model()
    assert [L.name for L in im.layers] == ["conv 0", "dense 0"]
    assert im.layers[0].n_out == 6 * 4 * 4 and im.layers[0].fan_in().max() == 9 and im.layers[0].fan_in().min() == 4
    codes = im.quantize_input(xte)
    h_int = im.forward(codes, all_layers=True)[0]
    h_float = tt_cnn.conv_codes(xte)[0]
    assert (h_int != h_float).mean() < 0.005  # thresholds reproduce the float quantizer up to rounding ties
    acc_int = float((im.predict(codes) == yte).mean())
    assert acc_int > 0.45, acc_int  # chance is 0.1; a sparse 6-input output layer after 8 epochs
    assert abs(acc_int - evaluate(tt_cnn, xte, yte)) < 0.04


def test_tt_route_exact_on_every_test_sample(tt_cnn, digits):
    _, _, xte, _ = digits
    im = tt_cnn.integer_model()
    nl = compile_neurons(im)
    codes = im.quantize_input(xte)
    assert count_disagreements(im, nl, codes) == {
        "samples": len(xte),
        "score_disagreements": 0,
        "class_disagreements": 0,
    }


@pytest.mark.skipif(not have_tool("yosys"), reason="needs Yosys")
def test_arith_route_exact_1d_conv(digits):
    """A 1-D conv over the 8 rows (8 channels x 8 columns): fan-in 3 x 8 x 2 bits is arith-route only."""
    from lutnn.quantnet.arith import compile_arith

    xtr, ytr, xte, _ = digits
    m = QuantCNN(
        64,
        [],
        10,
        in_shape=[8, 8],
        conv=[{"channels": 3, "kernel": 3, "stride": 2, "padding": 1, "w_bits": 2}],
        in_bits=2,
        in_scale=1 / 3,
        w_bits=3,
        act_bits=2,
        seed=1,
    )
    train_qat(m, xtr, ytr, epochs=3, progress=False)
    im = m.integer_model()
    assert im.layers[0].fan_in().max() == 3 * 8 and im.layers[1].n_in == 3 * 4
    nl = compile_arith(im, flow="gates")
    r = count_disagreements(im, nl, im.quantize_input(xte))
    assert r == {"samples": len(xte), "score_disagreements": 0, "class_disagreements": 0}


def test_save_load_roundtrip(tt_cnn, digits, tmp_path):
    _, _, xte, _ = digits
    im = tt_cnn.integer_model()
    m2 = load_quant_model(save_quant_model(tt_cnn, tmp_path / "cnn.pt"))
    assert isinstance(m2, QuantCNN) and m2.config == tt_cnn.config
    codes = im.quantize_input(xte)
    assert np.array_equal(m2.integer_model().forward(codes), im.forward(codes))
    assert np.array_equal(IntegerMLP.from_json(json.loads(json.dumps(im.to_json()))).forward(codes), im.forward(codes))


def _cnn(conv, in_shape=(1, 8, 8), **kw):
    return QuantCNN(int(np.prod(in_shape)), [], 10, in_shape=list(in_shape), conv=conv, **kw)


@pytest.mark.parametrize(
    "conv, kw, msg",
    [
        ([{"channels": 4, "kernel": 3, "padding": "same"}], {}, r"conv 0: padding 'same' is not supported"),
        ([{"channels": 4, "kernel": 3, "padding": 3}], {}, r"conv 0: zero padding \[3, 3\] must lie in 0\.\.kernel-1"),
        ([{"channels": 4, "kernel": 3, "dilation": 2}], {}, r"conv 0: unknown keys \['dilation'\] \(dilation is not"),
        ([{"channels": 4, "kernel": 3}, {"channels": 4, "kernel": 7}], {}, r"conv 1: kernel \[7, 7\] .* larger than"),
        (
            [{"channels": 4, "kernel": 3, "act_bits": 9}],
            {},
            r"conv 0: act_bits is 9; bit-widths must be integers 1\.\.8",
        ),
        ([{"channels": 3, "kernel": 3, "groups": 2}], {}, r"conv 0: groups=2 must divide both"),
        ([{"channels": 4, "kernel": [3, 3, 3]}], {}, r"conv 0: kernel must be an integer or a list of 2 integers"),
        ([{"kernel": 3}], {}, r"conv 0: missing 'channels'"),
        ([{"channels": 4, "kernel": 3}], {"w_bits": [3]}, r"conv 0: give w_bits in its conv entry"),
        ([], {}, r"conv must be a non-empty list"),
    ],
)
def test_bad_conv_specs_name_the_layer(conv, kw, msg):
    with pytest.raises(QuantError, match=msg):
        _cnn(conv, **kw)


def test_bad_shapes():
    with pytest.raises(QuantError, match=r"in_shape must be \[channels, length\]"):
        _cnn([{"channels": 2, "kernel": 2}], in_shape=(1, 1, 8, 8))
    with pytest.raises(QuantError, match=r"the data has 63 features but in_shape \[1, 8, 8\] holds 64"):
        QuantCNN(63, [], 10, in_shape=[1, 8, 8], conv=[{"channels": 2, "kernel": 3}])


def _run_cli(monkeypatch, *args: str) -> None:
    from lutnn.cli import main

    monkeypatch.setattr(sys, "argv", ["lutnn", *args])
    try:
        main()
    except SystemExit as e:
        assert e.code in (0, None), e.code


def test_cli_qat_and_compile_conv(tmp_path, monkeypatch):

    cfg = tmp_path / "cnn.toml"
    cfg.write_text(
        '[data]\nname = "digits"\nscale = 16.0\n[model]\nin_shape = [1, 8, 8]\n'
        "conv = [{channels = 4, kernel = 3, stride = 2}]\nin_bits = 1\nin_scale = 0.5\nw_bits = 3\nact_bits = 2\n"
        "fan_in = 6\n[train]\nepochs = 2\n"
    )
    model = tmp_path / "cnn.pt"
    _run_cli(monkeypatch, "qat", str(cfg), "-o", str(model))
    rep = tmp_path / "rep.json"
    _run_cli(monkeypatch, "compile", str(model), "--config", str(cfg), "--no-synth", "--report", str(rep))
    r = json.loads(rep.read_text())
    assert r["compiled_samples"] == 450 and r["compiled_score_disagreements"] == 0
    assert r["compiled_class_disagreements"] == 0


def test_cli_conv_needs_in_shape(tmp_path, monkeypatch, capsys):
    from lutnn.cli import main

    cfg = tmp_path / "bad.toml"
    cfg.write_text('[data]\nname = "digits"\n[model]\nconv = [{channels = 4, kernel = 3}]\n')
    monkeypatch.setattr(sys, "argv", ["lutnn", "qat", str(cfg)])
    with pytest.raises(SystemExit) as e:
        main()
    assert e.value.code == 1
    assert "needs both [model] conv and in_shape" in capsys.readouterr().err
