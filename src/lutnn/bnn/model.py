"""The binarized neural network (BNN) that a circuit becomes: plain arrays, a reference evaluator,
a torch module, and a file format.

Semantics (what every backend — numpy, torch, ONNX, the docs' 30-line script — computes):

* A bit ``b`` is carried as ``s = 2b - 1`` (0 → -1, 1 → +1).
* Signals ``0 .. n_inputs-1`` are the primary inputs; neuron ``j`` (in storage order) drives
  signal ``n_inputs + j``.
* Neuron ``j`` reads signals ``src[ptr[j]:ptr[j+1]]`` with weights ``weight[...]`` in {-1, +1}
  and has an integer ``bias``; its pre-activation is ``a = bias + sum(w * s)`` and its output is
  ``+1 if a >= 0 else -1`` (a tie at zero gives +1). Every bias lutnn emits makes ``a`` odd, so
  ``a`` is never 0 and ``sign`` with any tie rule gives the same answer.
* Neurons are grouped in layers (``layer_ptr``); a neuron reads only inputs and neurons of
  earlier layers, so a layer is evaluated in one batched step.
* Output ``o`` is ``output_sign[o] * s[outputs[o]]`` mapped back to a bit (+1 → 1, -1 → 0).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lutnn.errors import LutnnError
from lutnn.fileio import atomic_open, check_readable
from lutnn.netlist import Bus

__all__ = [
    "BNN",
    "BNNError",
    "BNNModule",
    "BNNStats",
    "PaddedLayer",
    "evaluate_bnn",
    "load_bnn",
    "padded_layers",
    "save_bnn",
]


class BNNError(LutnnError):
    """A BNN violates an invariant (weight not ±1, reads a later layer, bad output index)."""


@dataclass(frozen=True)
class BNNStats:
    """Size figures of a BNN (neurons, layers = depth, connections) beside its source circuit."""

    neurons: int
    layers: int
    weights: int
    max_fanin: int
    inputs: int
    outputs: int

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(eq=False)
class BNN:
    """A layered binarized network in CSR form (see the module docstring for the semantics).

    Attributes:
        n_inputs: number of primary-input bits.
        ptr: ``int64 [n_neurons + 1]``, neuron ``j`` owns connections ``ptr[j]:ptr[j+1]``.
        src: ``int64 [n_connections]``, the signal each connection reads.
        weight: ``int8 [n_connections]``, each in {-1, +1}.
        bias: ``int64 [n_neurons]``.
        layer_ptr: ``int64 [n_layers + 1]``, layer ``l`` holds neurons ``layer_ptr[l]:layer_ptr[l+1]``.
        outputs: ``int64 [n_outputs]``, the signal read by each primary-output bit.
        output_sign: ``int8 [n_outputs]``, +1 or -1 (a complemented output).
        inputs_buses / output_buses: names and widths of the circuit's buses, in bit order.
    """

    n_inputs: int
    ptr: np.ndarray
    src: np.ndarray
    weight: np.ndarray
    bias: np.ndarray
    layer_ptr: np.ndarray
    outputs: np.ndarray
    output_sign: np.ndarray
    input_buses: list[Bus] = field(default_factory=list)
    output_buses: list[Bus] = field(default_factory=list)
    name: str = "bnn"

    @property
    def n_neurons(self) -> int:
        return len(self.bias)

    @property
    def n_layers(self) -> int:
        return len(self.layer_ptr) - 1

    @property
    def n_outputs(self) -> int:
        return len(self.outputs)

    @property
    def n_signals(self) -> int:
        return self.n_inputs + self.n_neurons

    def fanin(self) -> np.ndarray:
        """Number of connections of every neuron."""
        return np.diff(self.ptr)

    def stats(self) -> BNNStats:
        fi = self.fanin()
        return BNNStats(
            neurons=self.n_neurons,
            layers=self.n_layers,
            weights=len(self.src),
            max_fanin=int(fi.max()) if len(fi) else 0,
            inputs=self.n_inputs,
            outputs=self.n_outputs,
        )

    def neuron(self, j: int) -> tuple[np.ndarray, np.ndarray, int]:
        """``(src, weight, bias)`` of neuron ``j``."""
        a, b = int(self.ptr[j]), int(self.ptr[j + 1])
        return self.src[a:b], self.weight[a:b], int(self.bias[j])

    def layer_of(self) -> np.ndarray:
        """Layer index of every signal: -1 for inputs, ``l`` for neurons of layer ``l``."""
        lay = np.full(self.n_signals, -1, dtype=np.int64)
        for lyr in range(self.n_layers):
            lay[self.n_inputs + self.layer_ptr[lyr] : self.n_inputs + self.layer_ptr[lyr + 1]] = lyr
        return lay

    def validate(self) -> BNN:
        """Check every invariant; raise :class:`BNNError` naming the first violation."""
        n = self.n_neurons
        if self.n_inputs < 1:
            raise BNNError(f"{self.name}: a BNN needs at least one input (the circuit has none)")
        if len(self.ptr) != n + 1 or self.ptr[0] != 0 or (np.diff(self.ptr) < 0).any() or self.ptr[-1] != len(self.src):
            raise BNNError(f"{self.name}: ptr must be non-decreasing from 0 to len(src) with n_neurons+1 entries")
        if len(self.weight) != len(self.src):
            raise BNNError(f"{self.name}: {len(self.src)} connections but {len(self.weight)} weights")
        if len(self.weight) and not np.isin(self.weight, (-1, 1)).all():
            raise BNNError(f"{self.name}: every weight must be -1 or +1")
        lp = self.layer_ptr
        if len(lp) < 1 or lp[0] != 0 or lp[-1] != n or (np.diff(lp) <= 0).any():
            raise BNNError(f"{self.name}: layer_ptr must rise strictly from 0 to n_neurons")
        if len(self.src) and ((self.src < 0) | (self.src >= self.n_signals)).any():
            raise BNNError(f"{self.name}: a connection reads a signal that does not exist")
        lay = self.layer_of()
        owner = np.repeat(np.arange(n), np.diff(self.ptr))
        if len(self.src) and (lay[self.src] >= lay[self.n_inputs + owner]).any():
            j = int(owner[np.argmax(lay[self.src] >= lay[self.n_inputs + owner])])
            raise BNNError(f"{self.name}: neuron {j} reads a neuron of its own or a later layer")
        if len(self.outputs) != len(self.output_sign):
            raise BNNError(f"{self.name}: outputs and output_sign differ in length")
        if len(self.outputs) and ((self.outputs < 0) | (self.outputs >= self.n_signals)).any():
            raise BNNError(f"{self.name}: an output reads a signal that does not exist")
        if len(self.output_sign) and not np.isin(self.output_sign, (-1, 1)).all():
            raise BNNError(f"{self.name}: output_sign entries must be -1 or +1")
        if self.input_buses and sum(b.width for b in self.input_buses) != self.n_inputs:
            raise BNNError(f"{self.name}: input buses do not add up to {self.n_inputs} bits")
        if self.output_buses and sum(b.width for b in self.output_buses) != self.n_outputs:
            raise BNNError(f"{self.name}: output buses do not add up to {self.n_outputs} bits")
        return self

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict:
        """JSON-ready dict (the ``.bnn.json`` format the docs' independent script reads)."""
        return {
            "format": "lutnn-bnn-1",
            "name": self.name,
            "semantics": "s=2b-1; a=bias+sum(w*s[src]); out=+1 if a>=0 else -1; y=(output_sign*s[outputs]+1)/2",
            "n_inputs": self.n_inputs,
            "input_buses": [[b.name, b.width] for b in self.input_buses],
            "output_buses": [[b.name, b.width] for b in self.output_buses],
            "layer_ptr": self.layer_ptr.tolist(),
            "ptr": self.ptr.tolist(),
            "src": self.src.tolist(),
            "weight": self.weight.tolist(),
            "bias": self.bias.tolist(),
            "outputs": self.outputs.tolist(),
            "output_sign": self.output_sign.tolist(),
        }

    @staticmethod
    def from_dict(d: dict, source: str = "<bnn>") -> BNN:
        if not isinstance(d, dict) or d.get("format") != "lutnn-bnn-1":
            raise BNNError(f"{source}: not a lutnn BNN file (expected format 'lutnn-bnn-1')")
        try:
            return BNN(
                n_inputs=int(d["n_inputs"]),
                ptr=np.asarray(d["ptr"], dtype=np.int64),
                src=np.asarray(d["src"], dtype=np.int64),
                weight=np.asarray(d["weight"], dtype=np.int8),
                bias=np.asarray(d["bias"], dtype=np.int64),
                layer_ptr=np.asarray(d["layer_ptr"], dtype=np.int64),
                outputs=np.asarray(d["outputs"], dtype=np.int64),
                output_sign=np.asarray(d["output_sign"], dtype=np.int8),
                input_buses=[Bus(str(n), int(w)) for n, w in d.get("input_buses", [])],
                output_buses=[Bus(str(n), int(w)) for n, w in d.get("output_buses", [])],
                name=str(d.get("name", "bnn")),
            ).validate()
        except (KeyError, TypeError, ValueError) as e:
            raise BNNError(f"{source}: malformed BNN file ({e}); re-export it with lutnn bnn") from None


def save_bnn(bnn: BNN, path: str | os.PathLike) -> Path:
    """Write ``bnn`` as JSON (atomically)."""
    with atomic_open(path, "w") as fh:
        json.dump(bnn.to_dict(), fh)
    return Path(path)


def load_bnn(path: str | os.PathLike) -> BNN:
    """Read a BNN written by :func:`save_bnn`."""
    p = check_readable(path, "BNN file")
    try:
        d = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BNNError(f"{p}: not valid JSON ({e.__class__.__name__}); give a .bnn.json written by lutnn") from None
    return BNN.from_dict(d, str(p))


def _check_input_bits(bnn: BNN, x: np.ndarray) -> np.ndarray:
    from lutnn.sim import check_input_bits

    return check_input_bits(bnn.name, bnn.n_inputs, x, BNNError)


def evaluate_bnn(bnn: BNN, x: np.ndarray) -> np.ndarray:
    """Reference evaluation in numpy integers, layer by layer: ``[N, n_inputs]`` bits → ``uint8 [N, n_outputs]``."""
    x = _check_input_bits(bnn, x)
    n = x.shape[0]
    s = np.empty((n, bnn.n_signals), dtype=np.int32)
    s[:, : bnn.n_inputs] = 2 * x.astype(np.int32) - 1
    owner = np.repeat(np.arange(bnn.n_neurons), np.diff(bnn.ptr))
    for lyr in range(bnn.n_layers):
        a0, a1 = int(bnn.layer_ptr[lyr]), int(bnn.layer_ptr[lyr + 1])
        c0, c1 = int(bnn.ptr[a0]), int(bnn.ptr[a1])
        contrib = s[:, bnn.src[c0:c1]] * bnn.weight[c0:c1].astype(np.int32)
        acc = np.zeros((n, a1 - a0), dtype=np.int32)
        if c1 > c0:
            np.add.at(acc.T, owner[c0:c1] - a0, contrib.T)
        acc += bnn.bias[a0:a1].astype(np.int32)
        s[:, bnn.n_inputs + a0 : bnn.n_inputs + a1] = np.where(acc >= 0, 1, -1)
    out = s[:, bnn.outputs] * bnn.output_sign.astype(np.int32)
    return (out > 0).astype(np.uint8)


# ---------------------------------------------------------------------- padded layers
@dataclass
class PaddedLayer:
    """One layer in padded form: neuron ``r`` reads signals ``idx[r]`` with weights ``w[r]`` (0 = padding)."""

    start: int  # first signal this layer drives
    idx: np.ndarray  # int64 [n, F] global signal ids (padding reads signal 0 with weight 0)
    w: np.ndarray  # int8 [n, F]
    bias: np.ndarray  # int64 [n]


def padded_layers(bnn: BNN) -> list[PaddedLayer]:
    """Per-layer padded arrays (shared by the torch module and the ONNX export)."""
    bnn.validate()
    fan = np.diff(bnn.ptr)
    owner = np.repeat(np.arange(bnn.n_neurons), fan)
    out = []
    for lyr in range(bnn.n_layers):
        a0, a1 = int(bnn.layer_ptr[lyr]), int(bnn.layer_ptr[lyr + 1])
        f = max(1, int(fan[a0:a1].max()))
        idx = np.zeros((a1 - a0, f), dtype=np.int64)
        w = np.zeros((a1 - a0, f), dtype=np.int8)
        c0, c1 = int(bnn.ptr[a0]), int(bnn.ptr[a1])
        rows = owner[c0:c1] - a0
        cols = np.arange(c0, c1) - bnn.ptr[owner[c0:c1]]
        idx[rows, cols] = bnn.src[c0:c1]
        w[rows, cols] = bnn.weight[c0:c1]
        out.append(PaddedLayer(bnn.n_inputs + a0, idx, w, bnn.bias[a0:a1].astype(np.int64)))
    return out


# ---------------------------------------------------------------------- torch
class BNNModule(nn.Module):
    """The BNN as a ``torch.nn.Module``: ``[N, n_inputs]`` 0/1 → ``[N, n_outputs]`` 0/1, batched on any device.

    ``dtype=torch.float32`` uses float arithmetic (exact: sums are small integers),
    ``torch.int32`` integer arithmetic. Signals live in one ``[n_signals, N]`` buffer (rows are
    contiguous, so gathering a neuron's inputs is a row gather); large batches are split so the
    buffer stays under ``max_buffer_bytes``. Weights are buffers, not parameters (they are exact).
    """

    def __init__(self, bnn: BNN, dtype: torch.dtype = torch.float32, max_buffer_bytes: int = 256 << 20) -> None:
        super().__init__()
        if dtype not in (torch.float32, torch.float64, torch.int32, torch.int64):
            raise BNNError(f"unsupported BNN arithmetic dtype {dtype}; use torch.float32 or torch.int32")
        self.n_inputs = bnn.n_inputs
        self.n_outputs = bnn.n_outputs
        self.n_signals = bnn.n_signals
        self.arith = dtype
        self.max_buffer_bytes = max_buffer_bytes
        layers = padded_layers(bnn)
        self.n_layers = len(layers)
        self.starts = [lyr.start for lyr in layers]
        for i, lyr in enumerate(layers):
            self.register_buffer(f"idx{i}", torch.from_numpy(lyr.idx.reshape(-1)))
            self.register_buffer(f"w{i}", torch.from_numpy(lyr.w.astype(np.int64)).to(dtype)[:, :, None])
            self.register_buffer(f"b{i}", torch.from_numpy(lyr.bias).to(dtype)[:, None])
        self.register_buffer("out_idx", torch.from_numpy(bnn.outputs.astype(np.int64)))
        self.register_buffer("out_sign", torch.from_numpy(bnn.output_sign.astype(np.int64)).to(dtype)[:, None])

    def _chunk(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        s = torch.empty((self.n_signals, n), dtype=self.arith, device=x.device)
        s[: self.n_inputs] = x.t().to(self.arith) * 2 - 1
        one = torch.ones((), dtype=self.arith, device=x.device)
        for i in range(self.n_layers):
            w = getattr(self, f"w{i}")
            g = s.index_select(0, getattr(self, f"idx{i}")).view(w.shape[0], w.shape[1], n)
            a = (g * w).sum(1) + getattr(self, f"b{i}")
            st = self.starts[i]
            s[st : st + w.shape[0]] = torch.where(a >= 0, one, -one)
        y = s.index_select(0, self.out_idx) * self.out_sign
        return (y > 0).t()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.n_inputs:
            raise BNNError(f"BNN expects input bits of shape [N, {self.n_inputs}], got {tuple(x.shape)}")
        elem = torch.empty((), dtype=self.arith).element_size()
        step = max(64, self.max_buffer_bytes // max(1, elem * self.n_signals))
        outs = [self._chunk(x[i : i + step]) for i in range(0, x.shape[0], step)]
        y = torch.cat(outs) if outs else torch.zeros((0, self.n_outputs), dtype=torch.bool, device=x.device)
        return y.to(x.dtype if x.dtype.is_floating_point else torch.float32)

    @torch.no_grad()
    def predict_bits(self, x: np.ndarray, batch: int = 65536) -> np.ndarray:
        """Numpy convenience: ``[N, n_inputs]`` bits → ``uint8 [N, n_outputs]`` (in batches)."""
        x = _check_input_bits_shape(self.n_inputs, x)
        dev = self.out_idx.device
        outs = []
        for i in range(0, len(x), batch):
            xb = torch.as_tensor(np.asarray(x[i : i + batch], dtype=np.float32), device=dev)
            outs.append(self(xb).cpu().numpy().astype(np.uint8))
        if not outs:
            return np.zeros((0, self.n_outputs), np.uint8)
        return np.concatenate(outs)


def _check_input_bits_shape(n_inputs: int, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != n_inputs:
        raise BNNError(f"expected input bits of shape [N, {n_inputs}], got {x.shape}")
    return x
