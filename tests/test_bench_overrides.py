"""The benchmarks' ``--set section.key=value`` overrides: values read as in a config file, bad keys refused."""

import sys
from pathlib import Path

import pytest

from lutnn.errors import LutnnError
from lutnn.lutnet.config import load_config

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_digits import apply_overrides  # noqa: E402


def test_overrides_read_toml_and_python_values():
    cfg = load_config(ROOT / "configs" / "digits.toml")
    apply_overrides(cfg, ["export.fmax=false", "model.layers=[200, 20]", "train.augment=shift", "train.lr=0.02"], "t")
    assert cfg.export.fmax is False and cfg.model.layers == [200, 20]
    assert cfg.train.augment == "shift" and cfg.train.lr == 0.02
    apply_overrides(cfg, ["export.fmax=True"], "t")
    assert cfg.export.fmax is True


@pytest.mark.parametrize("bad", ["trian.epochs=3", "train.epoch=3", "train.epochs"])
def test_unknown_override_is_one_clear_error(bad):
    cfg = load_config(ROOT / "configs" / "digits.toml")
    with pytest.raises(LutnnError, match="known key"):
        apply_overrides(cfg, [bad], "t")


def test_out_of_range_override_is_refused():
    cfg = load_config(ROOT / "configs" / "digits.toml")
    with pytest.raises(LutnnError, match=r"train\.epochs"):
        apply_overrides(cfg, ["train.epochs=0"], "t")
