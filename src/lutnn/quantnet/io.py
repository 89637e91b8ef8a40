"""Quantized-model files: ``.pt`` checkpoints from ``lutnn qat`` (QuantMLP / QuantCNN) and ``.json`` integer models."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from lutnn.errors import QuantError
from lutnn.fileio import check_readable
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
    cfg = dict(d["config"])
    mask = cfg.pop("mask")
    m = cls(**cfg, mask="random")
    m.config["mask"] = mask
    m.load_state_dict(d["state_dict"])
    m.data_config = d.get("data")  # the [data] table it was trained with (None for older files)
    m.eval()
    return m
