"""Brevitas rebuilds of QONNX model-zoo layouts (needs ``brevitas``): random weights, the zoo's exact graph shape.

:func:`tfc` is FINN's ``TFC_<w>W<a>A`` MNIST MLP (``brevitas_examples.bnn_pynq`` FC): ``view`` + ``2x - 1``
preprocessing, a narrow signed 8-bit input quantizer, bias-free ``QuantLinear`` layers with constant-scale
(bipolar for 1 bit) weights, ``BatchNorm1d``, constant-scale narrow activation quantizers (bipolar for 1 bit)
and a final ``TensorNorm``. Used by the tests and benchmarks when the zoo's own files are not at hand.
"""

from __future__ import annotations

from pathlib import Path

from lutnn.errors import LutnnError

__all__ = ["tfc"]


def tfc(path: str | Path, weight_bits: int = 1, act_bits: int = 1, hidden=(64, 64, 64), seed: int = 0) -> Path:
    """Export a TFC-layout QONNX model (784 → hidden → 10) with random weights and BN statistics to ``path``."""
    try:
        import torch
        from brevitas.core.bit_width import BitWidthImplType
        from brevitas.core.quant import QuantType
        from brevitas.core.scaling import ScalingImplType
        from brevitas.export import export_qonnx
        from brevitas.inject import value
        from brevitas.nn import QuantIdentity, QuantLinear
        from brevitas.quant import Int8ActPerTensorFloatMinMaxInit, Int8WeightPerTensorFloat
        from torch import nn
    except ImportError:
        raise LutnnError("building zoo-layout models needs brevitas (pip install brevitas)") from None

    class CommonWeightQuant(Int8WeightPerTensorFloat):
        scaling_const = 1.0
        scaling_impl_type = ScalingImplType.CONST
        bit_width_impl_type = BitWidthImplType.CONST
        narrow_range = True

        @value
        def quant_type(bit_width):
            return QuantType.BINARY if bit_width == 1 else QuantType.INT

    class CommonActQuant(Int8ActPerTensorFloatMinMaxInit):
        min_val, max_val = -1.0, 1.0
        scaling_impl_type = ScalingImplType.CONST
        bit_width_impl_type = BitWidthImplType.CONST
        narrow_range = True

        @value
        def quant_type(bit_width):
            return QuantType.BINARY if bit_width == 1 else QuantType.INT

    class TensorNorm(nn.Module):
        def __init__(self, eps: float = 1e-4):
            super().__init__()
            self.eps = eps
            self.weight = nn.Parameter(torch.rand(1) + 0.5)
            self.bias = nn.Parameter(torch.rand(1))
            self.register_buffer("running_mean", torch.rand(1))
            self.register_buffer("running_var", torch.rand(1) + 0.5)

        def forward(self, x):
            return (x - self.running_mean) / (self.running_var + self.eps).sqrt() * self.weight + self.bias

    class FC(nn.Module):
        def __init__(self):
            super().__init__()
            f: list = [QuantIdentity(act_quant=CommonActQuant, bit_width=8), nn.Dropout(0.2)]
            n = 784
            for h in hidden:
                f += [QuantLinear(n, h, bias=False, weight_bit_width=weight_bits, weight_quant=CommonWeightQuant),
                      nn.BatchNorm1d(h), QuantIdentity(act_quant=CommonActQuant, bit_width=act_bits), nn.Dropout(0.2)]  # fmt: skip
                n = h
            f += [QuantLinear(n, 10, bias=False, weight_bit_width=weight_bits, weight_quant=CommonWeightQuant),
                  TensorNorm()]  # fmt: skip
            self.features = nn.ModuleList(f)

        def forward(self, x):
            x = x.view(x.shape[0], -1)
            x = 2.0 * x - torch.tensor([1.0])
            for m in self.features:
                x = m(x)
            return x

    torch.manual_seed(seed)
    net = FC()
    for mod in net.modules():
        if isinstance(mod, nn.BatchNorm1d):
            fan = mod.num_features
            mod.running_mean.uniform_(-3, 3)
            mod.running_var.uniform_(0.5, 20 + fan)
            mod.weight.data.uniform_(0.2, 2)
            mod.bias.data.uniform_(-1, 1)
    net.eval()
    export_qonnx(net, torch.rand(1, 1, 28, 28), export_path=str(path), dynamo=False)
    return Path(path)
