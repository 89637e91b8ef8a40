"""Zero-loss demonstration: MLP on digits → fixed-point quantized → exact circuit → BNN.

The quantized model (:class:`lutnn.quantnet.qat.QuantMLP`) is compiled into a circuit by
enumerating neuron truth tables (:func:`lutnn.quantnet.neurons.compile_neurons`), the circuit
becomes a BNN (:func:`lutnn.bnn.circuit_to_bnn`), and the BNN's class predictions (torch and
onnxruntime) are compared with the integer model's on every test sample: the number of
disagreeing samples must be 0, so the accuracies are identical.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from lutnn.bnn.from_circuit import ConversionReport, circuit_to_bnn
from lutnn.bnn.model import BNNModule
from lutnn.bnn.onnx_export import bnn_to_onnx, run_onnx
from lutnn.sim import decode_buses, encode_buses, simulate

__all__ = ["ZeroLossReport", "zero_loss_demo"]


@dataclass
class ZeroLossReport:
    """Accuracies along the chain and the disagreement counts (all must be 0)."""

    test_samples: int
    quantized_accuracy: float
    circuit_accuracy: float
    bnn_torch_accuracy: float
    bnn_onnx_accuracy: float
    disagree_circuit: int
    disagree_bnn_torch: int
    disagree_bnn_onnx: int
    circuit_nodes: int
    conversion: ConversionReport
    seconds: float

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d["conversion"] = self.conversion.as_dict()
        return d


def zero_loss_demo(hidden: int = 24, epochs: int = 30, seed: int = 0, pack: bool = True) -> ZeroLossReport:
    """Train a QAT MLP on digits (2-bit inputs, 6 inputs per neuron), compile it, binarize it, compare."""
    from lutnn.data import load_digits
    from lutnn.quantnet.neurons import compile_neurons, input_values
    from lutnn.quantnet.qat import QuantMLP, train_qat

    t0 = time.perf_counter()
    ds = load_digits()
    xtr, xte = ds.x_train / 16.0, ds.x_test / 16.0
    m = QuantMLP(64, [hidden], 10, in_bits=2, in_scale=1.0 / 3, w_bits=3, act_bits=2, fan_in=[6, 6], seed=seed)
    train_qat(m, xtr, ds.y_train, epochs=epochs, progress=False, seed=seed)
    im = m.integer_model()
    codes = im.quantize_input(xte)
    y_q = im.predict(codes)
    nl = compile_neurons(m, argmax=True, scores=False, name="digits_qnn")
    bits = encode_buses(nl, input_values(im, codes))
    y_c = decode_buses(nl, simulate(nl, bits))["class"]
    bnn, rep = circuit_to_bnn(nl, pack=pack)
    out_t = BNNModule(bnn).predict_bits(bits)
    out_o = run_onnx(bnn_to_onnx(bnn), bits)
    y_t = decode_buses(nl, out_t)["class"]
    y_o = decode_buses(nl, out_o)["class"]
    yt = ds.y_test

    def acc(p: np.ndarray) -> float:
        return float((np.asarray(p) == yt).mean())

    return ZeroLossReport(
        test_samples=len(yt),
        quantized_accuracy=acc(y_q),
        circuit_accuracy=acc(y_c),
        bnn_torch_accuracy=acc(y_t),
        bnn_onnx_accuracy=acc(y_o),
        disagree_circuit=int((y_c != y_q).sum()),
        disagree_bnn_torch=int((y_t != y_q).sum()),
        disagree_bnn_onnx=int((y_o != y_q).sum()),
        circuit_nodes=nl.n_nodes,
        conversion=rep,
        seconds=time.perf_counter() - t0,
    )
