"""Settings a config leaves out are chosen from the data; the shipped configs set theirs explicitly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lutnn.data import Dataset
from lutnn.lutnet.config import RunConfig, load_config
from lutnn.lutnet.defaults import choose_defaults
from lutnn.lutnet.train import train

ROOT = Path(__file__).resolve().parents[1]


def _toy(f: int, c: int, n: int) -> Dataset:
    rng = np.random.default_rng(0)
    return Dataset("toy", rng.normal(size=(n, f)), np.arange(n) % c, rng.normal(size=(9, f)), np.arange(9) % c, c)


def test_wine_csv_with_string_labels_reaches_90_percent_with_defaults(monkeypatch) -> None:
    """examples/wine.toml (the README's tour) names only the file and the label column."""
    monkeypatch.chdir(ROOT)  # its data.path is relative to where lutnn runs
    cfg = load_config(ROOT / "examples" / "wine.toml")
    res = train(cfg, progress=False)
    keys = {c["key"]: c["value"] for c in res.prepared.chosen}
    assert keys["encoder.kind"] == "quantile" and keys["encoder.levels"] == 8
    assert keys["model.connectivity"] == "learned" and keys["model.layers"][-1] % 3 == 0
    assert res.prepared.dataset.class_names == ["barbera", "barolo", "grignolino"]
    assert res.test_accuracy >= 0.90, res.history[-1]


def test_example_csv_is_wine() -> None:
    tmp = ROOT / "examples" / "wine.csv"
    x = np.genfromtxt(tmp, delimiter=",", skip_header=1, usecols=range(13))
    from sklearn.datasets import load_wine

    assert np.allclose(x, load_wine().data)


def test_only_unset_keys_are_chosen() -> None:
    cfg = RunConfig.from_dict({"encoder": {"levels": 3}, "model": {"layers": [100, 30]}})
    chosen = {c["key"] for c in choose_defaults(cfg, _toy(20, 3, 500))}
    assert chosen == {"encoder.kind", "model.connectivity", "train.epochs"}
    assert cfg.encoder.levels == 3 and cfg.model.layers == [100, 30] and cfg.encoder.kind == "quantile"
    assert choose_defaults(RunConfig(), _toy(20, 3, 500)) == []  # built in Python: dataclass defaults stay
    cfg = RunConfig.from_dict({})
    cfg.train.epochs = 7  # changed after loading (a script, lutnn train --epochs): kept
    assert "train.epochs" not in {c["key"] for c in choose_defaults(cfg, _toy(20, 3, 500))} and cfg.train.epochs == 7


def test_sizes_follow_the_data() -> None:
    small = RunConfig.from_dict({})
    choose_defaults(small, _toy(13, 3, 130))
    big = RunConfig.from_dict({})
    choose_defaults(big, _toy(200, 10, 50000))
    assert small.encoder.levels == 8 and big.encoder.levels == 2  # ~512 input bits at most
    assert small.model.layers[-1] % 3 == 0 and big.model.layers[-1] % 10 == 0
    assert small.train.epochs > big.train.epochs == 30


def test_shipped_configs_choose_nothing() -> None:
    for f in sorted((ROOT / "configs").glob("*.toml")):
        if f.name.startswith("quant_"):
            continue
        cfg = load_config(f)
        assert choose_defaults(cfg, _toy(16, 5, 1000)) == [], f.name


def test_demo_fallback_is_the_demo_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """An installed package without configs/ runs the same demo as configs/digits.toml."""
    from lutnn.cli import train_cmds

    shipped = load_config(Path(__file__).resolve().parents[1] / "configs" / "digits.toml").as_dict()
    real_exists = Path.exists
    monkeypatch.setattr(Path, "exists", lambda self: False if self.name == "digits.toml" else real_exists(self))
    assert train_cmds.demo_config().as_dict() == shipped
