"""The LUT network: quantized features → encoder bits → LUT layers → group-sum head.

:class:`LUTNetwork` takes the integer bus values (``FeatureQuantizer.transform`` of the raw
features) so that PyTorch, the netlist and the Verilog all start from the same integers.
Activations travel feature-major (``[width, batch]``) between layers: the fast layer kernels
gather whole rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from lutnn.errors import LutnnError
from lutnn.lutnet.connectivity import node_positions
from lutnn.lutnet.encoders import Encoder
from lutnn.lutnet.heads import GroupSum
from lutnn.lutnet.lut import LUTLayer
from lutnn.quantizer import FeatureQuantizer

__all__ = ["LUTNetwork"]


class LUTNetwork(nn.Module):
    """Encoder + stacked :class:`LUTLayer` + :class:`GroupSum`.

    Args:
        quantizer: the raw → integer map of every feature (kept for export and reports).
        encoder: integer features → 0/1 bits.
        widths: nodes per LUT layer; the last must be a multiple of ``n_classes``.
        n_classes, k, tau, grad: see :class:`GroupSum` and :class:`LUTLayer`.
        connectivity: ``"random"``, ``"local"`` (needs ``image_shape``) or ``"learned"``; a
            single name or one per layer.
        image_shape: ``(H, W)`` of image data (feature f is pixel ``divmod(f, W)``).
        smooth, candidates, mapping_init: see :class:`LUTLayer`.
    """

    def __init__(
        self,
        quantizer: FeatureQuantizer,
        encoder: Encoder,
        widths: Sequence[int],
        n_classes: int,
        k: int = 6,
        tau: float = 1.0,
        grad: str = "efd",
        connectivity: str | Sequence[str] = "random",
        image_shape: tuple[int, int] | None = None,
        window: float = 5.0,
        seed: int = 0,
        smooth: float = 0.0,
        candidates: int = 4,
        mapping_init: str = "start",
    ) -> None:
        super().__init__()
        if not widths:
            raise LutnnError("a LUT network needs at least one LUT layer (e.g. layers = [1000])")
        self.quantizer = quantizer
        self.encoder = encoder
        conns = [connectivity] * len(widths) if isinstance(connectivity, str) else list(connectivity)
        if len(conns) != len(widths):
            raise LutnnError(f"{len(conns)} connectivity kinds for {len(widths)} layers; give one or one per layer")
        pos = None
        if image_shape is not None:
            h, w = image_shape
            if h * w != encoder.n_features:
                raise LutnnError(
                    f"image shape {image_shape} has {h * w} pixels but the data have {encoder.n_features} features"
                )
            f = encoder.bit_feature()
            pos = np.stack([f // w, f % w], axis=1).astype(np.float64)
        layers = []
        n_in = encoder.n_bits
        for i, (n_out, kind) in enumerate(zip(widths, conns, strict=True)):
            if n_out < 1:
                raise LutnnError(f"layer {i} width {n_out} must be >= 1")
            if kind == "local" and pos is None:
                raise LutnnError(
                    "connectivity 'local' needs image data (an image_shape); use 'random' for tabular data"
                )
            layer = LUTLayer(
                n_in,
                int(n_out),
                k,
                connectivity=kind,
                grad=grad,
                seed=seed * 1000 + i,
                positions=pos,
                window=window,
                candidates=candidates,
                smooth=smooth,
                mapping_init=mapping_init,
            )
            layers.append(layer)
            if pos is not None:
                pos = node_positions(layer.connections(), pos)
            n_in = int(n_out)
        self.layers = nn.ModuleList(layers)
        self.head = GroupSum(n_in, n_classes, tau)
        self.k = k

    @property
    def n_classes(self) -> int:
        return self.head.n_classes

    @property
    def n_luts(self) -> int:
        return sum(layer.out_features for layer in self.layers)

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        """Integer features ``[B, F]`` → class scores ``[B, n_classes]``."""
        h = self.encoder(q).t().contiguous()
        for layer in self.layers:
            h = layer.forward_t(h)
        return self.head.forward_t(h)

    @torch.no_grad()
    def predict(self, q: torch.Tensor | np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """Class indices in inference mode (hard LUTs, integer counts, ties → lowest class)."""
        was = self.training
        self.eval()
        try:
            dev = next(self.parameters()).device  # a model trained on a GPU predicts there
            q = torch.as_tensor(np.asarray(q), dtype=torch.long)
            out = []
            for i in range(0, len(q), batch_size):
                out.append(self(q[i : i + batch_size].to(dev)).argmax(1).cpu())
            return torch.cat(out).numpy() if out else np.zeros(0, np.int64)
        finally:
            self.train(was)

    def clamp_(self) -> None:
        for layer in self.layers:
            layer.clamp_()

    def freeze_connectivity(self) -> None:
        for layer in self.layers:
            layer.freeze_connectivity()
