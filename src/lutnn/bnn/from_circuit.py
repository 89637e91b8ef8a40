"""Circuit → BNN: any LUT netlist becomes a binarized network computing exactly the same function.

The netlist is first decomposed exactly into an AIG (:func:`lutnn.aig.to_aig`); every AND with
complemented inputs is one neuron (weights ±1 = input polarity, bias -1), or — with threshold
packing — whole cones whose function is a ±1 threshold function become one neuron each
(:mod:`lutnn.bnn.threshold`). Neurons are placed in layers by logic level.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from lutnn.aig import is_aig, to_aig
from lutnn.bnn.model import BNN
from lutnn.bnn.threshold import map_threshold
from lutnn.errors import LutnnError
from lutnn.netlist import Netlist

__all__ = ["ConversionReport", "circuit_to_bnn", "neuron_bias"]


def neuron_bias(n: int, t: int) -> int:
    """Bias of a neuron with ``n`` ±1 inputs that fires when at least ``t`` literals are true.

    ``sum(w*s) = 2c - n`` for ``c`` true literals; ``c >= t`` ⇔ ``sum + n - 2t + 1 >= 0`` and the
    ``+1`` makes the pre-activation odd, so it is never 0 (no tie to break).
    """
    return n - 2 * t + 1


@dataclass(frozen=True)
class ConversionReport:
    """Circuit → BNN figures: source AIG size/depth against neurons/layers/weights."""

    name: str
    inputs: int
    outputs: int
    circuit_nodes: int
    aig_nodes: int
    aig_depth: int
    neurons: int
    layers: int
    weights: int
    max_fanin: int
    packed: bool
    seconds: float

    @property
    def neuron_ratio(self) -> float:
        return self.neurons / max(1, self.aig_nodes)

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d["neuron_ratio"] = self.neuron_ratio
        return d


def circuit_to_bnn(
    nl: Netlist, pack: bool = True, max_cut: int = 8, cuts_per_node: int = 8
) -> tuple[BNN, ConversionReport]:
    """Convert ``nl`` into an exactly equivalent :class:`BNN` and report its size.

    ``pack`` packs threshold cones (cuts of up to ``max_cut`` leaves) into single neurons;
    without it every AIG AND node becomes one neuron.
    """
    if not isinstance(nl, Netlist):
        raise LutnnError(f"circuit_to_bnn expects a lutnn Netlist, got {type(nl).__name__}")
    nl.validate()
    if nl.n_inputs < 1:
        raise LutnnError(f"{nl.name}: the circuit has no inputs; a BNN needs at least one input bit")
    t0 = time.perf_counter()
    aig = to_aig(nl)  # canonical, constants folded (also for netlists already in AIG form)
    if not is_aig(aig):  # pragma: no cover - to_aig guarantees this
        raise LutnnError(f"{nl.name}: AIG decomposition failed")
    n_ands = int((aig.arity == 2).sum())
    specs, outs = map_threshold(aig, pack=pack, max_cut=max_cut, cuts_per_node=cuts_per_node)
    n_pi = aig.n_inputs
    # levels: inputs 0, a neuron 1 + its deepest leaf
    level = np.zeros(aig.n_signals, dtype=np.int64)
    for sp in specs:
        level[sp.node] = 1 + max((int(level[x]) for x in sp.leaves), default=0)
    order = sorted(range(len(specs)), key=lambda j: (int(level[specs[j].node]), specs[j].node))
    sig_of = np.full(aig.n_signals, -1, dtype=np.int64)
    sig_of[:n_pi] = np.arange(n_pi)
    ptr = [0]
    src: list[int] = []
    weight: list[int] = []
    bias: list[int] = []
    lv: list[int] = []
    for rank, j in enumerate(order):
        sp = specs[j]
        sig_of[sp.node] = n_pi + rank
    for j in order:
        sp = specs[j]
        for leaf, ng in zip(sp.leaves, sp.neg, strict=True):
            src.append(int(sig_of[leaf]))
            weight.append(-1 if ng else 1)
        ptr.append(len(src))
        bias.append(neuron_bias(len(sp.leaves), sp.t))
        lv.append(int(level[sp.node]))
    lv_arr = np.asarray(lv, dtype=np.int64)
    if len(lv_arr):
        counts = np.bincount(lv_arr)[1:]
        if (counts == 0).any():  # pragma: no cover - levels are contiguous by construction
            raise LutnnError(f"{nl.name}: empty neuron layer")
        layer_ptr = np.concatenate([[0], np.cumsum(counts)])
    else:
        layer_ptr = np.zeros(1, dtype=np.int64)
    bnn = BNN(
        n_inputs=n_pi,
        ptr=np.asarray(ptr, dtype=np.int64),
        src=np.asarray(src, dtype=np.int64),
        weight=np.asarray(weight, dtype=np.int8),
        bias=np.asarray(bias, dtype=np.int64),
        layer_ptr=layer_ptr.astype(np.int64),
        outputs=np.asarray([int(sig_of[s]) for s, _ in outs], dtype=np.int64),
        output_sign=np.asarray([-1 if c else 1 for _, c in outs], dtype=np.int8),
        input_buses=list(nl.inputs),
        output_buses=list(nl.outputs),
        name=nl.name,
    ).validate()
    aig_depth = int(aig.levels()[[s for s, _ in outs]].max()) if outs else 0
    st = bnn.stats()
    rep = ConversionReport(
        name=nl.name,
        inputs=nl.n_inputs,
        outputs=nl.n_outputs,
        circuit_nodes=nl.n_nodes,
        aig_nodes=n_ands,
        aig_depth=aig_depth,
        neurons=st.neurons,
        layers=st.layers,
        weights=st.weights,
        max_fanin=st.max_fanin,
        packed=pack,
        seconds=time.perf_counter() - t0,
    )
    return bnn, rep
