"""Output side of a LUT network: group-sum class scores (a popcount per class) and argmax.

The last LUT layer's nodes are split into ``n_classes`` equal groups; a class's score is the
number of its nodes that output 1, divided by a temperature ``tau`` during training (it
scales the logits of the cross-entropy). In hardware each group is a popcount adder tree and
the class is the argmax of the counts, ties going to the lowest class index — exactly what
``torch.argmax`` returns on the integer counts.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from lutnn import circuits
from lutnn.errors import LutnnError
from lutnn.netlist import NetlistBuilder

__all__ = ["GroupSum"]


class GroupSum(nn.Module):
    """``[B, n]`` 0/1 node outputs → ``[B, n_classes]`` scores (counts / tau)."""

    def __init__(self, n_inputs: int, n_classes: int, tau: float = 1.0) -> None:
        super().__init__()
        if n_classes < 2:
            raise LutnnError(f"group-sum head needs at least 2 classes, got {n_classes}")
        if n_inputs % n_classes:
            raise LutnnError(
                f"the last LUT layer has {n_inputs} nodes, not a multiple of the {n_classes} classes; "
                f"use e.g. {n_inputs - n_inputs % n_classes or n_classes} or {n_inputs + n_classes - n_inputs % n_classes}"
            )
        if tau <= 0:
            raise LutnnError(f"group-sum temperature tau={tau} must be > 0")
        self.n_inputs = n_inputs
        self.n_classes = n_classes
        self.tau = float(tau)

    @property
    def group(self) -> int:
        return self.n_inputs // self.n_classes

    def forward_t(self, ht: torch.Tensor) -> torch.Tensor:
        """Feature-major ``[n, B]`` → ``[B, n_classes]`` counts / tau."""
        return ht.reshape(self.n_classes, self.group, -1).sum(1).t() / self.tau

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.forward_t(h.t())

    def counts(self, h: torch.Tensor) -> torch.Tensor:
        """Integer class counts of 0/1 outputs ``[B, n]``."""
        return h.reshape(h.shape[0], self.n_classes, self.group).sum(-1).round().long()

    def build(self, b: NetlistBuilder, signals: np.ndarray) -> tuple[list[list[int]], list[int]]:
        """Popcount per class and argmax; returns (count buses, class-index bus)."""
        s = np.asarray(signals, dtype=np.int64).reshape(self.n_classes, self.group)
        counts = [circuits.popcount(b, row) for row in s]
        return counts, circuits.argmax(b, counts)

    def extra_repr(self) -> str:
        return f"classes={self.n_classes}, group={self.group}, tau={self.tau}"
