"""Knowledge distillation for LUT networks: a small float MLP teacher whose soft labels guide training.

A LUT network overfits small training sets (digits: 1,347 images); a float MLP trained on the
same integer bus values generalises better, and its class probabilities (on the same, possibly
augmented, batches) carry more information per sample than the hard label. The teacher exists
only at training time: the exported circuit is the student alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch
from torch import nn

from lutnn.errors import LutnnError

__all__ = ["MLPTeacher", "distill_loss", "train_teacher"]


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run torch CPU ops on one thread inside the block (then restore the count).

    MKL's GEMM splits its sums by thread count, so the teacher's logits (and the student it
    distils) would change with the number of cores; on one thread they do not.
    """
    n = torch.get_num_threads()
    if n == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


class MLPTeacher(nn.Module):
    """Float MLP on integer bus values scaled to [0, 1]: ``[B, F]`` → logits ``[B, C]``."""

    def __init__(self, n_features: int, n_classes: int, top: int, hidden: int = 512, dropout: float = 0.2) -> None:
        super().__init__()
        self.scale = 1.0 / max(1, top)
        self.net = nn.Sequential(
            nn.Linear(n_features, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, n_classes),
        )

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        if q.device.type != "cpu":
            return self.net(q.to(torch.float32) * self.scale)
        with single_thread():  # the same logits on any number of cores
            return self.net(q.to(torch.float32) * self.scale)


def train_teacher(
    q: torch.Tensor,
    y: torch.Tensor,
    n_classes: int,
    top: int,
    epochs: int = 30,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> MLPTeacher:
    """Fit an :class:`MLPTeacher` on integer features ``q [N, F]`` and labels ``y [N]`` (eval mode on return)."""
    if len(q) == 0:
        raise LutnnError("train.teacher needs training samples; the training split is empty")
    with single_thread():  # thread-count-independent GEMMs: the same teacher on any machine's core count
        return _train_teacher(q, y, n_classes, top, epochs, batch_size, lr, seed, augment)


def _train_teacher(q, y, n_classes, top, epochs, batch_size, lr, seed, augment) -> MLPTeacher:
    torch.manual_seed(seed)
    teacher = MLPTeacher(q.shape[1], n_classes, top).to(q.device)
    opt = torch.optim.Adam(teacher.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    gen = torch.Generator().manual_seed(seed)
    teacher.train()
    for _ in range(epochs):
        perm = torch.randperm(len(q), generator=gen).to(q.device)
        for i in range(0, len(q), batch_size):
            idx = perm[i : i + batch_size]
            qb = q[idx] if augment is None else augment(q[idx])
            loss = nn.functional.cross_entropy(teacher(qb), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        sched.step()
    return teacher.eval()


def distill_loss(logits: torch.Tensor, y: torch.Tensor, teacher_logits: torch.Tensor, weight: float) -> torch.Tensor:
    """``(1 − w)·CE(student, label) + w·CE(student, softmax(teacher))``: hard and soft targets mixed."""
    hard = nn.functional.cross_entropy(logits, y)
    if weight <= 0:
        return hard
    soft = -(torch.softmax(teacher_logits, 1) * torch.log_softmax(logits, 1)).sum(1).mean()
    return (1 - weight) * hard + weight * soft
