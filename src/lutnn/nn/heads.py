"""Output side of a LUT network: group-sum class scores (a popcount per class) and argmax.

The last LUT layer's nodes are split into ``n_classes`` equal groups; a class's score is the
number of its nodes that output 1, divided by a temperature ``tau`` during training (it
scales the logits of the cross-entropy). In hardware each group is a popcount adder tree and
the class is the argmax of the counts, ties going to the lowest class index — exactly what
``torch.argmax`` returns on the integer counts.

With ``tiebreak=True`` the last node of each group counts half: the integer score is
``2·popcount(other nodes) + last node``, so that node decides between classes whose full
counts tie (with 10 nodes per class about 2% of digits test images tie, most of them wrongly
resolved by the lowest-index rule). In hardware the node is one more wire below the popcount's LSB.
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

    def __init__(self, n_inputs: int, n_classes: int, tau: float = 1.0, tiebreak: bool = False) -> None:
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
        if tiebreak and n_inputs // n_classes < 2:
            raise LutnnError("the tie-break head needs at least 2 nodes per class (one of them counts half)")
        self.n_inputs = n_inputs
        self.n_classes = n_classes
        self.tau = float(tau)
        self.tiebreak = tiebreak
        w = torch.ones(self.group)
        if tiebreak:
            w[-1] = 0.5
        self.register_buffer("weights", w, persistent=False)

    @property
    def group(self) -> int:
        return self.n_inputs // self.n_classes

    def forward_t(self, ht: torch.Tensor) -> torch.Tensor:
        """Feature-major ``[n, B]`` → ``[B, n_classes]`` counts / tau."""
        g = ht.reshape(self.n_classes, self.group, -1)
        if self.tiebreak:
            return torch.einsum("cgb,g->bc", g, self.weights.to(g.dtype)) / self.tau
        return g.sum(1).t() / self.tau

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.forward_t(h.t())

    def counts(self, h: torch.Tensor) -> torch.Tensor:
        """Integer class scores of 0/1 outputs ``[B, n]`` (with the tie-break: ``2·count + last node``)."""
        g = h.reshape(h.shape[0], self.n_classes, self.group)
        if self.tiebreak:
            return (2 * g[..., :-1].sum(-1) + g[..., -1]).round().long()
        return g.sum(-1).round().long()

    def build(self, b: NetlistBuilder, signals: np.ndarray) -> tuple[list[list[int]], list[int]]:
        """Popcount per class and argmax; returns (score buses, LSB first; class-index bus)."""
        s = np.asarray(signals, dtype=np.int64).reshape(self.n_classes, self.group)
        if self.tiebreak:
            counts = [[int(row[-1]), *circuits.popcount(b, row[:-1])] for row in s]
        else:
            counts = [circuits.popcount(b, row) for row in s]
        return counts, circuits.argmax(b, counts)

    def extra_repr(self) -> str:
        return f"classes={self.n_classes}, group={self.group}, tau={self.tau}, tiebreak={self.tiebreak}"
