"""Import QONNX models (Brevitas, QKeras via qonnx, FINN) into lutnn's exact integer model, judged by QONNX's executor.

The graph is first normalised with the ``qonnx`` package's own passes (those of
:func:`qonnx.util.cleanup.cleanup_model` but its renaming ones: shape inference, constant folding,
``FoldTransposeIntoQuantInit``...). Then it is read as

    preprocessing -> input quantizer -> [linear -> elementwise tail -> activation quantizer]* -> linear -> tail

* **preprocessing** (anything before the first activation ``Quant``/``BipolarQuant``/``MultiThreshold``:
  ``Reshape``/``Flatten``/``Mul``/``Add``/``Sub``/``Div``/``MatMul`` by constants...) is not compiled: the
  circuit's inputs are the input quantizer's integer codes, which :meth:`QonnxModel.codes` computes by running
  the executor on raw data;
* **linear**: ``MatMul``/``Gemm`` whose weight is a ``Quant``/``BipolarQuant`` of a constant (any bit width,
  narrow, per-tensor or per-output-channel scale, integer zero point);
* **hidden tail + activation quantizer**: monotone elementwise ops with constants (``Add``/``Sub``/``Mul``/
  ``Div``/``BatchNormalization``/``Relu``/``Clip``...) ending in ``Quant``/``BipolarQuant``/``MultiThreshold``.
  Each neuron's thresholds are found by binary search over its integer accumulator, evaluating the tail
  *with the QONNX executor itself*, so rounding mode, clamps (narrow ranges), ties and BatchNorm arithmetic
  are exactly the executor's;
* **output tail**: affine ops (``Add``/``Sub``/``Mul``/``Div``/``BatchNormalization``) folded with exact
  rational arithmetic into integer scores whose order (ties included) is the real-valued scores' order.

Anything else raises a :class:`~lutnn.errors.FormatError` naming the node, its op and what would make it work.
"""

from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from lutnn.errors import FormatError, LutnnError
from lutnn.fileio import check_readable
from lutnn.quantnet.intmodel import IntegerMLP, IntLayer, code_range

__all__ = ["QonnxModel", "load_qonnx", "read_qonnx", "run_qonnx"]

_QUANT_OPS = ("Quant", "BipolarQuant", "MultiThreshold")
_SHAPE_OPS = {"Identity", "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Dropout"}
_MONOTONE = {"Add", "Sub", "Mul", "Div", "BatchNormalization", "Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh",
             "HardSigmoid", "Identity", "Dropout", "Flatten", "Reshape", "Squeeze", "Unsqueeze"}  # fmt: skip
_AFFINE = {"Add", "Sub", "Mul", "Div", "BatchNormalization", "Identity", "Dropout", "Flatten", "Reshape",
           "Squeeze", "Unsqueeze"}  # fmt: skip
_ARGMAX_KEEP = {"Softmax", "LogSoftmax"}  # allowed as the very last ops: they keep the class
_SCORE_BITS = 48  # raw scores with per-class scales: widest exact integer score before rounding to 2**-k


def _qonnx():
    try:
        import qonnx  # noqa: F401
    except ImportError:
        raise LutnnError("importing QONNX models needs the qonnx package: pip install qonnx") from None


@dataclass
class _Fmt:
    """Activation codes ``u`` (``bits``/``signed`` bus, valid in ``[lo, hi]``) whose value is ``scale * (mult*u + off)``."""

    bits: int
    signed: bool
    scale: float
    mult: int
    off: float
    lo: int
    hi: int


@dataclass
class QonnxModel:
    """An imported QONNX graph: the exact integer model plus what is needed to judge it with the executor."""

    im: IntegerMLP
    path: Path
    model: object  # qonnx ModelWrapper (cleaned)
    in_tensor: str  # the input quantizer's output tensor
    in_fmt: _Fmt
    prefix: list  # nodes from the graph input to the input quantizer (run by the executor, inverted for the grid)
    notes: list[str] = field(default_factory=list)
    out_fmt: _Fmt | None = None  # the output quantizer's format (quantized outputs) or None (raw scores)
    grid_quant: tuple | None = (
        None  # the declared input grid (kind, bits, signed, scale) when the file has no quantizer
    )
    _batched: dict = field(default_factory=dict, repr=False)

    # -- the executor
    def _with_batch(self, n: int):
        if n not in self._batched:
            self._batched = {n: _batch_model(self.model, n)}  # keep one (they can be large)
        return self._batched[n]

    def execute(self, x: np.ndarray, batch: int = 1000) -> tuple[np.ndarray, np.ndarray]:
        """Run the QONNX executor on raw inputs ``x``: (outputs ``[N, classes]`` float, input codes ``[N, features]``)."""
        from qonnx.core.onnx_exec import execute_onnx

        x = np.asarray(x, dtype=np.float32)
        ishape = self.model.get_tensor_shape(self.model.graph.input[0].name)
        if tuple(x.shape[1:]) != tuple(ishape[1:]):
            try:
                x = x.reshape((len(x), *ishape[1:]))
            except ValueError:
                raise LutnnError(
                    f"{self.path.name}: inputs of shape {x.shape[1:]} do not fit the model input {tuple(ishape[1:])}"
                ) from None
        outs, codes = [], []
        for i in range(0, len(x), batch):
            xb = x[i : i + batch]
            m = self._with_batch(len(xb))
            ctx = execute_onnx(m, {m.graph.input[0].name: xb}, return_full_exec_context=True)
            outs.append(np.asarray(ctx[m.graph.output[0].name], dtype=np.float64).reshape(len(xb), -1))
            if self.grid_quant is None:
                y = np.asarray(ctx[self.in_tensor], dtype=np.float64).reshape(len(xb), -1)
            else:  # the declared grid: snap (off-grid inputs are counted by check)
                y = xb.reshape(len(xb), -1).astype(np.float64)
            codes.append(_codes_of(y, self.in_fmt))
        return np.concatenate(outs), np.concatenate(codes)

    def codes(self, x: np.ndarray) -> np.ndarray:
        """Raw inputs → the input quantizer's integer codes, as the executor computes them."""
        return self.execute(x)[1]

    def grid(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` raw inputs whose input codes are uniform on the input quantizer's grid (preprocessing inverted)."""
        f = self.in_fmt
        rng = np.random.default_rng(seed)
        u = rng.integers(f.lo, f.hi + 1, size=(n, self.im.n_features))
        t = (f.scale * (f.mult * u + f.off)).astype(np.float64)
        return _invert_prefix(self, t)

    def check(self, nl=None, x: np.ndarray | None = None, n: int = 1000, seed: int = 0) -> dict:
        """Judge the integer model (and netlist ``nl``'s ``class`` output) by the executor on ``x`` or ``n`` grid vectors.

        A disagreement is a vector whose class differs from the executor's ``np.argmax`` (first maximum).
        ``*_ties`` counts the disagreements that are float32 rounding ties: the exact scores tie and the executor's
        rounding picked another of the tied classes, or the executor's float32 scores tie where the exact ones
        differ; ``*_genuine`` the rest (must be 0). Quantized outputs also compare codes.
        """
        xs = self.grid(n, seed) if x is None else np.asarray(x)
        ref, codes = self.execute(xs)
        cls_ref = np.argmax(ref, axis=1)
        scores = self.im.forward(codes)
        rows = np.arange(len(scores))
        tied = scores[rows, cls_ref] == scores.max(axis=1)  # the executor's class is an exact maximum
        ref_max = ref.max(axis=1)
        res: dict = {"vectors": len(xs)}
        got = {"model": np.argmax(scores, axis=1)}
        if nl is not None:
            from lutnn.quantnet.neurons import input_values
            from lutnn.sim import simulate_buses

            _, sg = self.im.score_format()
            names = [b.name for b in nl.outputs]
            sim = simulate_buses(nl, input_values(self.im, codes), signed={n_: sg and n_ != "class" for n_ in names})
            got["circuit"] = sim["class"]
            circ_scores = np.stack([sim[f"score{c}"] for c in range(scores.shape[1])], axis=1)
        for who, cls in got.items():
            bad = cls != cls_ref
            res[f"{who}_disagreements"] = int(bad.sum())
            tie = tied | (ref[rows, cls] == ref_max)  # or ours is among the executor's float32-tied maxima
            res[f"{who}_disagreements_ties"] = int((bad & tie).sum())
            res[f"{who}_disagreements_genuine"] = int((bad & ~tie).sum())
        if self.out_fmt is not None and self.im.layers[-1].thresholds is not None:
            ref_codes = _codes_of(ref, self.out_fmt)
            res["model_score_disagreements"] = int((ref_codes != scores).any(axis=1).sum())
            if nl is not None:
                res["circuit_score_disagreements"] = int((ref_codes != circ_scores).any(axis=1).sum())
        if self.grid_quant is not None:
            f = self.in_fmt
            on = f.scale * (f.mult * codes + f.off) == np.asarray(xs, np.float64).reshape(len(xs), -1)
            res["off_grid_vectors"] = int((~on).any(axis=1).sum())
        res["distinct_codes_per_feature"] = round(float(np.mean([len(np.unique(c)) for c in codes.T])), 2)
        return res


def _batch_model(model, n: int):
    from qonnx.transformation.change_batchsize import ChangeBatchSize
    from qonnx.transformation.infer_shapes import InferShapes

    m = copy.deepcopy(model)
    m = m.transform(ChangeBatchSize(n))
    return m.transform(InferShapes())


def _codes_of(y: np.ndarray, f: _Fmt) -> np.ndarray:
    return np.clip(np.round((y / f.scale - f.off) / f.mult), f.lo, f.hi).astype(np.int64)


# ----------------------------------------------------------------------------- reading
def _load(path: str | Path):
    _qonnx()
    from qonnx.core.modelwrapper import ModelWrapper

    p = check_readable(path, "ONNX model")
    try:
        import onnx

        raw = onnx.load(str(p), load_external_data=False)  # never open files the model names
    except Exception as e:
        raise FormatError(p, f"not a readable ONNX file ({type(e).__name__}: {str(e)[:120]})") from None
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in raw.graph.initializer):
        raise FormatError(p, "tensors stored in external files are not read; save the model with its weights inside")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            for n in raw.graph.node:  # FINN-era domains of QONNX's own ops
                if n.op_type in ("Quant", "BipolarQuant", "Trunc", "MultiThreshold"):
                    n.domain = "qonnx.custom_op.general"
            m = _cleanup(ModelWrapper(raw))
        except Exception as e:
            raise FormatError(p, f"qonnx cleanup failed ({type(e).__name__}: {str(e)[:160]})") from None
    if len(m.graph.input) != 1 or len(m.graph.output) != 1:
        raise FormatError(p, f"expected one graph input and one output, found {len(m.graph.input)} and "
                             f"{len(m.graph.output)}")  # fmt: skip
    return p, m


def _cleanup(m):
    """qonnx's ``cleanup_model`` passes, minus the renaming ones (errors name the user's nodes)."""
    from qonnx.transformation.fold_constants import FoldConstants
    from qonnx.transformation.general import (
        GiveUniqueNodeNames,
        GiveUniqueParameterTensors,
        RemoveStaticGraphInputs,
        RemoveUnusedTensors,
    )
    from qonnx.transformation.infer_shapes import InferShapes
    from qonnx.transformation.quant_constant_folding import FoldTransposeIntoQuantInit

    keep = ["Quant", "BipolarQuant", "QuantizeLinear", "DequantizeLinear"]
    for t in (InferShapes(), GiveUniqueParameterTensors(), FoldConstants(exclude_op_types=keep),
              FoldTransposeIntoQuantInit(), RemoveUnusedTensors(), RemoveStaticGraphInputs(), InferShapes()):  # fmt: skip
        m = m.transform(t)
    names = [n.name for n in m.graph.node]
    if "" in names or len(set(names)) != len(names):
        m = m.transform(GiveUniqueNodeNames())
    return m


def _attrs(node) -> dict:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _s(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def _const(m, name: str):
    """Value of a constant tensor: an initializer, or a Quant/BipolarQuant of constants (a quantized bias)."""
    if not name:
        return None
    v = m.get_initializer(name)
    if v is not None:
        return v
    src = m.find_producer(name)
    if src is None or src.op_type not in ("Quant", "BipolarQuant"):
        return None
    ins = [m.get_initializer(i) for i in src.input]
    if any(i is None for i in ins):
        return None
    from qonnx.custom_op.general.bipolar_quant import binary_quant
    from qonnx.custom_op.general.intquant import int_quant

    if src.op_type == "BipolarQuant":
        return binary_quant(*ins)
    a = _attrs(src)
    return int_quant(*ins, bool(a.get("signed", 1)), bool(a.get("narrow", 0)), _s(a.get("rounding_mode", "ROUND")))


def _consumers(m, tensor: str) -> list:
    return [n for n in m.graph.node if tensor in n.input]


def _desc(node) -> str:
    return f"node {node.name!r} ({node.op_type})"


def _quant_fmt(p, m, node) -> _Fmt:
    """Format of an activation quantizer's output (per-tensor scale; integer zero point)."""
    op = node.op_type
    if op == "BipolarQuant":
        s = _const(m, node.input[1])
        if s is None or np.size(s) != 1:
            raise FormatError(p, f"{_desc(node)}: needs one constant scale per tensor")
        return _Fmt(1, False, float(np.asarray(s).reshape(-1)[0]), 2, -1.0, 0, 1)
    if op == "MultiThreshold":
        t = _const(m, node.input[1])
        if t is None:
            raise FormatError(p, f"{_desc(node)}: thresholds must be constant")
        a = _attrs(node)
        sc, bi = float(a.get("out_scale", 1.0)), float(a.get("out_bias", 0.0))
        if sc <= 0:
            raise FormatError(p, f"{_desc(node)}: out_scale must be positive")
        nt = int(np.shape(t)[1])
        return _Fmt(max(1, nt.bit_length()), False, sc, 1, bi / sc, 0, nt)
    ins = [_const(m, i) for i in node.input[1:4]]
    if any(v is None for v in ins):
        raise FormatError(p, f"{_desc(node)}: scale, zero point and bit width must be constants (run qonnx cleanup)")
    scale, zp, bw = (np.asarray(v, dtype=np.float64) for v in ins)
    if scale.size != 1 or zp.size != 1:
        raise FormatError(p, f"{_desc(node)}: activations need one scale and zero point per tensor "
                             "(per-channel activation scales are not supported)")  # fmt: skip
    s, z, b = float(scale.reshape(-1)[0]), float(zp.reshape(-1)[0]), float(bw.reshape(-1)[0])
    if b != int(b) or not 1 <= b <= 16:
        raise FormatError(p, f"{_desc(node)}: bit width {b} is not an integer in 1..16")
    if z != round(z):
        raise FormatError(p, f"{_desc(node)}: zero point {z} is not an integer; export with an integer zero point")
    if not (math.isfinite(s) and s > 0):
        raise FormatError(p, f"{_desc(node)}: scale must be positive and finite")
    a = _attrs(node)
    b, signed, narrow = int(b), bool(a.get("signed", 1)), bool(a.get("narrow", 0))
    if b == 1 and signed:  # the executor's 1-bit signed Quant is bipolar: +-1
        return _Fmt(1, False, s, 2, -1.0 - z, 0, 1)
    from qonnx.custom_op.general.intquant import max_int, min_int

    lo, hi = int(min_int(signed, narrow, b)), int(max_int(signed, narrow, b))
    return _Fmt(b, signed, s, 1, -z, lo, hi)


def _weight(p, m, lin) -> tuple[np.ndarray, np.ndarray, str]:
    """Integer weight ``[out, in]`` and per-output scale of a linear node's quantized constant weight."""
    from qonnx.custom_op.general.intquant import int_quant

    wname = lin.input[1]
    src = m.find_producer(wname)
    if src is None or src.op_type not in ("Quant", "BipolarQuant"):
        why = "a float constant" if m.get_initializer(wname) is not None else "computed"
        raise FormatError(p, f"{_desc(lin)}: its weight {wname!r} is {why}, not a Quant/BipolarQuant of a constant; "
                             "export the layer with a weight quantizer")  # fmt: skip
    w = _const(m, src.input[0])
    if w is None:
        raise FormatError(p, f"{_desc(src)}: the weight it quantizes is not a constant (run qonnx cleanup)")
    w = np.asarray(w, dtype=np.float32)
    if src.op_type == "BipolarQuant":
        s = np.asarray(_const(m, src.input[1]), dtype=np.float64)
        codes, zp = np.where(w >= 0, 1, -1), np.zeros(1)
    else:
        ins = [_const(m, i) for i in src.input[1:4]]
        if any(v is None for v in ins):
            raise FormatError(p, f"{_desc(src)}: scale, zero point and bit width must be constants")
        s, zp, bw = (np.asarray(v) for v in ins)
        a = _attrs(src)
        if (np.asarray(zp) != np.round(zp)).any():
            raise FormatError(p, f"{_desc(src)}: non-integer weight zero point")
        bw_ = np.asarray(bw, dtype=np.float32)
        y = int_quant(w, s.astype(np.float32), zp.astype(np.float32), bw_, bool(a.get("signed", 1)),
                      bool(a.get("narrow", 0)), _s(a.get("rounding_mode", "ROUND")))  # fmt: skip
        codes = np.round(np.asarray(y, np.float64) / np.broadcast_to(s, w.shape) + zp)
        s = s.astype(np.float64)
        zp = np.asarray(zp, dtype=np.float64)
    wi = (codes - zp).astype(np.int64)  # exact: integer codes minus an integer zero point
    sb = np.broadcast_to(np.asarray(s, np.float64), w.shape)
    a = _attrs(lin)
    if lin.op_type == "Gemm":
        if a.get("transA", 0):
            raise FormatError(p, f"{_desc(lin)}: transA=1 is not supported")
        if not a.get("transB", 0):
            wi, sb = wi.T, sb.T
    else:
        wi, sb = wi.T, sb.T
    if wi.ndim != 2:
        raise FormatError(p, f"{_desc(lin)}: weight must be 2-D, got shape {wi.shape}")
    sw = sb[:, 0].copy()
    if not (sb == sw[:, None]).all():
        raise FormatError(p, f"{_desc(lin)}: weight scales must be per tensor or per output channel")
    return wi, sw, src.name


def _tail(p, m, start: str, allowed: set[str]) -> tuple[list, str]:
    """Follow single consumers from ``start`` through ``allowed`` ops; stop before a quantizer or linear node."""
    nodes, cur = [], start
    out = m.graph.output[0].name
    while cur != out:
        cons = _consumers(m, cur)
        if len(cons) != 1:
            raise FormatError(p, f"tensor {cur!r} feeds {len(cons)} nodes; lutnn imports single chains (an MLP)")
        n = cons[0]
        if n.op_type in _QUANT_OPS or n.op_type in ("MatMul", "Gemm"):
            break
        if n.op_type == "Div" and n.input[0] != cur:
            raise FormatError(p, f"{_desc(n)}: a constant divided by the activations is not monotone; only x / c folds")
        if n.op_type not in allowed:
            raise FormatError(p, f"{_desc(n)}: op {n.op_type} is not supported between a linear layer and its "
                                 f"quantizer (supported: {', '.join(sorted(allowed))})")  # fmt: skip
        if n.op_type not in ("Relu", "Sigmoid", "Tanh") and n.op_type not in _SHAPE_OPS:
            others = [i for i in n.input if i and i != cur]
            if n.op_type in ("Clip",) and not all(_const(m, i) is not None for i in others):
                raise FormatError(p, f"{_desc(n)}: bounds must be constants")
            if n.op_type not in ("Clip", "LeakyRelu", "HardSigmoid") and any(_const(m, i) is None for i in others):
                raise FormatError(p, f"{_desc(n)}: its other inputs must be constants (one chain, no skip connections)")
        nodes.append(n)
        cur = n.output[0]
    return nodes, cur


def load_qonnx(path: str | Path, input_grid: str | None = None) -> QonnxModel:
    """Read a QONNX model into an exact :class:`IntegerMLP` plus the executor-backed judge (see module docstring).

    ``input_grid`` declares the raw inputs of a model without an input quantizer (e.g. the zoo's UNSW-NB15 MLP
    takes +-1 bits, QKeras models fixed-point features): ``"bipolar"``, ``"binary"``, ``"int8"``/``"uint8"``
    (integers) or ``"int16:2^-10"`` (fixed point: bits and scale). A quantizer that is the identity on that grid
    is put in front of the graph for import only; the judge still runs the file as it is.
    """
    p, m = _load(path)
    judge = m
    grid_q = None
    if input_grid:
        grid_q = _grid_quant(p, input_grid)
        m = _insert_input_quant(m, grid_q)
    gin = m.graph.input[0].name
    # -- preprocessing up to the input quantizer
    prefix, cur = [], gin
    while True:
        cons = _consumers(m, cur)
        if len(cons) != 1:
            raise FormatError(p, f"the graph input feeds {len(cons)} nodes before any quantizer; expected one chain")
        n = cons[0]
        if n.op_type in _QUANT_OPS:
            break
        if n.op_type in ("MatMul", "Gemm") and m.find_producer(n.input[1]) is not None:
            raise FormatError(p, f"{_desc(n)}: the first layer reads the unquantized input; add an input "
                                 "quantizer (e.g. Brevitas QuantIdentity) in front of it, or declare the input "
                                 "grid (--input-grid bipolar|binary|int8|uint8|int16:2^-10)")  # fmt: skip
        if any(_const(m, i) is None for i in n.input if i and i != cur):
            raise FormatError(p, f"{_desc(n)}: preprocessing may only combine the input with constants")
        prefix.append(n)
        cur = n.output[0]
    qin = n
    in_fmt = _quant_fmt(p, m, qin)
    if qin.op_type == "MultiThreshold":
        raise FormatError(p, f"{_desc(qin)}: MultiThreshold as the input quantizer is not supported; use Quant")
    fmt, cur = in_fmt, qin.output[0]
    fmt, cur = _fold_input_affine(p, m, fmt, cur)
    layers: list[IntLayer] = []
    notes: list[str] = []
    out_fmt = None
    n_features = None
    while True:
        # shape-only ops between quantizer and linear layer
        while True:
            cons = _consumers(m, cur)
            if cur == m.graph.output[0].name and not cons:
                break
            if len(cons) != 1:
                raise FormatError(p, f"tensor {cur!r} feeds {len(cons)} nodes; lutnn imports single chains (an MLP)")
            if cons[0].op_type not in _SHAPE_OPS:
                break
            cur = cons[0].output[0]
        if cur == m.graph.output[0].name:
            break
        lin = cons[0]
        if lin.op_type not in ("MatMul", "Gemm"):
            raise FormatError(p, f"{_desc(lin)}: op {lin.op_type} is not supported after a quantizer; lutnn "
                                 "imports MLPs (MatMul/Gemm layers) (convolutions: lower them to MatMul first)")  # fmt: skip
        wi, sw, _ = _weight(p, m, lin)
        if n_features is None:
            n_features = wi.shape[1]
        prev_n = layers[-1].n_out if layers else n_features
        if wi.shape[1] != prev_n:
            raise FormatError(p, f"{_desc(lin)}: weight has {wi.shape[1]} inputs but the previous layer gives {prev_n}")
        a = _attrs(lin)
        alpha = float(a.get("alpha", 1.0)) if lin.op_type == "Gemm" else 1.0
        lin_out = lin.output[0]
        if lin.op_type == "Gemm" and len(lin.input) > 2 and lin.input[2]:
            m, lin_out = _split_gemm_bias(p, m, lin, float(a.get("beta", 1.0)))
        tail, cur = _tail(p, m, lin_out, _MONOTONE | _ARGMAX_KEEP)
        wp = wi * fmt.mult  # acc' = sum W' u,  z = alpha * s_in * sw * (acc' + off * rowsum(W))
        zscale = alpha * fmt.scale * sw
        zoff = wi @ np.broadcast_to(np.asarray(fmt.off, np.float64), wi.shape[1])
        nm = f"layer {len(layers)} ({lin.name})"
        act = _consumers(m, cur)
        if cur != m.graph.output[0].name and act and act[0].op_type in _QUANT_OPS:
            q = act[0]
            for n in tail:
                if n.op_type in _ARGMAX_KEEP:
                    raise FormatError(p, f"{_desc(n)}: {n.op_type} is only supported as the last op of the output")
            ofmt = _quant_fmt(p, m, q)
            L = _threshold_layer(m, wp, fmt, ofmt, zscale, zoff, lin_out, tail, q, nm)
            layers.append(L)
            fmt, cur = ofmt, q.output[0]
            out_fmt = ofmt
            continue
        if cur != m.graph.output[0].name:
            nxt = act[0] if act else None
            raise FormatError(p, f"{_desc(nxt) if nxt else repr(cur)}: the output of {_desc(lin)} reaches the next "
                                 "layer without an activation quantizer (Quant/BipolarQuant/MultiThreshold); "
                                 "quantize every hidden activation")  # fmt: skip
        # raw scores: the tail must be affine and end at the graph output
        while tail and tail[-1].op_type in _ARGMAX_KEEP and _attrs(tail[-1]).get("axis", -1) in (-1, 1):
            notes.append(f"{_desc(tail[-1])}: keeps the argmax; the circuit outputs the scores before it")
            tail = tail[:-1]
        bad = [n for n in tail if n.op_type not in _AFFINE]
        if bad:
            raise FormatError(p, f"{_desc(bad[0])}: the output layer's scores may only pass affine ops "
                                 "(Add/Sub/Mul/Div/BatchNormalization); quantize the output to use it")  # fmt: skip
        L, note = _score_layer(p, m, wp, fmt, zscale, zoff, lin_out, tail, nm)
        notes += note
        layers.append(L)
        out_fmt = None
        break
    if not layers:
        raise FormatError(p, "the graph has no MatMul/Gemm layer after its input quantizer")
    im = IntegerMLP(layers, in_fmt.bits, in_fmt.signed, in_fmt.scale, layers[-1].n_out,
                    {"source": str(p), "importer": "qonnx"}).validate()  # fmt: skip
    qm = QonnxModel(im, p, judge, qin.output[0], in_fmt, prefix, notes, out_fmt)
    qm.grid_quant = grid_q
    return qm


def read_qonnx(path: str | Path) -> IntegerMLP:
    """Read a QONNX MLP into the exact integer model (see :func:`load_qonnx`)."""
    return load_qonnx(path).im


def run_qonnx(path: str | Path, x: np.ndarray) -> np.ndarray:
    """Outputs of the QONNX reference executor (``qonnx.core.onnx_exec.execute_onnx``) on raw inputs ``x``."""
    return load_qonnx(path).execute(x)[0]


def _grid_quant(p, spec: str) -> tuple:
    """Parse ``--input-grid``: bipolar | binary | intB | uintB, optionally ``:SCALE`` (a number or ``2^-k``)."""
    import re

    sp = spec.strip().lower()
    if sp in ("bipolar", "binary"):
        return (sp, 1, sp == "bipolar", 1.0)
    mt = re.fullmatch(r"(u?)int(\d+)(?::(.+))?", sp)
    if not mt or not 1 <= int(mt.group(2)) <= 16:
        raise FormatError(p, f"input grid {spec!r}: use bipolar, binary, intB or uintB (B in 1..16), "
                             "optionally with :SCALE such as int16:2^-10")  # fmt: skip
    sc = mt.group(3) or "1"
    try:
        scale = 2.0 ** float(sc[2:]) if sc.startswith("2^") else float(sc)
    except ValueError:
        raise FormatError(p, f"input grid {spec!r}: scale {sc!r} is not a number") from None
    if not (math.isfinite(scale) and scale > 0):
        raise FormatError(p, f"input grid {spec!r}: the scale must be positive")
    return ("int", int(mt.group(2)), not mt.group(1), scale)


def _insert_input_quant(m, g: tuple):
    """A copy of ``m`` with a quantizer on its input that is the identity on the declared grid ``g``."""
    from onnx import helper

    m = copy.deepcopy(m)
    gin = m.graph.input[0].name
    out = m.make_new_valueinfo_name()
    for n in m.graph.node:
        for i, t in enumerate(n.input):
            if t == gin:
                n.input[i] = out
    kind, bits, signed, scale = g
    names = [m.make_new_valueinfo_name() for _ in range(3)]
    if kind == "bipolar":
        m.set_initializer(names[0], np.float32(1.0))
        node = helper.make_node("BipolarQuant", [gin, names[0]], [out], domain="qonnx.custom_op.general",
                                name="lutnn_input_grid")  # fmt: skip
    else:
        for nm_, v in zip(names, (scale, 0.0, bits), strict=True):
            m.set_initializer(nm_, np.asarray(v, np.float32))
        node = helper.make_node("Quant", [gin, *names], [out], domain="qonnx.custom_op.general",
                                name="lutnn_input_grid", signed=int(signed), narrow=0,
                                rounding_mode="ROUND")  # fmt: skip
    m.graph.node.insert(0, node)
    from qonnx.transformation.infer_shapes import InferShapes

    return m.transform(InferShapes())


def _fold_input_affine(p, m, fmt: _Fmt, cur: str) -> tuple[_Fmt, str]:
    """Fold ``Add``/``Sub``/``Mul``/``Div`` by constants between the input quantizer and the first layer into its format."""
    import dataclasses

    while True:
        cons = _consumers(m, cur)
        if len(cons) != 1 or cons[0].op_type not in ("Add", "Sub", "Mul", "Div", *_SHAPE_OPS):
            return fmt, cur
        n = cons[0]
        if n.op_type in _SHAPE_OPS:
            if n.op_type in ("Reshape", "Flatten") and np.ndim(fmt.off) > 0:
                raise FormatError(p, f"{_desc(n)}: reshaping after a per-feature offset is not supported")
            cur = n.output[0]
            continue
        first = n.input[0] == cur
        c = _const(m, n.input[1] if first else n.input[0])
        if c is None:
            raise FormatError(p, f"{_desc(n)}: its other input must be a constant")
        c = np.asarray(c, np.float64).reshape(-1)
        off, sc = np.asarray(fmt.off, np.float64), fmt.scale
        if n.op_type in ("Mul", "Div"):
            if c.size != 1 or c[0] == 0 or (n.op_type == "Div" and not first):
                raise FormatError(p, f"{_desc(n)}: only a scalar, nonzero {n.op_type} by a constant folds into the "
                                     "input codes")  # fmt: skip
            sc = sc * c[0] if n.op_type == "Mul" else sc / c[0]
        elif n.op_type == "Add" or first:  # x + c, x - c
            off = off + (c if n.op_type == "Add" else -c) / sc
        else:  # c - x
            sc = -sc
            off = off + c / sc
        off = float(off.reshape(-1)[0]) if off.size == 1 else off
        fmt = dataclasses.replace(fmt, scale=sc, off=off)
        cur = n.output[0]


def _split_gemm_bias(p, m, lin, beta: float):
    """Rewrite ``Gemm(A, B, C)`` as ``Gemm(A, B) + beta*C`` so the bias joins the elementwise tail."""
    from onnx import TensorProto, helper

    c = _const(m, lin.input[2])
    if c is None:
        raise FormatError(p, f"{_desc(lin)}: bias must be a constant")
    m = copy.deepcopy(m)
    lin = next(n for n in m.graph.node if n.name == lin.name)
    out = lin.output[0]
    mid = m.make_new_valueinfo_name()
    cname = m.make_new_valueinfo_name()
    m.set_initializer(cname, (np.asarray(c, np.float32) * np.float32(beta)).astype(np.float32))
    del lin.input[2]
    lin.output[0] = mid
    add = helper.make_node("Add", [mid, cname], [out], name=lin.name + "_bias")
    idx = list(m.graph.node).index(lin)
    m.graph.node.insert(idx + 1, add)
    m.graph.value_info.append(helper.make_tensor_value_info(mid, TensorProto.FLOAT, m.get_tensor_shape(out)))
    return m, mid


def _threshold_layer(m, wp, fmt: _Fmt, ofmt: _Fmt, zscale, zoff, lin_out, tail, q, name) -> IntLayer:
    """Thresholds found by bisection over each neuron's accumulator, evaluating the tail with the executor."""
    from qonnx.core.onnx_exec import execute_onnx

    n_out = wp.shape[0]
    qmin, qmax = code_range(ofmt.bits, ofmt.signed)
    levels = np.arange(qmin + 1, qmax + 1)
    K = len(levels)
    L = IntLayer(wp.copy(), wp != 0, fmt.bits, fmt.signed, ofmt.bits, ofmt.signed, None, None, name)
    lo, hi = L.acc_bounds()
    mb = _batch_model(m, max(K, 2))
    start = tail[0] if tail else q
    feed = start.input[0] if tail else q.input[0]
    assert feed == lin_out

    consts = {}  # constants computed by nodes outside the tail (quantized biases): feed their values
    for n in [*tail, q]:
        for i in n.input:
            if i and i != feed and mb.get_initializer(i) is None and mb.find_producer(i) not in tail:
                consts[i] = np.asarray(_const(mb, i), np.float32)

    def codes_at(acc: np.ndarray) -> np.ndarray:  # acc [B, out] (B = batch rows) -> output codes
        z = (zscale[None, :] * (acc.astype(np.float64) + zoff[None, :])).astype(np.float32)
        rows = z.shape[0]
        zz = np.zeros((max(K, 2), n_out), np.float32)
        zz[:rows] = z
        ctx = execute_onnx(mb, {feed: zz, **consts}, return_full_exec_context=True, start_node=start, end_node=q)
        return _codes_of(np.asarray(ctx[q.output[0]], np.float64).reshape(len(zz), -1), ofmt)[:rows]

    ends = codes_at(np.stack([lo, hi]))
    sign = np.where(ends[0] > ends[1], -1, 1)  # decreasing neurons: negate their weights
    L.weight = wp * sign[:, None]
    lo, hi = L.acc_bounds()
    a = np.broadcast_to(lo, (K, n_out)).copy()  # smallest acc with code >= level lies in [a, b]
    b = np.broadcast_to(hi + 1, (K, n_out)).copy()
    while (a < b).any():
        mid = (a + b) // 2
        c = codes_at(mid * sign[None, :])
        ok = c >= levels[:, None]
        b = np.where((a < b) & ok, mid, b)
        a = np.where((a < b) & ~ok, mid + 1, a)
    t = a.T.astype(np.int64)
    t = np.where(t <= lo[:, None], lo[:, None] - 1, t)
    L.thresholds = t
    return L


def _frac(v) -> Fraction:
    return Fraction(float(v))


def _score_layer(p, m, wp, fmt: _Fmt, zscale, zoff, lin_out, tail, name) -> tuple[IntLayer, list[str]]:
    """Raw output scores: the exact real affine map per class, as integers with the same order (ties kept)."""
    n_out = wp.shape[0]
    A = [_frac(v) for v in zscale]
    B = [A[o] * _frac(zoff[o]) for o in range(n_out)]
    cur = lin_out

    def vec(name_):
        c = np.asarray(_const(m, name_), np.float64).reshape(-1)
        if c.size not in (1, n_out):
            raise FormatError(p, f"constant {name_!r} of shape {c.shape} does not broadcast over {n_out} classes")
        return [_frac(v) for v in np.broadcast_to(c, n_out)]

    for n in tail:
        op = n.op_type
        if op in _SHAPE_OPS:
            pass
        elif op == "BatchNormalization":
            g, bb, mu, var = (np.asarray(_const(m, i), np.float32).reshape(-1) for i in n.input[1:5])
            eps = np.float32(_attrs(n).get("epsilon", 1e-5))
            ns = (np.float32(1) / np.sqrt(var + eps)) * g  # as onnxruntime: x * new_scale + new_bias (float32)
            nb = bb - mu * ns
            ns, nb = np.broadcast_to(ns, n_out), np.broadcast_to(nb, n_out)
            A = [A[o] * _frac(ns[o]) for o in range(n_out)]
            B = [B[o] * _frac(ns[o]) + _frac(nb[o]) for o in range(n_out)]
        else:
            first = n.input[0] == cur
            c = vec(n.input[1] if first else n.input[0])
            if op == "Add":
                B = [B[o] + c[o] for o in range(n_out)]
            elif op == "Sub" and first:
                B = [B[o] - c[o] for o in range(n_out)]
            elif op == "Sub":
                A, B = [-v for v in A], [c[o] - B[o] for o in range(n_out)]
            elif op == "Mul":
                A, B = [A[o] * c[o] for o in range(n_out)], [B[o] * c[o] for o in range(n_out)]
            elif op == "Div" and first:
                if any(v == 0 for v in c):
                    raise FormatError(p, f"{_desc(n)}: division by zero")
                A, B = [A[o] / c[o] for o in range(n_out)], [B[o] / c[o] for o in range(n_out)]
            else:
                raise FormatError(p, f"{_desc(n)}: a constant divided by the scores is not affine")
        cur = n.output[0]
    L = IntLayer(wp.copy(), wp != 0, fmt.bits, fmt.signed, None, True, None, None, name)
    notes: list[str] = []
    if all(v == A[0] for v in A) and A[0] != 0:
        # common scale: y_o = |A| (sign*acc_o + beta_o); beta_o = q_o + r_o, order by (sign*acc + q, rank(r))
        sgn = 1 if A[0] > 0 else -1
        beta = [Bo / abs(A[0]) for Bo in B]
        q = [math.floor(v) for v in beta]
        r = [v - qi for v, qi in zip(beta, q, strict=True)]
        ranks = {v: i for i, v in enumerate(sorted(set(r)))}
        k = len(ranks)
        L.weight = wp * (sgn * k)
        L.bias = np.array([q[o] * k + ranks[r[o]] for o in range(n_out)], dtype=np.int64)
        notes.append(f"{name}: scores are exact (common scale; x{k} for the bias fractions)")
        return L, notes
    den = 1
    for v in A + B:
        den = den * v.denominator // math.gcd(den, v.denominator)
    an = [int(v * den) for v in A]
    bn = [int(v * den) for v in B]
    g = 0
    for v in an + bn:
        g = math.gcd(g, v)
    g = g or 1
    an, bn = [v // g for v in an], [v // g for v in bn]
    lo, hi = L.acc_bounds()
    acc_max = int(max(np.abs(lo).max(), np.abs(hi).max()))
    bound = max(abs(v) for v in an) * acc_max + max(abs(v) for v in bn)
    if bound.bit_length() > _SCORE_BITS:
        sh = bound.bit_length() - _SCORE_BITS
        an = [round(Fraction(v, 1 << sh)) for v in an]
        bn = [round(Fraction(v, 1 << sh)) for v in bn]
        notes.append(f"{name}: per-class score scales rounded to {_SCORE_BITS}-bit scores (relative error "
                     f"< 2^-{_SCORE_BITS - acc_max.bit_length() - 1}); exact ties may be broken differently")  # fmt: skip
    else:
        notes.append(f"{name}: scores are exact (per-class scales, {bound.bit_length()}-bit integers)")
    L.weight = wp * np.array(an, dtype=np.int64)[:, None]
    L.bias = np.array(bn, dtype=np.int64)
    L.mask = L.weight != 0
    return L, notes


def _invert_prefix(qm: QonnxModel, t: np.ndarray) -> np.ndarray:
    """Raw inputs that the preprocessing maps (approximately) to ``t`` at the input quantizer."""
    m = qm.model
    n = len(t)
    x = t
    for node in reversed(qm.prefix):
        op = node.op_type
        ins = [i for i in node.input if i]
        src = next(i for i in ins if _const(m, i) is None)
        first = ins[0] == src
        shp = list(m.get_tensor_shape(src) or [])
        c = None
        if op in ("Mul", "Add", "Sub", "Div", "MatMul"):
            c = np.asarray(_const(m, ins[1] if first else ins[0]), np.float64)
        if op in _SHAPE_OPS or op == "Cast":
            pass
        elif op == "Mul":
            x = x / c
        elif op == "Div":
            x = x * c if first else c / x
        elif op == "Add":
            x = x - c
        elif op == "Sub":
            x = x + c if first else c - x
        elif op == "MatMul" and first:
            x = x.reshape(n, -1) @ np.linalg.pinv(c)
        elif op == "Transpose":
            perm = _attrs(node).get("perm")
            x = np.transpose(x, np.argsort(perm)) if perm is not None else x.T
        elif op == "BatchNormalization":
            g, bb, mu, var = (np.asarray(_const(m, i), np.float64) for i in node.input[1:5])
            eps = float(_attrs(node).get("epsilon", 1e-5))
            sh = (1, -1) + (1,) * (x.ndim - 2)
            x = (x - bb.reshape(sh)) / (g / np.sqrt(var + eps)).reshape(sh) + mu.reshape(sh)
        else:
            raise LutnnError(f"{qm.path.name}: {_desc(node)} before the input quantizer cannot be inverted to "
                             "make grid vectors; check with your own data instead")  # fmt: skip
        if shp:
            x = np.asarray(x).reshape((n, *shp[1:]))
    return np.asarray(x, dtype=np.float32)
