"""Which K inputs each LUT node reads: seeded random, locality-aware (image receptive fields), pruning.

Learned connectivity (a trained choice among candidates, then frozen) lives in
:class:`lutnn.nn.lut.LUTLayer` (``connectivity="learned"``); this module builds the fixed maps.
"""

from __future__ import annotations

import numpy as np

from lutnn.errors import LutnnError

__all__ = ["live_nodes", "local_connectivity", "make_connectivity", "random_connectivity"]


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
    image_shape: tuple[int, ...], out_features: int, k: int, window: int = 5, seed: int = 0
) -> np.ndarray:
    """``int64 [out, k]`` receptive fields for image-like inputs ``(H, W)`` or ``(H, W, C)``.

    Inputs are indexed row-major over ``(H, W, C)``. Each node picks a random centre and reads k
    distinct inputs within a ``window``×``window`` patch around it (all channels of the patch).
    """
    if len(image_shape) == 2:
        image_shape = (*image_shape, 1)
    if len(image_shape) != 3:
        raise LutnnError(f"local connectivity needs an image shape (H, W) or (H, W, C), got {image_shape}")
    h, w, c = image_shape
    win = max(1, min(window, h, w))
    if win * win * c < k:
        raise LutnnError(f"a {win}x{win} window with {c} channels has fewer than k={k} inputs; enlarge the window")
    rng = np.random.default_rng(seed)
    # centres dealt out evenly over the image
    n_pos = (h - win + 1) * (w - win + 1)
    starts = np.concatenate([rng.permutation(n_pos) for _ in range(-(-out_features // n_pos))])[:out_features]
    r0, c0 = starts // (w - win + 1), starts % (w - win + 1)
    conn = np.empty((out_features, k), dtype=np.int64)
    for i in range(out_features):
        flat = rng.choice(win * win * c, size=k, replace=False)
        dy, rest = flat // (win * c), flat % (win * c)
        dx, ch = rest // c, rest % c
        conn[i] = ((r0[i] + dy) * w + (c0[i] + dx)) * c + ch
    return conn


def make_connectivity(
    kind: str | np.ndarray,
    in_features: int,
    out_features: int,
    k: int,
    seed: int = 0,
    image_shape: tuple[int, ...] | None = None,
    window: int = 5,
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
        if image_shape is None:
            raise LutnnError(
                "local connectivity needs the input's image shape (H, W, C); use 'random' for tabular data"
            )
        if int(np.prod(image_shape)) != in_features:
            raise LutnnError(
                f"image shape {image_shape} has {int(np.prod(image_shape))} inputs but the layer gets {in_features}"
            )
        return local_connectivity(tuple(image_shape), out_features, k, window=window, seed=seed)
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
