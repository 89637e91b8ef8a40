"""Raw features → unsigned integers on fixed-point buses: the input map a LUT network's hardware is driven with.

``q = clip(floor((x - offset) / step), 0, 2**width - 1)`` per feature; integer-valued data
(digits 0..16, MNIST 0..255) keep their values. numpy only: prediction and export need no torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lutnn.errors import LutnnError

__all__ = ["MAX_BUS_WIDTH", "FeatureQuantizer"]

MAX_BUS_WIDTH = 24


@dataclass
class FeatureQuantizer:
    """Per-feature affine quantizer to unsigned integers (the hardware's input buses).

    Attributes:
        offset, step: ``float64 [F]``; ``q = clip(floor((x - offset) / step), 0, 2**width - 1)``.
        width: bits per feature bus (the same for every feature).
        identity: True when the raw data are already the integers (offset 0, step 1).
    """

    offset: np.ndarray
    step: np.ndarray
    width: int
    identity: bool = False

    @staticmethod
    def fit(x: np.ndarray, width: int | None = None) -> FeatureQuantizer:
        """Choose the map from training data: integer data keep their values; floats span min..max."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] == 0:
            raise LutnnError(f"quantizer: expected a non-empty [samples, features] array, got shape {x.shape}")
        if not np.isfinite(x).all():
            raise LutnnError("quantizer: training features contain NaN or inf; clean or impute them first")
        f = x.shape[1]
        if width is not None and not 1 <= width <= MAX_BUS_WIDTH:
            raise LutnnError(f"quantizer: encoder.width={width} must be in 1..{MAX_BUS_WIDTH} bits")
        lo, hi = x.min(axis=0), x.max(axis=0)
        is_int = bool(np.all(x == np.round(x)) and lo.min() >= 0)
        if is_int and (width is None or (1 << width) > hi.max()):
            need = max(1, int(hi.max()).bit_length())
            w = need if width is None else width
            if w > MAX_BUS_WIDTH:
                raise LutnnError(
                    f"quantizer: integer features up to {int(hi.max())} need {w} bits (> {MAX_BUS_WIDTH}); rescale them or set encoder.width"
                )
            return FeatureQuantizer(np.zeros(f), np.ones(f), w, identity=True)
        if is_int and width is not None:
            # integers wider than the bus keep their top ``width`` bits (q = x >> s: wires in hardware)
            shift = int(hi.max()).bit_length() - int(width)
            return FeatureQuantizer(np.zeros(f), np.full(f, float(1 << shift)), int(width))
        w = 8 if width is None else int(width)
        span = np.where(hi > lo, hi - lo, 1.0)
        step = span / (1 << w)
        # a tiny widening keeps the maximum inside the top code under floating-point rounding
        return FeatureQuantizer(lo.copy(), step * (1 + 1e-9), w)

    @property
    def n_features(self) -> int:
        return len(self.offset)

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Raw ``[N, F]`` features → ``int64 [N, F]`` bus values; NaN/inf or a wrong width raise."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise LutnnError(
                f"expected {self.n_features} features per sample, got array of shape {x.shape}; "
                "feed the same features the model was trained on"
            )
        if not np.isfinite(x).all():
            bad = int(np.argwhere(~np.isfinite(x))[0, 0])
            raise LutnnError(f"features contain NaN or inf (first at sample {bad}); clean or impute them first")
        if self.identity:
            q = np.floor(x)
        else:
            q = np.floor((x - self.offset) / self.step)
        return np.clip(q, 0, (1 << self.width) - 1).astype(np.int64)

    def describe(self) -> list[dict]:
        """Per feature: bus width and the exact raw → integer map (for report.json)."""
        out = []
        top = (1 << self.width) - 1
        for i in range(self.n_features):
            if self.identity:
                m = f"q = clip(floor(x), 0, {top})"
            elif self.offset[i] == 0 and _is_pow2(self.step[i]):
                m = f"q = clip(floor(x) >> {int(self.step[i]).bit_length() - 1}, 0, {top})  (the top bits: wires)"
            else:
                m = f"q = clip(floor((x - {float(self.offset[i])!r}) / {float(self.step[i])!r}), 0, {top})"
            out.append(
                {
                    "feature": i,
                    "bus": f"x{i}",
                    "width": self.width,
                    "offset": float(self.offset[i]),
                    "step": float(self.step[i]),
                    "map": m,
                }
            )
        return out

    def state(self) -> dict:
        """Plain-JSON parameters (report.json); :meth:`from_state` rebuilds the exact map."""
        return {
            "offset": [float(v) for v in self.offset],
            "step": [float(v) for v in self.step],
            "width": int(self.width),
            "identity": bool(self.identity),
        }

    @staticmethod
    def from_state(d: dict) -> FeatureQuantizer:
        return FeatureQuantizer(
            np.asarray(d["offset"], float), np.asarray(d["step"], float), int(d["width"]), bool(d["identity"])
        )


def _is_pow2(v: float) -> bool:
    """True for 1, 2, 4, … (an integer step that is a right shift)."""
    return float(v).is_integer() and v >= 1 and (int(v) & (int(v) - 1)) == 0
