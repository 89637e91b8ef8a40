"""Encoder metric distortion: how distances between raw inputs map to Hamming distances of their codes.

For pairs (u, v) of data points with raw features x_u, x_v and codes c_u, c_v:

* d_1 = ||x_u − x_v||_1, d_2 = ||x_u − x_v||_2 (raw features, after the quantizer's affine map is undone
  — i.e. on the quantizer's integer bus, which is raw up to one scale per feature), H = ||c_u ⊕ c_v||_1;
* ``spearman_l1`` / ``spearman_l2``: Spearman rank correlation of H with d_1 / d_2 over the pairs;
* ratios r = H / d_1 on pairs with d_1 > 0: ``lip_upper`` = max r, ``lip_lower`` = min r (the bi-Lipschitz
  constants on the data pairs, L_lower · d_1 ≤ H ≤ L_upper · d_1), ``distortion`` = L_upper / L_lower
  (inf when some distinct pair collides, H = 0), ``distortion_q`` = q95(r) / q05(r) over pairs with H > 0
  (a robust version), ``collision_frac`` = P[H = 0 | d_1 > 0].

Codes: the lutnn encoders (thermometer, quantile, pooled, binary, gray, a trained model's learned
thresholds) and ``onehot`` (one bit per uniform bin of the bus: levels + 1 bins per feature; not a
trainable lutnn encoder, measured for comparison only).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lutnn.errors import LutnnError
from lutnn.study.stats import spearman

__all__ = ["CODES", "code_bits", "distortion", "encoding_table"]

CODES = ("thermometer", "quantile", "pooled", "binary", "gray", "onehot")


def code_bits(kind: str, q_train: np.ndarray, q: np.ndarray, width: int, levels: int) -> np.ndarray:
    """Code bits ``uint8 [N, n_bits]`` of integer features ``q`` under encoder ``kind`` (fit on ``q_train``)."""
    q = np.asarray(q, dtype=np.int64)
    if kind == "onehot":
        bins = levels + 1
        b = np.minimum((q * bins) >> width, bins - 1)  # uniform bins over 0 .. 2**width - 1
        out = np.zeros((q.shape[0], q.shape[1], bins), np.uint8)
        np.put_along_axis(out, b[:, :, None], 1, axis=2)
        return out.reshape(q.shape[0], -1)
    if kind not in CODES:
        raise LutnnError(f"unknown code {kind!r}; choose one of {CODES}")
    import torch

    from lutnn.lutnet.encoders import make_encoder

    enc = make_encoder(kind, np.asarray(q_train), width, levels)
    with torch.no_grad():
        return (enc(torch.as_tensor(q)).numpy() > 0.5).astype(np.uint8)


def _pairs(n: int, n_pairs: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n, n_pairs)
    j = (i + rng.integers(1, n, n_pairs)) % n  # j != i
    return i, j


def distortion(x: np.ndarray, bits: np.ndarray, n_pairs: int = 4000, seed: int = 0) -> dict[str, Any]:
    """Distortion figures (module docstring) of the map ``x[s] → bits[s]`` on ``n_pairs`` random data pairs."""
    x = np.asarray(x, dtype=np.float64)
    if len(x) < 2 or len(x) != len(bits):
        raise LutnnError(f"distortion needs >= 2 samples with one code each, got {len(x)} and {len(bits)}")
    i, j = _pairs(len(x), n_pairs, seed)
    d1 = np.abs(x[i] - x[j]).sum(1)
    d2 = np.sqrt(((x[i] - x[j]) ** 2).sum(1))
    h = (bits[i] != bits[j]).sum(1).astype(np.float64)
    pos = d1 > 0
    r = h[pos] / d1[pos]
    rp = r[r > 0]
    lower = float(r.min()) if r.size else float("nan")
    upper = float(r.max()) if r.size else float("nan")
    return {
        "pairs": int(n_pairs),
        "spearman_l1": spearman(d1, h),
        "spearman_l2": spearman(d2, h),
        "lip_upper": upper,
        "lip_lower": lower,
        "distortion": (upper / lower) if lower > 0 else float("inf"),
        "distortion_q": float(np.quantile(rp, 0.95) / np.quantile(rp, 0.05)) if rp.size else float("inf"),
        "collision_frac": float((h[pos] == 0).mean()) if pos.any() else 0.0,
        "bits": int(bits.shape[1]),
    }


def encoding_table(
    q_train: np.ndarray,
    q_test: np.ndarray,
    width: int,
    kinds=CODES,
    levels=(1, 3, 7),
    n_pairs: int = 4000,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Distortion of each code kind (× levels for the thermometer kinds and one-hot) on the same test pairs."""
    rows = []
    for kind in kinds:
        for lv in levels if kind in ("thermometer", "quantile", "pooled", "onehot") else (None,):
            bits = code_bits(kind, q_train, q_test, width, lv or 1)
            rows.append({"code": kind, "levels": lv, **distortion(q_test, bits, n_pairs, seed)})
    return rows
