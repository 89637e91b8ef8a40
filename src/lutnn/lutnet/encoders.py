"""Input side of a LUT network: raw features → integers on a fixed-point bus → 0/1 input bits.

Two steps, both exact and both exported to hardware:

1. :class:`FeatureQuantizer` maps each raw feature to an unsigned integer ``q`` of ``width``
   bits: ``q = clip(floor((x - offset) / step), 0, 2**width - 1)``. Integer-valued data
   (digits 0..16, MNIST 0..255) keeps its values (offset 0, step 1). This map is what the
   report's hardware interface documents: drive ``design.v`` with ``q``.
2. An encoder turns ``q`` into bits. :class:`Thermometer` (``q >= threshold`` for uniform or
   quantile thresholds, optionally moved by training; in hardware one comparator per bit),
   :class:`BinaryCode` (the bits of ``q``: wires) and :class:`GrayCode` (``q ^ (q >> 1)``: one
   XOR per bit).

Every encoder computes its bits from integer tensors, so PyTorch and the netlist see the same
values by construction.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from lutnn import circuits
from lutnn.errors import LutnnError
from lutnn.netlist import NetlistBuilder
from lutnn.quantizer import FeatureQuantizer

__all__ = ["ENCODERS", "BinaryCode", "Encoder", "FeatureQuantizer", "GrayCode", "Thermometer", "make_encoder"]


class Encoder(nn.Module):
    """Base: integer bus values ``[B, F]`` → 0/1 bits ``[B, n_bits]`` (float), plus its circuit."""

    n_features: int
    width: int

    @property
    def n_bits(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def bit_feature(self) -> np.ndarray:
        """Which feature each output bit comes from (used for locality-aware connectivity)."""
        raise NotImplementedError  # pragma: no cover

    def build(self, b: NetlistBuilder, buses: list[np.ndarray]) -> np.ndarray:
        """Add the encoder's circuit reading ``buses[f]`` (feature f's bits); returns its output signals."""
        raise NotImplementedError  # pragma: no cover

    def spec(self) -> dict:
        """The exact bit map as plain JSON (report.json), so prediction can encode without torch."""
        raise NotImplementedError  # pragma: no cover

    def _check(self, q: torch.Tensor) -> None:
        if q.dim() != 2 or q.shape[1] != self.n_features:
            raise LutnnError(f"encoder: expected [batch, {self.n_features}] integer features, got {tuple(q.shape)}")


class Thermometer(Encoder):
    """``bit = (q >= threshold)`` for a sorted list of integer thresholds per feature.

    ``thresholds`` is a list (one per feature) of increasing integers in ``1..2**width-1``;
    :meth:`uniform` spreads them evenly over the range, :meth:`quantile` puts them at the
    training data's quantiles (DWN's distributive thermometer).

    ``learn=True`` makes each threshold trainable: a real offset per bit moves it, the forward
    pass always compares against the integer nearest ``threshold + offset`` (clipped to the bus
    range), so PyTorch, the netlist and the Verilog stay bit-exact, and in training the bit's
    gradient reaches the offset through a sigmoid of width ``temperature`` bus steps centred
    between the two bus values it separates (a straight-through estimator).
    """

    def __init__(self, thresholds: list[np.ndarray], width: int, learn: bool = False, temperature: float = 1.0) -> None:
        super().__init__()
        self.n_features = len(thresholds)
        self.width = width
        feat, val = [], []
        for f, t in enumerate(thresholds):
            t = np.unique(np.asarray(t, dtype=np.int64))
            t = t[(t >= 1) & (t <= (1 << width) - 1)]  # q >= 0 is always true, q >= 2**w never
            feat.extend([f] * len(t))
            val.extend(t.tolist())
        if not feat:
            raise LutnnError(
                "thermometer encoder has no useful thresholds (constant features?); use more levels or other features"
            )
        if temperature <= 0:
            raise LutnnError(f"thermometer temperature={temperature} must be > 0 (bus steps)")
        self.register_buffer("feat", torch.tensor(feat, dtype=torch.long))
        self.register_buffer("thr", torch.tensor(val, dtype=torch.long))
        self.learn = learn
        self.temperature = float(temperature)
        if learn:
            self.offset = nn.Parameter(torch.zeros(len(val)))

    def thresholds(self) -> torch.Tensor:
        """The integer thresholds in use, ``int64 [n_bits]``: learned ones rounded to nearest, in ``1..2**width-1``."""
        if not self.learn:
            return self.thr
        t = torch.floor(self.thr.to(torch.float64) + self.offset.detach().to(torch.float64) + 0.5)
        return t.clamp(1, (1 << self.width) - 1).to(torch.long)

    @staticmethod
    def uniform(n_features: int, width: int, levels: int) -> Thermometer:
        """``levels`` thresholds per feature, evenly spaced over ``1 .. 2**width - 1``."""
        top = (1 << width) - 1
        if levels < 1:
            raise LutnnError(f"thermometer levels={levels} must be >= 1")
        t = np.unique(np.floor(np.linspace(0, top + 1, levels + 2)[1:-1] + 0.5).astype(np.int64))
        return Thermometer([t] * n_features, width)

    @staticmethod
    def quantile(q_train: np.ndarray, width: int, levels: int, min_frac: float = 0.0) -> Thermometer:
        """Thresholds at the training data's quantiles (equal-mass bins), per feature.

        ``min_frac > 0`` drops thresholds whose bit is 1 (or 0) on fewer than that fraction of
        the training samples: nearly constant bits carry no information but cost a comparator.
        """
        if levels < 1:
            raise LutnnError(f"thermometer levels={levels} must be >= 1")
        if not 0 <= min_frac < 0.5:
            raise LutnnError(f"encoder.min_frac={min_frac} must be in [0, 0.5)")
        qs = np.linspace(0, 1, levels + 2)[1:-1]
        ths = []
        for f in range(q_train.shape[1]):
            col = q_train[:, f]
            # a threshold at or below the minimum is always true: move it just above (zero vs non-zero)
            t = np.unique(np.maximum(np.ceil(np.quantile(col, qs, method="linear")), col.min() + 1).astype(np.int64))
            ths.append(_informative(col, t, min_frac))
        return Thermometer(ths, width)

    @staticmethod
    def pooled_quantile(q_train: np.ndarray, width: int, levels: int, min_frac: float = 0.0) -> Thermometer:
        """The same thresholds for every feature, at the quantiles of all features' non-minimum values pooled.

        Suits images with shift augmentation: a bit means the same on every pixel. ``min_frac``
        as in :meth:`quantile`.
        """
        if levels < 1:
            raise LutnnError(f"thermometer levels={levels} must be >= 1")
        if not 0 <= min_frac < 0.5:
            raise LutnnError(f"encoder.min_frac={min_frac} must be in [0, 0.5)")
        vals = np.asarray(q_train).reshape(-1)
        nz = vals[vals > vals.min()]
        if len(nz) == 0:
            raise LutnnError("pooled quantile encoder: every training value is the same; use other features")
        qs = np.linspace(0, 1, levels + 1)[:-1]  # the first threshold separates the minimum from the rest
        t = np.unique(np.maximum(np.ceil(np.quantile(nz, qs, method="linear")), vals.min() + 1).astype(np.int64))
        return Thermometer([_informative(q_train[:, f], t, min_frac) for f in range(q_train.shape[1])], width)

    @property
    def n_bits(self) -> int:
        return len(self.thr)

    def per_feature(self) -> list[np.ndarray]:
        """The integer thresholds in use, one array per feature (what the constructor takes)."""
        feat, thr = self.feat.cpu().numpy(), self.thresholds().cpu().numpy()
        return [np.sort(thr[feat == f]) for f in range(self.n_features)]

    def bit_feature(self) -> np.ndarray:
        return self.feat.cpu().numpy()

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        self._check(q)
        qf = q[:, self.feat]
        hard = (qf >= self.thresholds()[None, :]).float()
        if not (self.learn and self.training and torch.is_grad_enabled()):
            return hard
        return _SoftStep.apply(hard, qf, self.thr + self.offset, self.temperature)

    def build(self, b: NetlistBuilder, buses: list[np.ndarray]) -> np.ndarray:
        feat, thr = self.feat.tolist(), self.thresholds().tolist()
        cache: dict[tuple[int, int], int] = {}  # two learned thresholds may meet: one comparator
        out = []
        for f, t in zip(feat, thr, strict=True):
            if (f, t) not in cache:
                cache[f, t] = circuits.ge_const(b, buses[f], t)
            out.append(cache[f, t])
        return np.array(out, dtype=np.int64)

    def spec(self) -> dict:
        """``bit i = (q[feature[i]] >= threshold[i])``, thresholds as used in hardware."""
        return {
            "kind": "thermometer",
            "width": int(self.width),
            "feature": [int(v) for v in self.feat.tolist()],
            "threshold": [int(v) for v in self.thresholds().tolist()],
        }

    def describe(self) -> dict:
        d = {"kind": "thermometer", "bits": self.n_bits}
        if self.learn:
            t = self.thresholds()
            distinct = len(set(zip(self.feat.tolist(), t.tolist(), strict=True)))
            d.update(learned=True, moved=int((t != self.thr).sum()), distinct=distinct)
        return d


class _SoftStep(torch.autograd.Function):
    """Forward: the hard bits, exactly; backward: the gradient of ``sigmoid((q − t + ½) / T)`` to ``t``.

    Threshold ``t`` (real) compares as its nearest integer, so the bit flips between ``q = round(t) − 1``
    and ``round(t)``: the soft step is centred half a bus step below ``t``.
    """

    @staticmethod
    def forward(ctx, hard: torch.Tensor, q: torch.Tensor, t: torch.Tensor, temperature: float) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(q, t)
        ctx.temperature = temperature
        return hard

    @staticmethod
    def backward(ctx, g: torch.Tensor):  # type: ignore[override]
        q, t = ctx.saved_tensors
        s = torch.sigmoid((q.to(t.dtype) - t[None, :] + 0.5) / ctx.temperature)
        gt = -(g * s * (1 - s)).sum(0) / ctx.temperature
        return None, None, gt, None


def _informative(col: np.ndarray, t: np.ndarray, min_frac: float) -> np.ndarray:
    """The thresholds of ``t`` whose bit ``col >= t`` is 1 on at least ``min_frac`` and at most ``1 - min_frac`` of ``col``."""
    if min_frac <= 0:
        return t
    ones = (col[:, None] >= t[None, :]).mean(axis=0)
    return t[(ones >= min_frac) & (ones <= 1 - min_frac)]


class BinaryCode(Encoder):
    """The ``width`` bits of each feature's integer, LSB first: free in hardware (wires)."""

    def __init__(self, n_features: int, width: int) -> None:
        super().__init__()
        self.n_features = n_features
        self.width = width
        self.register_buffer("shifts", torch.arange(width, dtype=torch.long))

    @property
    def n_bits(self) -> int:
        return self.n_features * self.width

    def bit_feature(self) -> np.ndarray:
        return np.repeat(np.arange(self.n_features), self.width)

    def code(self, q: torch.Tensor) -> torch.Tensor:
        return q

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        self._check(q)
        c = self.code(q.long())
        return ((c[:, :, None] >> self.shifts[None, None, :]) & 1).reshape(q.shape[0], -1).float()

    def build(self, b: NetlistBuilder, buses: list[np.ndarray]) -> np.ndarray:
        return np.concatenate([np.asarray(x, dtype=np.int64) for x in buses])

    def spec(self) -> dict:
        """Each feature's ``width`` code bits, LSB first (binary: ``q``; gray: ``q ^ (q >> 1)``)."""
        return {"kind": self.describe()["kind"], "width": int(self.width), "features": int(self.n_features)}

    def describe(self) -> dict:
        return {"kind": "binary", "bits": self.n_bits}


class GrayCode(BinaryCode):
    """Reflected Gray code of each integer (``q ^ (q >> 1)``): neighbours differ in one bit."""

    def code(self, q: torch.Tensor) -> torch.Tensor:
        return q ^ (q >> 1)

    def build(self, b: NetlistBuilder, buses: list[np.ndarray]) -> np.ndarray:
        out = []
        for x in buses:
            x = [int(s) for s in x]
            out.extend([b.xor(x[i], x[i + 1]) for i in range(len(x) - 1)] + [x[-1]])
        return np.asarray(out, dtype=np.int64)

    def describe(self) -> dict:
        return {"kind": "gray", "bits": self.n_bits}


ENCODERS = ("thermometer", "quantile", "pooled", "binary", "gray")


def make_encoder(
    kind: str,
    q_train: np.ndarray,
    width: int,
    levels: int = 8,
    min_frac: float = 0.0,
    learn: bool = False,
    temperature: float = 1.0,
) -> Encoder:
    """Encoder by name: ``thermometer`` (uniform), ``quantile`` (distributive thermometer), ``binary``, ``gray``.

    ``min_frac`` (quantile only): drop thresholds that are 1 (or 0) on fewer than that fraction of training samples.
    ``learn`` (thermometer kinds only): the thresholds start there and are then trained (see :class:`Thermometer`).
    """
    f = q_train.shape[1]
    if learn and kind not in ("thermometer", "quantile", "pooled"):
        raise LutnnError(f"encoder.learn needs a thermometer kind (thermometer, quantile, pooled), not {kind!r}")
    enc: Thermometer | None = None
    if kind == "thermometer":
        enc = Thermometer.uniform(f, width, levels)
    elif kind == "quantile":
        enc = Thermometer.quantile(q_train, width, levels, min_frac)
    elif kind == "pooled":
        enc = Thermometer.pooled_quantile(q_train, width, levels, min_frac)
    if enc is not None:
        return Thermometer(enc.per_feature(), width, learn, temperature) if learn else enc
    if kind == "binary":
        return BinaryCode(f, width)
    if kind == "gray":
        return GrayCode(f, width)
    raise LutnnError(f"unknown encoder {kind!r}; choose one of {ENCODERS}")
