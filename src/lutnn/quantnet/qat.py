"""Quantization-aware training of fixed-point MLPs (torch): the learning side of the quantized family.

:class:`QuantMLP` trains with fake-quantized weights and activations (straight-through
estimators, learned activation step sizes as in LSQ) and optional per-neuron fan-in masks (each
neuron reads ``F`` inputs, as in LogicNets/PolyLUT). :meth:`QuantMLP.integer_model` folds the
batch norm, the bias and the activation quantizer of every layer into an exact
:class:`~lutnn.quantnet.intmodel.IntegerMLP` (numpy), which is what the hardware computes.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lutnn.augment import shift_half
from lutnn.errors import QuantError
from lutnn.fileio import atomic_write
from lutnn.quantnet.intmodel import IntegerMLP, IntLayer, code_range, fold_affine_layer

__all__ = [
    "ActQuant",
    "QuantLinear",
    "QuantMLP",
    "affine_fold",
    "evaluate",
    "save_quant_model",
    "shift_augment",
    "train_qat",
]


def _round_ste(x: torch.Tensor) -> torch.Tensor:
    return x + (torch.round(x) - x).detach()


class ActQuant(nn.Module):
    """Uniform activation quantizer with a learned step (LSQ-style STE): ``s * clamp(round(x/s))``."""

    def __init__(self, bits: int, signed: bool, init_range: float = 3.0) -> None:
        super().__init__()
        self.bits, self.signed = bits, signed
        lo, hi = code_range(bits, signed)
        self.qmin, self.qmax = lo, hi
        self.log_scale = nn.Parameter(torch.tensor(math.log(init_range / max(1, hi))))

    @property
    def scale(self) -> torch.Tensor:
        return self.log_scale.exp()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.scale
        return _round_ste(torch.clamp(x / s, self.qmin, self.qmax)) * s


def _quant_weight(w: torch.Tensor, bits: int, per_channel: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Fake-quantized weights and their scale (symmetric, narrow range; 1 bit = sign × mean|w|)."""
    if bits == 1:
        s = w.abs().mean(dim=1, keepdim=True) if per_channel else w.abs().mean().reshape(1, 1)
        s = s.clamp_min(1e-8)
        q = torch.where(w >= 0, torch.ones_like(w), -torch.ones_like(w))
        q = w / s + (q - w / s).detach()
        return q * s, s
    qmax = (1 << (bits - 1)) - 1
    m = w.abs().amax(dim=1, keepdim=True) if per_channel else w.abs().amax().reshape(1, 1)
    s = (m / qmax).clamp_min(1e-8).detach()
    q = _round_ste(torch.clamp(w / s, -qmax, qmax))
    return q * s, s


class QuantLinear(nn.Module):
    """A fan-in-masked linear layer with fixed-point weights (per-neuron scale), bias and optional BN."""

    def __init__(
        self,
        n_in: int,
        n_out: int,
        w_bits: int,
        fan_in: int | None,
        batchnorm: bool,
        per_channel: bool,
        gen: torch.Generator,
    ) -> None:
        super().__init__()
        self.n_in, self.n_out, self.w_bits, self.per_channel = n_in, n_out, w_bits, per_channel
        self.linear = nn.Linear(n_in, n_out)
        fan = n_in if fan_in is None else fan_in
        if not 1 <= fan <= n_in:
            raise QuantError(f"fan-in {fan} is out of range 1..{n_in} for a layer with {n_in} inputs")
        self.fan_in = fan
        mask = torch.zeros(n_out, n_in, dtype=torch.bool)
        if fan == n_in:
            mask[:] = True
        else:
            for o in range(n_out):
                mask[o, torch.randperm(n_in, generator=gen)[:fan]] = True
            with torch.no_grad():
                self.linear.weight.mul_(math.sqrt(n_in / fan))
        self.register_buffer("mask", mask)
        self.bn = nn.BatchNorm1d(n_out) if batchnorm else None

    def quant_weight(self) -> tuple[torch.Tensor, torch.Tensor]:
        return _quant_weight(self.linear.weight * self.mask, self.w_bits, self.per_channel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        wq, _ = self.quant_weight()
        z = F.linear(x, wq * self.mask, self.linear.bias)
        return self.bn(z) if self.bn is not None else z

    @torch.no_grad()
    def learn_mask(self, fan_in: int, keep: int | None = None) -> None:
        """Keep each neuron's ``keep`` (default ``fan_in``) largest-magnitude weights (a learned fan-in mask).

        ``keep > fan_in`` is an intermediate step of gradual pruning: the layer's fan-in is still open.
        """
        keep = fan_in if keep is None else max(fan_in, min(int(keep), self.n_in))
        w = (self.linear.weight * self.mask).abs()
        idx = w.topk(keep, dim=1).indices
        m = torch.zeros_like(self.mask)
        m.scatter_(1, idx, True)
        self.mask.copy_(m)
        self.fan_in = keep


def _per_layer(v, n: int, what: str) -> list:
    if isinstance(v, (list, tuple)):
        if len(v) != n:
            raise QuantError(f"{what} lists {len(v)} values but the network has {n} layers; give one per layer")
        return list(v)
    return [v] * n


class QuantMLP(nn.Module):
    """A fixed-point MLP: quantized input, masked fixed-point linear layers, quantized activations.

    Args:
        in_features, hidden, n_classes: layer widths.
        in_bits / in_signed / in_scale: the input quantizer (codes ``clamp(round(x / in_scale))``).
        w_bits: weight bits per layer (int or list, 1..8); the last layer uses one scale for all
            classes so that raw scores stay comparable.
        act_bits / act_signed: hidden activation bits per hidden layer (1..8); unsigned = ReLU.
        fan_in: inputs per neuron per layer (None = dense), chosen at random (``mask="random"``)
            or by weight magnitude after a dense warm-up (``mask="learned"``, see :func:`train_qat`).
        out_bits: None = raw integer class scores; an int quantizes the scores too (LogicNets-style).
        batchnorm: batch norm after each hidden layer (folded into thresholds by ``integer_model``).
    """

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int],
        n_classes: int,
        in_bits: int = 4,
        in_signed: bool = False,
        in_scale: float = 1.0 / 15,
        w_bits: int | Sequence[int] = 4,
        act_bits: int | Sequence[int] = 4,
        act_signed: bool | Sequence[bool] = False,
        fan_in: int | Sequence[int | None] | None = None,
        out_bits: int | None = None,
        batchnorm: bool = True,
        mask: str = "random",
        seed: int = 0,
    ) -> None:
        super().__init__()
        n_layers = len(hidden) + 1
        self.config = {
            "in_features": in_features,
            "hidden": list(hidden),
            "n_classes": n_classes,
            "in_bits": in_bits,
            "in_signed": in_signed,
            "in_scale": float(in_scale),
            "w_bits": w_bits if isinstance(w_bits, int) else list(w_bits),
            "act_bits": act_bits if isinstance(act_bits, int) else list(act_bits),
            "act_signed": act_signed if isinstance(act_signed, bool) else list(act_signed),
            "fan_in": fan_in if (fan_in is None or isinstance(fan_in, int)) else list(fan_in),
            "out_bits": out_bits,
            "batchnorm": batchnorm,
            "mask": mask,
            "seed": seed,
        }
        if mask not in ("random", "learned"):
            raise QuantError(f"mask must be 'random' or 'learned', got {mask!r}")
        if in_features < 1 or n_classes < 1 or any(h < 1 for h in hidden):
            raise QuantError("layer widths must be positive")
        if not (isinstance(in_scale, (int, float)) and math.isfinite(in_scale) and in_scale > 0):
            raise QuantError(f"in_scale must be a positive finite number, got {in_scale!r}")
        wb = _per_layer(w_bits, n_layers, "w_bits")
        ab = _per_layer(act_bits, len(hidden), "act_bits") if hidden else []
        asg = _per_layer(act_signed, len(hidden), "act_signed") if hidden else []
        fi = _per_layer(fan_in, n_layers, "fan_in")
        for name, vals in (("w_bits", wb), ("act_bits", ab), ("in_bits", [in_bits])):
            for li, b in enumerate(vals):
                if not (isinstance(b, int) and 1 <= b <= 8):
                    raise QuantError(f"{name} of layer {li} is {b!r}; bit-widths must be integers 1..8")
        if out_bits is not None and not 1 <= out_bits <= 8:
            raise QuantError(f"out_bits is {out_bits}; use 1..8 or None for raw scores")
        self.fan_in_target = fi
        self.in_bits, self.in_signed, self.in_scale = in_bits, in_signed, float(in_scale)
        gen = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        widths = [in_features, *hidden, n_classes]
        self.layers = nn.ModuleList()
        self.acts = nn.ModuleList()
        for li in range(n_layers):
            last = li == n_layers - 1
            f = fi[li]
            if f is not None and f > widths[li]:
                raise QuantError(f"layer {li}: fan-in {f} exceeds its {widths[li]} inputs; lower fan_in")
            start_fan = None if mask == "learned" else f
            self.layers.append(
                QuantLinear(
                    widths[li], widths[li + 1], wb[li], start_fan, batchnorm and not last, per_channel=not last, gen=gen
                )
            )
            if not last:
                self.acts.append(ActQuant(ab[li], asg[li]))
        self.out_act = ActQuant(out_bits, True, init_range=8.0) if out_bits is not None else None

    def input_quant(self, x: torch.Tensor) -> torch.Tensor:
        lo, hi = code_range(self.in_bits, self.in_signed)
        return torch.clamp(torch.round(x / self.in_scale), lo, hi) * self.in_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Fake-quantized float forward pass (for training); returns class scores."""
        h = self.input_quant(x)
        for li, layer in enumerate(self.layers):
            h = layer(h)
            if li < len(self.acts):
                h = self.acts[li](h)
        return self.out_act(h) if self.out_act is not None else h

    def apply_learned_masks(self, progress: float = 1.0) -> None:
        """Switch every layer with a fan-in target to its top-|w| mask (end of the dense warm-up).

        ``progress`` < 1 prunes part-way on a cubic schedule (Zhu & Gupta's gradual pruning): each
        neuron keeps ``fan + (n_in - fan) * (1 - progress)**3`` inputs; 1 reaches the target fan-in.
        """
        for layer, f in zip(self.layers, self.fan_in_target, strict=True):
            if f is not None and f < layer.n_in:
                keep = f + round((layer.n_in - f) * (1.0 - min(1.0, progress)) ** 3)
                layer.learn_mask(f, keep)

    @torch.no_grad()
    def integer_model(self) -> IntegerMLP:
        """Fold weights, bias, BN and activation quantizers into the exact :class:`IntegerMLP`."""
        self.eval()
        layers = self._dense_int_layers(self.in_scale, self.in_bits, self.in_signed)
        return IntegerMLP(
            layers, self.in_bits, self.in_signed, self.in_scale, self.config["n_classes"], {"config": self.config}
        ).validate()

    @torch.no_grad()
    def _dense_int_layers(self, s_in: float, in_bits: int, in_signed: bool, prefix: str = "layer ") -> list[IntLayer]:
        """Integer layers of the dense stack, fed codes of step ``s_in`` (the input, or a conv front end)."""
        layers: list[IntLayer] = []
        n = len(self.layers)
        for li, layer in enumerate(self.layers):
            nm = f"{prefix}{li}"
            if not torch.isfinite(layer.linear.weight).all() or (
                layer.linear.bias is not None and not torch.isfinite(layer.linear.bias).all()
            ):
                raise QuantError(f"{nm}: weights or bias are NaN/inf; retrain with a lower learning rate")
            wq, sw = layer.quant_weight()
            sw = sw.double().reshape(-1).expand(layer.n_out).numpy().copy()
            w_int = torch.round((wq * layer.mask).double() / torch.from_numpy(sw)[:, None]).numpy().astype(np.int64)
            w_int[~layer.mask.numpy()] = 0
            A, B = affine_fold(s_in * sw, layer.linear.bias, layer.bn, layer.n_out, nm)
            mask = layer.mask.numpy().copy()
            act = self.acts[li] if li < n - 1 else self.out_act
            if act is None:
                layers.append(fold_affine_layer(w_int, mask, A, B, in_bits, in_signed, None, name=nm))
                break
            layers.append(
                fold_affine_layer(
                    w_int, mask, A, B, in_bits, in_signed, (float(act.scale), act.bits, act.signed), name=nm
                )
            )
            s_in, in_bits, in_signed = float(act.scale), act.bits, act.signed
        return layers


def affine_fold(
    A: np.ndarray, bias: torch.Tensor | None, bn: nn.Module | None, n_out: int, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Per-output ``(A, B)`` with ``y = A * acc + B``: input step x weight step ``A``, then bias and batch norm."""
    b = bias.double().numpy() if bias is not None else np.zeros(n_out)
    A = np.asarray(A, dtype=np.float64)
    B = b.copy()
    if bn is not None:
        g = bn.weight.double().numpy() / np.sqrt(bn.running_var.double().numpy() + bn.eps)
        A = A * g
        B = g * (b - bn.running_mean.double().numpy()) + bn.bias.double().numpy()
    if not (np.isfinite(A).all() and np.isfinite(B).all()):
        raise QuantError(f"{name}: batch-norm statistics are NaN/inf; retrain with a lower learning rate")
    return A, B


# ----------------------------------------------------------------------------- training
def _as_tensor(x) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    if not torch.isfinite(t).all():
        raise QuantError("training data contains NaN or inf")
    return t


def evaluate(model: QuantMLP, x: np.ndarray, y: np.ndarray, batch: int = 4096) -> float:
    """Accuracy of the float fake-quantized model."""
    model.eval()
    xt = _as_tensor(x)
    correct = 0
    with torch.no_grad():
        for i in range(0, len(xt), batch):
            correct += int((model(xt[i : i + batch]).argmax(1).numpy() == np.asarray(y[i : i + batch])).sum())
    return correct / max(1, len(xt))


def train_qat(
    model: QuantMLP,
    x: np.ndarray,
    y: np.ndarray,
    epochs: int = 20,
    lr: float = 1e-2,
    batch_size: int = 128,
    weight_decay: float = 0.0,
    warmup_epochs: int = 2,
    prune_epochs: int = 0,
    x_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    progress: bool = True,
    seed: int = 0,
    augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
    on_epoch: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Quantization-aware training with Adam and a cosine schedule; returns per-epoch history.

    With ``mask="learned"`` the first ``warmup_epochs`` train dense, then each neuron keeps its
    ``fan_in`` largest weights: at once, or over ``prune_epochs`` epochs on a cubic schedule (gradual
    magnitude pruning, which lets the surviving weights adapt while the mask narrows).
    ``augment(batch, generator)`` transforms each training batch (e.g. random image shifts);
    ``on_epoch(record)`` sees each epoch's history record (a search's learning curve and pruning).
    """
    xt, yt = _as_tensor(x), torch.as_tensor(np.asarray(y), dtype=torch.long)
    if xt.ndim != 2 or xt.shape[1] != model.config["in_features"]:
        raise QuantError(
            f"training data has shape {tuple(xt.shape)}; the model expects [N, {model.config['in_features']}]"
        )
    if len(yt) != len(xt):
        raise QuantError(f"{len(xt)} samples but {len(yt)} labels")
    if len(yt) and (yt.min() < 0 or yt.max() >= model.config["n_classes"]):
        raise QuantError(f"labels must lie in 0..{model.config['n_classes'] - 1}")
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps = max(1, epochs * math.ceil(len(xt) / batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    g = torch.Generator().manual_seed(seed)
    hist = []
    learned = model.config["mask"] == "learned"
    from rich.console import Console

    from lutnn.progress import reporting, stage

    first, span = min(warmup_epochs, max(0, epochs - 1)), max(1, prune_epochs)  # the mask schedule's epochs
    # a bar on a terminal, a line every ~10% of the epochs elsewhere (lutnn.progress)
    with reporting(Console() if progress else None), stage("QAT", total=epochs, unit="epochs") as bar:
        for ep in range(epochs):
            if learned and first <= ep < first + span:
                model.apply_learned_masks((ep - first + 1) / span)
            model.train()
            perm = torch.randperm(len(xt), generator=g)
            tot = 0.0
            for i in range(0, len(xt), batch_size):
                idx = perm[i : i + batch_size]
                if len(idx) < 2:
                    continue
                xb = xt[idx] if augment is None else augment(xt[idx], g)
                loss = F.cross_entropy(model(xb), yt[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                tot += float(loss.detach()) * len(idx)
            rec = {"epoch": ep + 1, "loss": tot / len(xt)}
            if x_val is not None and y_val is not None:
                rec["val_acc"] = evaluate(model, x_val, y_val)
            hist.append(rec)
            if on_epoch is not None:
                on_epoch(rec)
            bar.advance(info="  ".join(f"{k} {v:.4f}" for k, v in rec.items() if k != "epoch"))
    if learned and epochs < warmup_epochs + span:
        model.apply_learned_masks()  # the schedule did not finish: reach the target fan-in
    model.eval()
    return hist


def shift_augment(shape: tuple[int, int]) -> Callable[[torch.Tensor, torch.Generator], torch.Tensor]:
    """A ``train_qat`` augmentation: random ±1-pixel shifts (zero fill) of half of each batch of ``shape`` images."""
    h, w = shape

    def aug(xb: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        if xb.shape[1] != h * w:
            raise QuantError(f"shift augmentation needs {h}x{w} = {h * w} features per image, got {xb.shape[1]}")
        return shift_half(xb, (h, w), gen)

    return aug


def save_quant_model(model: QuantMLP, path: str | Path, data: dict | None = None) -> Path:
    """Save config + weights (``.pt``) so ``lutnn compile`` can rebuild the model; ``data``: its dataset config."""
    buf = io.BytesIO()
    torch.save(
        {
            "format": getattr(model, "FORMAT", "lutnn.QuantMLP/1"),
            "config": model.config,
            "state_dict": model.state_dict(),
            "data": data,
        },
        buf,
    )
    return atomic_write(path, buf.getvalue())
