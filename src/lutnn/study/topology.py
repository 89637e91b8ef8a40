"""Topology of a LUT network's connectivity (definitions in docs/measures.md).

Per layer l (its map ``conn [nodes, K]`` into the previous layer's outputs, layer 0 into encoder bits):

* fan-out of the layer's inputs: ``fanout_cv`` (std / mean of how many fan-ins read each input),
  ``fanout_max``, ``unused_frac`` (inputs nobody reads), ``fanout_gini``;
* ``overlap``: mean |A ∩ B| / K over random pairs of nodes (A, B their fan-in sets), beside
  ``overlap_random`` = K / n_in, its expectation for uniformly random fan-ins;
* ``dup_frac``: fraction of nodes reading some input twice.

Whole network: ``log10_paths`` (log10 of the number of input-bit → last-layer paths, a DP over the
layers: nodes_last · K^layers, so a check more than a measure), ``path_gini`` (Gini coefficient of the
paths from each input bit to the last layer: how unequally the structure spreads its attention) and
``path_live_frac`` (input bits with at least one path), ``layers`` (depth in LUT layers) and, for images, receptive-field locality: ``rf_spread`` =
mean distance (pixels) between the pixels a first-layer node reads, ``rf_spread_random`` = the same
for random pixel pairs, ``locality`` = rf_spread / rf_spread_random (< 1: local), and ``rf_pixels`` =
mean number of distinct pixels a last-layer node depends on.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["layer_topology", "network_topology"]


def _gini(c: np.ndarray) -> float:
    c = np.sort(np.asarray(c, float))
    if c.sum() == 0:
        return 0.0
    n = len(c)
    return float((2 * np.arange(1, n + 1) - n - 1) @ c / (n * c.sum()))


def layer_topology(conn: np.ndarray, n_in: int, pairs: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Fan-out, overlap and duplicate figures of one layer's map ``conn [nodes, K]`` into ``n_in`` inputs."""
    conn = np.asarray(conn, dtype=np.int64)
    nodes, k = conn.shape
    fo = np.bincount(conn.ravel(), minlength=n_in)
    rng = np.random.default_rng(seed)
    ov = 0.0
    if nodes > 1:
        a = rng.integers(0, nodes, pairs)
        b = (a + rng.integers(1, nodes, pairs)) % nodes
        sa = np.sort(conn[a], 1)
        sb = conn[b]
        ov = float(np.mean([len(np.intersect1d(x, y)) for x, y in zip(sa, sb, strict=True)]) / k)
    dup = float(np.mean([len(np.unique(r)) < k for r in conn]))
    return {
        "nodes": int(nodes),
        "inputs": int(n_in),
        "fanout_mean": float(fo.mean()),
        "fanout_cv": float(fo.std() / fo.mean()) if fo.mean() > 0 else 0.0,
        "fanout_max": int(fo.max()),
        "fanout_gini": _gini(fo),
        "unused_frac": float((fo == 0).mean()),
        "overlap": ov,
        "overlap_random": min(1.0, k / n_in),
        "dup_frac": dup,
    }


def network_topology(model: Any, image_shape: tuple[int, int] | None = None, seed: int = 0) -> dict[str, Any]:
    """Per-layer figures and whole-network paths, depth and (images) receptive-field locality."""
    conns = [np.asarray(layer.connections(), dtype=np.int64) for layer in model.layers]
    n_in = model.encoder.n_bits
    layers = []
    paths = np.zeros(n_in)  # log-domain path counts would overflow less, but float64 holds 1e308
    paths[:] = 1.0
    prev = n_in
    for li, c in enumerate(conns):
        layers.append(layer_topology(c, prev, seed=seed + li))
        paths = paths[c].sum(1)
        prev = c.shape[0]
    total = float(paths.sum())
    back = np.ones(prev)  # paths from each node to the last layer, then from each input bit
    for c, lt in zip(conns[::-1], layers[::-1], strict=True):
        nb = np.zeros(lt["inputs"])
        np.add.at(nb, c.ravel(), np.repeat(back, c.shape[1]))
        back = nb
    out: dict[str, Any] = {
        "layers": len(conns),
        "log10_paths": math.log10(total) if total > 0 else float("-inf"),
        "path_gini": _gini(back),
        "path_live_frac": float((back > 0).mean()),
        "per_layer": layers,
        # whole-network summaries the study correlates: first layer's figures
        "fanout_cv": layers[0]["fanout_cv"],
        "unused_frac": layers[0]["unused_frac"],
        "overlap": layers[0]["overlap"],
        "overlap_ratio": layers[0]["overlap"] / layers[0]["overlap_random"],
    }
    if image_shape is not None:
        h, w = image_shape
        pix = np.asarray(model.encoder.bit_feature(), dtype=np.int64)
        pos = np.stack([pix // w, pix % w], 1).astype(float)
        c0 = conns[0]
        k = c0.shape[1]
        iu = np.triu_indices(k, 1)
        p = pos[c0]  # [nodes, K, 2]
        d = np.sqrt(((p[:, :, None, :] - p[:, None, :, :]) ** 2).sum(-1))[:, iu[0], iu[1]]
        rng = np.random.default_rng(seed)
        a, b = rng.integers(0, h * w, 20000), rng.integers(0, h * w, 20000)
        rnd = float(np.sqrt((a // w - b // w) ** 2 + (a % w - b % w) ** 2).mean())
        out["rf_spread"] = float(d.mean()) if d.size else 0.0
        out["rf_spread_random"] = rnd
        out["locality"] = out["rf_spread"] / rnd
        # distinct pixels behind each last-layer node (sets propagated layer by layer; small nets only)
        sets = [frozenset([int(v)]) for v in pix]
        for c in conns:
            sets = [frozenset().union(*(sets[j] for j in row)) for row in c]
        out["rf_pixels"] = float(np.mean([len(s) for s in sets]))
    return out
