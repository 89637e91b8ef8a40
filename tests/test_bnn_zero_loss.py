"""Zero loss: a quantized MLP compiled to a circuit and binarized predicts exactly like the integer model."""

from __future__ import annotations

import numpy as np
import pytest

from lutnn.bnn import BNNModule, circuit_to_bnn
from lutnn.bnn.onnx_export import bnn_to_onnx, run_onnx
from lutnn.quantnet.neurons import compile_neurons, input_values
from lutnn.quantnet.qat import QuantMLP, train_qat
from lutnn.sim import decode_buses, encode_buses


def test_tiny_quantized_mlp_all_inputs():
    rng = np.random.default_rng(0)
    x = rng.random((256, 6))
    y = (x[:, 0] + x[:, 1] > x[:, 2] + x[:, 3]).astype(int) + (x[:, 4] > 0.5)
    m = QuantMLP(6, [5], 3, in_bits=2, in_scale=0.4, w_bits=3, act_bits=2, fan_in=[3, 5], seed=0)
    train_qat(m, x, y, epochs=3, progress=False)
    im = m.integer_model()
    grid = np.stack(np.meshgrid(*[np.arange(4)] * 6, indexing="ij"), -1).reshape(-1, 6)  # every input
    nl = compile_neurons(m, argmax=True, scores=False)
    bnn, rep = circuit_to_bnn(nl)
    bits = encode_buses(nl, input_values(im, grid))
    y_q = im.predict(grid)
    y_t = decode_buses(nl, BNNModule(bnn).predict_bits(bits))["class"]
    y_o = decode_buses(nl, run_onnx(bnn_to_onnx(bnn), bits))["class"]
    assert int((y_t != y_q).sum()) == 0 and int((y_o != y_q).sum()) == 0
    assert rep.neurons <= rep.aig_nodes


@pytest.mark.slow
def test_digits_zero_loss_demo():
    from lutnn.bnn.demo import zero_loss_demo

    r = zero_loss_demo(hidden=12, epochs=10)
    assert r.disagree_circuit == r.disagree_bnn_torch == r.disagree_bnn_onnx == 0
    assert r.bnn_torch_accuracy == r.bnn_onnx_accuracy == r.quantized_accuracy > 0.4
