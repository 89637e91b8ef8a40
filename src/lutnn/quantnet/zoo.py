"""Brevitas rebuilds of QONNX model-zoo layouts (needs ``brevitas``): random weights, the zoo's exact graph shape.

:func:`tfc` is FINN's ``TFC_<w>W<a>A`` MNIST MLP (``brevitas_examples.bnn_pynq`` FC): ``view`` + ``2x - 1``
preprocessing, a narrow signed 8-bit input quantizer, bias-free ``QuantLinear`` layers with constant-scale
(bipolar for 1 bit) weights, ``BatchNorm1d``, constant-scale narrow activation quantizers (bipolar for 1 bit)
and a final ``TensorNorm``. Used by the tests and benchmarks when the zoo's own files are not at hand.
"""

from __future__ import annotations

from pathlib import Path

from lutnn.errors import LutnnError

__all__ = ["ZOO", "fetch_zoo_model", "tfc"]


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


ZOO_URL = "https://github.com/fastmachinelearning/qonnx_model_zoo/raw/main/models/"
ZOO = {  # name -> (path in the zoo repository, --input-grid needed)
    "TFC_1W1A": ("MNIST/Brevitas_FINN_TFC/TFC/TFC_1W1A.onnx", None),
    "TFC_1W2A": ("MNIST/Brevitas_FINN_TFC/TFC/TFC_1W2A.onnx", None),
    "TFC_2W2A": ("MNIST/Brevitas_FINN_TFC/TFC/TFC_2W2A.onnx", None),
    "unsw_nb15-mlp-w2a2": ("UNSW_NB15/unsw_nb15_mlp_w2a2/unsw_nb15-mlp-w2a2.onnx", "bipolar"),
    "kwsmlp_w3a3": ("GSCV2/kwsmlp_w3a3/kwsmlp_w3a3.onnx", None),
    "qkeras_jettagging": ("JetTagging/QKeras_hls4ml_3layer/qkeras_jettagging.onnx", "int16:2^-10"),
}


def fetch_zoo_model(name: str, dest: str | Path = ".", timeout: float = 30) -> Path:
    """Download one QONNX model-zoo MLP (see :data:`ZOO`) into ``dest``; a clear error when offline."""
    import urllib.error
    import urllib.request

    from lutnn.fileio import atomic_write

    if name not in ZOO:
        raise LutnnError(f"unknown zoo model {name!r}; known: {', '.join(ZOO)}")
    url = ZOO_URL + ZOO[name][0]
    out = Path(dest) / Path(ZOO[name][0]).name
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            data = r.read()
    except (urllib.error.URLError, OSError) as e:
        raise LutnnError(
            f"could not download {url} ({type(e).__name__}: {e}); offline? fetch it elsewhere and copy it to {out}, "
            "or build the same layout locally with lutnn.quantnet.zoo.tfc()"
        ) from None
    if data[:4] == b"vers":  # a Git LFS pointer instead of the model
        raise LutnnError(f"{url} is a Git LFS pointer, not the model; download it from the GitHub web page")
    atomic_write(out, data)
    return out
