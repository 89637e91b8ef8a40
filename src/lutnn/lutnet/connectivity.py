"""Which K inputs each LUT node reads: seeded random, locality-aware (image receptive fields), pruning.

Learned connectivity (a trained choice among candidates, then frozen) lives in
:class:`lutnn.lutnet.lut.LUTLayer` (``connectivity="learned"``); this module builds the fixed maps.
"""

from __future__ import annotations

import numpy as np

from lutnn.errors import LutnnError

__all__ = ["live_nodes", "local_connectivity", "make_connectivity", "node_positions", "random_connectivity"]


def random_connectivity(in_features: int, out_features: int, k: int, seed: int = 0) -> np.ndarray:
    """``int64 [out, k]``: each node reads k distinct inputs; inputs are dealt out evenly.

    Inputs are drawn from concatenated random permutations, so every input is read before any
    is read twice (no input is wasted when ``out*k >= in``).
    """
    if k > in_features:
        raise LutnnError(
            f"a {k}-input LUT needs at least {k} inputs but the layer gets {in_features}; lower k or widen the previous layer"
        )
    rng = np.random.default_rng(seed)
    n_perm = -(-out_features * k // in_features) + 1
    pool = np.concatenate([rng.permutation(in_features) for _ in range(n_perm)])
    conn = pool[: out_features * k].reshape(out_features, k).copy()
    # repair rows that read one input twice (possible at permutation seams)
    for i in np.flatnonzero([len(set(r)) < k for r in conn]):
        conn[i] = rng.choice(in_features, size=k, replace=False)
    return conn.astype(np.int64)


def local_connectivity(
    positions: np.ndarray, out_features: int, k: int, window: float = 5.0, seed: int = 0
) -> np.ndarray:
    """``int64 [out, k]`` receptive fields: each node reads k distinct inputs near one centre.

    ``positions [in, 2]`` are the (row, column) of every input (an image pixel; for a deeper
    layer the mean position of what each node reads). Centres are dealt out over the inputs'
    positions; a node reads k random inputs within a ``window``-wide square around its centre
    (widened until it holds k inputs).
    """
    pos = np.asarray(positions, dtype=np.float64)
    n_in = len(pos)
    if pos.ndim != 2 or pos.shape[1] != 2:
        raise LutnnError(f"local connectivity needs [inputs, 2] positions, got shape {pos.shape}")
    if k > n_in:
        raise LutnnError(f"a {k}-input LUT needs at least {k} inputs but the layer gets {n_in}; lower k")
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(n_in) for _ in range(-(-out_features // n_in))])[:out_features]
    centres = pos[order]
    conn = np.empty((out_features, k), dtype=np.int64)
    for i in range(out_features):
        half = window / 2.0
        while True:
            near = np.flatnonzero(np.abs(pos - centres[i]).max(axis=1) <= half)
            if len(near) >= k:
                break
            half += 1.0
        conn[i] = rng.choice(near, size=k, replace=False)
    return conn


def node_positions(conn: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Mean position of the inputs each node reads (how locality carries into the next layer)."""
    return np.asarray(positions, dtype=np.float64)[conn].mean(axis=1)


def make_connectivity(
    kind: str | np.ndarray,
    in_features: int,
    out_features: int,
    k: int,
    seed: int = 0,
    positions: np.ndarray | None = None,
    window: float = 5.0,
) -> np.ndarray:
    """Connectivity by name (``"random"``, ``"local"``) or validated from an explicit array."""
    if not isinstance(kind, str):
        conn = np.asarray(kind, dtype=np.int64)
        if conn.shape != (out_features, k):
            raise LutnnError(f"connectivity array must have shape [{out_features}, {k}], got {conn.shape}")
        if conn.size and (conn.min() < 0 or conn.max() >= in_features):
            raise LutnnError(f"connectivity refers to input {int(conn.max())} but the layer has {in_features} inputs")
        return conn
    if kind == "random":
        return random_connectivity(in_features, out_features, k, seed)
    if kind == "local":
        if positions is None:
            raise LutnnError(
                "local connectivity needs image-shaped inputs (a dataset with an image shape); use 'random' for tabular data"
            )
        if len(positions) != in_features:
            raise LutnnError(f"{len(positions)} input positions given but the layer gets {in_features} inputs")
        return local_connectivity(positions, out_features, k, window=window, seed=seed)
    raise LutnnError(f"unknown connectivity {kind!r}; use 'random', 'local' or 'learned'")


def live_nodes(
    conns: list[np.ndarray], widths: list[int], n_outputs_used: np.ndarray | None = None
) -> list[np.ndarray]:
    """Per layer, a boolean mask of the nodes some later layer (or the head) reads.

    ``conns[l]`` is layer l's ``[out, k]`` map into layer l-1's outputs; the last layer's nodes
    are live when ``n_outputs_used`` (a mask) says so (all by default). Dead nodes are pruned on export.
    """
    live = [np.zeros(w, dtype=bool) for w in widths]
    live[-1] = np.ones(widths[-1], bool) if n_outputs_used is None else np.asarray(n_outputs_used, bool)
    for li in range(len(widths) - 1, 0, -1):
        used = conns[li][live[li]].reshape(-1)
        live[li - 1][used] = True
    return live
