"""Quantization-aware training of fixed-point MLPs, and their exact integer inference model.

:class:`QuantMLP` trains with fake-quantized weights and activations (straight-through
estimators, learned activation step sizes as in LSQ) and optional per-neuron fan-in masks (each
neuron reads ``F`` inputs, as in LogicNets/PolyLUT). :meth:`QuantMLP.integer_model` folds the
batch norm, the bias and the activation quantizer of every layer into integer weights plus integer
*thresholds*, giving an :class:`IntegerMLP` whose arithmetic is exact: a hidden neuron computes
``acc = sum_i w_i * q_i`` over its integer input codes and outputs ``qmin + #{k : acc >= t_k}``;
the last layer outputs raw integer class scores ``acc + bias`` (or threshold codes when
``out_bits`` is set). That integer model is the *definition* of the quantized network: both
compile routes reproduce it bit for bit, and "quantized accuracy" is its accuracy.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lutnn.errors import LutnnError
from lutnn.fileio import atomic_write, check_readable

__all__ = [
    "IntLayer",
    "IntegerMLP",
    "QuantError",
    "QuantMLP",
    "code_range",
    "evaluate",
    "load_quant_model",
    "quantize_codes",
    "save_quant_model",
    "train_qat",
]


class QuantError(LutnnError):
    """A quantized model or its configuration cannot be built, trained or compiled as given."""


def code_range(bits: int, signed: bool) -> tuple[int, int]:
    """Smallest and largest integer code of a ``bits``-wide fixed-point value."""
    if signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def _round_ste(x: torch.Tensor) -> torch.Tensor:
    return x + (torch.round(x) - x).detach()


def quantize_codes(x: np.ndarray | torch.Tensor, scale: float, bits: int, signed: bool) -> np.ndarray:
    """Float values → integer codes ``clamp(round(x / scale))``, the input quantizer's exact rule."""
    a = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    a = a.astype(np.float64)
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


# ----------------------------------------------------------------------------- torch modules
class ActQuant(nn.Module):
    """Uniform activation quantizer with a learned step (LSQ-style STE): ``s * clamp(round(x/s))``."""

    def __init__(self, bits: int, signed: bool, init_range: float = 3.0) -> None:
        super().__init__()
        self.bits, self.signed = bits, signed
        lo, hi = code_range(bits, signed)
        self.qmin, self.qmax = lo, hi
        self.log_scale = nn.Parameter(torch.tensor(math.log(init_range / max(1, hi))))

    @property
    def scale(self) -> torch.Tensor:
        return self.log_scale.exp()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.scale
        return _round_ste(torch.clamp(x / s, self.qmin, self.qmax)) * s


def _quant_weight(w: torch.Tensor, bits: int, per_channel: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Fake-quantized weights and their scale (symmetric, narrow range; 1 bit = sign × mean|w|)."""
    if bits == 1:
        s = w.abs().mean(dim=1, keepdim=True) if per_channel else w.abs().mean().reshape(1, 1)
        s = s.clamp_min(1e-8)
        q = torch.where(w >= 0, torch.ones_like(w), -torch.ones_like(w))
        q = w / s + (q - w / s).detach()
        return q * s, s
    qmax = (1 << (bits - 1)) - 1
    m = w.abs().amax(dim=1, keepdim=True) if per_channel else w.abs().amax().reshape(1, 1)
    s = (m / qmax).clamp_min(1e-8).detach()
    q = _round_ste(torch.clamp(w / s, -qmax, qmax))
    return q * s, s


class QuantLinear(nn.Module):
    """A fan-in-masked linear layer with fixed-point weights (per-neuron scale), bias and optional BN."""

    def __init__(
        self,
        n_in: int,
        n_out: int,
        w_bits: int,
        fan_in: int | None,
        batchnorm: bool,
        per_channel: bool,
        gen: torch.Generator,
    ) -> None:
        super().__init__()
        self.n_in, self.n_out, self.w_bits, self.per_channel = n_in, n_out, w_bits, per_channel
        self.linear = nn.Linear(n_in, n_out)
        fan = n_in if fan_in is None else fan_in
        if not 1 <= fan <= n_in:
            raise QuantError(f"fan-in {fan} is out of range 1..{n_in} for a layer with {n_in} inputs")
        self.fan_in = fan
        mask = torch.zeros(n_out, n_in, dtype=torch.bool)
        if fan == n_in:
            mask[:] = True
        else:
            for o in range(n_out):
                mask[o, torch.randperm(n_in, generator=gen)[:fan]] = True
            with torch.no_grad():
                self.linear.weight.mul_(math.sqrt(n_in / fan))
        self.register_buffer("mask", mask)
        self.bn = nn.BatchNorm1d(n_out) if batchnorm else None

    def quant_weight(self) -> tuple[torch.Tensor, torch.Tensor]:
        return _quant_weight(self.linear.weight * self.mask, self.w_bits, self.per_channel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        wq, _ = self.quant_weight()
        z = F.linear(x, wq * self.mask, self.linear.bias)
        return self.bn(z) if self.bn is not None else z

    @torch.no_grad()
    def learn_mask(self, fan_in: int, keep: int | None = None) -> None:
        """Keep each neuron's ``keep`` (default ``fan_in``) largest-magnitude weights (a learned fan-in mask).

        ``keep > fan_in`` is an intermediate step of gradual pruning: the layer's fan-in is still open.
        """
        keep = fan_in if keep is None else max(fan_in, min(int(keep), self.n_in))
        w = (self.linear.weight * self.mask).abs()
        idx = w.topk(keep, dim=1).indices
        m = torch.zeros_like(self.mask)
        m.scatter_(1, idx, True)
        self.mask.copy_(m)
        self.fan_in = keep


def _per_layer(v, n: int, what: str) -> list:
    if isinstance(v, (list, tuple)):
        if len(v) != n:
            raise QuantError(f"{what} lists {len(v)} values but the network has {n} layers; give one per layer")
        return list(v)
    return [v] * n


class QuantMLP(nn.Module):
    """A fixed-point MLP: quantized input, masked fixed-point linear layers, quantized activations.

    Args:
        in_features, hidden, n_classes: layer widths.
        in_bits / in_signed / in_scale: the input quantizer (codes ``clamp(round(x / in_scale))``).
        w_bits: weight bits per layer (int or list, 1..8); the last layer uses one scale for all
            classes so that raw scores stay comparable.
        act_bits / act_signed: hidden activation bits per hidden layer (1..8); unsigned = ReLU.
        fan_in: inputs per neuron per layer (None = dense), chosen at random (``mask="random"``)
            or by weight magnitude after a dense warm-up (``mask="learned"``, see :func:`train_qat`).
        out_bits: None = raw integer class scores; an int quantizes the scores too (LogicNets-style).
        batchnorm: batch norm after each hidden layer (folded into thresholds by ``integer_model``).
    """

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int],
        n_classes: int,
        in_bits: int = 4,
        in_signed: bool = False,
        in_scale: float = 1.0 / 15,
        w_bits: int | Sequence[int] = 4,
        act_bits: int | Sequence[int] = 4,
        act_signed: bool | Sequence[bool] = False,
        fan_in: int | Sequence[int | None] | None = None,
        out_bits: int | None = None,
        batchnorm: bool = True,
        mask: str = "random",
        seed: int = 0,
    ) -> None:
        super().__init__()
        n_layers = len(hidden) + 1
        self.config = {
            "in_features": in_features,
            "hidden": list(hidden),
            "n_classes": n_classes,
            "in_bits": in_bits,
            "in_signed": in_signed,
            "in_scale": float(in_scale),
            "w_bits": w_bits if isinstance(w_bits, int) else list(w_bits),
            "act_bits": act_bits if isinstance(act_bits, int) else list(act_bits),
            "act_signed": act_signed if isinstance(act_signed, bool) else list(act_signed),
            "fan_in": fan_in if (fan_in is None or isinstance(fan_in, int)) else list(fan_in),
            "out_bits": out_bits,
            "batchnorm": batchnorm,
            "mask": mask,
            "seed": seed,
        }
        if mask not in ("random", "learned"):
            raise QuantError(f"mask must be 'random' or 'learned', got {mask!r}")
        if in_features < 1 or n_classes < 1 or any(h < 1 for h in hidden):
            raise QuantError("layer widths must be positive")
        if not (isinstance(in_scale, (int, float)) and math.isfinite(in_scale) and in_scale > 0):
            raise QuantError(f"in_scale must be a positive finite number, got {in_scale!r}")
        wb = _per_layer(w_bits, n_layers, "w_bits")
        ab = _per_layer(act_bits, len(hidden), "act_bits") if hidden else []
        asg = _per_layer(act_signed, len(hidden), "act_signed") if hidden else []
        fi = _per_layer(fan_in, n_layers, "fan_in")
        for name, vals in (("w_bits", wb), ("act_bits", ab), ("in_bits", [in_bits])):
            for li, b in enumerate(vals):
                if not (isinstance(b, int) and 1 <= b <= 8):
                    raise QuantError(f"{name} of layer {li} is {b!r}; bit-widths must be integers 1..8")
        if out_bits is not None and not 1 <= out_bits <= 8:
            raise QuantError(f"out_bits is {out_bits}; use 1..8 or None for raw scores")
        self.fan_in_target = fi
        self.in_bits, self.in_signed, self.in_scale = in_bits, in_signed, float(in_scale)
        gen = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        widths = [in_features, *hidden, n_classes]
        self.layers = nn.ModuleList()
        self.acts = nn.ModuleList()
        for li in range(n_layers):
            last = li == n_layers - 1
            f = fi[li]
            if f is not None and f > widths[li]:
                raise QuantError(f"layer {li}: fan-in {f} exceeds its {widths[li]} inputs; lower fan_in")
            start_fan = None if mask == "learned" else f
            self.layers.append(
                QuantLinear(
                    widths[li], widths[li + 1], wb[li], start_fan, batchnorm and not last, per_channel=not last, gen=gen
                )
            )
            if not last:
                self.acts.append(ActQuant(ab[li], asg[li]))
        self.out_act = ActQuant(out_bits, True, init_range=8.0) if out_bits is not None else None

    def input_quant(self, x: torch.Tensor) -> torch.Tensor:
        lo, hi = code_range(self.in_bits, self.in_signed)
        return torch.clamp(torch.round(x / self.in_scale), lo, hi) * self.in_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Fake-quantized float forward pass (for training); returns class scores."""
        h = self.input_quant(x)
        for li, layer in enumerate(self.layers):
            h = layer(h)
            if li < len(self.acts):
                h = self.acts[li](h)
        return self.out_act(h) if self.out_act is not None else h

    def apply_learned_masks(self, progress: float = 1.0) -> None:
        """Switch every layer with a fan-in target to its top-|w| mask (end of the dense warm-up).

        ``progress`` < 1 prunes part-way on a cubic schedule (Zhu & Gupta's gradual pruning): each
        neuron keeps ``fan + (n_in - fan) * (1 - progress)**3`` inputs; 1 reaches the target fan-in.
        """
        for layer, f in zip(self.layers, self.fan_in_target, strict=True):
            if f is not None and f < layer.n_in:
                keep = f + round((layer.n_in - f) * (1.0 - min(1.0, progress)) ** 3)
                layer.learn_mask(f, keep)

    @torch.no_grad()
    def integer_model(self) -> IntegerMLP:
        """Fold weights, bias, BN and activation quantizers into the exact :class:`IntegerMLP`."""
        self.eval()
        layers = self._dense_int_layers(self.in_scale, self.in_bits, self.in_signed)
        return IntegerMLP(
            layers, self.in_bits, self.in_signed, self.in_scale, self.config["n_classes"], {"config": self.config}
        ).validate()

    @torch.no_grad()
    def _dense_int_layers(self, s_in: float, in_bits: int, in_signed: bool, prefix: str = "layer ") -> list[IntLayer]:
        """Integer layers of the dense stack, fed codes of step ``s_in`` (the input, or a conv front end)."""
        layers: list[IntLayer] = []
        n = len(self.layers)
        for li, layer in enumerate(self.layers):
            nm = f"{prefix}{li}"
            if not torch.isfinite(layer.linear.weight).all() or (
                layer.linear.bias is not None and not torch.isfinite(layer.linear.bias).all()
            ):
                raise QuantError(f"{nm}: weights or bias are NaN/inf; retrain with a lower learning rate")
            wq, sw = layer.quant_weight()
            sw = sw.double().reshape(-1).expand(layer.n_out).numpy().copy()
            w_int = torch.round((wq * layer.mask).double() / torch.from_numpy(sw)[:, None]).numpy().astype(np.int64)
            w_int[~layer.mask.numpy()] = 0
            A, B = affine_fold(s_in * sw, layer.linear.bias, layer.bn, layer.n_out, nm)
            mask = layer.mask.numpy().copy()
            act = self.acts[li] if li < n - 1 else self.out_act
            if act is None:
                layers.append(fold_affine_layer(w_int, mask, A, B, in_bits, in_signed, None, name=nm))
                break
            layers.append(
                fold_affine_layer(
                    w_int, mask, A, B, in_bits, in_signed, (float(act.scale), act.bits, act.signed), name=nm
                )
            )
            s_in, in_bits, in_signed = float(act.scale), act.bits, act.signed
        return layers


def affine_fold(
    A: np.ndarray, bias: torch.Tensor | None, bn: nn.Module | None, n_out: int, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Per-output ``(A, B)`` with ``y = A * acc + B``: input step x weight step ``A``, then bias and batch norm."""
    b = bias.double().numpy() if bias is not None else np.zeros(n_out)
    A = np.asarray(A, dtype=np.float64)
    B = b.copy()
    if bn is not None:
        g = bn.weight.double().numpy() / np.sqrt(bn.running_var.double().numpy() + bn.eps)
        A = A * g
        B = g * (b - bn.running_mean.double().numpy()) + bn.bias.double().numpy()
    if not (np.isfinite(A).all() and np.isfinite(B).all()):
        raise QuantError(f"{name}: batch-norm statistics are NaN/inf; retrain with a lower learning rate")
    return A, B


# ----------------------------------------------------------------------------- training
def _as_tensor(x) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    if not torch.isfinite(t).all():
        raise QuantError("training data contains NaN or inf")
    return t


def evaluate(model: QuantMLP, x: np.ndarray, y: np.ndarray, batch: int = 4096) -> float:
    """Accuracy of the float fake-quantized model."""
    model.eval()
    xt = _as_tensor(x)
    correct = 0
    with torch.no_grad():
        for i in range(0, len(xt), batch):
            correct += int((model(xt[i : i + batch]).argmax(1).numpy() == np.asarray(y[i : i + batch])).sum())
    return correct / max(1, len(xt))


def train_qat(
    model: QuantMLP,
    x: np.ndarray,
    y: np.ndarray,
    epochs: int = 20,
    lr: float = 1e-2,
    batch_size: int = 128,
    weight_decay: float = 0.0,
    warmup_epochs: int = 2,
    prune_epochs: int = 0,
    x_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    progress: bool = True,
    seed: int = 0,
    augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
) -> list[dict]:
    """Quantization-aware training with Adam and a cosine schedule; returns per-epoch history.

    With ``mask="learned"`` the first ``warmup_epochs`` train dense, then each neuron keeps its
    ``fan_in`` largest weights: at once, or over ``prune_epochs`` epochs on a cubic schedule (gradual
    magnitude pruning, which lets the surviving weights adapt while the mask narrows).
    ``augment(batch, generator)`` transforms each training batch (e.g. random image shifts).
    """
    xt, yt = _as_tensor(x), torch.as_tensor(np.asarray(y), dtype=torch.long)
    if xt.ndim != 2 or xt.shape[1] != model.config["in_features"]:
        raise QuantError(
            f"training data has shape {tuple(xt.shape)}; the model expects [N, {model.config['in_features']}]"
        )
    if len(yt) != len(xt):
        raise QuantError(f"{len(xt)} samples but {len(yt)} labels")
    if len(yt) and (yt.min() < 0 or yt.max() >= model.config["n_classes"]):
        raise QuantError(f"labels must lie in 0..{model.config['n_classes'] - 1}")
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps = max(1, epochs * math.ceil(len(xt) / batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    g = torch.Generator().manual_seed(seed)
    hist = []
    learned = model.config["mask"] == "learned"
    from rich.progress import Progress

    first, span = min(warmup_epochs, max(0, epochs - 1)), max(1, prune_epochs)  # the mask schedule's epochs
    with Progress(disable=not progress) as bar:
        task = bar.add_task("QAT", total=epochs)
        for ep in range(epochs):
            if learned and first <= ep < first + span:
                model.apply_learned_masks((ep - first + 1) / span)
            model.train()
            perm = torch.randperm(len(xt), generator=g)
            tot = 0.0
            for i in range(0, len(xt), batch_size):
                idx = perm[i : i + batch_size]
                if len(idx) < 2:
                    continue
                xb = xt[idx] if augment is None else augment(xt[idx], g)
                loss = F.cross_entropy(model(xb), yt[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                tot += float(loss.detach()) * len(idx)
            rec = {"epoch": ep + 1, "loss": tot / len(xt)}
            if x_val is not None and y_val is not None:
                rec["val_acc"] = evaluate(model, x_val, y_val)
            hist.append(rec)
            if progress:
                shown = "  ".join(f"{k} {v:.4f}" for k, v in rec.items() if k != "epoch")
                bar.update(task, advance=1, description=f"QAT  {shown}")
    if learned and epochs < warmup_epochs + span:
        model.apply_learned_masks()  # the schedule did not finish: reach the target fan-in
    model.eval()
    return hist


def shift_augment(shape: tuple[int, int]) -> Callable[[torch.Tensor, torch.Generator], torch.Tensor]:
    """A ``train_qat`` augmentation: random ±1-pixel shifts (zero fill) of half of each batch of ``shape`` images."""
    h, w = shape

    def aug(xb: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        from lutnn.train import shift_half

        if xb.shape[1] != h * w:
            raise QuantError(f"shift augmentation needs {h}x{w} = {h * w} features per image, got {xb.shape[1]}")
        return shift_half(xb, (h, w), gen)

    return aug


# ----------------------------------------------------------------------------- files
def save_quant_model(model: QuantMLP, path: str | Path, data: dict | None = None) -> Path:
    """Save config + weights (``.pt``) so ``lutnn compile`` can rebuild the model; ``data``: its dataset config."""
    import io

    buf = io.BytesIO()
    torch.save(
        {
            "format": getattr(model, "FORMAT", "lutnn.QuantMLP/1"),
            "config": model.config,
            "state_dict": model.state_dict(),
            "data": data,
        },
        buf,
    )
    return atomic_write(path, buf.getvalue())


def load_quant_model(path: str | Path) -> QuantMLP | IntegerMLP:
    """Load a ``.pt`` QuantMLP or a ``.json`` IntegerMLP (what ``lutnn compile`` accepts)."""
    p = check_readable(path, "model file")
    if p.suffix == ".json":
        try:
            return IntegerMLP.from_json(json.loads(p.read_text()))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            raise QuantError(f"{p}: not a valid lutnn integer model ({e})") from None
    try:
        d = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:
        raise QuantError(
            f"{p}: cannot read the model ({type(e).__name__}); give a .pt from `lutnn qat` or a .json"
        ) from None
    fmt = d.get("format") if isinstance(d, dict) else None
    if fmt == "lutnn.QuantCNN/1":
        from lutnn.nn.quant_conv import QuantCNN as cls
    elif fmt == "lutnn.QuantMLP/1":
        cls = QuantMLP
    else:
        raise QuantError(f"{p}: not a lutnn QuantMLP/QuantCNN checkpoint (train one with `lutnn qat`)")
    cfg = dict(d["config"])
    mask = cfg.pop("mask")
    m = cls(**cfg, mask="random")
    m.config["mask"] = mask
    m.load_state_dict(d["state_dict"])
    m.data_config = d.get("data")  # the [data] table it was trained with (None for older files)
    m.eval()
    return m


def save_integer_model(im: IntegerMLP, path: str | Path) -> Path:
    """Write an :class:`IntegerMLP` as JSON."""
    return atomic_write(path, json.dumps(im.to_json()))


__all__ += ["ActQuant", "QuantLinear", "save_integer_model"]


# ----------------------------------------------------------------------------- small fixtures
def example_model() -> IntegerMLP:
    """The paper's picture example: a hand-set 4-bit MLP, 2 inputs → 2 hidden → 2 classes."""
    t = np.array([[2 * v for v in range(1, 16)]] * 2, dtype=np.int64)  # h = clamp(floor(acc / 2), 0, 15)
    l0 = IntLayer(np.array([[3, -2], [-1, 2]]), np.ones((2, 2), bool), 4, False, 4, False, t, None, "hidden")
    l1 = IntLayer(
        np.array([[2, -1], [-1, 3]]), np.ones((2, 2), bool), 4, False, None, True, None, np.array([1, 0]), "out"
    )
    return IntegerMLP([l0, l1], 4, False, 1 / 15, 2, {"example": "4-bit 2-2-2"}).validate()


def synthetic_jsc(n: int = 20000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A stand-in with JSC's layout (16 standardised features, 5 classes; 80/20 split) for testing the flow."""
    if n < 10:
        raise QuantError(f"synthetic_jsc needs at least 10 samples, got {n}")
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 0.9, size=(5, 16))
    mix = rng.normal(0, 0.35, size=(16, 16)) + np.eye(16)
    y = rng.integers(0, 5, size=n)
    x = means[y] + rng.normal(size=(n, 16)) @ mix
    x = np.tanh(x / 2) * 2 + 0.1 * x  # a little non-linearity, as the real features have
    x = (x - x.mean(0)) / x.std(0)
    cut = int(0.8 * n)
    return x[:cut].astype(np.float32), y[:cut], x[cut:].astype(np.float32), y[cut:]


__all__ += ["affine_fold", "example_model", "fold_affine_layer", "synthetic_jsc"]
