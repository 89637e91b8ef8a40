"""Trained LUT network → LUT netlist, bit-exactly.

Every trained node already *is* a K-input LUT: its thresholded table becomes the netlist
node's truth table and its connectivity the fan-ins. :func:`compile_core` emits just the LUT
layers (input bus ``bits`` = encoder outputs, output bus ``h`` = last layer);
:func:`compile_design` emits the whole design — one input bus per raw feature (``x0``, ``x1``,
…; the quantizer's integer), the encoder's comparators, the LUT layers, a popcount per class and
the argmax (output bus ``class_index``) — and prunes nodes no output uses.
:func:`check_against_model` simulates the netlist on given samples and counts the samples
where it disagrees with the PyTorch model in inference mode (it must be 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lutnn.errors import LutnnError
from lutnn.lutnet.network import LUTNetwork
from lutnn.netlist import Netlist, NetlistBuilder, table_words
from lutnn.sim import simulate_buses

__all__ = [
    "Agreement",
    "check_against_model",
    "compile_core",
    "compile_design",
    "compile_encoder",
    "compile_head",
    "netlist_predict",
    "pack_tables",
    "read_bits",
]


def pack_tables(bits: np.ndarray) -> np.ndarray:
    """``uint8 [n, 2**K]`` truth-table bits → ``uint64 [n, words]`` netlist tables (bit m = entry m)."""
    n, m = bits.shape
    k = int(m).bit_length() - 1
    if 1 << k != m:
        raise LutnnError(f"truth tables must have 2**K entries, got {m}")
    w = table_words(k)
    padded = np.zeros((n, w * 64), dtype=np.uint8)
    padded[:, :m] = bits
    return np.packbits(padded.reshape(n, w, 64), axis=2, bitorder="little").view("<u8").reshape(n, w).astype(np.uint64)


def _add_layers(b: NetlistBuilder, model: LUTNetwork, inputs: np.ndarray) -> np.ndarray:
    """Add every LUT layer, reading ``inputs`` (the encoder bits); returns the last layer's signals."""
    sig = np.asarray(inputs, dtype=np.int64)
    for layer in model.layers:
        conn = layer.connections()
        fanins = sig[conn]
        sig = b.add_luts(fanins, pack_tables(layer.truth_tables()))
    return sig


def compile_core(model: LUTNetwork, name: str = "lut_core") -> Netlist:
    """The LUT layers alone: input bus ``bits`` (encoder outputs), output bus ``h`` (last layer).

    Nodes no last-layer node depends on are dropped, so ``n_nodes`` counts the live core.
    """
    b = NetlistBuilder(name, k=max(6, model.k))
    x = b.add_input("bits", model.encoder.n_bits)
    h = _add_layers(b, model, x)
    b.add_output("h", h)
    return b.build().sweep()


def compile_encoder(model: LUTNetwork, name: str = "lut_encoder") -> Netlist:
    """The encoder alone: raw-feature buses in, output bus ``bits`` (only the bits live first-layer nodes read)."""
    qz = model.quantizer
    b = NetlistBuilder(name, k=max(6, model.k))
    buses = [b.add_input(f"x{i}", qz.width) for i in range(qz.n_features)]
    bits = np.asarray(model.encoder.build(b, buses), dtype=np.int64)
    b.add_output("bits", bits[read_bits(model)])
    return b.build().sweep()


def read_bits(model: LUTNetwork) -> np.ndarray:
    """Encoder bits (ascending) that some live first-layer node reads; nodes no later layer reads do not count."""
    live = np.arange(model.layers[-1].out_features)
    for layer in model.layers[:0:-1]:
        live = np.unique(layer.connections()[live])
    return np.unique(model.layers[0].connections()[live])


def compile_head(model: LUTNetwork, name: str = "lut_head") -> Netlist:
    """The group-sum head alone: input bus ``h`` (last LUT layer), output bus ``class_index``."""
    b = NetlistBuilder(name, k=max(6, model.k))
    h = b.add_input("h", model.layers[-1].out_features)
    _cnt, idx = model.head.build(b, h)
    b.add_output("class_index", idx)
    return b.build().sweep()


def compile_design(model: LUTNetwork, name: str = "lutnn_top", counts: bool = False) -> Netlist:
    """Encoder + LUT layers + group-sum head + argmax, pruned: raw-feature buses in, ``class_index`` out.

    With ``counts=True`` the per-class popcounts are outputs too (``count0``, …) for debugging.
    """
    qz = model.quantizer
    b = NetlistBuilder(name, k=max(6, model.k))
    buses = [b.add_input(f"x{i}", qz.width) for i in range(qz.n_features)]
    bits = model.encoder.build(b, buses)
    h = _add_layers(b, model, bits)
    cnt, idx = model.head.build(b, h)
    b.add_output("class_index", idx)
    if counts:
        for c, bus in enumerate(cnt):
            b.add_output(f"count{c}", bus)
    return b.build().sweep()


@dataclass
class Agreement:
    """Netlist vs PyTorch on the same samples: predictions and how many disagree."""

    samples: int
    disagreements: int
    model_pred: np.ndarray
    netlist_pred: np.ndarray

    @property
    def exact(self) -> bool:
        return self.disagreements == 0

    def as_dict(self) -> dict:
        return {"samples": self.samples, "disagreements": self.disagreements}


def netlist_predict(nl: Netlist, q: np.ndarray) -> np.ndarray:
    """Class indices of ``compile_design``'s netlist for integer features ``q [N, F]``."""
    q = np.asarray(q, dtype=np.int64)
    n_feat = sum(1 for bus in nl.inputs if bus.name.startswith("x"))
    if q.ndim != 2 or q.shape[1] != n_feat:
        raise LutnnError(f"{nl.name}: expected [samples, {n_feat}] integer features, got shape {q.shape}")
    return simulate_buses(nl, {f"x{i}": q[:, i] for i in range(q.shape[1])})["class_index"]


def check_against_model(model: LUTNetwork, nl: Netlist, q: np.ndarray) -> Agreement:
    """Simulate the whole-design netlist on ``q`` and compare with ``model.predict`` (inference mode)."""
    with torch.no_grad():
        mp = model.predict(q)
    npred = netlist_predict(nl, q)
    return Agreement(len(q), int((mp != npred).sum()), mp, npred)
