"""The exact integer inference model of a quantized network (numpy only: no torch on this path).

An :class:`IntegerMLP` is the *definition* of a quantized network: a hidden neuron computes
``acc = sum_i w_i * q_i`` over its integer input codes and outputs ``qmin + #{k : acc >= t_k}``;
the last layer outputs raw integer class scores ``acc + bias`` (or threshold codes when
``out_bits`` is set). Both compile routes reproduce it bit for bit, and "quantized accuracy" is
its accuracy. :func:`fold_affine_layer` turns a float affine layer + quantizer into such a layer.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lutnn.errors import QuantError
from lutnn.fileio import atomic_write

__all__ = [
    "IntLayer",
    "IntegerMLP",
    "QuantError",
    "as_integer_model",
    "code_range",
    "example_model",
    "fold_affine_layer",
    "quantize_codes",
    "save_integer_model",
]


def code_range(bits: int, signed: bool) -> tuple[int, int]:
    """Smallest and largest integer code of a ``bits``-wide fixed-point value."""
    if signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def quantize_codes(x, scale: float, bits: int, signed: bool) -> np.ndarray:
    """Float values (array or CPU tensor) → integer codes ``clamp(round(x / scale))``, the input quantizer's rule."""
    if hasattr(x, "detach"):  # a torch tensor, without importing torch here
        x = x.detach().cpu().numpy()
    a = np.asarray(x, dtype=np.float64)
    if not np.isfinite(a).all():
        raise QuantError("input features contain NaN or inf; clean the data before quantizing")
    lo, hi = code_range(bits, signed)
    return np.clip(np.round(a / scale), lo, hi).astype(np.int64)


# ----------------------------------------------------------------------------- integer model
@dataclass
class IntLayer:
    """One exact integer layer: masked integer weights, then thresholds (or a bias for raw scores).

    ``weight[o, i]`` is 0 where ``mask[o, i]`` is False. Hidden layers carry ``thresholds``
    (``int64 [out, 2**out_bits - 1]``, ascending per row); the output code is
    ``qmin + #{k : acc >= thresholds[o, k]}``. A raw-score layer has ``thresholds=None`` and
    outputs ``acc + bias``.
    """

    weight: np.ndarray
    mask: np.ndarray
    in_bits: int
    in_signed: bool
    out_bits: int | None
    out_signed: bool
    thresholds: np.ndarray | None = None
    bias: np.ndarray | None = None
    name: str = ""

    @property
    def n_in(self) -> int:
        return int(self.weight.shape[1])

    @property
    def n_out(self) -> int:
        return int(self.weight.shape[0])

    def fan_in(self) -> np.ndarray:
        """Number of inputs each neuron reads."""
        return self.mask.sum(axis=1)

    def inputs_of(self, o: int) -> np.ndarray:
        """Indices of the inputs neuron ``o`` reads (ascending)."""
        return np.flatnonzero(self.mask[o])

    def acc_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-neuron smallest and largest accumulator value over all input codes."""
        lo, hi = code_range(self.in_bits, self.in_signed)
        w = self.weight
        a = np.minimum(w * lo, w * hi).sum(axis=1)
        b = np.maximum(w * lo, w * hi).sum(axis=1)
        return a.astype(np.int64), b.astype(np.int64)

    def activate(self, acc: np.ndarray) -> np.ndarray:
        """Accumulators ``[N, out]`` → output codes (thresholds) or scores (bias)."""
        if self.thresholds is not None:
            qmin = code_range(self.out_bits or 1, self.out_signed)[0]
            return qmin + (acc[:, :, None] >= self.thresholds[None, :, :]).sum(axis=2)
        return acc + (self.bias if self.bias is not None else 0)

    def neuron_function(self, o: int, codes: np.ndarray) -> np.ndarray:
        """Output of neuron ``o`` for input codes ``[N, fan_in]`` of its inputs (in ``inputs_of`` order)."""
        idx = self.inputs_of(o)
        acc = codes.astype(np.int64) @ self.weight[o, idx].astype(np.int64)
        if self.thresholds is not None:
            qmin = code_range(self.out_bits or 1, self.out_signed)[0]
            return qmin + (acc[:, None] >= self.thresholds[o][None, :]).sum(axis=1)
        return acc + (int(self.bias[o]) if self.bias is not None else 0)

    def output_range(self) -> tuple[int, int]:
        """Smallest and largest value any neuron of this layer can output."""
        if self.thresholds is not None:
            return code_range(self.out_bits or 1, self.out_signed)
        lo, hi = self.acc_bounds()
        b = self.bias if self.bias is not None else np.zeros(self.n_out, np.int64)
        return int((lo + b).min()), int((hi + b).max())

    def forward(self, codes: np.ndarray) -> np.ndarray:
        acc = codes.astype(np.int64) @ self.weight.T.astype(np.int64)
        return self.activate(acc)


def _bits_for_range(lo: int, hi: int) -> tuple[int, bool]:
    """Width and signedness of the narrowest two's-complement / unsigned bus holding ``[lo, hi]``."""
    if lo >= 0:
        return max(1, int(hi).bit_length()), False
    w = 1
    while not (-(1 << (w - 1)) <= lo and hi <= (1 << (w - 1)) - 1):
        w += 1
    return w, True


@dataclass
class IntegerMLP:
    """The exact integer network: what both compile routes turn into gates, bit for bit."""

    layers: list[IntLayer]
    in_bits: int
    in_signed: bool
    in_scale: float = 1.0
    n_classes: int = 0
    meta: dict = field(default_factory=dict)

    @property
    def n_features(self) -> int:
        return self.layers[0].n_in

    def score_format(self) -> tuple[int, bool]:
        """(width, signed) of the class-score buses."""
        last = self.layers[-1]
        if last.thresholds is not None:
            return int(last.out_bits or 1), last.out_signed
        return _bits_for_range(*last.output_range())

    def forward(self, codes: np.ndarray, all_layers: bool = False) -> np.ndarray | list[np.ndarray]:
        """Integer input codes ``[N, features]`` → class scores ``[N, classes]`` (or every layer's output)."""
        x = np.asarray(codes)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise QuantError(f"expected input codes of shape [N, {self.n_features}], got {x.shape}")
        lo, hi = code_range(self.in_bits, self.in_signed)
        if x.size and (x.min() < lo or x.max() > hi):
            raise QuantError(f"input codes must lie in [{lo}, {hi}] ({self.in_bits}-bit); quantize the features first")
        outs = []
        h = x.astype(np.int64)
        for layer in self.layers:
            h = layer.forward(h)
            outs.append(h)
        return outs if all_layers else h

    def predict(self, codes: np.ndarray) -> np.ndarray:
        """Class index (first maximum on ties, as ``np.argmax`` and the argmax circuit)."""
        return np.argmax(self.forward(codes), axis=1)

    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        """Float features → input codes, exactly as the trained input quantizer does."""
        return quantize_codes(x, self.in_scale, self.in_bits, self.in_signed)

    def validate(self) -> IntegerMLP:
        """Check shapes and bit widths chain from layer to layer; raise naming the layer."""
        prev_n, prev_bits, prev_signed = self.n_features, self.in_bits, self.in_signed
        for li, L in enumerate(self.layers):
            nm = L.name or f"layer {li}"
            if L.weight.shape != L.mask.shape:
                raise QuantError(f"{nm}: weight shape {L.weight.shape} != mask shape {L.mask.shape}")
            if L.n_in != prev_n:
                raise QuantError(f"{nm}: expects {L.n_in} inputs but the previous layer gives {prev_n}; fix the shapes")
            if (L.in_bits, L.in_signed) != (prev_bits, prev_signed):
                raise QuantError(
                    f"{nm}: reads {L.in_bits}-bit {'signed' if L.in_signed else 'unsigned'} codes but the previous "
                    f"layer gives {prev_bits}-bit {'signed' if prev_signed else 'unsigned'} codes"
                )
            if (L.weight[~L.mask] != 0).any():
                raise QuantError(f"{nm}: nonzero weights outside the fan-in mask")
            if L.thresholds is not None:
                if L.out_bits is None or not 1 <= L.out_bits <= 16:
                    raise QuantError(f"{nm}: thresholded layers need out_bits in 1..16")
                if L.thresholds.shape != (L.n_out, (1 << L.out_bits) - 1):
                    raise QuantError(f"{nm}: thresholds must have shape [{L.n_out}, {(1 << L.out_bits) - 1}]")
                if (np.diff(L.thresholds, axis=1) < 0).any():
                    raise QuantError(f"{nm}: thresholds must be ascending per neuron")
                prev_bits, prev_signed = L.out_bits, L.out_signed
            else:
                if li != len(self.layers) - 1:
                    raise QuantError(f"{nm}: only the last layer may output raw scores; give it out_bits")
            prev_n = L.n_out
        return self

    # -- serialisation
    def to_json(self) -> dict:
        def arr(a):
            return None if a is None else np.asarray(a).tolist()

        return {
            "format": "lutnn.IntegerMLP/1",
            "in_bits": self.in_bits,
            "in_signed": self.in_signed,
            "in_scale": self.in_scale,
            "n_classes": self.n_classes,
            "meta": self.meta,
            "layers": [
                {
                    "name": L.name,
                    "weight": arr(L.weight),
                    "mask": arr(L.mask.astype(np.uint8)),
                    "in_bits": L.in_bits,
                    "in_signed": L.in_signed,
                    "out_bits": L.out_bits,
                    "out_signed": L.out_signed,
                    "thresholds": arr(L.thresholds),
                    "bias": arr(L.bias),
                }
                for L in self.layers
            ],
        }

    @staticmethod
    def from_json(d: dict) -> IntegerMLP:
        if d.get("format") != "lutnn.IntegerMLP/1":
            raise QuantError("not a lutnn integer model (expected format 'lutnn.IntegerMLP/1')")
        layers = []
        for L in d["layers"]:
            layers.append(
                IntLayer(
                    weight=np.asarray(L["weight"], dtype=np.int64),
                    mask=np.asarray(L["mask"], dtype=bool),
                    in_bits=int(L["in_bits"]),
                    in_signed=bool(L["in_signed"]),
                    out_bits=None if L["out_bits"] is None else int(L["out_bits"]),
                    out_signed=bool(L["out_signed"]),
                    thresholds=None if L["thresholds"] is None else np.asarray(L["thresholds"], dtype=np.int64),
                    bias=None if L["bias"] is None else np.asarray(L["bias"], dtype=np.int64),
                    name=L.get("name", ""),
                )
            )
        return IntegerMLP(
            layers,
            int(d["in_bits"]),
            bool(d["in_signed"]),
            float(d["in_scale"]),
            int(d["n_classes"]),
            d.get("meta", {}),
        ).validate()


def fold_affine_layer(
    w_int: np.ndarray,
    mask: np.ndarray,
    A: np.ndarray,
    B: np.ndarray,
    in_bits: int,
    in_signed: bool,
    out: tuple[float, int, bool] | None,
    clamp_lo: int | None = None,
    name: str = "",
    score_shift: int = 0,
) -> IntLayer:
    """Integer layer for ``y = A * (w_int . q) + B`` followed by ``clamp(round(y / s_out))`` (``out``).

    ``out=(s_out, bits, signed)`` gives thresholds (a negative ``A`` flips the neuron's weights);
    ``clamp_lo`` forces codes up to that value to be reached always (a ReLU in front of a signed
    quantizer, or a narrow range). ``out=None`` gives raw scores ``w_int . q + round(B / A)``, which
    needs one common positive ``A`` so that scores stay comparable across classes; ``score_shift``
    scales raw scores by ``2**score_shift`` so the rounded bias tracks the float one more closely.
    """
    w_int = np.array(w_int, dtype=np.int64)
    A = np.asarray(A, dtype=np.float64).reshape(-1)
    B = np.asarray(B, dtype=np.float64).reshape(-1)
    if not (np.isfinite(A).all() and np.isfinite(B).all()):
        raise QuantError(f"{name}: scales, bias or batch-norm statistics are NaN/inf")
    if out is None:
        if not (np.allclose(A, A[0], rtol=1e-9) and A[0] > 0):
            raise QuantError(
                f"{name}: raw class scores need one positive scale for all outputs (per-tensor weight scale, "
                "no batch norm); quantize the output layer's activations instead"
            )
        bias = np.round(B / A[0] * (1 << score_shift)).astype(np.int64)
        return IntLayer(w_int << score_shift, mask, in_bits, in_signed, None, True, None, bias, name)
    s_out, bits, signed = out
    if not (math.isfinite(s_out) and s_out > 0):
        raise QuantError(f"{name}: activation scale must be positive and finite, got {s_out}")
    qmin, qmax = code_range(bits, signed)
    neg = A < 0
    w_int[neg] = -w_int[neg]
    A = np.abs(A)
    L = IntLayer(w_int, mask, in_bits, in_signed, bits, signed, None, None, name)
    lo, hi = L.acc_bounds()
    levels = np.arange(qmin + 1, qmax + 1, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.ceil(((levels[None, :] - 0.5) * s_out - B[:, None]) / A[:, None])
    zero = A == 0
    if zero.any():  # constant neuron: output clamp(round(B / s_out))
        const = np.clip(np.round(B[zero] / s_out), qmin, qmax)
        t[zero] = np.where(levels[None, :] <= const[:, None], -np.inf, np.inf)
    if clamp_lo is not None:
        t[:, levels <= clamp_lo] = -np.inf
    L.thresholds = np.clip(t, (lo - 1)[:, None], (hi + 1)[:, None]).astype(np.int64)
    return L


def save_integer_model(im: IntegerMLP, path: str | Path) -> Path:
    """Write an :class:`IntegerMLP` as JSON."""
    return atomic_write(path, json.dumps(im.to_json()))


def example_model() -> IntegerMLP:
    """The paper's picture example: a hand-set 4-bit MLP, 2 inputs → 2 hidden → 2 classes."""
    t = np.array([[2 * v for v in range(1, 16)]] * 2, dtype=np.int64)  # h = clamp(floor(acc / 2), 0, 15)
    l0 = IntLayer(np.array([[3, -2], [-1, 2]]), np.ones((2, 2), bool), 4, False, 4, False, t, None, "hidden")
    l1 = IntLayer(
        np.array([[2, -1], [-1, 3]]), np.ones((2, 2), bool), 4, False, None, True, None, np.array([1, 0]), "out"
    )
    return IntegerMLP([l0, l1], 4, False, 1 / 15, 2, {"example": "4-bit 2-2-2"}).validate()


def as_integer_model(model) -> IntegerMLP:
    """The exact integer model of ``model``: an :class:`IntegerMLP` as it is, a trained QuantMLP/QuantCNN folded."""
    if isinstance(model, IntegerMLP):
        return model.validate()
    fold = getattr(model, "integer_model", None)
    if callable(fold):
        return fold()
    raise QuantError(f"expected a QuantMLP or IntegerMLP, got {type(model).__name__}")
