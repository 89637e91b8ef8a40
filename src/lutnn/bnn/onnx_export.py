"""ONNX export of a BNN with standard operators only (opset 17), built directly with ``onnx.helper``.

Interface: input ``x`` float32 ``[N, n_inputs]`` of 0/1 bits in primary-input order, output
``y`` float32 ``[N, n_outputs]`` of 0/1 bits in primary-output order. Inside: ``s = 2x - 1``;
signals are rows (``Transpose`` in and out); every layer's neurons form one ``[n, N]`` tensor.
Per layer: ``Gather`` the rows it reads from each earlier layer's tensor, ``Concat`` them (and a
permuting ``Gather``) → ``Reshape [n, F, N]`` → ``Mul`` by the ±1 weights (0 = padding) →
``ReduceSum`` → ``Add`` bias → ``GreaterOrEqual 0`` → ``Where(+1, -1)``. Only the signals a
layer reads are copied, so the work is proportional to the number of connections.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lutnn.bnn.model import BNN, padded_layers
from lutnn.errors import LutnnError
from lutnn.fileio import atomic_write

__all__ = ["OPSET", "bnn_to_onnx", "export_onnx", "run_onnx"]

OPSET = 17


class OnnxExportError(LutnnError):
    """The ONNX graph could not be built or failed the checker."""


def bnn_to_onnx(bnn: BNN):
    """Build the ONNX ``ModelProto`` of ``bnn`` (checked with ``onnx.checker``)."""
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError as e:  # pragma: no cover - onnx is a dependency
        raise OnnxExportError("the onnx package is missing; install it with `pip install onnx`") from e
    layers = padded_layers(bnn)
    nodes = []
    inits = []

    def const(name: str, arr: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    const("two", np.array(2.0, np.float32))
    const("one", np.array(1.0, np.float32))
    const("zero", np.array(0.0, np.float32))
    const("minus_one", np.array(-1.0, np.float32))
    const("half", np.array(0.5, np.float32))
    const("axis1", np.array([1], np.int64))
    # signals are rows: the state of layer k is a tensor [n_k, N]; "xt" holds the inputs
    nodes.append(helper.make_node("Transpose", ["x"], ["xt"], perm=[1, 0]))
    nodes.append(helper.make_node("Mul", ["xt", "two"], ["x2"]))
    nodes.append(helper.make_node("Sub", ["x2", "one"], ["L_in"]))
    bounds = np.array([0, bnn.n_inputs] + [lyr.start + len(lyr.bias) for lyr in layers], dtype=np.int64)
    names = ["L_in"] + [f"L{i}" for i in range(len(layers))]

    def gather_signals(tag: str, sig: np.ndarray) -> str:
        """Rows ``sig`` (global signal ids) from the per-layer tensors, as one [len(sig), N] tensor."""
        uniq, inv = np.unique(sig, return_inverse=True)
        src = np.searchsorted(bounds, uniq, side="right") - 1  # which tensor holds each signal
        parts = []
        for k in np.unique(src):
            rows = uniq[src == k] - bounds[k]
            r = const(f"{tag}_rows{k}", rows.astype(np.int64))
            parts.append(f"{tag}_part{k}")
            nodes.append(helper.make_node("Gather", [names[k], r], [parts[-1]], axis=0))
        if len(parts) == 1:
            u = parts[0]
        else:
            u = f"{tag}_u"
            nodes.append(helper.make_node("Concat", parts, [u], axis=0))
        if len(uniq) == len(sig) and np.array_equal(uniq, sig):
            return u
        perm = const(f"{tag}_perm", inv.reshape(-1).astype(np.int64))
        nodes.append(helper.make_node("Gather", [u, perm], [f"{tag}_g"], axis=0))
        return f"{tag}_g"

    for i, lyr in enumerate(layers):
        n, f = lyr.idx.shape
        g = gather_signals(f"l{i}", lyr.idx.reshape(-1))
        shp = const(f"shape{i}", np.array([n, f, -1], np.int64))
        w = const(f"w{i}", lyr.w.astype(np.float32)[:, :, None])
        b = const(f"b{i}", lyr.bias.astype(np.float32)[:, None])
        nodes += [
            helper.make_node("Reshape", [g, shp], [f"r{i}"]),
            helper.make_node("Mul", [f"r{i}", w], [f"m{i}"]),
            helper.make_node("ReduceSum", [f"m{i}", "axis1"], [f"a{i}"], keepdims=0),
            helper.make_node("Add", [f"a{i}", b], [f"p{i}"]),
            helper.make_node("GreaterOrEqual", [f"p{i}", "zero"], [f"c{i}"]),
            helper.make_node("Where", [f"c{i}", "one", "minus_one"], [f"L{i}"]),
        ]
    if bnn.n_outputs:
        o = gather_signals("out", bnn.outputs.astype(np.int64))
    else:  # pragma: no cover - a circuit without outputs is rejected earlier
        raise OnnxExportError(f"{bnn.name}: the circuit has no outputs; nothing to export")
    const("out_sign", bnn.output_sign.astype(np.float32)[:, None])
    nodes += [
        helper.make_node("Mul", [o, "out_sign"], ["o_sg"]),
        helper.make_node("Add", ["o_sg", "one"], ["o_p1"]),
        helper.make_node("Mul", ["o_p1", "half"], ["o_bits"]),
        helper.make_node("Transpose", ["o_bits"], ["y"], perm=[1, 0]),
    ]
    graph = helper.make_graph(
        nodes,
        bnn.name or "bnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", bnn.n_inputs])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", bnn.n_outputs])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="lutnn")
    model.ir_version = 8
    doc = (
        "lutnn BNN: x float32 [N, inputs] 0/1 -> y float32 [N, outputs] 0/1. s=2x-1; neuron: "
        "a=bias+sum(w*s), out=+1 if a>=0 else -1 (a is always odd); y=(output_sign*s+1)/2. "
        f"inputs={','.join(f'{b.name}:{b.width}' for b in bnn.input_buses)} "
        f"outputs={','.join(f'{b.name}:{b.width}' for b in bnn.output_buses)}"
    )
    model.doc_string = doc
    try:
        onnx.checker.check_model(model)
    except Exception as e:  # onnx raises its own ValidationError types
        raise OnnxExportError(f"{bnn.name}: the exported ONNX graph failed the checker: {e}") from None
    return model


def export_onnx(bnn: BNN, path: str | os.PathLike) -> Path:
    """Write ``bnn`` as an ONNX file (atomically: no partial file on failure)."""
    model = bnn_to_onnx(bnn)
    data = model.SerializeToString()
    if len(data) > 2_000_000_000:
        raise OnnxExportError(f"{bnn.name}: the ONNX model would be {len(data) >> 20} MiB, over protobuf's 2 GiB limit")
    return atomic_write(path, data)


def run_onnx(model_or_path, x: np.ndarray, batch: int = 65536) -> np.ndarray:
    """Evaluate an exported BNN with onnxruntime: ``[N, inputs]`` bits → ``uint8 [N, outputs]``."""
    try:
        import onnxruntime as ort
    except ImportError as e:  # pragma: no cover - onnxruntime is a dependency
        raise OnnxExportError("onnxruntime is missing; install it with `pip install onnxruntime`") from e
    src = model_or_path.SerializeToString() if hasattr(model_or_path, "SerializeToString") else str(model_or_path)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    try:
        sess = ort.InferenceSession(src, opts, providers=["CPUExecutionProvider"])
    except Exception as e:
        raise OnnxExportError(f"onnxruntime could not load the model: {str(e).splitlines()[0]}") from None
    x = np.asarray(x, dtype=np.float32)
    outs = [sess.run(["y"], {"x": x[i : i + batch]})[0] for i in range(0, len(x), batch)]
    if not outs:
        return np.zeros((0, sess.get_outputs()[0].shape[1]), np.uint8)
    return np.concatenate(outs).astype(np.uint8)
