"""A quantized network from its config's ``[model]`` table (MLP or conv), and the QAT augmentations."""

from __future__ import annotations

import math
from typing import Any

from lutnn.errors import LutnnError

__all__ = ["build_quant_model", "qat_augment"]


def build_quant_model(model_cfg: dict[str, Any], n_features: int, n_classes: int, source: str = "config"):
    """A fresh QuantMLP, or a QuantCNN when ``[model]`` has ``conv`` and ``in_shape``."""
    if "conv" in model_cfg or "in_shape" in model_cfg:
        from lutnn.quantnet.conv import QuantCNN

        if "conv" not in model_cfg or "in_shape" not in model_cfg:
            raise LutnnError(f"{source}: a conv net needs both [model] conv and in_shape (see quant_digits_cnn.toml)")
        return QuantCNN(n_features, n_classes=n_classes, **{"hidden": [], **model_cfg})
    from lutnn.quantnet.qat import QuantMLP

    if "hidden" not in model_cfg:
        raise LutnnError(f"{source}: [model] needs hidden = [widths] (see configs/quant_digits.toml)")
    return QuantMLP(n_features, n_classes=n_classes, **model_cfg)


def qat_augment(kind: object, n_features: int, source: str = "config"):
    """``[train] augment = "shift"``: ±1-pixel shifts of square images (MNIST 28x28, digits 8x8)."""
    from lutnn.quantnet.qat import shift_augment

    side = math.isqrt(n_features)
    if kind != "shift":
        raise LutnnError(f'{source}: [train] augment = {kind!r}; the only QAT augmentation is "shift"')
    if side * side != n_features:
        raise LutnnError(f'{source}: augment = "shift" needs square images; {n_features} features are not')
    return shift_augment((side, side))
