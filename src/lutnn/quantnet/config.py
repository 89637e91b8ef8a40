"""Run configurations of the quantized-network family (``configs/quant_*.toml``) and the data they name."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np

from lutnn.errors import LutnnError
from lutnn.fileio import check_readable

__all__ = ["check_quant_config", "load_quant_config", "quant_dataset"]

# What each key of a quant config may hold: (kind, low, high). Kinds: "int", "float" (finite), "bool", "str",
# "ints" (an int or a list of them), "bools", "fan_in" (ints or absent entries), "conv" (a list of tables).
_MODEL_SPEC: dict[str, tuple] = {
    "hidden": ("intlist", 1, 1 << 16), "in_bits": ("int", 1, 16), "in_signed": ("bool",),
    "in_scale": ("float", math.ulp(0.0), 1e9), "w_bits": ("ints", 1, 16), "act_bits": ("ints", 1, 16),
    "act_signed": ("bools",), "fan_in": ("fan_in", 1, 1 << 16), "out_bits": ("int", 1, 32),
    "batchnorm": ("bool",), "mask": ("choice", "random", "learned"), "seed": ("int", 0, 2**32 - 2),
    "conv": ("conv",), "in_shape": ("intlist", 1, 1 << 16),
}  # fmt: skip
_TRAIN_SPEC: dict[str, tuple] = {
    "epochs": ("int", 1, 10**6), "lr": ("float", math.ulp(0.0), 1e3), "batch_size": ("int", 1, 1 << 24),
    "weight_decay": ("float", 0.0, 1e3), "warmup_epochs": ("int", 0, 10**6), "prune_epochs": ("int", 0, 10**6),
    "augment": ("str",), "seed": ("int", 0, 2**32 - 2),
}  # fmt: skip
_DATA_SPEC: dict[str, tuple] = {
    "name": ("str",), "path": ("str",), "label": ("str",), "scale": ("float", math.ulp(0.0), 1e30),
    "standardize": ("bool",), "n": ("int", 1, 10**8), "seed": ("int", 0, 2**32 - 2),
}  # fmt: skip
_CONV_SPEC: dict[str, tuple] = {
    "channels": ("int", 1, 1 << 16), "kernel": ("ints", 1, 1 << 10), "stride": ("ints", 1, 1 << 10),
    "padding": ("ints", 0, 1 << 10), "groups": ("int", 1, 1 << 16), "w_bits": ("int", 1, 16),
    "act_bits": ("int", 1, 16), "act_signed": ("bool",), "batchnorm": ("bool",),
}  # fmt: skip
_MODEL_KEYS, _TRAIN_KEYS = set(_MODEL_SPEC), set(_TRAIN_SPEC)


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _value_problem(where: str, v: object, spec: tuple) -> str | None:
    """Why ``v`` does not fit ``spec`` (one phrase naming the key and what it must be), or None."""
    kind = spec[0]
    lo, hi = spec[1:3] if len(spec) == 3 else (None, None)
    rng = f" in {lo}..{hi}" if lo is not None else ""

    def int_ok(x: object) -> bool:
        return _is_int(x) and lo <= x <= hi

    if kind == "int":
        ok, want = int_ok(v), f"an integer{rng}"
    elif kind == "float":
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and lo <= v <= hi
        want = f"a finite number in [{lo:g}, {hi:g}]"
    elif kind == "bool":
        ok, want = isinstance(v, bool), "true or false"
    elif kind == "str":
        ok, want = isinstance(v, str), "a string"
    elif kind == "choice":
        ok, want = v in spec[1:], " or ".join(repr(c) for c in spec[1:])
    elif kind == "intlist":
        ok = isinstance(v, list) and len(v) <= 1024 and all(int_ok(x) for x in v)
        want = f"a list of integers{rng}"
    elif kind == "ints":
        ok = int_ok(v) or (isinstance(v, list) and 0 < len(v) <= 1024 and all(int_ok(x) for x in v))
        want = f"an integer{rng} or a list of them"
    elif kind == "bools":
        ok = isinstance(v, bool) or (isinstance(v, list) and all(isinstance(x, bool) for x in v))
        want = "true/false or a list of them"
    elif kind == "fan_in":  # None entries (saved models): every input of that layer
        ok = int_ok(v) or (isinstance(v, list) and 0 < len(v) <= 1024 and all(x is None or int_ok(x) for x in v))
        want = f"an integer{rng} or a list of them"
    else:  # conv: a list of tables
        if not (isinstance(v, list) and 0 < len(v) <= 64 and all(isinstance(x, dict) for x in v)):
            return f"{where} must be a list of 1..64 tables like {{channels = 8, kernel = 3}}"
        probs = [_table_problems(f"{where}[{i}]", x, _CONV_SPEC) for i, x in enumerate(v)]
        probs += [
            f"{where}[{i}] needs channels and kernel" for i, x in enumerate(v) if not {"channels", "kernel"} <= set(x)
        ]
        return "; ".join(p for p in probs if p) or None
    return None if ok else f"{where} = {str(repr(v))[:60]} must be {want}"


def _table_problems(where: str, table: dict, spec: dict[str, tuple]) -> str:
    unknown = sorted(set(table) - set(spec))
    name = where if "[" in where else f"[{where}]"
    out = [f"unknown {name} keys {unknown}; allowed: {sorted(spec)}"] if unknown else []
    for key, v in table.items():
        if key in spec:
            msg = _value_problem(f"{where}.{key}" if "[" in where else f"[{where}] {key}", v, spec[key])
            if msg:
                out.append(msg)
    return "; ".join(out)


def check_quant_config(cfg: object, source: str = "config") -> dict:
    """Check a quant config's tables, keys, types and ranges; all problems at once in one :class:`LutnnError`."""
    if not isinstance(cfg, dict):
        raise LutnnError(f"{source}: expected [data], [model] and [train] tables")
    problems = []
    for sect in ("data", "model"):
        if sect not in cfg:
            problems.append(f"missing [{sect}] table (see configs/quant_digits.toml)")
    for sect, spec in (("data", _DATA_SPEC), ("model", _MODEL_SPEC), ("train", _TRAIN_SPEC)):
        if sect not in cfg:
            continue
        if not isinstance(cfg[sect], dict):
            problems.append(f"{sect} = {str(repr(cfg[sect]))[:40]} must be a [{sect}] table")
            continue
        msg = _table_problems(sect, cfg[sect], spec)
        if msg:
            problems.append(msg)
    unknown = sorted(set(cfg) - {"data", "model", "train"})
    if unknown:
        problems.append(f"unknown tables {unknown}; a quant config has [data], [model] and [train]")
    if problems:
        raise LutnnError(f"{source}: " + "; ".join(problems))
    return cfg


def load_quant_config(path: str | Path) -> dict:
    """Read a ``configs/quant_*.toml`` file: ``[data]``, ``[model]``, ``[train]`` tables, checked."""
    p = check_readable(path, "config file")
    try:
        cfg = tomllib.loads(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise LutnnError(f"{p}: not a text file (not UTF-8); a config is TOML text") from None
    except tomllib.TOMLDecodeError as e:
        raise LutnnError(f"{p}: not valid TOML ({e})") from None
    except RecursionError:
        raise LutnnError(f"{p}: values nested too deeply; a quant config is at most three levels deep") from None
    return check_quant_config(cfg, str(p))


def quant_dataset(data: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, dict]:
    """Load and normalise the dataset a config names → (x_train, y_train, x_test, y_test, classes, prep).

    ``prep`` records the normalisation (``scale`` divides by a constant; ``standardize`` uses the
    training mean/std) so ``lutnn compile`` can apply the same one to test data.
    """
    name = data.get("name")
    if name == "jsc_synthetic":
        from lutnn.data import synthetic_jsc

        xtr, ytr, xte, yte = synthetic_jsc(int(data.get("n", 20000)), seed=int(data.get("seed", 0)))
        n_classes = 5
    else:
        from lutnn.data import load_dataset

        if not name:
            raise LutnnError("[data] needs name = digits | mnist | jsc | jsc_cernbox | jsc_synthetic | csv | npz")
        d = load_dataset(name, data.get("path"))
        xtr, ytr, xte, yte, n_classes = d.x_train, d.y_train, d.x_test, d.y_test, d.n_classes
    prep: dict = {}
    if "scale" in data:
        s = float(data["scale"])
        xtr, xte = xtr / s, xte / s
        prep["scale"] = s
    if data.get("standardize"):
        mu, sd = xtr.mean(0), xtr.std(0) + 1e-8
        xtr, xte = (xtr - mu) / sd, (xte - mu) / sd
        prep["mean"], prep["std"] = mu.tolist(), sd.tolist()
    return np.asarray(xtr, np.float32), np.asarray(ytr), np.asarray(xte, np.float32), np.asarray(yte), n_classes, prep
