"""Quantized-model files: ``.pt`` checkpoints from ``lutnn qat`` (QuantMLP / QuantCNN) and ``.json`` integer models."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from lutnn.errors import LutnnError, QuantError
from lutnn.fileio import check_readable
from lutnn.quantnet.config import _MODEL_SPEC, check_quant_config
from lutnn.quantnet.conv import QuantCNN
from lutnn.quantnet.intmodel import IntegerMLP
from lutnn.quantnet.qat import QuantMLP

__all__ = ["load_quant_model"]


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
        cls = QuantCNN
    elif fmt == "lutnn.QuantMLP/1":
        cls = QuantMLP
    else:
        raise QuantError(f"{p}: not a lutnn QuantMLP/QuantCNN checkpoint (train one with `lutnn qat`)")
    cfg = d.get("config")
    if not isinstance(cfg, dict) or not isinstance(d.get("state_dict"), dict):
        raise QuantError(f"{p}: damaged model file (no config or weights); train it again with `lutnn qat`")
    cfg = dict(cfg)
    sizes = {k: cfg.get(k) for k in ("in_features", "n_classes")}
    model = {k: v for k, v in cfg.items() if k in _MODEL_SPEC and v is not None}
    try:
        check_quant_config({"data": {}, "model": model}, str(p))
        if not all(isinstance(v, int) and 1 <= v <= 1 << 20 for v in sizes.values()):
            raise QuantError(f"{p}: in_features/n_classes {sizes} must be integers in 1..1048576")
        mask = cfg.pop("mask")
        m = cls(**cfg, mask="random")
        m.config["mask"] = mask
        m.load_state_dict(d["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError, LutnnError) as e:
        raise QuantError(f"{p}: damaged model file ({str(e)[:200]}); train it again with `lutnn qat`") from None
    m.data_config = d.get("data")  # the [data] table it was trained with (None for older files)
    m.eval()
    return m
