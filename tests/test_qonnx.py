"""QONNX import: graphs as Brevitas/FINN/QKeras export them become an exact IntegerMLP, judged by QONNX's executor."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("qonnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from lutnn.errors import FormatError, LutnnError  # noqa: E402
from lutnn.quantnet.neurons import compile_neurons  # noqa: E402
from lutnn.quantnet.qonnx import load_qonnx, read_qonnx  # noqa: E402

QD = "qonnx.custom_op.general"


def _const(name, v):
    return numpy_helper.from_array(np.asarray(v, dtype=np.float32), name)


def _quant(x, out, scale, bits, signed, narrow=0, zp=0.0, name=None):
    n = name or out
    inits = [_const(f"{n}_s", scale), _const(f"{n}_z", zp), _const(f"{n}_b", bits)]
    node = helper.make_node("Quant", [x, f"{n}_s", f"{n}_z", f"{n}_b"], [out], domain=QD, name=n,
                            signed=signed, narrow=narrow, rounding_mode="ROUND")  # fmt: skip
    return node, inits


def _model(path, extra_op=None, zp=0.0, batch=1, hidden_narrow=0):
    """in(4, 2-bit unsigned) → Gemm 4→3 (3-bit weights) [→ Relu] → Quant 2-bit signed → Gemm 3→2 → scores."""
    rng = np.random.default_rng(0)
    w1 = rng.normal(size=(3, 4))
    w1[0, 3] = w1[1, 0] = w1[2, 1] = 0.0  # fan-in 3
    w2 = rng.normal(size=(2, 3))
    nodes, inits = [], []
    n, i = _quant("x", "xq", 0.25, 2, 0, zp=zp, name="qin")
    nodes.append(n)
    inits += i
    n, i = _quant("w1", "w1q", np.full((3, 1), 0.4), 3, 1, narrow=1, name="qw1")
    nodes.append(n)
    inits += [*i, _const("w1", w1), _const("b1", rng.normal(size=3) * 0.3)]
    nodes.append(helper.make_node("Gemm", ["xq", "w1q", "b1"], ["h"], transB=1, name="fc1"))
    last = "h"
    if extra_op:
        nodes.append(helper.make_node(extra_op, ["h"], ["hx"], name="odd"))
        last = "hx"
    n, i = _quant(last, "hq", 0.25, 2, 1, narrow=hidden_narrow, name="qh")
    nodes.append(n)
    inits += i
    n, i = _quant("w2", "w2q", 0.3, 4, 1, narrow=1, name="qw2")
    nodes.append(n)
    inits += [*i, _const("w2", w2), _const("b2", rng.normal(size=2) * 0.3)]
    nodes.append(helper.make_node("Gemm", ["hq", "w2q", "b2"], ["y"], transB=1, name="fc2"))
    g = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 2])], initializer=inits,
    )  # fmt: skip
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QD, 1)])
    onnx.save(m, str(path))
    return path


def test_narrow_range_hidden_quantizer_clamps_at_minus_one(tmp_path):
    """A 2-bit signed narrow quantizer outputs -1..1: the lower clamp is -1, not the full range's -2."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes

    grid = np.stack(np.meshgrid(*[np.arange(4)] * 4, indexing="ij"), -1).reshape(-1, 4)
    p = _model(tmp_path / "n.onnx", batch=len(grid), hidden_narrow=1)
    mw = ModelWrapper(str(p)).transform(InferShapes())
    ctx = execute_onnx(mw, {"x": (grid * 0.25).astype(np.float32)}, return_full_exec_context=True)
    ref = np.round(ctx["hq"] / 0.25).astype(np.int64)
    assert ref.min() == -1 and (ctx["h"] / 0.25 < -1.5).any()  # the clamp is exercised
    im = read_qonnx(p)
    hidden = im.forward(grid, all_layers=True)[0]
    assert np.array_equal(hidden, ref)


def test_import_agrees_with_executor_and_compiles(tmp_path):
    qm = load_qonnx(_model(tmp_path / "m.onnx", extra_op="Relu"))
    im = qm.im
    assert [L.n_out for L in im.layers] == [3, 2] and (im.layers[0].fan_in() <= 3).all()  # zero weights unwired
    assert (im.in_bits, im.in_signed, im.in_scale) == (2, False, 0.25)
    nl = compile_neurons(im)
    r = qm.check(nl, n=2000)
    assert r["distinct_codes_per_feature"] == 4
    assert r["model_disagreements"] == r["circuit_disagreements"] == 0, r


def test_integer_zero_point_is_exact_and_fractional_is_refused(tmp_path):
    qm = load_qonnx(_model(tmp_path / "z.onnx", zp=1.0, extra_op="Relu"))
    assert qm.check(n=1000)["model_disagreements"] == 0
    with pytest.raises(FormatError, match=r"zero point 0\.5 is not an integer"):
        read_qonnx(_model(tmp_path / "z2.onnx", zp=0.5))


def test_unsupported_op_names_the_node(tmp_path):
    p = _model(tmp_path / "m.onnx", extra_op="Abs")
    with pytest.raises(FormatError, match=r"node 'odd' \(Abs\): op Abs is not supported between a linear layer"):
        read_qonnx(p)


def test_bad_inputs(tmp_path):
    (tmp_path / "junk.onnx").write_bytes(b"not onnx at all")
    with pytest.raises(FormatError, match="not a readable ONNX file"):
        read_qonnx(tmp_path / "junk.onnx")
    with pytest.raises(LutnnError, match="not found"):
        read_qonnx(tmp_path / "missing.onnx")
    with pytest.raises(FormatError, match="input grid 'int99'"):
        load_qonnx(_model(tmp_path / "m.onnx"), input_grid="int99")


# ----------------------------------------------------------------------------- models exported by Brevitas
def _brevitas_net(kind: str, nin: int = 4, hidden=(6, 5), ncls: int = 4):
    """A small Brevitas MLP with the quantizer options named in ``kind`` (see the parametrization)."""
    import brevitas.nn as qnn
    import brevitas.quant as bq
    import torch
    from torch import nn

    fixed = "float" not in kind  # power-of-two scales: the executor's float32 arithmetic is exact
    act = bq.Int8ActPerTensorFixedPoint if fixed else bq.Int8ActPerTensorFloat
    uact = bq.Uint8ActPerTensorFixedPoint if fixed else bq.Uint8ActPerTensorFloat
    wq = bq.Int8WeightPerTensorFixedPoint if fixed else bq.Int8WeightPerTensorFloat
    if "perch" in kind:
        wq = bq.Int8WeightPerChannelFloat
    wbits = 3
    if "bipolar" in kind:
        wq, wbits = bq.SignedBinaryWeightPerTensorConst, 1
    narrow = "narrow" in kind
    inq = bq.ShiftedUint8ActPerTensorFixedPoint if "zeropt" in kind else act
    mods: list = [qnn.QuantIdentity(act_quant=inq, bit_width=3, narrow_range=narrow)]
    n = nin
    for k in hidden:
        mods.append(qnn.QuantLinear(n, k, bias="bias" in kind, weight_quant=wq, weight_bit_width=wbits))
        if "bn" in kind:
            mods.append(nn.BatchNorm1d(k))
        if "relu" in kind:
            mods.append(qnn.QuantReLU(act_quant=uact, bit_width=2))
        elif "bipact" in kind:
            mods.append(qnn.QuantIdentity(act_quant=bq.SignedBinaryActPerTensorConst, bit_width=1))
        else:
            mods.append(qnn.QuantIdentity(act_quant=act, bit_width=2, narrow_range=narrow))
        n = k
    mods.append(qnn.QuantLinear(n, ncls, bias="bias" in kind, weight_quant=wq, weight_bit_width=wbits))
    if "bnout" in kind:
        mods.append(nn.BatchNorm1d(ncls))
    if "qout" in kind:
        mods.append(qnn.QuantIdentity(act_quant=act, bit_width=4))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(*mods)

        def forward(self, x):
            if "prescale" in kind:  # input preprocessing before the input quantizer
                x = (x - 0.25) / 0.5
            return self.body(x)

    torch.manual_seed(0)
    net = Net()
    for mod in net.modules():
        if isinstance(mod, nn.BatchNorm1d):
            mod.running_mean.uniform_(-1, 1)
            mod.running_var.uniform_(0.2, 3)
            mod.weight.data.uniform_(-1.5, 1.5)
            mod.bias.data.uniform_(-0.5, 0.5)
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.randn(64, nin))  # calibrate activation scales
    return net.eval()


KINDS = [
    "narrow",  # signed narrow-range input and hidden quantizers
    "bipolar-bn",  # 1-bit (BipolarQuant) weights + BatchNorm, as FINN's TFC/SFC
    "bipact-bipolar-bn",  # bipolar weights and bipolar activations (1W1A)
    "relu-bn-prescale",  # (x - 0.25) / 0.5 before the input quantizer, BN, unsigned ReLU quantizers
    "zeropt-relu",  # an input quantizer with a zero point (ShiftedUint8)
    "qout-bias",  # quantized output, Gemm bias
    "float-perch-bias",  # learned float scales, per-output-channel weight scales, bias
    "float-perch-bnout",  # BatchNorm on the output scores (per-class scales)
]


@pytest.mark.parametrize("kind", KINDS)
def test_brevitas_exports_agree_with_the_executor(tmp_path, kind):
    """Each quantizer option, exported by Brevitas, compiles to a circuit that agrees with execute_onnx."""
    pytest.importorskip("brevitas")
    import torch
    from brevitas.export import export_qonnx

    net = _brevitas_net(kind)
    p = tmp_path / f"{kind}.onnx"
    export_qonnx(net, torch.randn(1, 4), export_path=str(p), dynamo=False)
    qm = load_qonnx(p)
    nl = compile_neurons(qm.im)
    r = qm.check(nl, n=3000)
    assert r["distinct_codes_per_feature"] >= 6, r  # the grid is covered
    if "float" in kind:
        # float32 scales: the executor's own rounding can break exact score ties either way; nothing else differs
        assert r["circuit_disagreements_genuine"] == r["model_disagreements_genuine"] == 0, r
        assert r["model_disagreements"] <= 3, r
    else:
        assert r["circuit_disagreements"] == r["model_disagreements"] == 0, r
    if "qout" in kind:
        assert r["model_score_disagreements"] == r["circuit_score_disagreements"] == 0, r
    with torch.no_grad():  # the executor runs what Brevitas computes
        x = qm.grid(200)
        ref = net(torch.as_tensor(x.reshape(200, -1)))
        assert np.allclose(qm.execute(x)[0], np.asarray(ref), atol=1e-4)


def test_tfc_zoo_layout(tmp_path):
    """FINN's TFC-w1a2 layout (Reshape, 2x-1, narrow 8-bit input, bipolar weights, BN, TensorNorm) imports exactly."""
    pytest.importorskip("brevitas")
    from lutnn.quantnet.zoo import tfc

    p = tfc(tmp_path / "tfc.onnx", weight_bits=1, act_bits=2, hidden=(32, 32, 32))
    qm = load_qonnx(p)
    assert [(L.n_in, L.n_out) for L in qm.im.layers] == [(784, 32), (32, 32), (32, 32), (32, 10)]
    assert qm.im.in_bits == 8 and [n.op_type for n in qm.prefix] == ["Reshape", "Mul", "Sub"]
    r = qm.check(n=1000)
    assert r["model_disagreements"] == 0 and r["distinct_codes_per_feature"] > 200, r


def test_input_grid_for_models_without_an_input_quantizer(tmp_path):
    """UNSW-NB15-style: (x + 1) / 2 on +-1 inputs, no input Quant: --input-grid bipolar makes it importable."""
    pytest.importorskip("brevitas")
    import brevitas.nn as qnn
    import brevitas.quant as bq
    import torch
    from brevitas.export import export_qonnx

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            wq = bq.Int8WeightPerTensorFixedPoint
            self.lin = qnn.QuantLinear(10, 6, bias=True, weight_quant=wq, weight_bit_width=2)
            self.act = qnn.QuantReLU(act_quant=bq.Uint8ActPerTensorFixedPoint, bit_width=2)
            self.out = qnn.QuantLinear(6, 3, bias=False, weight_quant=wq, weight_bit_width=2)

        def forward(self, x):
            return self.out(self.act(self.lin((x + 1) / 2)))

    torch.manual_seed(1)
    net = Net().eval()
    with torch.no_grad():
        net(torch.randn(8, 10))
    p = tmp_path / "u.onnx"
    export_qonnx(net, torch.ones(1, 10), export_path=str(p), dynamo=False)
    with pytest.raises(FormatError, match="declare the input grid"):
        load_qonnx(p)
    qm = load_qonnx(p, input_grid="bipolar")
    r = qm.check(compile_neurons(qm.im, limit=12), n=1000)
    assert r["model_disagreements"] == r["circuit_disagreements"] == r["off_grid_vectors"] == 0, r


def test_cli_compile_judges_the_circuit_by_the_executor(tmp_path):
    import json

    from typer.testing import CliRunner

    from lutnn.cli import app

    p = _model(tmp_path / "m.onnx", extra_op="Relu")
    rep = tmp_path / "r.json"
    r = CliRunner().invoke(app, ["compile", str(p), "--no-synth", "--samples", "500", "--report", str(rep)])
    assert r.exit_code == 0, r.output
    assert "vs QONNX executor (grid)" in r.output
    judged = json.loads(rep.read_text())["judge_compiled"]["grid"]
    assert judged["vectors"] == 500 and judged["circuit_disagreements"] == 0
    r = CliRunner().invoke(app, ["compile", str(p), "--no-synth", "--input-grid", "int99"])
    assert r.exit_code != 0 and "input grid 'int99'" in str(r.exception)


def test_multithreshold_activation(tmp_path):
    """FINN's MultiThreshold as the hidden activation (count of thresholds passed, scaled and biased)."""
    rng = np.random.default_rng(3)
    nodes, inits = [], []
    n, i = _quant("x", "xq", 0.5, 3, 1, name="qin")
    nodes.append(n)
    inits += i
    n, i = _quant("w1", "w1q", 0.25, 3, 1, name="qw1")
    nodes.append(n)
    inits += [*i, _const("w1", rng.normal(size=(5, 3)))]
    nodes.append(helper.make_node("MatMul", ["xq", "w1q"], ["h"], name="fc1"))
    inits.append(_const("thr", np.sort(rng.normal(size=(3, 3)), axis=1)))
    nodes.append(helper.make_node("MultiThreshold", ["h", "thr"], ["ht"], domain=QD, name="mt",
                                  out_scale=0.5, out_bias=-0.5, out_dtype="INT2"))  # fmt: skip
    n, i = _quant("w2", "w2q", 0.125, 4, 1, name="qw2")
    nodes.append(n)
    inits += [*i, _const("w2", rng.normal(size=(3, 4)))]
    nodes.append(helper.make_node("MatMul", ["ht", "w2q"], ["y"], name="fc2"))
    g = helper.make_graph(
        nodes, "mt", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], initializer=inits,
    )  # fmt: skip
    p = tmp_path / "mt.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QD, 1)]), str(p))
    qm = load_qonnx(p)
    assert qm.im.layers[0].out_bits == 2 and not qm.im.layers[0].out_signed
    r = qm.check(compile_neurons(qm.im, limit=15), n=2000)
    assert r["model_disagreements"] == r["circuit_disagreements"] == 0, r
