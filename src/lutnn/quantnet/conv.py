"""Quantized 1-D/2-D convolutional nets (QAT) whose integer model is an unrolled :class:`IntegerMLP`.

:class:`QuantCNN` puts a stack of fixed-point convolutions in front of :class:`QuantMLP`'s dense
stack: quantized input, then per conv layer a convolution with fixed-point weights (one scale per
output channel), bias, optional batch norm and a learned activation quantizer, then a flatten and
the dense layers (fan-in masks, raw or quantized scores) exactly as in :class:`QuantMLP`.

:meth:`QuantCNN.integer_model` *unrolls* every convolution into an :class:`IntLayer`: output
position ``p`` of channel ``o`` is neuron ``o * P + p`` (channel-major, the order of
``torch.flatten``) reading the ``kernel x in_channels / groups`` input codes under its window,
with the same integer weights and (up to accumulator-range clipping) the same thresholds at every
position. A flatten is just that ordering, so the result is an ordinary :class:`IntegerMLP` and
both compile routes, the disagreement checks and the JSON format apply unchanged.

Supported: 1-D (``in_shape = [C, L]``) and 2-D (``[C, H, W]``) convolutions, any kernel size and
stride, channel groups (``groups = in_channels`` is depthwise), and zero padding up to
``kernel - 1``. Zero padding is exact: every quantizer here is symmetric without a zero point, so
code 0 *is* value 0 (signed or unsigned) and a padded tap simply drops out of the neuron's fan-in
(border neurons read fewer inputs). Not supported (an error names the layer): dilation, padding
modes other than zeros, ``"same"``/``"valid"`` strings, pooling, 3-D inputs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from lutnn.quantnet.intmodel import IntegerMLP, IntLayer, QuantError, fold_affine_layer
from lutnn.quantnet.qat import ActQuant, QuantMLP, _quant_weight, affine_fold

__all__ = ["ConvSpec", "QuantCNN", "QuantConv", "conv_out_shape", "parse_conv_specs", "unroll_conv"]

_CONV_KEYS = {"channels", "kernel", "stride", "padding", "groups", "w_bits", "act_bits", "act_signed", "batchnorm"}


@dataclass(frozen=True)
class ConvSpec:
    """One quantized convolution: output channels, kernel/stride/padding per spatial axis, bits."""

    channels: int
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    groups: int
    w_bits: int
    act_bits: int
    act_signed: bool
    batchnorm: bool

    def as_dict(self) -> dict:
        """Plain dict (the ``[model] conv`` entry that rebuilds this spec)."""
        return {
            "channels": self.channels,
            "kernel": list(self.kernel),
            "stride": list(self.stride),
            "padding": list(self.padding),
            "groups": self.groups,
            "w_bits": self.w_bits,
            "act_bits": self.act_bits,
            "act_signed": self.act_signed,
            "batchnorm": self.batchnorm,
        }


def _tuple(v, d: int, what: str, name: str) -> tuple[int, ...]:
    vals = list(v) if isinstance(v, (list, tuple)) else [v]
    if len(vals) == 1:
        vals = vals * d
    if len(vals) != d or not all(isinstance(x, int) and not isinstance(x, bool) for x in vals):
        raise QuantError(
            f"{name}: {what} must be an integer or a list of {d} integers (one per spatial axis), got {v!r}"
        )
    return tuple(int(x) for x in vals)


def conv_out_shape(in_shape: Sequence[int], spec: ConvSpec) -> tuple[int, ...]:
    """``[channels, *spatial]`` after ``spec`` (``floor((n + 2p - k) / s) + 1`` per axis)."""
    return (
        spec.channels,
        *(
            (n + 2 * p - k) // s + 1
            for n, k, s, p in zip(in_shape[1:], spec.kernel, spec.stride, spec.padding, strict=True)
        ),
    )


def parse_conv_specs(
    conv: Sequence[dict],
    in_shape: Sequence[int],
    w_bits: int | Sequence[int],
    act_bits: int | Sequence[int],
    act_signed: bool | Sequence[bool],
    batchnorm: bool,
) -> tuple[list[ConvSpec], list[tuple[int, ...]]]:
    """Check ``[model] conv`` entries against ``in_shape``; return the specs and every layer's shape.

    Bit widths missing from an entry default to the model-level scalar ``w_bits`` / ``act_bits`` /
    ``act_signed`` (per-layer lists at model level describe the dense layers only).
    """
    shape = tuple(in_shape)
    if len(shape) not in (2, 3) or not all(isinstance(n, int) and n >= 1 for n in shape):
        raise QuantError(
            f"in_shape must be [channels, length] (1-D) or [channels, height, width] (2-D) of positive integers, "
            f"got {list(in_shape)!r}"
        )
    d = len(shape) - 1
    if not isinstance(conv, (list, tuple)) or not conv:
        raise QuantError("conv must be a non-empty list of tables like {channels = 8, kernel = 3, stride = 2}")
    specs: list[ConvSpec] = []
    shapes = [shape]
    for ci, e in enumerate(conv):
        nm = f"conv {ci}"
        if not isinstance(e, dict):
            raise QuantError(f"{nm}: expected a table like {{channels = 8, kernel = 3}}, got {e!r}")
        bad = set(e) - _CONV_KEYS
        if bad:
            hint = " (dilation is not supported)" if "dilation" in bad else ""
            hint += " (only zero padding is supported)" if "padding_mode" in bad else ""
            raise QuantError(f"{nm}: unknown keys {sorted(bad)}{hint}; allowed: {sorted(_CONV_KEYS)}")
        for key in ("channels", "kernel"):
            if key not in e:
                raise QuantError(f"{nm}: missing {key!r} (e.g. {{channels = 8, kernel = 3}})")
        ch, groups = e["channels"], e.get("groups", 1)
        if not (isinstance(ch, int) and ch >= 1):
            raise QuantError(f"{nm}: channels must be a positive integer, got {ch!r}")
        if isinstance(e.get("padding", 0), str):
            raise QuantError(
                f"{nm}: padding {e['padding']!r} is not supported; give the number of zero taps per side "
                "(0 = 'valid', kernel // 2 with stride 1 = 'same' for odd kernels)"
            )
        kernel = _tuple(e["kernel"], d, "kernel", nm)
        stride = _tuple(e.get("stride", 1), d, "stride", nm)
        padding = _tuple(e.get("padding", 0), d, "padding", nm)
        if min(kernel) < 1 or min(stride) < 1:
            raise QuantError(f"{nm}: kernel and stride must be >= 1, got kernel {list(kernel)} stride {list(stride)}")
        if any(p < 0 or p >= k for p, k in zip(padding, kernel, strict=True)):
            raise QuantError(f"{nm}: zero padding {list(padding)} must lie in 0..kernel-1 (kernel {list(kernel)})")
        c_in = shapes[-1][0]
        if not (isinstance(groups, int) and groups >= 1 and c_in % groups == 0 and ch % groups == 0):
            raise QuantError(f"{nm}: groups={groups!r} must divide both the {c_in} input and the {ch} output channels")

        def pick(key, default, _e=e, _nm=nm):
            if key in _e:
                return _e[key]
            if isinstance(default, (list, tuple)):
                raise QuantError(
                    f"{_nm}: give {key} in its conv entry (the model-level {key} is a per-dense-layer list)"
                )
            return default

        wb, ab, asg = pick("w_bits", w_bits), pick("act_bits", act_bits), pick("act_signed", act_signed)
        for key, b in (("w_bits", wb), ("act_bits", ab)):
            if not (isinstance(b, int) and not isinstance(b, bool) and 1 <= b <= 8):
                raise QuantError(f"{nm}: {key} is {b!r}; bit-widths must be integers 1..8")
        if not isinstance(asg, bool):
            raise QuantError(f"{nm}: act_signed must be true or false, got {asg!r}")
        spec = ConvSpec(ch, kernel, stride, padding, groups, wb, ab, asg, bool(e.get("batchnorm", batchnorm)))
        out = conv_out_shape(shapes[-1], spec)
        if min(out[1:]) < 1:
            raise QuantError(
                f"{nm}: kernel {list(kernel)} (padding {list(padding)}) is larger than its input "
                f"{list(shapes[-1][1:])}; use a smaller kernel or fewer conv layers"
            )
        specs.append(spec)
        shapes.append(out)
    return specs, shapes


def unroll_conv(
    w_int: np.ndarray, in_shape: Sequence[int], spec: ConvSpec
) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """Conv weights ``[O, C/groups, *kernel]`` → dense ``(weight, mask)`` over flattened ``[C, *spatial]``.

    Row ``o * P + p`` is output channel ``o`` at (row-major) position ``p``; the mask marks the
    taps inside the input (padded taps are left out), so each row's fan-in is at most
    ``prod(kernel) * C / groups``.
    """
    in_shape = tuple(in_shape)
    out_shape = conv_out_shape(in_shape, spec)
    c_in, sp_in, sp_out = in_shape[0], in_shape[1:], out_shape[1:]
    d = len(sp_in)
    O, cg = spec.channels, c_in // spec.groups
    pos = np.indices(sp_out).reshape(d, -1)  # [d, P]
    off = np.indices(spec.kernel).reshape(d, -1)  # [d, Kn]
    st, pd = np.array(spec.stride)[:, None, None], np.array(spec.padding)[:, None, None]
    coord = pos[:, :, None] * st - pd + off[:, None, :]  # [d, P, Kn]
    size = np.array(sp_in)[:, None, None]
    valid = ((coord >= 0) & (coord < size)).all(axis=0)  # [P, Kn]
    flat_sp = np.ravel_multi_index(tuple(np.clip(coord, 0, size - 1)), sp_in)  # [P, Kn]
    n_sp, n_pos, n_k = int(np.prod(sp_in)), pos.shape[1], off.shape[1]
    o = np.arange(O)[:, None, None, None]
    cl = np.arange(cg)[None, None, :, None]
    chan = (o // (O // spec.groups)) * cg + cl  # [O, 1, cg, 1]
    rows = np.broadcast_to(o * n_pos + np.arange(n_pos)[None, :, None, None], (O, n_pos, cg, n_k))
    cols = np.broadcast_to(chan * n_sp + flat_sp[None, :, None, :], (O, n_pos, cg, n_k))
    wv = np.broadcast_to(np.asarray(w_int).reshape(O, 1, cg, n_k), (O, n_pos, cg, n_k))
    ok = np.broadcast_to(valid[None, :, None, :], (O, n_pos, cg, n_k))
    weight = np.zeros((O * n_pos, c_in * n_sp), dtype=np.int64)
    mask = np.zeros(weight.shape, dtype=bool)
    weight[rows[ok], cols[ok]] = wv[ok]
    mask[rows[ok], cols[ok]] = True
    return weight, mask, out_shape


class QuantConv(nn.Module):
    """A 1-D/2-D convolution with fixed-point weights (one scale per output channel), bias and optional BN."""

    def __init__(self, spec: ConvSpec, in_channels: int) -> None:
        super().__init__()
        self.spec = spec
        d = len(spec.kernel)
        cls = nn.Conv1d if d == 1 else nn.Conv2d
        self.conv = cls(in_channels, spec.channels, spec.kernel, spec.stride, spec.padding, groups=spec.groups)
        self.bn = (nn.BatchNorm1d if d == 1 else nn.BatchNorm2d)(spec.channels) if spec.batchnorm else None

    def quant_weight(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Fake-quantized weights (the conv's shape) and their per-channel scale ``[O, 1]``."""
        w = self.conv.weight
        q, s = _quant_weight(w.reshape(w.shape[0], -1), self.spec.w_bits, per_channel=True)
        return q.reshape(w.shape), s

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        wq, _ = self.quant_weight()
        z = self.conv._conv_forward(x, wq, self.conv.bias)
        return self.bn(z) if self.bn is not None else z


class QuantCNN(QuantMLP):
    """Fixed-point conv front end + :class:`QuantMLP` dense stack; takes flat inputs ``[N, prod(in_shape)]``.

    Args:
        in_features: flat input width; must equal ``prod(in_shape)`` (inputs are reshaped to
            ``in_shape``, channel-major, e.g. digits' 64 pixels as ``[1, 8, 8]``).
        in_shape: ``[C, L]`` (1-D) or ``[C, H, W]`` (2-D).
        conv: one dict per conv layer: ``channels``, ``kernel``, optional ``stride`` (1),
            ``padding`` (0, zeros), ``groups`` (1), ``w_bits``, ``act_bits``, ``act_signed``,
            ``batchnorm`` (default: the model-level scalars).
        hidden, n_classes, in_bits, in_signed, in_scale, w_bits, act_bits, act_signed, fan_in,
            out_bits, batchnorm, mask, seed: as :class:`QuantMLP`, for the dense layers after the
            flatten (list-valued ``w_bits``/``act_bits``/``act_signed``/``fan_in`` are per dense layer).
    """

    FORMAT = "lutnn.QuantCNN/1"

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int],
        n_classes: int,
        in_shape: Sequence[int],
        conv: Sequence[dict],
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
        specs, shapes = parse_conv_specs(conv, in_shape, w_bits, act_bits, act_signed, batchnorm)
        if in_features != math.prod(in_shape):
            raise QuantError(
                f"the data has {in_features} features but in_shape {list(in_shape)} holds {math.prod(in_shape)}; "
                "fix in_shape"
            )
        flat = math.prod(shapes[-1])
        super().__init__(
            flat, hidden, n_classes, in_bits, in_signed, in_scale, w_bits, act_bits, act_signed, fan_in, out_bits,
            batchnorm, mask, seed,
        )  # fmt: skip
        self.config = {
            "in_features": in_features,
            "in_shape": list(in_shape),
            "conv": [s.as_dict() for s in specs],
            **{k: v for k, v in self.config.items() if k != "in_features"},
        }
        self.in_shape = tuple(in_shape)
        self.specs, self.shapes = specs, shapes
        self.convs = nn.ModuleList(QuantConv(s, shp[0]) for s, shp in zip(specs, shapes, strict=False))
        self.conv_acts = nn.ModuleList(ActQuant(s.act_bits, s.act_signed) for s in specs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Fake-quantized float forward pass on flat inputs; returns class scores."""
        h = self.input_quant(x.reshape(-1, *self.in_shape))
        for conv, act in zip(self.convs, self.conv_acts, strict=True):
            h = act(conv(h))
        h = h.flatten(1)
        for li, layer in enumerate(self.layers):
            h = layer(h)
            if li < len(self.acts):
                h = self.acts[li](h)
        return self.out_act(h) if self.out_act is not None else h

    @torch.no_grad()
    def conv_codes(self, x: torch.Tensor) -> list[np.ndarray]:
        """Every conv layer's activation codes ``[N, C*positions]`` from the float model (for checks)."""
        self.eval()
        h = self.input_quant(torch.as_tensor(np.asarray(x), dtype=torch.float32).reshape(-1, *self.in_shape))
        out = []
        for conv, act in zip(self.convs, self.conv_acts, strict=True):
            h = act(conv(h))
            out.append(torch.round(h / act.scale).flatten(1).numpy().astype(np.int64))
        return out

    @torch.no_grad()
    def integer_model(self) -> IntegerMLP:
        """Fold and unroll every conv layer, then the dense stack, into the exact :class:`IntegerMLP`."""
        self.eval()
        layers: list[IntLayer] = []
        s_in, in_bits, in_signed = self.in_scale, self.in_bits, self.in_signed
        for ci, (qc, act) in enumerate(zip(self.convs, self.conv_acts, strict=True)):
            nm = f"conv {ci}"
            c = qc.conv
            if not torch.isfinite(c.weight).all() or (c.bias is not None and not torch.isfinite(c.bias).all()):
                raise QuantError(f"{nm}: weights or bias are NaN/inf; retrain with a lower learning rate")
            wq, sw = qc.quant_weight()
            sw = sw.double().reshape(-1).numpy()
            w_int = torch.round(wq.double() / torch.from_numpy(sw).reshape(-1, *[1] * (wq.ndim - 1)))
            A, B = affine_fold(s_in * sw, c.bias, qc.bn, qc.spec.channels, nm)
            weight, mask, out_shape = unroll_conv(w_int.numpy().astype(np.int64), self.shapes[ci], qc.spec)
            n_pos = math.prod(out_shape[1:])
            out = (float(act.scale), act.bits, act.signed)
            layers.append(
                fold_affine_layer(
                    weight, mask, np.repeat(A, n_pos), np.repeat(B, n_pos), in_bits, in_signed, out, name=nm
                )
            )
            s_in, in_bits, in_signed = float(act.scale), act.bits, act.signed
        layers += self._dense_int_layers(s_in, in_bits, in_signed, prefix="dense ")
        meta = {"config": self.config, "layer_shapes": [list(s) for s in self.shapes]}
        return IntegerMLP(
            layers, self.in_bits, self.in_signed, self.in_scale, self.config["n_classes"], meta
        ).validate()
