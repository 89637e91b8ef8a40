"""Hostile configs and data: every bad value is reported up front, all at once, in one line; data errors are clear."""

from __future__ import annotations

import gzip
import io
import time
import zipfile

import numpy as np
import pytest

from lutnn.data import load_dataset
from lutnn.errors import LutnnError
from lutnn.lutnet.config import load_config
from lutnn.quantnet.config import load_quant_config


def test_run_config_reports_every_bad_value_at_once(tmp_path) -> None:
    """NaN/inf floats, huge sizes and wrong types: one error listing them all, raised before any work."""
    p = tmp_path / "c.toml"
    p.write_text(
        "[encoder]\nlevels = 100000000\ntemperature = nan\n"
        "[model]\nlayers = [1000000000]\ntau = inf\n"
        "[train]\nthreads = 100000000\nlr = nan\nepochs = 'ten'\nseed = -1\n"
    )
    t0 = time.perf_counter()
    with pytest.raises(LutnnError) as ei:
        load_config(p)
    assert time.perf_counter() - t0 < 2
    msg = str(ei.value)
    assert "\n" not in msg and "8 invalid values" in msg, msg
    for key in ("encoder.levels", "encoder.temperature", "model.layers", "model.tau", "train.threads",
                "train.lr", "train.epochs", "train.seed"):  # fmt: skip
        assert key in msg, (key, msg)


def test_run_config_bounds_the_table_memory(tmp_path) -> None:
    p = tmp_path / "c.toml"
    p.write_text("[model]\nlayers = [1000000, 1000000]\nk = 8\n")
    with pytest.raises(LutnnError, match="table entries"):
        load_config(p)


def test_quant_config_types_are_checked(tmp_path) -> None:
    """``hidden = "abc"``, ``train = 5``, NaN rates: named problems, not TypeErrors from inside training."""
    p = tmp_path / "q.toml"
    p.write_text('train = 5\n[data]\nname = "digits"\n[model]\nhidden = "abc"\nin_bits = 99\nin_scale = nan\n')
    with pytest.raises(LutnnError) as ei:
        load_quant_config(p)
    msg = str(ei.value)
    for part in ("train = 5 must be a [train] table", "hidden", "in_bits", "in_scale"):
        assert part in msg, (part, msg)
    p.write_text('[data]\nname = "digits"\n[model]\nhidden = [8]\nconv = [{channels = "x", kernel = 3}]\n'
                 "[train]\nlr = inf\nepochs = 1.5\n")  # fmt: skip
    with pytest.raises(LutnnError) as ei:
        load_quant_config(p)
    for part in ("conv[0].channels", "lr", "epochs"):
        assert part in str(ei.value), (part, str(ei.value))


@pytest.mark.parametrize("label", ["nan", "inf", "-inf", "1e300"])
def test_csv_labels_that_name_no_class_are_refused(tmp_path, label) -> None:
    p = tmp_path / "d.csv"
    p.write_text("a,y\n" + "".join(f"{i},{label if i == 7 else i % 2}\n" for i in range(40)))
    with pytest.raises(LutnnError, match=r"data row 8 has the label .* not a class"):
        load_dataset("csv", p)


@pytest.mark.parametrize(
    "rows", [["1,0"], [f"{i},{i % 5}" for i in range(8)], [f"{i},{i % 3}" for i in range(3)]], ids=["one-row", "8-rows-5-classes", "3-rows-3-classes"]
)  # fmt: skip
def test_csv_splits_too_small_for_the_classes(tmp_path, rows) -> None:
    p = tmp_path / "d.csv"
    p.write_text("a,y\n" + "\n".join(rows) + "\n")
    with pytest.raises(LutnnError, match="each needs at least one sample per class"):
        load_dataset("csv", p)


def test_corrupt_gz_and_gz_bomb(tmp_path) -> None:
    raw = gzip.compress(("a,y\n" + "".join(f"{i},{i % 2}\n" for i in range(2000))).encode())
    (tmp_path / "trunc.csv.gz").write_bytes(raw[: len(raw) // 2])
    (tmp_path / "bad.csv.gz").write_bytes(raw[:20] + b"\xff" * 50 + raw[70:])
    for name in ("trunc.csv.gz", "bad.csv.gz"):
        with pytest.raises(LutnnError, match="cannot read as CSV"):
            load_dataset("csv", tmp_path / name)
    bomb = tmp_path / "bomb.csv.gz"
    with gzip.GzipFile(bomb, "wb", compresslevel=1) as fh:  # 300 MiB of "0,0" rows in about 1 MiB
        fh.write(b"a,y\n")
        chunk = b"0,1\n" * (1 << 22)
        for _ in range(18):
            fh.write(chunk)
    t0 = time.perf_counter()
    with pytest.raises(LutnnError, match=r"MiB of CSV text|CSV cells"):
        load_dataset("csv", bomb)
    assert time.perf_counter() - t0 < 10


def _npy(shape: tuple, payload: bytes, descr: str = "<f8") -> bytes:
    hdr = io.BytesIO()
    np.lib.format.write_array_header_1_0(hdr, {"descr": descr, "fortran_order": False, "shape": shape})
    return hdr.getvalue() + payload


def test_damaged_and_crafted_npz(tmp_path) -> None:
    good = tmp_path / "good.npz"
    np.savez_compressed(good, x=np.random.default_rng(0).random((500, 3)), y=np.arange(500) % 2)
    b = good.read_bytes()
    cases = {}
    cases["truncated"] = (b[: len(b) // 2], "damaged or truncated zip")
    cases["corrupt"] = (b[:200] + b"\0" * 60 + b[260:], "damaged")
    bare = io.BytesIO()
    np.save(bare, np.zeros((10, 3)))
    cases["bare-npy"] = (bare.getvalue(), "single .npy array")
    cplx = io.BytesIO()
    np.savez(cplx, x=np.zeros((40, 3)) + 1j, y=np.arange(40) % 2)
    cases["complex"] = (cplx.getvalue(), "real numbers")
    huge = io.BytesIO()
    with zipfile.ZipFile(huge, "w") as zf:  # claims 10^10 elements, holds 100 bytes
        zf.writestr("x.npy", _npy((10**5, 10**5), b"\0" * 100))
        zf.writestr("y.npy", _npy((10,), b"\0" * 80))
    cases["claims-1e10"] = (huge.getvalue(), "claims shape")
    for name, (data, msg) in cases.items():
        p = tmp_path / f"{name}.npz"
        p.write_bytes(data)
        with pytest.raises(LutnnError, match=msg):
            load_dataset("npz", p)


def test_npz_zip_bomb_is_refused_before_unpacking(tmp_path) -> None:
    p = tmp_path / "bomb.npz"
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("x.npy", "w", force_zip64=True) as f:  # 1 GiB of zeros in about 1 MiB
            f.write(_npy((1 << 28, 1), b""))
            chunk = b"\0" * (1 << 24)
            for _ in range(65):  # just over MAX_NPZ_BYTES
                f.write(chunk)
        zf.writestr("y.npy", _npy((1 << 28,), b""))
    t0 = time.perf_counter()
    with pytest.raises(LutnnError, match="unpacks to"):
        load_dataset("npz", p)
    assert time.perf_counter() - t0 < 10


@pytest.mark.parametrize("suffix", [".toml", ".yaml"])
def test_deeply_nested_config_is_a_clear_error(tmp_path, suffix) -> None:
    p = tmp_path / f"c{suffix}"
    depth = 100_000
    p.write_text(
        ("[model]\nlayers = " if suffix == ".toml" else "model:\n  layers: ") + "[" * depth + "]" * depth + "\n"
    )
    t0 = time.perf_counter()
    with pytest.raises(LutnnError, match=r"nested too deeply|invalid"):
        load_config(p)
    assert time.perf_counter() - t0 < 10
    if suffix == ".toml":
        q = tmp_path / "q.toml"
        q.write_text('[data]\nname = "digits"\n[model]\nhidden = ' + "[" * depth + "]" * depth + "\n")
        with pytest.raises(LutnnError, match="nested too deeply"):
            load_quant_config(q)
