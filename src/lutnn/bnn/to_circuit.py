"""BNN → circuit: each binarized neuron becomes logic again.

A neuron with fan-in ≤ K is one K-LUT (its truth table enumerated from weights and bias). A
wider neuron becomes a popcount of its literals (compressor-tree adder, :func:`lutnn.circuits.popcount`)
and a comparison with a constant (:func:`lutnn.circuits.ge_const`): with ``c`` true literals
``sum(w*s) = 2c - n``, so the neuron fires iff ``c >= ceil((n - bias) / 2)``. The result can be
optimised through Yosys/ABC (:func:`lutnn.synth.synthesize`) with ``synth=True``.
"""

from __future__ import annotations

import numpy as np

from lutnn.bnn.model import BNN
from lutnn.circuits import ge_const, popcount
from lutnn.errors import LutnnError
from lutnn.netlist import MAX_K, TABLE_NOT, Netlist, NetlistBuilder

__all__ = ["bnn_to_circuit", "neuron_table"]


def neuron_table(weight: np.ndarray, bias: int) -> int:
    """Truth table (bit m = output when input j carries bit j of m) of a ±1 neuron."""
    n = len(weight)
    m = np.arange(1 << n, dtype=np.int64)
    acc = np.full(1 << n, int(bias), dtype=np.int64)
    for j, w in enumerate(np.asarray(weight, dtype=np.int64).tolist()):
        acc += w * (2 * ((m >> j) & 1) - 1)
    bits = np.flatnonzero(acc >= 0)
    t = 0
    for b in bits.tolist():
        t |= 1 << b
    return t


def _threshold_count(n: int, bias: int) -> int:
    """Smallest number of true literals c with 2c - n + bias >= 0."""
    return max(0, -(-(n - bias) // 2))


def bnn_to_circuit(bnn: BNN, k: int = 6, synth: bool = False, timeout: float | None = None) -> Netlist:
    """A LUT netlist computing exactly the function of ``bnn`` (buses kept).

    ``k`` is the LUT size: neurons with fan-in ≤ k are single LUTs, wider ones popcount-and-compare
    circuits. ``synth=True`` re-maps the result with Yosys/ABC to ``k``-LUTs.
    """
    if not 3 <= k <= MAX_K:
        raise LutnnError(f"LUT size k={k} is out of range 3..{MAX_K} (popcount compressors need 3-input LUTs)")
    bnn.validate()
    b = NetlistBuilder(bnn.name or "bnn", k=k)
    in_buses = bnn.input_buses or []
    if in_buses:
        for bus in in_buses:
            b.add_input(bus.name, bus.width)
    else:
        b.add_input("x", bnn.n_inputs)
    sig = np.empty(bnn.n_signals, dtype=np.int64)
    sig[: bnn.n_inputs] = np.arange(bnn.n_inputs)
    neg_cache: dict[int, int] = {}

    def literal(s: int, w: int) -> int:
        if w > 0:
            return s
        if s not in neg_cache:
            neg_cache[s] = b.add_lut([s], TABLE_NOT)
        return neg_cache[s]

    for j in range(bnn.n_neurons):
        src, w, bias = bnn.neuron(j)
        ins = [int(sig[s]) for s in src.tolist()]
        n = len(ins)
        if n <= k:
            sig[bnn.n_inputs + j] = b.add_lut(ins, neuron_table(w, bias))
            continue
        c = _threshold_count(n, bias)
        if c <= 0:
            sig[bnn.n_inputs + j] = b.const(1)
        elif c > n:
            sig[bnn.n_inputs + j] = b.const(0)
        else:
            lits = [literal(s, int(wi)) for s, wi in zip(ins, w.tolist(), strict=True)]
            sig[bnn.n_inputs + j] = ge_const(b, popcount(b, lits), c)
    outs = []
    for s, sg in zip(bnn.outputs.tolist(), bnn.output_sign.tolist(), strict=True):
        outs.append(int(sig[s]) if sg > 0 else b.add_lut([int(sig[s])], TABLE_NOT))
    out_buses = bnn.output_buses or []
    if out_buses:
        off = 0
        for bus in out_buses:
            b.add_output(bus.name, outs[off : off + bus.width])
            off += bus.width
    else:
        b.add_output("y", outs)
    nl = b.build().sweep()
    if synth:
        from lutnn.synth import synthesize

        nl = synthesize(nl, flow="lut", k=k, timeout=timeout, fmax=False).netlist
    return nl
