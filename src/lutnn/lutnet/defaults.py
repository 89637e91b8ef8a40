"""Settings a config leaves out, chosen from the data: encoder, levels, layer sizes, connectivity, epochs.

A config read from a file remembers which keys it set (:attr:`RunConfig.unset` lists the rest);
:func:`choose_defaults` fills only those, from the data's feature count, classes and samples, and
returns what it chose and why (printed before training and recorded in ``report.json``). A
:class:`RunConfig` built in Python keeps its dataclass defaults unless it sets ``unset`` itself, and a
value changed after loading (a script, ``lutnn train --epochs``) is never replaced.
"""

from __future__ import annotations

import math

from lutnn.data import Dataset
from lutnn.lutnet.config import RunConfig

__all__ = ["choose_defaults"]


def _round_up(v: float, step: int) -> int:
    return int(step * math.ceil(v / step))


def choose_defaults(cfg: RunConfig, ds: Dataset) -> list[dict]:
    """Fill the keys in ``cfg.unset`` from the data; returns ``[{"key", "value", "why"}]`` in the order chosen."""
    unset = set(getattr(cfg, "unset", ()))
    chosen: list[dict] = []
    f, c, n = ds.n_features, ds.n_classes, len(ds.y_train)
    image = ds.image_shape is not None

    fresh = RunConfig()

    def pick(section: str, key: str, value, why: str) -> None:
        # only keys the file left out and nobody changed since (a script's or the CLI's override wins)
        if f"{section}.{key}" in unset and getattr(getattr(cfg, section), key) == getattr(getattr(fresh, section), key):
            setattr(getattr(cfg, section), key, value)
            chosen.append({"key": f"{section}.{key}", "value": value, "why": why})

    pick(
        "encoder",
        "kind",
        "quantile",
        "thresholds at the training data's quantiles: every bit splits the samples, whatever the features' scales",
    )
    if image:
        levels, why = 3, "image pixels: 3 thresholds per pixel keep the input small (many features)"
    else:
        levels = max(2, min(8, 512 // max(1, f)))
        why = f"{f} tabular features: {levels} thresholds each ({f * levels} input bits, at most ~512)"
    if cfg.encoder.kind in ("binary", "gray"):  # a code of the bus itself: levels mean nothing
        bits = f * (cfg.encoder.width or 8)
    else:
        pick("encoder", "levels", levels, why)
        bits = f * cfg.encoder.levels
    first = min(2000, max(200, _round_up(2 * bits, 100)))
    if n < 1000:
        first = min(first, 600)
    group = max(10, min(50, first // (2 * c)))
    pick(
        "model",
        "layers",
        [first, c * group],
        f"~2 LUTs per input bit ({bits} bits; at most 600 for {n} training samples) and {group} LUTs per class "
        f"for the {c} classes' popcounts",
    )
    pick(
        "model",
        "connectivity",
        "learned",
        "each LUT input learns which bit to read (4 candidates, frozen at half time): better than random wiring",
    )
    batches = math.ceil(n / cfg.train.batch_size)
    epochs = max(30, min(100, math.ceil(2000 / batches)))
    pick("train", "epochs", epochs, f"~2,000 optimiser steps: {n} training samples are {batches} batches per epoch")
    return chosen
