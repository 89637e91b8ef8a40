"""Datasets for LUT networks: raw features and integer labels, split into train and test.

``load_dataset(name, path=None)`` returns a :class:`Dataset`:

* ``digits`` — scikit-learn's bundled 8×8 digits (no download); split
  ``train_test_split(test_size=0.25, stratify=y, random_state=0)``.
* ``mnist`` — the four IDX ``.gz`` files from ``path``, ``$LUTNN_DATA/mnist``,
  ``../shared/datasets/mnist`` beside the checkout, or ``~/.cache/lutnn/mnist`` (downloaded
  there when missing and the internet is reachable).
* ``jsc`` — OpenML 42468 ``hls4ml_lhc_jets_hlf`` as ARFF, CSV or parquet (16 features, a
  ``class`` column g/q/t/w/z); split test_size=0.2, random_state=42, stratified.
* ``jsc_cernbox`` — LogicNets' CERNBox HDF5 ``.z`` file (table ``t_allpar_new``); split
  test_size=0.2, random_state=42 as LogicNets does.
* ``unsw`` — the UNSW-NB15 CSV (numeric columns as features, ``label`` as class);
  categorical columns are one-hot encoded by their training-set values.
* ``csv`` / ``npz`` — your own data: CSV with a header and a label column (default the
  last), or NPZ with ``x_train, y_train, x_test, y_test`` (or ``x, y`` to be split 75/25).

Every loader validates: finite features, labels ``0..n_classes-1``, matching feature counts;
errors name the file and the fix.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import os
import urllib.request
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lutnn.errors import LutnnError

__all__ = [
    "DATASETS",
    "JSC_FEATURES",
    "JSC_TARGETS",
    "Dataset",
    "find_mnist",
    "load_dataset",
    "read_arrays",
    "synthetic_jsc",
]

MAX_TABLE_CHARS = 256 << 20  # CSV text read at most (characters); bounds .gz bombs
MAX_TABLE_CELLS = 20_000_000  # CSV cells parsed at most (~1 GiB of Python strings)
MAX_NPZ_BYTES = 1 << 30  # uncompressed bytes of an .npz archive read at most; bounds zip bombs

DATASETS = ("digits", "mnist", "jsc", "jsc_cernbox", "unsw", "csv", "npz")

JSC_FEATURES = [
    "j_zlogz",
    "j_c1_b0_mmdt",
    "j_c1_b1_mmdt",
    "j_c1_b2_mmdt",
    "j_c2_b1_mmdt",
    "j_c2_b2_mmdt",
    "j_d2_b1_mmdt",
    "j_d2_b2_mmdt",
    "j_d2_a1_b1_mmdt",
    "j_d2_a1_b2_mmdt",
    "j_m2_b1_mmdt",
    "j_m2_b2_mmdt",
    "j_n2_b1_mmdt",
    "j_n2_b2_mmdt",
    "j_mass_mmdt",
    "j_multiplicity",
]
JSC_TARGETS = ["j_g", "j_q", "j_w", "j_z", "j_t"]
MNIST_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
MNIST_MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"


@dataclass
class Dataset:
    """Raw features (``float64 [N, F]``) and labels (``int64 [N]``) of a train/test split."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    feature_names: list[str] = field(default_factory=list)
    class_names: list[str] = field(default_factory=list)
    image_shape: tuple[int, int] | None = None
    source: str = ""

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])

    def validate(self) -> Dataset:
        """Check shapes, finiteness and label range; raise a message naming the fix."""
        for part, x, y in (("train", self.x_train, self.y_train), ("test", self.x_test, self.y_test)):
            if x.ndim != 2:
                raise LutnnError(f"{self.name}: {part} features must be 2-D [samples, features], got shape {x.shape}")
            if len(x) != len(y):
                raise LutnnError(f"{self.name}: {part} has {len(x)} samples but {len(y)} labels")
            if len(x) == 0:
                raise LutnnError(f"{self.name}: the {part} split is empty; give more samples")
            if not np.isfinite(x).all():
                i, j = np.argwhere(~np.isfinite(x))[0]
                raise LutnnError(
                    f"{self.name}: {part} feature {j} of sample {i} is NaN or inf; clean or impute the data"
                )
            if y.min() < 0 or y.max() >= self.n_classes:
                raise LutnnError(
                    f"{self.name}: {part} labels must be integers 0..{self.n_classes - 1}, found {int(y.min())}..{int(y.max())}"
                )
        if self.x_test.shape[1] != self.x_train.shape[1]:
            raise LutnnError(
                f"{self.name}: train has {self.x_train.shape[1]} features but test has {self.x_test.shape[1]}; use the same columns"
            )
        if self.n_classes < 2:
            raise LutnnError(f"{self.name}: needs at least 2 classes, found {self.n_classes}")
        return self

    def subset(self, n_train: int | None = None, n_test: int | None = None, seed: int = 0) -> Dataset:
        """A smaller copy (stratification-free random subsets), for quick runs and tests."""
        rng = np.random.default_rng(seed)
        tr = rng.permutation(len(self.x_train))[:n_train] if n_train else slice(None)
        te = rng.permutation(len(self.x_test))[:n_test] if n_test else slice(None)
        return Dataset(
            self.name,
            self.x_train[tr],
            self.y_train[tr],
            self.x_test[te],
            self.y_test[te],
            self.n_classes,
            self.feature_names,
            self.class_names,
            self.image_shape,
            self.source,
        )


def _split(
    x: np.ndarray, y: np.ndarray, test_size: float, random_state: int, stratify: bool = True, source: str = "data"
):
    """``train_test_split`` with the sizes checked first: both splits hold at least one sample per class."""
    from sklearn.model_selection import train_test_split

    n, n_classes = len(y), len(np.unique(y))
    n_test = math.ceil(test_size * n)
    if min(n_test, n - n_test) < max(1, n_classes):
        need = math.ceil(max(1, n_classes) / min(test_size, 1 - test_size))
        raise LutnnError(
            f"{source}: {n} samples of {n_classes} classes give a test split of {n_test} and a training split of "
            f"{n - n_test}; each needs at least one sample per class: give at least {need} samples"
        )
    try:
        return train_test_split(x, y, test_size=test_size, random_state=random_state, stratify=y if stratify else None)
    except ValueError as e:
        raise LutnnError(f"{source}: cannot split into train and test ({e}); give more samples per class") from None


def _labels_to_int(raw: np.ndarray, source: str = "labels") -> tuple[np.ndarray, list[str]]:
    """Map label values to 0..C-1: integers kept as-is when they are exactly 0..C-1, else ranked by value."""
    raw = np.asarray(raw)
    blank = [i for i, v in enumerate(raw.tolist()) if str(v).strip() == ""]
    if blank:
        raise LutnnError(f"{source}: data row {blank[0] + 1} has an empty label; fill it in or drop the row")
    try:
        as_num = raw.astype(np.float64)
    except (TypeError, ValueError):
        as_num = None
    for i, v in enumerate(raw.tolist()):  # nan, inf, 1e300: numbers that name no class
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if not math.isfinite(f) or abs(f) > 2**53:
            raise LutnnError(
                f"{source}: data row {i + 1} has the label {str(v)[:40]!r}, which is not a class "
                "(labels are integers or names); fix or drop the row"
            )
    if as_num is not None and np.all(as_num == np.round(as_num)):
        yi = as_num.astype(np.int64)
        vals = np.unique(yi)
        if vals[0] == 0 and vals[-1] == len(vals) - 1:
            return yi, [str(i) for i in range(len(vals))]
        return np.searchsorted(vals, yi).astype(np.int64), [str(v) for v in vals]
    names = sorted({str(v) for v in raw.tolist()})
    lookup = {v: i for i, v in enumerate(names)}
    return np.array([lookup[str(v)] for v in raw.tolist()], dtype=np.int64), names


# ---------------------------------------------------------------- digits
def load_digits() -> Dataset:
    """scikit-learn's 1,797 8×8 digits (pixel values 0..16), split 75/25 stratified, random_state=0."""
    from sklearn.datasets import load_digits as _ld

    x, y = _ld(return_X_y=True)
    xtr, xte, ytr, yte = _split(x.astype(np.float64), y.astype(np.int64), 0.25, 0)
    return Dataset(
        "digits", xtr, ytr, xte, yte, 10, [f"px{i}" for i in range(64)], [str(i) for i in range(10)], (8, 8), "sklearn"
    ).validate()


# ---------------------------------------------------------------- MNIST
def _read_idx(path: Path) -> np.ndarray:
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb") as fh:
            data = fh.read(MAX_TABLE_CHARS + 1)  # MNIST's largest file is 47 MB; bounds a .gz bomb
    except (OSError, EOFError, zlib.error) as e:
        raise LutnnError(
            f"{path}: cannot read MNIST file ({type(e).__name__}: {str(e)[:80]}); re-download it"
        ) from None
    if len(data) > MAX_TABLE_CHARS:
        raise LutnnError(f"{path}: more than {MAX_TABLE_CHARS >> 20} MiB; not an MNIST file (re-download it)")
    if len(data) < 8 or data[0] != 0 or data[1] != 0 or data[2] != 8:
        raise LutnnError(f"{path}: not an IDX file of unsigned bytes; give the original MNIST .gz files")
    nd = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(nd)]
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * nd)
    if body.size != int(np.prod(dims)):
        raise LutnnError(f"{path}: truncated IDX file ({body.size} of {int(np.prod(dims))} bytes); re-download it")
    return body.reshape(dims)


def _mnist_candidates(path: str | os.PathLike | None) -> list[Path]:
    cands = []
    if path:
        cands.append(Path(path))
    if os.environ.get("LUTNN_DATA"):
        cands.append(Path(os.environ["LUTNN_DATA"]) / "mnist")
    here = Path(__file__).resolve()
    for up in here.parents[:5]:
        cands.append(up.parent / "shared" / "datasets" / "mnist")
    cands.append(Path.cwd().parent / "shared" / "datasets" / "mnist")
    cands.append(Path.home() / ".cache" / "lutnn" / "mnist")
    return cands


def find_mnist(path: str | os.PathLike | None = None, download: bool = True) -> Path:
    """Folder holding the four MNIST IDX files (see module docstring for the search order)."""
    if path:
        p = Path(path).expanduser()
        if not p.is_dir():
            raise LutnnError(f"MNIST folder not found: {p} (give a folder with the four MNIST IDX .gz files)")
        missing = [f for f in MNIST_FILES.values() if not (p / f).exists()]
        if missing:
            raise LutnnError(f"MNIST folder {p} lacks {missing}; put the four official IDX .gz files there")
        return p
    for c in _mnist_candidates(path):
        if all((c / f).exists() for f in MNIST_FILES.values()):
            return c
    if path and Path(path).exists():
        missing = [f for f in MNIST_FILES.values() if not (Path(path) / f).exists()]
        raise LutnnError(f"MNIST folder {path} lacks {missing}; put the four official IDX .gz files there")
    if download:
        dest = Path.home() / ".cache" / "lutnn" / "mnist"
        try:
            dest.mkdir(parents=True, exist_ok=True)
            for f in MNIST_FILES.values():
                if not (dest / f).exists():
                    with urllib.request.urlopen(MNIST_MIRROR + f, timeout=20) as r:
                        data = r.read()
                    from lutnn.fileio import atomic_write

                    atomic_write(dest / f, data)
            return dest
        except OSError as e:
            raise LutnnError(
                f"MNIST not found (looked in {path or 'the default places'}) and download failed ({e}); "
                "pass --data-path to a folder with the four MNIST IDX .gz files"
            ) from None
    raise LutnnError("MNIST not found; pass a path to a folder with the four MNIST IDX .gz files")


def load_mnist(path: str | os.PathLike | None = None) -> Dataset:
    """MNIST 60k/10k, pixel values 0..255 as features (784 = 28×28)."""
    d = find_mnist(path)
    a = {k: _read_idx(d / f) for k, f in MNIST_FILES.items()}
    return Dataset(
        "mnist",
        a["x_train"].reshape(len(a["x_train"]), -1).astype(np.float64),
        a["y_train"].astype(np.int64),
        a["x_test"].reshape(len(a["x_test"]), -1).astype(np.float64),
        a["y_test"].astype(np.int64),
        10,
        [f"px{i}" for i in range(784)],
        [str(i) for i in range(10)],
        (28, 28),
        str(d),
    ).validate()


# ---------------------------------------------------------------- tables (CSV, ARFF, parquet)
def _read_table(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV (optionally .gz) file as strings."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", newline="", encoding="utf-8-sig") as fh:
            text = fh.read(MAX_TABLE_CHARS + 1)  # bounded: a .gz bomb stops here
        if len(text) > MAX_TABLE_CHARS:
            raise LutnnError(
                f"{path}: more than {MAX_TABLE_CHARS >> 20} MiB of CSV text (a decompression bomb?); "
                "split the file or save the data as .npz"
            )
        cells = text.count("\n") * (text[: text.find("\n")].count(",") + 1)
        if cells > MAX_TABLE_CELLS:
            raise LutnnError(
                f"{path}: about {cells:,} CSV cells, more than {MAX_TABLE_CELLS:,}; save the data as .npz instead"
            )
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, csv.Error) as e:
        raise LutnnError(
            f"{path}: cannot read as CSV ({type(e).__name__}: {str(e)[:100]}); "
            "give a comma-separated file (optionally .gz) with a header row"
        ) from None
    rows = [r for r in rows if r]
    if len(rows) < 2:
        raise LutnnError(f"{path}: CSV needs a header row and at least one data row")
    header = [h.strip() for h in rows[0]]
    for i, r in enumerate(rows[1:], start=2):
        if len(r) != len(header):
            raise LutnnError(f"{path}:{i}: {len(r)} columns but the header has {len(header)}; fix the row")
    return header, rows[1:]


def _read_arff(path: Path) -> tuple[list[str], list[list[str]]]:
    from scipy.io import arff

    try:
        data, meta = arff.loadarff(str(path))
    except Exception as e:  # scipy raises several types for malformed ARFF
        raise LutnnError(f"{path}: cannot parse ARFF ({e}); give the OpenML ARFF or a CSV export") from None
    names = list(meta.names())
    rows = [[v.decode() if isinstance(v, bytes) else str(v) for v in rec] for rec in data]
    return names, rows


def _read_parquet(path: Path) -> tuple[list[str], list[list[str]]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise LutnnError(
            f"{path}: reading parquet needs pyarrow (pip install pyarrow), or give the ARFF/CSV form"
        ) from None
    t = pq.read_table(path)
    cols = [t.column(i).to_pylist() for i in range(t.num_columns)]
    return list(t.column_names), [[str(c[i]) for c in cols] for i in range(t.num_rows)]


def _table_any(path: Path) -> tuple[list[str], list[list[str]]]:
    suf = "".join(path.suffixes[-2:]).lower()
    if suf.endswith(".arff"):
        return _read_arff(path)
    if suf.endswith(".parquet") or suf.endswith(".pq"):
        return _read_parquet(path)
    return _read_table(path)


def _numeric(path: Path, header: list[str], rows: list[list[str]], cols: list[int]) -> np.ndarray:
    try:
        return np.array([[float(r[c]) for c in cols] for r in rows], dtype=np.float64)
    except ValueError:
        for i, r in enumerate(rows):
            for c in cols:
                try:
                    float(r[c])
                except ValueError:
                    raise LutnnError(
                        f"{path}: row {i + 2}, column {header[c]!r}: {r[c]!r} is not a number; fix it or drop the column"
                    ) from None
        raise


def _table_dataset(
    path: Path,
    name: str,
    label: str | int | None,
    test_size: float,
    random_state: int,
    drop: tuple[str, ...] = (),
    features: list[str] | None = None,
    one_hot: bool = False,
) -> Dataset:
    header, rows = _table_any(path)
    if label is None:
        li = len(header) - 1
    elif isinstance(label, int):
        li = label
    elif label in header:
        li = header.index(label)
    else:
        raise LutnnError(f"{path}: no label column {label!r}; columns are {header[:20]}")
    if features is not None:
        missing = [f for f in features if f not in header]
        if missing:
            raise LutnnError(f"{path}: missing feature columns {missing}; is this the right file?")
        cols = [header.index(f) for f in features]
        x = _numeric(path, header, rows, cols)
        names = list(features)
    else:
        cols, cat_cols = [], []
        for c in range(len(header)):
            if c == li or header[c] in drop:
                continue
            try:
                [float(r[c]) for r in rows[:200]]
                cols.append(c)
            except ValueError:
                if not one_hot:
                    raise LutnnError(
                        f"{path}: column {header[c]!r} is not numeric; drop it or convert it to numbers"
                    ) from None
                cat_cols.append(c)
        x = _numeric(path, header, rows, cols)
        names = [header[c] for c in cols]
        for c in cat_cols:  # one-hot of categorical columns
            col = np.array([r[c] for r in rows])
            vals = sorted(set(col.tolist()))
            onehot = (col[:, None] == np.array(vals)[None, :]).astype(np.float64)
            x = np.concatenate([x, onehot], axis=1)
            names += [f"{header[c]}={v}" for v in vals]
    if x.shape[1] == 0:
        raise LutnnError(f"{path}: no feature columns besides the label {header[li]!r}; add feature columns")
    y, class_names = _labels_to_int(np.array([r[li] for r in rows]), str(path))
    if not np.isfinite(x).all():
        i, j = np.argwhere(~np.isfinite(x))[0]
        raise LutnnError(f"{path}: feature {names[j]!r} of data row {i + 1} is NaN or inf; clean or impute it")
    n_classes = len(class_names)
    xtr, xte, ytr, yte = _split(x, y, test_size, random_state, stratify=np.bincount(y).min() >= 2, source=str(path))
    return Dataset(name, xtr, ytr, xte, yte, n_classes, names, class_names, None, str(path)).validate()


def load_jsc_openml(path: str | os.PathLike) -> Dataset:
    """JSC as published on OpenML (id 42468): 16 features, class g/q/t/w/z; split 80/20, random_state=42."""
    p = _need(path, "JSC (OpenML 42468) file", "download hls4ml_lhc_jets_hlf from openml.org (data id 42468)")
    d = _table_dataset(p, "jsc", "class", 0.2, 42, features=JSC_FEATURES)
    d.name = "jsc"
    return d


def load_jsc_cernbox(path: str | os.PathLike) -> Dataset:
    """LogicNets' JSC (CERNBox ``.z`` HDF5, table ``t_allpar_new``); split test_size=0.2, random_state=42."""
    p = _need(path, "JSC CERNBox .z file", "get processed-pythia82-lhc13-all-pt1-50k-r1_h022_e0175_t220_nonu_truth.z")
    try:
        import h5py
    except ImportError:
        raise LutnnError("reading the CERNBox JSC file needs h5py (pip install h5py)") from None
    try:
        with h5py.File(p, "r") as f:
            if "t_allpar_new" not in f:
                raise LutnnError(f"{p}: no table 't_allpar_new'; is this LogicNets' JSC .z file?")
            tab = f["t_allpar_new"][()]
    except OSError as e:
        raise LutnnError(f"{p}: not a readable HDF5 file ({e}); give LogicNets' .z file") from None
    names = tab.dtype.names or ()
    missing = [c for c in JSC_FEATURES + JSC_TARGETS if c not in names]
    if missing:
        raise LutnnError(f"{p}: table lacks columns {missing}; is this LogicNets' JSC .z file?")
    x = np.stack([np.asarray(tab[c], dtype=np.float64) for c in JSC_FEATURES], axis=1)
    onehot = np.stack([np.asarray(tab[c], dtype=np.float64) for c in JSC_TARGETS], axis=1)
    y = onehot.argmax(axis=1).astype(np.int64)
    from sklearn.model_selection import train_test_split

    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.2, random_state=42)
    return Dataset(
        "jsc_cernbox", xtr, ytr, xte, yte, 5, list(JSC_FEATURES), ["g", "q", "w", "z", "t"], None, str(p)
    ).validate()


def load_unsw(path: str | os.PathLike) -> Dataset:
    """UNSW-NB15 CSV: numeric columns (one-hot for proto/service/state) → ``label`` (0 normal, 1 attack)."""
    p = _need(path, "UNSW-NB15 CSV", "give UNSW_NB15_training-set.csv / UNSW_NB15_testing-set.csv (or the .gz)")
    return _table_dataset(p, "unsw", "label", 0.25, 0, drop=("id", "attack_cat"), one_hot=True)


def load_csv(
    path: str | os.PathLike, label: str | int | None = None, test_size: float = 0.25, seed: int = 0
) -> Dataset:
    """Your own CSV: header row, numeric feature columns, one label column (default the last)."""
    p = _need(path, "CSV file", "check the path")
    return _table_dataset(p, p.stem, label, test_size, seed)


def load_npz(path: str | os.PathLike, test_size: float = 0.25, seed: int = 0) -> Dataset:
    """NPZ with ``x_train, y_train, x_test, y_test`` or ``x, y`` (split 75/25 stratified)."""
    p = _need(path, "NPZ file", "check the path")
    _check_npz(p)
    try:
        z = np.load(p, allow_pickle=False)
    except (OSError, ValueError, EOFError, zlib.error):
        raise LutnnError(
            f"{p}: not a NumPy .npz archive; save it with numpy.savez (or use data.name = 'csv')"
        ) from None
    keys = set(z.files)
    if {"x_train", "y_train", "x_test", "y_test"} <= keys:
        xtr, ytr, xte, yte = (_npz_array(p, z, k) for k in ("x_train", "y_train", "x_test", "y_test"))
        _npz_labels(p, "y_train", ytr)
        _npz_labels(p, "y_test", yte)
    elif {"x", "y"} <= keys:
        x, y = _npz_array(p, z, "x"), _npz_array(p, z, "y")
        if len(x) != len(y):
            raise LutnnError(f"{p}: x has {len(x)} samples but y has {len(y)}")
        if len(y) < 4:
            raise LutnnError(f"{p}: x, y hold {len(y)} samples; a train/test split needs more")
        _npz_labels(p, "y", y)
        ok = np.bincount(y.astype(np.int64)).min() >= 2  # labels checked non-negative above
        xtr, xte, ytr, yte = _split(x, y, test_size, seed, stratify=bool(ok), source=str(p))
    else:
        raise LutnnError(f"{p}: expected arrays x_train, y_train, x_test, y_test (or x, y); found {sorted(keys)}")
    xtr = xtr.reshape(len(xtr), -1).astype(np.float64)
    xte = xte.reshape(len(xte), -1).astype(np.float64)
    ytr, yte = ytr.astype(np.int64), yte.astype(np.int64)
    n_classes = int(ytr.max()) + 1 if len(ytr) else 0
    if len(yte) and int(yte.max()) >= n_classes:
        raise LutnnError(
            f"{p}: test label {int(yte.max())} never occurs in training (labels 0..{n_classes - 1}); "
            "every class needs training samples"
        )
    return Dataset(
        p.stem, xtr, ytr, xte, yte, n_classes, [f"f{i}" for i in range(xtr.shape[1])], [], None, str(p)
    ).validate()


def _check_npz(p: Path) -> None:
    """Refuse before reading: a bare .npy, a damaged zip, a zip bomb, members whose header claims more data than they hold."""
    import zipfile

    with open(p, "rb") as fh:
        if fh.read(6) == b"\x93NUMPY":
            raise LutnnError(
                f"{p}: a single .npy array, not an .npz archive; save x and y (or x_train, y_train, x_test, y_test) "
                "together with numpy.savez"
            )
    fmt = np.lib.format
    try:
        with zipfile.ZipFile(p) as zf:
            infos = zf.infolist()
            total = sum(i.file_size for i in infos)
            if total > MAX_NPZ_BYTES:
                raise LutnnError(
                    f"{p}: the archive unpacks to {total:,} bytes, more than {MAX_NPZ_BYTES:,}; "
                    "give a smaller dataset (or a zip bomb was given)"
                )
            for info in infos:
                if not info.filename.endswith(".npy"):
                    continue
                with zf.open(info) as f:
                    version = fmt.read_magic(f)
                    read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
                    shape, _, dtype = read(f, max_header_size=10_000)
                    need = math.prod(int(d) for d in shape) * dtype.itemsize
                    if not dtype.hasobject and need > info.file_size:
                        raise LutnnError(
                            f"{p}: member {info.filename[:40]!r} claims shape {tuple(shape)} ({need:,} bytes) "
                            f"but holds {info.file_size:,}; the file is damaged or crafted"
                        )
    except LutnnError:
        raise
    except zipfile.BadZipFile:
        raise LutnnError(
            f"{p}: not a NumPy .npz archive (damaged or truncated zip); save it again with numpy.savez"
        ) from None
    except Exception as e:  # numpy's header parser and zlib raise many types on damaged members
        raise LutnnError(f"{p}: damaged .npz member ({type(e).__name__}); save it again with numpy.savez") from None


def read_arrays(path: str | os.PathLike, what: str = "array file") -> np.ndarray | dict[str, np.ndarray]:
    """A ``.npy`` array or the arrays of an ``.npz``, size-checked before reading (no pickles, no bombs)."""
    from lutnn.fileio import check_readable

    p = check_readable(path, what)
    with open(p, "rb") as fh:
        if fh.read(6) == b"\x93NUMPY":
            fh.seek(0)
            fmt = np.lib.format
            try:
                version = fmt.read_magic(fh)
                read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
                shape, _, dtype = read(fh, max_header_size=10_000)
            except Exception as e:  # numpy's header parser raises many types on damaged files
                raise LutnnError(
                    f"{p}: damaged .npy header ({type(e).__name__}); save it again with numpy.save"
                ) from None
            need, have = math.prod(int(d) for d in shape) * dtype.itemsize, p.stat().st_size - fh.tell()
            if dtype.hasobject:
                raise LutnnError(f"{p}: the array holds Python objects; save numbers with numpy.save")
            if need > have:
                raise LutnnError(
                    f"{p}: header claims shape {tuple(shape)} ({need:,} bytes) but the file holds {have:,}; "
                    "the file is truncated or crafted"
                )
            try:
                return np.load(p, allow_pickle=False)
            except (ValueError, OSError, EOFError) as e:
                raise LutnnError(f"{p}: not a readable .npy array ({str(e)[:100]}); save it with numpy.save") from None
    _check_npz(p)
    try:
        z = np.load(p, allow_pickle=False)
    except (OSError, ValueError, EOFError, zlib.error):
        raise LutnnError(
            f"{p}: neither a .npy array nor an .npz archive; save it with numpy.save or numpy.savez"
        ) from None
    with z:
        return {k: _npz_array(p, z, k) for k in z.files}


def _npz_array(p: Path, z, key: str) -> np.ndarray:
    """One real-valued array of an .npz with at least one (sample) axis; a clear error otherwise."""
    import zipfile

    try:
        a = np.asarray(z[key])
    except ValueError as e:
        if "allow_pickle" in str(e):
            raise LutnnError(f"{p}: array {key!r} holds Python objects; save numeric arrays (numpy.savez)") from None
        raise LutnnError(f"{p}: array {key!r} is damaged ({str(e)[:80]}); save it again with numpy.savez") from None
    except (zipfile.BadZipFile, EOFError, zlib.error, OSError) as e:
        raise LutnnError(
            f"{p}: array {key!r} is damaged ({type(e).__name__}); save it again with numpy.savez"
        ) from None
    if a.ndim == 0:
        raise LutnnError(f"{p}: array {key!r} is a scalar; it needs one row per sample")
    if a.dtype.kind not in "biuf":
        raise LutnnError(
            f"{p}: array {key!r} has dtype {a.dtype}; features and labels must be real numbers (not complex or text)"
        )
    return a


def _npz_labels(p: Path, key: str, y: np.ndarray) -> None:
    if y.ndim != 1:
        raise LutnnError(f"{p}: {key} has shape {y.shape}; give one integer class per sample (not one-hot)")
    if not np.all(y == np.round(y)) or (len(y) and y.min() < 0):
        raise LutnnError(f"{p}: {key} must hold integer classes 0..C-1")


def _need(path: str | os.PathLike | None, what: str, fix: str) -> Path:
    if path is None or str(path) == "":
        raise LutnnError(f"{what}: no path given; pass data.path in the config or --data-path ({fix})")
    p = Path(path).expanduser()
    if not p.exists():
        raise LutnnError(f"{what} not found: {p} ({fix})")
    if p.is_dir():
        raise LutnnError(f"{what} {p} is a directory; give the file itself")
    return p


def load_dataset(name: str, path: str | os.PathLike | None = None, label: str | int | None = None) -> Dataset:
    """Load a dataset by name (see the module docstring)."""
    if name == "digits":
        return load_digits()
    if name == "mnist":
        return load_mnist(path)
    if name == "jsc":
        return load_jsc_openml(path)  # type: ignore[arg-type]
    if name == "jsc_cernbox":
        return load_jsc_cernbox(path)  # type: ignore[arg-type]
    if name == "unsw":
        return load_unsw(path)  # type: ignore[arg-type]
    if name == "csv":
        return load_csv(path, label=label)  # type: ignore[arg-type]
    if name == "npz":
        return load_npz(path)  # type: ignore[arg-type]
    raise LutnnError(f"unknown dataset {name!r}; choose one of {DATASETS}")


def synthetic_jsc(n: int = 20000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A stand-in with JSC's layout (16 standardised features, 5 classes; 80/20 split) for testing the flow."""
    if n < 10:
        raise LutnnError(f"synthetic_jsc needs at least 10 samples, got {n}")
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 0.9, size=(5, 16))
    mix = rng.normal(0, 0.35, size=(16, 16)) + np.eye(16)
    y = rng.integers(0, 5, size=n)
    x = means[y] + rng.normal(size=(n, 16)) @ mix
    x = np.tanh(x / 2) * 2 + 0.1 * x  # a little non-linearity, as the real features have
    x = (x - x.mean(0)) / x.std(0)
    cut = int(0.8 * n)
    return x[:cut].astype(np.float32), y[:cut], x[cut:].astype(np.float32), y[cut:]
