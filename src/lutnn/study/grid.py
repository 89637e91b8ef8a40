"""``lutnn study SPEC --out DIR``: train a grid of LUT networks (resumable) and record every measure.

A SPEC is a TOML file::

    name = "digits"
    seeds = [0, 1]
    sample = 60                 # optional: train this many grid points (a seeded random subset)
    [base]                      # a RunConfig (sections data, encoder, model, train), export is ignored
    data = { name = "digits" }
    train = { epochs = 20 }
    [axes]                      # one list per axis; "section.key" sets one key, "section" merges a table
    encoder = [{ kind = "thermometer", levels = 3 }, { kind = "binary" }]
    "model.k" = [4, 6]
    [measure]
    samples = 4096              # uniform-distribution Monte Carlo samples
    flip_rates = [0.01, 0.05, 0.1]
    data_limit = 2000           # data-distribution measures on at most this many samples per split

Each network lives in ``DIR/runs/<id>/`` (``checkpoint.pt`` while training, ``result.json`` when
done); running the same command again skips finished networks and resumes interrupted ones.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lutnn.errors import LutnnError
from lutnn.fileio import atomic_write, check_readable, json_default

__all__ = ["StudySpec", "grid_points", "load_spec", "run_study", "train_point"]

_SECTIONS = ("data", "encoder", "model", "train")


@dataclass
class StudySpec:
    """A parsed study SPEC (see the module docstring)."""

    name: str
    base: dict[str, Any]
    axes: dict[str, list[Any]]
    seeds: list[int] = field(default_factory=lambda: [0])
    sample: int | None = None
    measure: dict[str, Any] = field(default_factory=dict)
    source: str = "spec"


def load_spec(path: str | Path) -> StudySpec:
    """Read and check a study SPEC file; problems are one-line :class:`LutnnError` naming the key."""
    p = check_readable(path, "study spec")
    try:
        d = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as e:
        raise LutnnError(f"{p}: not valid TOML ({e}); see lutnn.study.grid for the SPEC format") from None
    return spec_from_dict(d, str(p))


def spec_from_dict(d: dict[str, Any], source: str = "spec") -> StudySpec:
    """Build a :class:`StudySpec` from nested dicts (what :func:`load_spec` parses)."""
    known = {"name", "base", "axes", "seeds", "sample", "measure"}
    bad = sorted(set(d) - known)
    if bad:
        raise LutnnError(f"{source}: unknown key(s) {bad}; a study spec has {sorted(known)}")
    base = d.get("base", {})
    if not isinstance(base, dict) or set(base) - set(_SECTIONS):
        raise LutnnError(f"{source}: [base] must hold only the config sections {list(_SECTIONS)}")
    axes = d.get("axes", {})
    if not isinstance(axes, dict):
        raise LutnnError(f"{source}: [axes] must be a table of lists")
    for k, v in axes.items():
        sec = k.split(".", 1)[0]
        if sec not in _SECTIONS:
            raise LutnnError(f"{source}: axis {k!r} must start with one of {list(_SECTIONS)}")
        if not isinstance(v, list) or not v:
            raise LutnnError(f"{source}: axis {k!r} must be a non-empty list of values")
        if "." not in k and not all(isinstance(x, dict) for x in v):
            raise LutnnError(f"{source}: axis {k!r} names a whole section, so each value must be a table")
    seeds = d.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) for s in seeds):
        raise LutnnError(f"{source}: seeds must be a non-empty list of integers")
    sample = d.get("sample")
    if sample is not None and (not isinstance(sample, int) or sample < 1):
        raise LutnnError(f"{source}: sample={sample!r} must be a positive integer (or absent: every grid point)")
    meas = d.get("measure", {})
    mk = {"samples", "flip_rates", "data_limit"}
    if set(meas) - mk:
        raise LutnnError(f"{source}: unknown [measure] key(s) {sorted(set(meas) - mk)}; known: {sorted(mk)}")
    spec = StudySpec(str(d.get("name", Path(source).stem)), base, axes, seeds, sample, meas, source)
    for cfg_d, _ in grid_points(spec)[:1]:
        _config(cfg_d, source)  # fail on a bad base/axis value before any training
    return spec


def _set(cfg: dict[str, Any], key: str, value: Any) -> None:
    if "." in key:
        sec, sub = key.split(".", 1)
        cfg.setdefault(sec, {})[sub] = copy.deepcopy(value)
    else:
        cfg.setdefault(key, {}).update(copy.deepcopy(value))


def grid_points(spec: StudySpec) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """``(config dict, axis values)`` for every trained network, seeds outermost (partial runs stay balanced)."""
    names = list(spec.axes)
    combos = list(itertools.product(*(spec.axes[n] for n in names)))
    if spec.sample is not None and spec.sample < len(combos):
        idx = np.random.default_rng(12345).permutation(len(combos))[: spec.sample]
        combos = [combos[i] for i in sorted(idx)]
    out = []
    for seed in spec.seeds:
        for combo in combos:
            cfg = copy.deepcopy(spec.base)
            for n, v in zip(names, combo, strict=True):
                _set(cfg, n, v)
            cfg.setdefault("train", {})["seed"] = seed
            out.append((cfg, {"seed": seed, **dict(zip(names, combo, strict=True))}))
    return out


def _config(d: dict[str, Any], source: str):
    from lutnn.lutnet.config import RunConfig

    d = copy.deepcopy(d)
    d["export"] = {"synth": False, "hdl_sim": False, "verilog": False}
    return RunConfig.from_dict(d, source)


def point_id(cfg: dict[str, Any]) -> str:
    """A short stable folder name for a config (hash of its canonical JSON)."""
    return hashlib.sha1(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:12]


_DATASETS: dict[tuple, Any] = {}


def _dataset(cfg):
    from lutnn.data import load_dataset

    key = (cfg.data.name, cfg.data.path, cfg.data.label)
    if key not in _DATASETS:
        _DATASETS[key] = load_dataset(*key)
    return _DATASETS[key]


def train_point(cfg_d: dict[str, Any], axes: dict[str, Any], run_dir: Path, measure_opts: dict[str, Any]) -> dict:
    """Train one network into ``run_dir`` (resuming a checkpoint), evaluate and measure it; writes ``result.json``."""
    from lutnn.lutnet.compile import compile_core, compile_design
    from lutnn.lutnet.train import CHECKPOINT, load_checkpoint
    from lutnn.lutnet.train import train as train_model

    cfg = _config(cfg_d, str(run_dir))
    ds = _dataset(cfg)
    t = time.perf_counter()
    done = (run_dir / CHECKPOINT).exists() and _epochs_done(run_dir / CHECKPOINT) >= cfg.train.epochs
    if done:
        res = load_checkpoint(run_dir, dataset=ds)
    else:
        res = train_model(cfg, run_dir, resume=True, progress=False, dataset=ds)
    t_train = time.perf_counter() - t
    model, prep = res.model, res.prepared
    ptest = model.predict(prep.q_test)
    ptrain = model.predict(prep.q_train)
    acc_te = float((ptest == prep.dataset.y_test).mean())
    acc_tr = float((ptrain == prep.dataset.y_train).mean())
    nl = compile_design(model)
    core = compile_core(model)
    rec: dict[str, Any] = {
        "id": run_dir.name,
        "axes": axes,
        "config": cfg_d,
        "dataset": prep.dataset.name,
        "n_train": len(prep.dataset.y_train),
        "n_test": len(prep.dataset.y_test),
        "test_acc": acc_te,
        "train_acc": acc_tr,
        "gap": acc_tr - acc_te,
        "design_luts": int(nl.n_nodes),
        "core_luts": int(core.n_nodes),
        "design_depth": int(nl.depth()),
        "encoder_bits": int(model.encoder.n_bits),
        "train_s": round(t_train, 2),
    }
    from lutnn.study.network import measure_network

    t = time.perf_counter()
    rec["measures"] = measure_network(model, prep, **measure_opts)
    rec["measure_s"] = round(time.perf_counter() - t, 2)
    atomic_write(run_dir / "result.json", json.dumps(rec, indent=1, default=json_default))
    return rec


def _epochs_done(p: Path) -> int:
    """Epochs a checkpoint holds (0 when unreadable), read with lutnn's weights-only loader."""
    from lutnn.lutnet.train import _read_checkpoint

    try:
        return int(_read_checkpoint(p, "cpu").get("epoch", 0))
    except Exception:
        return 0


def run_study(spec: StudySpec, out: str | Path, log=print, limit: int | None = None) -> list[dict]:
    """Train and measure every grid point not yet done in ``out``; returns all results (old and new)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise LutnnError(f"study output {out} is a file; choose another --out folder")
    (out / "runs").mkdir(parents=True, exist_ok=True)
    atomic_write(out / "spec.json", json.dumps(spec.__dict__, indent=1, default=json_default))
    pts = grid_points(spec)
    results = []
    new = 0
    for i, (cfg_d, axes) in enumerate(pts):
        rd = out / "runs" / point_id(cfg_d)
        rj = rd / "result.json"
        if rj.exists():
            results.append(json.loads(rj.read_text()))
            continue
        if limit is not None and new >= limit:
            continue
        t = time.perf_counter()
        try:
            rec = train_point(cfg_d, axes, rd, spec.measure)
        except LutnnError as e:
            log(f"[{i + 1}/{len(pts)}] {rd.name} {axes}: FAILED: {e}")
            atomic_write(rd / "failed.txt", f"{e}\n")
            continue
        new += 1
        results.append(rec)
        log(
            f"[{i + 1}/{len(pts)}] {rd.name} test {rec['test_acc']:.4f} gap {rec['gap']:+.4f} "
            f"LUTs {rec['design_luts']} ({time.perf_counter() - t:.0f} s) {axes}"
        )
    return results


def load_results(out: str | Path) -> list[dict]:
    """Every finished network's ``result.json`` under ``out/runs``."""
    return [json.loads(p.read_text()) for p in sorted(Path(out).glob("runs/*/result.json"))]
