"""Training-time data augmentation shared by both model families (torch): random ±1-pixel image shifts."""

from __future__ import annotations

import torch

__all__ = ["shift_half", "shift_images"]


def shift_half(q: torch.Tensor, shape: tuple[int, int], gen: torch.Generator) -> torch.Tensor:
    """Random ±1-pixel shifts of a random half of the images ``q [B, H*W]`` (the other half unchanged)."""
    half = torch.rand(len(q), generator=gen).to(q.device) < 0.5
    return torch.where(half[:, None], shift_images(q, shape, gen), q)


def shift_images(q: torch.Tensor, shape: tuple[int, int], gen: torch.Generator) -> torch.Tensor:
    """Random ±1-pixel shifts (zero fill) of flattened images ``q [B, H*W]``: data augmentation."""
    h, w = shape
    b = q.shape[0]
    img = torch.nn.functional.pad(q.view(b, h, w), (1, 1, 1, 1))
    off = torch.randint(0, 3, (b, 2), generator=gen).to(q.device)
    out = torch.empty_like(q).view(b, h, w)
    for dy in range(3):
        for dx in range(3):
            sel = (off[:, 0] == dy) & (off[:, 1] == dx)
            if sel.any():
                out[sel] = img[sel, dy : dy + h, dx : dx + w]
    return out.view(b, h * w)
