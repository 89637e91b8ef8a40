"""Import a quantized MLP made elsewhere: QONNX/ONNX with ``Quant`` nodes, as Brevitas exports it (FINN's format).

Supported graph: a chain from one input through ``Quant`` (input codes), then per layer a
``Gemm``/``MatMul`` (+ ``Add``) whose weight is a ``Quant`` of an initializer, optional
``BatchNormalization``, ``Mul`` by a constant, ``Relu``, and an activation ``Quant``; the last layer
may end without a ``Quant`` (raw scores). ``Identity``/``Flatten``/``Reshape`` pass through. The
result is an exact :class:`~lutnn.quantnet.intmodel.IntegerMLP` (thresholds folded from scales, bias and
BN), compiled by either route. :func:`run_qonnx` executes the same float graph with numpy as the
reference the import is checked against. Anything else raises an error naming the node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lutnn.errors import FormatError
from lutnn.fileio import check_readable
from lutnn.quantnet.intmodel import IntegerMLP, IntLayer, fold_affine_layer

__all__ = ["read_qonnx", "run_qonnx"]

_PASS = {"Identity", "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Dropout"}


def _load(path: str | Path):
    p = check_readable(path, "ONNX model")
    try:
        import onnx
    except ImportError:
        raise FormatError(p, "reading ONNX needs the onnx package (pip install onnx)") from None
    try:
        model = onnx.load(str(p), load_external_data=False)  # never open files the model names
    except Exception as e:
        raise FormatError(p, f"not a readable ONNX file ({type(e).__name__}: {str(e)[:100]})") from None
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer):
        raise FormatError(p, "tensors stored in external files are not read; save the model with its weights inside")
    return p, model


def _attrs(node) -> dict:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _quant_params(p, node, consts) -> tuple[np.ndarray, np.ndarray, int, bool, bool, str]:
    if len(node.input) < 4:
        raise FormatError(p, f"Quant node {node.name!r} needs 4 inputs (x, scale, zeropt, bitwidth)")
    for nm in node.input[1:4]:
        if nm not in consts:
            raise FormatError(p, f"Quant node {node.name!r}: {nm!r} must be a constant (initializer)")
    scale = consts[node.input[1]].astype(np.float64)
    zp = consts[node.input[2]].astype(np.float64)
    bits = float(np.asarray(consts[node.input[3]]).reshape(-1)[0])
    a = _attrs(node)
    rm = a.get("rounding_mode", b"ROUND")
    rm = rm.decode() if isinstance(rm, bytes) else str(rm)
    if bits != int(bits) or not 1 <= bits <= 16:
        raise FormatError(p, f"Quant node {node.name!r}: bit width {bits} is not an integer in 1..16")
    if (zp != 0).any():
        raise FormatError(p, f"Quant node {node.name!r}: nonzero zero-point is not supported; export with zero_point=0")
    if not (np.isfinite(scale).all() and (scale > 0).all()):
        raise FormatError(p, f"Quant node {node.name!r}: scales must be positive and finite")
    return scale, zp, int(bits), bool(a.get("signed", 1)), bool(a.get("narrow", 0)), rm


def _qrange(bits: int, signed: bool, narrow: bool) -> tuple[int, int]:
    if signed:
        return -(1 << (bits - 1)) + int(narrow), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1 - int(narrow)


def _round(x: np.ndarray, mode: str) -> np.ndarray:
    if mode == "ROUND":
        return np.round(x)  # half to even, as QONNX
    if mode == "FLOOR":
        return np.floor(x)
    if mode == "CEIL":
        return np.ceil(x)
    raise ValueError(mode)


@dataclass
class _Layer:
    w_int: np.ndarray  # [out, in]
    A: np.ndarray
    B: np.ndarray
    relu: bool = False
    name: str = ""
    extra: list = field(default_factory=list)


def read_qonnx(path: str | Path, score_shift: int = 6) -> IntegerMLP:
    """Read a QONNX MLP into the exact integer model (see the module docstring for the supported graph).

    Raw output scores (no output ``Quant``) become ``2**score_shift`` times the float scores divided
    by their scale, so the integer bias is within ``2**-score_shift`` of the float one.
    """
    p, model = _load(path)
    g = model.graph
    consts = _constants(model)
    inputs = [i.name for i in g.input if i.name not in consts]
    if len(inputs) != 1:
        raise FormatError(p, f"expected one graph input, found {inputs}")
    cur = inputs[0]
    wq: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # Quant outputs of constant weights: (int codes, scale)
    in_fmt = None  # (scale, bits, signed)
    fmt = None  # current activation codes: (scale, bits, signed)
    layers: list[IntLayer] = []
    pend: _Layer | None = None
    n_features = None
    for node in g.node:
        op, nm = node.op_type, node.name or node.op_type
        ins = list(node.input)
        if op == "Constant":
            continue
        if op == "Quant" and ins[0] in consts:
            scale, _, bits, signed, narrow, rm = _quant_params(p, node, consts)
            w = consts[ins[0]].astype(np.float64)
            lo, hi = _qrange(bits, signed, narrow)
            try:
                q = np.clip(_round(w / scale, rm), lo, hi)
            except ValueError:
                raise FormatError(p, f"Quant node {nm!r}: rounding mode {rm!r} is not supported") from None
            wq[node.output[0]] = (q.astype(np.int64), np.broadcast_to(scale, w.shape) if scale.size > 1 else scale)
            continue
        if not ins or ins[0] != cur:
            raise FormatError(
                p, f"node {nm!r} ({op}) does not continue the layer chain; lutnn imports plain MLP chains"
            )
        if op in _PASS:
            cur = node.output[0]
            continue
        if op == "Quant":
            scale, _, bits, signed, narrow, _ = _quant_params(p, node, consts)
            if scale.size != 1:
                raise FormatError(p, f"Quant node {nm!r}: activations need one scale per tensor")
            s = float(scale.reshape(-1)[0])
            if pend is None:
                if in_fmt is not None:
                    raise FormatError(p, f"Quant node {nm!r}: two activation quantizers in a row")
                if narrow:
                    raise FormatError(p, f"Quant node {nm!r}: the input quantizer must not be narrow-range")
                in_fmt = fmt = (s, bits, signed)
            else:
                assert fmt is not None
                clamp_lo = None
                if pend.relu and signed:
                    clamp_lo = 0
                if narrow:
                    lo = _qrange(bits, signed, False)[0]
                    clamp_lo = max(clamp_lo if clamp_lo is not None else lo, lo)
                layers.append(
                    fold_affine_layer(pend.w_int, pend.w_int != 0, pend.A, pend.B, fmt[1], fmt[2], (s, bits, signed),
                                      clamp_lo=clamp_lo, name=f"layer {len(layers)} ({nm})")
                )  # fmt: skip
                fmt = (s, bits, signed)
                pend = None
            cur = node.output[0]
            continue
        if fmt is None:
            raise FormatError(p, f"node {nm!r} ({op}) comes before any input Quant; quantize the input first")
        if op in ("Gemm", "MatMul"):
            if pend is not None:
                raise FormatError(p, f"node {nm!r}: two linear layers without an activation Quant between them")
            wname = ins[1]
            if wname not in wq:
                raise FormatError(
                    p, f"node {nm!r}: its weight {wname!r} is not a Quant of a constant (export quantized weights)"
                )
            wi, ws = wq[wname]
            a = _attrs(node) if op == "Gemm" else {}
            if op == "Gemm" and (a.get("transA", 0) or a.get("alpha", 1.0) != 1.0):
                raise FormatError(p, f"Gemm {nm!r}: transA/alpha are not supported")
            if op == "MatMul" or not a.get("transB", 0):
                wi = wi.T
                ws = ws.T if np.ndim(ws) == 2 else ws
            if wi.ndim != 2:
                raise FormatError(p, f"node {nm!r}: weight must be 2-D, got shape {wi.shape}")
            if ws.size > 1:
                sw = np.asarray(ws)[:, 0] if np.ndim(ws) == 2 else np.asarray(ws).reshape(-1)
                if not np.allclose(np.asarray(ws), sw[:, None] if np.ndim(ws) == 2 else sw):
                    raise FormatError(p, f"node {nm!r}: weight scales must be per tensor or per output channel")
            else:
                sw = np.full(wi.shape[0], float(np.asarray(ws).reshape(-1)[0]))
            if n_features is None:
                n_features = wi.shape[1]
            prev_n = layers[-1].n_out if layers else n_features
            if wi.shape[1] != prev_n:
                raise FormatError(
                    p, f"node {nm!r}: weight has {wi.shape[1]} inputs but the previous layer gives {prev_n}"
                )
            bias = np.zeros(wi.shape[0])
            if op == "Gemm" and len(ins) > 2 and ins[2]:
                if ins[2] not in consts:
                    raise FormatError(p, f"Gemm {nm!r}: bias must be a constant")
                bias = consts[ins[2]].astype(np.float64).reshape(-1) * float(a.get("beta", 1.0))
            pend = _Layer(wi.astype(np.int64), fmt[0] * sw, bias, name=nm)
        elif op == "Add" and pend is not None and len(ins) == 2 and ins[1] in consts:
            pend.B = pend.B + consts[ins[1]].astype(np.float64).reshape(-1)
        elif op == "Mul" and pend is not None and len(ins) == 2 and ins[1] in consts:
            c = consts[ins[1]].astype(np.float64).reshape(-1)
            pend.A, pend.B = pend.A * c, pend.B * c
        elif op == "BatchNormalization" and pend is not None:
            sc, bb, mu, var = (consts[i].astype(np.float64) for i in ins[1:5])
            gm = sc / np.sqrt(var + float(_attrs(node).get("epsilon", 1e-5)))
            pend.A, pend.B = pend.A * gm, gm * (pend.B - mu) + bb
        elif op == "Relu" and pend is not None:
            pend.relu = True
        else:
            raise FormatError(
                p,
                f"node {nm!r}: op {op} is not supported here (lutnn imports Quant/Gemm/MatMul/Add/Mul/BatchNormalization/Relu chains)",
            )
        cur = node.output[0]
    if in_fmt is None or fmt is None:
        raise FormatError(p, "no input Quant node found; export the model with a quantized input (QuantIdentity)")
    if pend is not None:
        if pend.relu:
            raise FormatError(
                p, f"{pend.name}: the output layer ends in a ReLU without a Quant; add an output quantizer"
            )
        layers.append(
            fold_affine_layer(
                pend.w_int,
                pend.w_int != 0,
                pend.A,
                pend.B,
                fmt[1],
                fmt[2],
                None,
                name=f"layer {len(layers)}",
                score_shift=score_shift,
            )
        )
    if not layers:
        raise FormatError(p, "the graph has no Gemm/MatMul layer")
    n_classes = layers[-1].n_out
    return IntegerMLP(layers, in_fmt[1], in_fmt[2], in_fmt[0], n_classes, {"source": str(p)}).validate()


def _constants(model) -> dict[str, np.ndarray]:
    from onnx import numpy_helper

    consts = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    consts[node.output[0]] = numpy_helper.to_array(a.t)
    return consts


def run_qonnx(path: str | Path, x: np.ndarray) -> np.ndarray:
    """Execute the float QONNX graph with numpy (the reference the import is checked against)."""
    p, model = _load(path)
    consts = _constants(model)
    env = dict(consts)
    inputs = [i.name for i in model.graph.input if i.name not in consts]
    env[inputs[0]] = np.asarray(x, dtype=np.float64)
    for node in model.graph.node:
        op, ins = node.op_type, [env[i] if i else None for i in node.input]
        a = _attrs(node)
        if op == "Constant":
            continue
        if op == "Quant":
            scale, zp, bits, signed, narrow, rm = _quant_params(p, node, consts)
            lo, hi = _qrange(bits, signed, narrow)
            y = (np.clip(_round(ins[0] / scale + zp, rm), lo, hi) - zp) * scale
        elif op == "Gemm":
            A, Bm = ins[0], ins[1]
            Bm = Bm.T if a.get("transB", 0) else Bm
            y = A @ Bm * a.get("alpha", 1.0)
            if len(ins) > 2 and ins[2] is not None:
                y = y + a.get("beta", 1.0) * ins[2]
        elif op == "MatMul":
            y = ins[0] @ ins[1]
        elif op == "Add":
            y = ins[0] + ins[1]
        elif op == "Mul":
            y = ins[0] * ins[1]
        elif op == "Relu":
            y = np.maximum(ins[0], 0)
        elif op == "BatchNormalization":
            y = (ins[0] - ins[3]) / np.sqrt(ins[4] + a.get("epsilon", 1e-5)) * ins[1] + ins[2]
        elif op in _PASS:
            y = ins[0].reshape(ins[0].shape[0], -1) if op in ("Flatten", "Reshape") else ins[0]
        else:
            raise FormatError(p, f"node {node.name!r}: op {op} is not supported by the reference executor")
        env[node.output[0]] = y
    return env[model.graph.output[0].name]
