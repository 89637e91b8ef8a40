"""Untrusted files never run code: crafted pickles in checkpoints are refused before they execute."""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path

import pytest
import torch

from lutnn.errors import LutnnError

sys.path.insert(0, str(Path(__file__).parent))


class _Evil:
    """Unpickling this calls ``os.mkdir(marker)``: the marker's existence proves code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def _write_evil(path: Path, marker: Path, fmt: str) -> None:
    if fmt.startswith("pickle-p"):
        path.write_bytes(pickle.dumps({"config": _Evil(marker), "model": {}}, protocol=int(fmt[-1])))
    else:  # the zip format torch.save writes
        torch.save({"config": {}, "model": {"w": torch.zeros(1)}, "history": [_Evil(marker)], "epoch": 1}, path)


@pytest.mark.parametrize("fmt", ["pickle-p2", "pickle-p4", "torch-zip"])
def test_malicious_checkpoint_runs_nothing(tmp_path, fmt) -> None:
    from lutnn.lutnet.train import load_checkpoint, train
    from test_train import small_config

    marker = tmp_path / "PWNED"
    run = tmp_path / "run"
    run.mkdir()
    _write_evil(run / "checkpoint.pt", marker, fmt)
    match = "not a lutnn checkpoint" if fmt == "pickle-p4" else "refused"  # p4: opcode refused before the global
    with pytest.raises(LutnnError, match=match) as ei:
        load_checkpoint(run)
    assert "\n" not in str(ei.value) and "checkpoint.pt" in str(ei.value)
    assert not marker.exists(), "unpickling ran code"
    with pytest.raises(LutnnError, match=match):
        train(small_config(epochs=1, layers=[60, 50]), run, resume=True, progress=False)
    assert not marker.exists(), "unpickling ran code on --resume"


def test_checkpoint_with_foreign_structure_is_a_clear_error(tmp_path) -> None:
    """A checkpoint of plain data with the wrong shape (no history records) is refused with one line."""
    from lutnn.lutnet.train import load_checkpoint

    torch.save({"config": {}, "model": {}, "history": [1, 2], "epoch": 1}, tmp_path / "checkpoint.pt")
    with pytest.raises(LutnnError, match="checkpoint"):
        load_checkpoint(tmp_path)


def test_onnx_external_data_is_not_read(tmp_path) -> None:
    """An ONNX file naming an external weights file is refused instead of opening that file."""
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    from lutnn.quantnet.qonnx import read_qonnx

    (tmp_path / "secret.bin").write_bytes(b"\x00" * 16)
    w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2, 2], data_location=TensorProto.EXTERNAL)
    for k, v in (("location", "secret.bin"), ("offset", "0"), ("length", "16")):
        e = w.external_data.add()
        e.key, e.value = k, v
    g = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
        [w],
    )
    path = tmp_path / "m.onnx"
    path.write_bytes(helper.make_model(g).SerializeToString())
    with pytest.raises(LutnnError, match="tensors stored in external files"):
        read_qonnx(path)


def test_every_torch_load_is_weights_only() -> None:
    """A crafted checkpoint must never run code: each torch.load in src/ passes weights_only=True."""
    import re
    from pathlib import Path

    src = Path(__file__).resolve().parents[1] / "src" / "lutnn"
    calls = [
        (p.name, m.group(0)) for p in src.rglob("*.py") for m in re.finditer(r"torch\.load\([^)]*\)", p.read_text())
    ]
    assert calls, "no torch.load found: the scan is looking in the wrong place"
    assert [c for c in calls if "weights_only=True" not in c[1]] == []
