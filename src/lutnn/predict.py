"""Predictions on new data from a trained run, in the scikit-learn style — no torch needed.

::

    import lutnn
    m = lutnn.load("runs/digits")          # a folder written by `lutnn train` / `lutnn demo`
    m.predict(X)                           # raw features → class labels (the exact netlist)
    m.predict_proba(X)                     # the head's per-class popcounts, normalised
    m.score(X, y)                          # accuracy

``predict`` runs the run's ``netlist.blif`` (the very circuit ``design.v`` holds) bit-parallel
on the quantized features (``report.json``'s input map); ``predict_proba`` runs ``core.blif`` on
the encoder bits and counts each class's group of last-layer outputs — the popcounts the
hardware's argmax compares — and checks that their argmax is the netlist's class.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from lutnn.errors import LutnnError
from lutnn.formats.blif import read_blif
from lutnn.netlist import Netlist
from lutnn.quantizer import FeatureQuantizer
from lutnn.sim import simulate, simulate_buses

__all__ = ["LUTClassifier", "encode_bits", "load", "read_features"]


def encode_bits(spec: dict, q: np.ndarray) -> np.ndarray:
    """Integer bus values ``[N, F]`` → encoder bits ``uint8 [N, n_bits]`` by ``report.json``'s encoder spec."""
    q = np.asarray(q, dtype=np.int64)
    kind = spec["kind"]
    if kind == "thermometer":
        feat = np.asarray(spec["feature"], dtype=np.int64)
        thr = np.asarray(spec["threshold"], dtype=np.int64)
        return (q[:, feat] >= thr[None, :]).astype(np.uint8)
    if kind in ("binary", "gray"):
        c = q ^ (q >> 1) if kind == "gray" else q
        sh = np.arange(int(spec["width"]), dtype=np.int64)
        return ((c[:, :, None] >> sh[None, None, :]) & 1).reshape(len(q), -1).astype(np.uint8)
    raise LutnnError(f"report.json: unknown encoder kind {kind!r}; re-export the run with this lutnn version")


class LUTClassifier:
    """A trained LUT network's exact hardware as a scikit-learn style classifier (see the module docstring).

    Attributes: ``classes_`` (labels, index i = ``class_index`` value i), ``n_features_in_``,
    ``feature_names_in_`` (when the data had named columns), ``run_dir``, ``report``.
    """

    def __init__(self, run_dir: str | Path) -> None:
        d = Path(run_dir)
        if d.is_file() and d.name == "report.json":
            d = d.parent
        rp = d / "report.json"
        if not rp.is_file():
            raise LutnnError(f"{d}: no report.json; give a run folder written by `lutnn train` or `lutnn demo`")
        try:
            rep = json.loads(rp.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise LutnnError(f"{rp}: not valid JSON ({e}); re-run `lutnn export` on the run") from None
        pr = rep.get("predict")
        if not isinstance(pr, dict):
            raise LutnnError(
                f"{rp}: has no 'predict' section (written by an older lutnn); re-export it: lutnn export {d} -o {d}"
            )
        self.run_dir = d
        self.report = rep
        self.quantizer = FeatureQuantizer.from_state(pr["quantizer"])
        self.encoder = pr["encoder"]
        self.n_classes = int(pr["head"]["classes"])
        self.group = int(pr["head"]["group"])
        names = rep.get("classes") or [str(i) for i in range(self.n_classes)]
        self.classes_ = _label_array(names)
        self.n_features_in_ = self.quantizer.n_features
        self.label_column_ = pr.get("label")  # the training CSV's label column, when named
        if pr.get("feature_names"):
            self.feature_names_in_ = np.asarray(pr["feature_names"], dtype=object)
        files = rep.get("files", {})
        self._netlist_path = d / files.get("netlist", "netlist.blif")
        self._core_path = d / files.get("core", "core.blif")
        self._netlist: Netlist | None = None
        self._core: Netlist | None = None

    def __repr__(self) -> str:
        return f"LUTClassifier({str(self.run_dir)!r}, classes={list(self.classes_)}, features={self.n_features_in_})"

    @property
    def netlist(self) -> Netlist:
        """The whole design (``netlist.blif``): raw-feature buses ``x0…`` in, ``class_index`` out."""
        if self._netlist is None:
            self._netlist = _read(self._netlist_path)
        return self._netlist

    @property
    def core(self) -> Netlist:
        """The LUT layers (``core.blif``): encoder bits in, last layer ``h`` out."""
        if self._core is None:
            self._core = _read(self._core_path)
        return self._core

    def _check_x(self, X) -> np.ndarray:
        if hasattr(X, "to_numpy"):  # pandas DataFrame
            X = X.to_numpy()
        try:
            x = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError):
            raise LutnnError("X must hold numbers only (features); drop the label and text columns") from None
        if x.ndim == 1:
            raise LutnnError(
                "Expected 2D array, got 1D array instead; reshape your data with X.reshape(1, -1) for a single sample"
            )
        if x.ndim != 2:
            raise LutnnError(f"Found array with dim {x.ndim}. LUTClassifier expected <= 2.")
        if x.shape[1] != self.n_features_in_:
            raise LutnnError(
                f"X has {x.shape[1]} features, but LUTClassifier is expecting {self.n_features_in_} features as input."
            )
        return x

    def quantize(self, X) -> np.ndarray:
        """Raw features → the integers ``design.v``'s input buses ``x0…`` take."""
        return self.quantizer.transform(self._check_x(X))

    def predict_index(self, X) -> np.ndarray:
        """Class indices (``class_index``) of the exact netlist, ``int64 [N]``."""
        q = self.quantize(X)
        if len(q) == 0:
            return np.zeros(0, dtype=np.int64)
        out = simulate_buses(self.netlist, {f"x{i}": q[:, i] for i in range(q.shape[1])})
        return np.asarray(out["class_index"], dtype=np.int64)

    def predict(self, X) -> np.ndarray:
        """Class labels (from ``classes_``) of the exact netlist for raw features ``X [N, F]``."""
        return self.classes_[self.predict_index(X)]

    def counts(self, X) -> np.ndarray:
        """The head's per-class popcounts ``int64 [N, classes]`` (0..group each), exactly as in hardware."""
        q = self.quantize(X)
        if len(q) == 0:
            return np.zeros((0, self.n_classes), dtype=np.int64)
        bits = encode_bits(self.encoder, q)
        core = self.core
        if bits.shape[1] != core.n_inputs or core.n_outputs != self.n_classes * self.group:
            raise LutnnError(f"{self._core_path}: does not match report.json's encoder and head; re-export the run")
        h = simulate(core, bits)
        c = h.reshape(len(q), self.n_classes, self.group).sum(-1).astype(np.int64)
        return c

    def predict_proba(self, X) -> np.ndarray:
        """Per-class popcounts normalised to sum 1 per row (``float64 [N, classes]``).

        The argmax (ties to the lower index) is the netlist's class; checked on every call.
        """
        c = self.counts(X)
        if len(c) == 0:
            return np.zeros((0, self.n_classes))
        idx = self.predict_index(X)
        if not np.array_equal(np.argmax(c, axis=1), idx):
            bad = int(np.flatnonzero(np.argmax(c, axis=1) != idx)[0])
            raise LutnnError(
                f"{self.run_dir}: core.blif's counts disagree with netlist.blif on sample {bad}; "
                "the run's files are out of step — re-export it (lutnn export)"
            )
        tot = c.sum(axis=1, keepdims=True)
        return np.where(tot > 0, c / np.maximum(tot, 1), 1.0 / self.n_classes)

    def score(self, X, y) -> float:
        """Accuracy of :meth:`predict` against labels ``y`` (class names, or class indices for numeric classes)."""
        y = np.asarray(y)
        pred = self.predict(X)
        if len(y) != len(pred):
            raise LutnnError(f"X has {len(pred)} samples but y has {len(y)} labels")
        return float((pred.astype(str) == y.astype(str)).mean()) if len(y) else float("nan")


def _label_array(names: list) -> np.ndarray:
    """Class names as an array: integers when every name is one (``"0"``, ``"1"``, …), else strings."""
    try:
        ints = [int(n) for n in names]
        if [str(i) for i in ints] == [str(n) for n in names]:
            return np.asarray(ints, dtype=np.int64)
    except (TypeError, ValueError):
        pass
    return np.asarray([str(n) for n in names], dtype=object)


def _read(path: Path) -> Netlist:
    if not path.is_file():
        raise LutnnError(f"{path}: missing; the run folder is incomplete — re-export it (lutnn export)")
    return read_blif(path)


def load(run_dir: str | Path) -> LUTClassifier:
    """Open a trained run folder (``report.json`` + ``netlist.blif`` + ``core.blif``) for predictions."""
    return LUTClassifier(run_dir)


def read_features(
    path: str | Path, model: LUTClassifier, label: str | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Read new data for ``model``: CSV (header row) or NPZ (``x``/``X``, optional ``y``); returns (X, y or None).

    CSV columns are matched by name when the training data had named columns (extra columns are
    ignored; one-hot features ``col=value`` are rebuilt from column ``col``; ``label``, the training
    label's column, or the one column left over is returned as y); otherwise
    the file must hold exactly the features, optionally followed by one label column.
    """
    p = Path(path)
    if not p.is_file():
        raise LutnnError(f"{p}: no such file; give a CSV (with a header) or NPZ of features")
    if p.suffix.lower() == ".npz":
        with np.load(p, allow_pickle=False) as z:
            keys = set(z.files)
            xk = next((k for k in ("x", "X", "x_test") if k in keys), None)
            if xk is None:
                raise LutnnError(f"{p}: no array 'x' (or 'X', 'x_test'); it has {sorted(keys)}")
            yk = next((k for k in ("y", "Y", "y_test") if k in keys), None)
            return np.asarray(z[xk], dtype=np.float64), (np.asarray(z[yk]) if yk else None)
    with open(p, newline="", encoding="utf-8-sig") as fh:
        rows = [r for r in csv.reader(fh) if r and any(c.strip() for c in r)]
    if not rows:
        raise LutnnError(f"{p}: empty file; give a CSV with a header row and one row per sample")
    header, body = [h.strip() for h in rows[0]], rows[1:]
    names = [str(n) for n in getattr(model, "feature_names_in_", [])]
    f = model.n_features_in_
    label = label if label is not None else getattr(model, "label_column_", None)
    onehot = {n: n.split("=", 1) for n in names if n not in header and "=" in n and n.split("=", 1)[0] in header}
    if names and all(n in header or n in onehot for n in names):
        cols = [header.index(n) if n in header else -1 - i for i, n in enumerate(names)]  # < 0: one-hot
        used = {c for c in cols if c >= 0} | {header.index(onehot[n][0]) for n in onehot}
        rest = [i for i in range(len(header)) if i not in used]
        if label is not None:
            if label not in header:
                raise LutnnError(f"{p}: no label column {label!r}; columns are {header[:20]}")
            li: int | None = header.index(label)
        else:
            li = rest[0] if len(rest) == 1 else None
    else:
        if label is not None and label in header:
            li = header.index(label)
            cols = [i for i in range(len(header)) if i != li]
        elif len(header) == f:
            cols, li = list(range(f)), None
        elif len(header) == f + 1:
            cols, li = list(range(f)), f
        else:
            want = f" (columns {names[:8]}…)" if names else ""
            raise LutnnError(
                f"{p}: {len(header)} columns, but the model takes {f} features{want}, optionally plus one label column"
            )
    x = np.empty((len(body), len(cols)))
    for r, row in enumerate(body):
        try:
            x[r] = [
                float(row[c])
                if c >= 0
                else float(row[header.index(onehot[names[-1 - c]][0])].strip() == onehot[names[-1 - c]][1])
                for c in cols
            ]
        except (ValueError, IndexError):
            raise LutnnError(
                f"{p}: data row {r + 1} is short or holds a non-number in a feature column; fix or drop it"
            ) from None
    y = np.asarray([row[li].strip() for row in body], dtype=object) if li is not None else None
    return x, y
