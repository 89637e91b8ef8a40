"""Dataset loaders: digits split, MNIST IDX, JSC (OpenML CSV/ARFF, CERNBox HDF5), CSV/NPZ, bad input."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from lutnn.data import JSC_FEATURES, JSC_TARGETS, load_dataset
from lutnn.errors import LutnnError


def test_digits_split_is_the_published_one() -> None:
    d = load_dataset("digits")
    assert (len(d.y_train), len(d.y_test)) == (1347, 450)
    assert d.n_features == 64 and d.image_shape == (8, 8) and d.n_classes == 10
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    _, xte, _, yte = train_test_split(x, y, test_size=0.25, stratify=y, random_state=0)
    np.testing.assert_array_equal(d.x_test, xte)
    np.testing.assert_array_equal(d.y_test, yte)


def _write_idx(path, arr: np.ndarray) -> None:
    header = bytes([0, 0, 8, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + arr.astype(np.uint8).tobytes())


def test_mnist_idx_reader(tmp_path) -> None:
    rng = np.random.default_rng(0)
    xs, ys = rng.integers(0, 256, (20, 28, 28)), rng.integers(0, 10, 20)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", xs)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", ys)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", xs[:5])
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", ys[:5])
    d = load_dataset("mnist", tmp_path)
    assert d.x_train.shape == (20, 784) and d.image_shape == (28, 28)
    np.testing.assert_array_equal(d.x_train[3], xs[3].reshape(-1))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(LutnnError, match="lacks"):
        load_dataset("mnist", tmp_path)


def test_real_mnist_if_present(shared_dir) -> None:
    d = load_dataset("mnist", shared_dir / "datasets" / "mnist")
    assert (len(d.y_train), len(d.y_test)) == (60000, 10000)
    assert d.x_train.max() == 255


def _jsc_rows(n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(size=(n, 16)), rng.integers(0, 5, n)


def test_jsc_openml_csv_and_arff(tmp_path) -> None:
    rng = np.random.default_rng(1)
    x, y = _jsc_rows(100, rng)
    names = np.array(["g", "q", "t", "w", "z"])
    csv_path = tmp_path / "jsc.csv"
    lines = [",".join([*JSC_FEATURES, "class"])]
    lines += [",".join([*(f"{v:.6f}" for v in row), names[c]]) for row, c in zip(x, y, strict=True)]
    csv_path.write_text("\n".join(lines) + "\n")
    d = load_dataset("jsc", csv_path)
    assert d.n_features == 16 and d.n_classes == 5 and len(d.y_test) == 20
    assert d.class_names == ["g", "q", "t", "w", "z"]
    arff = tmp_path / "jsc.arff"
    body = ["@RELATION hls4ml_lhc_jets_hlf"] + [f"@ATTRIBUTE {f} NUMERIC" for f in JSC_FEATURES]
    body += ["@ATTRIBUTE class {g,q,t,w,z}", "@DATA", *lines[1:]]
    arff.write_text("\n".join(body) + "\n")
    d2 = load_dataset("jsc", arff)
    np.testing.assert_allclose(np.sort(d2.x_train[:, 0]), np.sort(d.x_train[:, 0]))
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,class\n1,2,g\n")
    with pytest.raises(LutnnError, match="missing feature columns"):
        load_dataset("jsc", bad)


def test_jsc_cernbox_hdf5(tmp_path) -> None:
    h5py = pytest.importorskip("h5py")
    rng = np.random.default_rng(2)
    n = 50
    dt = np.dtype([(c, "f4") for c in JSC_FEATURES + JSC_TARGETS + ["j_index"]])
    tab = np.zeros(n, dtype=dt)
    for c in JSC_FEATURES:
        tab[c] = rng.normal(size=n)
    lab = rng.integers(0, 5, n)
    for i, c in enumerate(JSC_TARGETS):
        tab[c] = lab == i
    p = tmp_path / "jsc.z"
    with h5py.File(p, "w") as f:
        f["t_allpar_new"] = tab
    d = load_dataset("jsc_cernbox", p)
    from sklearn.model_selection import train_test_split

    x = np.stack([tab[c].astype(np.float64) for c in JSC_FEATURES], 1)
    _, xte, _, yte = train_test_split(x, lab, test_size=0.2, random_state=42)
    np.testing.assert_array_equal(d.y_test, yte)
    np.testing.assert_allclose(d.x_test, xte)


def test_csv_npz_and_bad_input(tmp_path) -> None:
    p = tmp_path / "mine.csv"
    p.write_text("a,b,label\n" + "\n".join(f"{i},{i % 3},{i % 2}" for i in range(40)) + "\n")
    d = load_dataset("csv", p)
    assert d.n_features == 2 and d.n_classes == 2
    p.write_text("a,b,label\n1,nan,0\n2,3,1\n3,4,0\n4,5,1\n")
    with pytest.raises(LutnnError, match="NaN or inf"):
        load_dataset("csv", p)
    p.write_text("a,b,label\n1,2\n")
    with pytest.raises(LutnnError, match="columns but the header"):
        load_dataset("csv", p)
    z = tmp_path / "d.npz"
    np.savez(
        z, x_train=np.zeros((4, 3)), y_train=np.array([0, 1, 0, 1]), x_test=np.zeros((2, 3)), y_test=np.array([0, 1])
    )
    assert load_dataset("npz", z).n_features == 3
    np.savez(
        z, x_train=np.zeros((4, 3)), y_train=np.array([0, 1, 0, -1]), x_test=np.zeros((2, 3)), y_test=np.array([0, 1])
    )
    with pytest.raises(LutnnError, match="y_train must hold integer classes"):
        load_dataset("npz", z)
    np.savez(
        z, x_train=np.zeros((4, 3)), y_train=np.array([0, 1, 0, 1]), x_test=np.zeros((2, 4)), y_test=np.array([0, 1])
    )
    with pytest.raises(LutnnError, match="features but test has"):
        load_dataset("npz", z)
    with pytest.raises(LutnnError, match="not found"):
        load_dataset("jsc", tmp_path / "nope.arff")
    with pytest.raises(LutnnError, match="no path given"):
        load_dataset("jsc_cernbox")
    with pytest.raises(LutnnError, match="unknown dataset"):
        load_dataset("cifar")


def test_malformed_npz_csv_and_labels_are_named(tmp_path) -> None:
    """Malformed arrays and labels give one clear error each; sparse integer labels are ranked to 0..C-1."""
    z = tmp_path / "d.npz"
    x = np.zeros((8, 3))
    cases = [
        (dict(x=x, y=np.array(list("abababab"))), "has dtype"),
        (dict(x=x, y=np.eye(2)[np.arange(8) % 2]), "not one-hot"),
        (dict(x=np.array(3.0), y=np.zeros(8)), "is a scalar"),
        (dict(x=np.zeros((0, 3)), y=np.zeros(0)), "needs more"),
        (
            dict(x_train=x, y_train=np.arange(8) % 3, x_test=x[:2], y_test=np.array([0, 7])),
            "test label 7 never occurs in training",
        ),
    ]
    for arrays, msg in cases:
        np.savez(z, **arrays)
        with pytest.raises(LutnnError, match=msg):
            load_dataset("npz", z)
    np.savez(z, x=np.array([[1], [2]], dtype=object), y=np.zeros(2))
    with pytest.raises(LutnnError, match="holds Python objects"):
        load_dataset("npz", z)
    c = tmp_path / "d.csv"
    c.write_text("a,b\n1,0\n")
    with pytest.raises(LutnnError, match=r"not a NumPy \.npz archive"):
        load_dataset("npz", c)
    c.write_text("label\n" + "\n".join(str(i % 2) for i in range(8)) + "\n")
    with pytest.raises(LutnnError, match="no feature columns"):
        load_dataset("csv", c)
    c.write_text("a,label\n" + "\n".join(f"{i},{'' if i == 3 else i % 2}" for i in range(8)) + "\n")
    with pytest.raises(LutnnError, match="row 4 has an empty label"):
        load_dataset("csv", c)
    c.write_text("a,label\n" + "\n".join(f"{i},{[0, 1, 5][i % 3]}" for i in range(30)) + "\n")
    d = load_dataset("csv", c)
    assert d.n_classes == 3 and d.class_names == ["0", "1", "5"] and set(d.y_train) == {0, 1, 2}


@pytest.mark.slow
def test_unsw_csv(shared_dir) -> None:
    d = load_dataset("unsw", shared_dir / "datasets" / "unsw_nb15_partial" / "UNSW_NB15_test_82332.csv.gz")
    assert d.n_classes == 2 and d.n_features > 40
