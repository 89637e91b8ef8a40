"""Run configurations of the quantized-network family (``configs/quant_*.toml``) and the data they name."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np

from lutnn.errors import LutnnError
from lutnn.fileio import check_readable

__all__ = ["load_quant_config", "quant_dataset"]

_MODEL_KEYS = {
    "hidden", "in_bits", "in_signed", "in_scale", "w_bits", "act_bits", "act_signed", "fan_in", "out_bits",
    "batchnorm", "mask", "seed", "conv", "in_shape",
}  # fmt: skip
_TRAIN_KEYS = {"epochs", "lr", "batch_size", "weight_decay", "warmup_epochs", "prune_epochs", "augment", "seed"}


def load_quant_config(path: str | Path) -> dict:
    """Read a ``configs/quant_*.toml`` file: ``[data]``, ``[model]``, ``[train]`` tables, checked."""
    p = check_readable(path, "config file")
    try:
        cfg = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as e:
        raise LutnnError(f"{p}: not valid TOML ({e})") from None
    for sect in ("data", "model"):
        if sect not in cfg:
            raise LutnnError(f"{p}: missing [{sect}] table (see configs/quant_digits.toml)")
    bad = set(cfg["model"]) - _MODEL_KEYS
    if bad:
        raise LutnnError(f"{p}: unknown [model] keys {sorted(bad)}; allowed: {sorted(_MODEL_KEYS)}")
    bad = set(cfg.get("train", {})) - _TRAIN_KEYS
    if bad:
        raise LutnnError(f"{p}: unknown [train] keys {sorted(bad)}; allowed: {sorted(_TRAIN_KEYS)}")
    return cfg


def quant_dataset(data: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, dict]:
    """Load and normalise the dataset a config names → (x_train, y_train, x_test, y_test, classes, prep).

    ``prep`` records the normalisation (``scale`` divides by a constant; ``standardize`` uses the
    training mean/std) so ``lutnn compile`` can apply the same one to test data.
    """
    name = data.get("name")
    if name == "jsc_synthetic":
        from lutnn.data import synthetic_jsc

        xtr, ytr, xte, yte = synthetic_jsc(int(data.get("n", 20000)), seed=int(data.get("seed", 0)))
        n_classes = 5
    else:
        from lutnn.data import load_dataset

        if not name:
            raise LutnnError("[data] needs name = digits | mnist | jsc | jsc_cernbox | jsc_synthetic | csv | npz")
        d = load_dataset(name, data.get("path"))
        xtr, ytr, xte, yte, n_classes = d.x_train, d.y_train, d.x_test, d.y_test, d.n_classes
    prep: dict = {}
    if "scale" in data:
        s = float(data["scale"])
        xtr, xte = xtr / s, xte / s
        prep["scale"] = s
    if data.get("standardize"):
        mu, sd = xtr.mean(0), xtr.std(0) + 1e-8
        xtr, xte = (xtr - mu) / sd, (xte - mu) / sd
        prep["mean"], prep["std"] = mu.tolist(), sd.tolist()
    return np.asarray(xtr, np.float32), np.asarray(ytr), np.asarray(xte, np.float32), np.asarray(yte), n_classes, prep
