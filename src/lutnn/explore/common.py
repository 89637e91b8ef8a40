"""What the study and the front share: which trials count, and the validation split of a search."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lutnn.explore.space import SearchSpace

__all__ = ["excluded_numbers", "exported_point", "split_dataset"]


def excluded_numbers(trials) -> set[int]:
    """Trial numbers that do not count: failed trials retried by a later trial, surplus trials."""
    retried = {t.user_attrs.get("retry_of") for t in trials if t.user_attrs.get("retry_of") is not None}
    return {t.number for t in trials if t.number in retried or t.user_attrs.get("surplus")}


def exported_point(out: Path, trial) -> tuple[Path, Path, dict[str, Any] | None]:
    """(trial folder, front folder, its report if this trial was exported there already): resumed fronts skip it."""
    tdir, fdir = out / trial.user_attrs["dir"], out / "front" / f"{trial.number:04d}"
    rep_path = fdir / "report.json"
    rep = json.loads(rep_path.read_text()) if rep_path.exists() else {}
    return tdir, fdir, rep if rep.get("explore", {}).get("trial") == trial.number else None


_SPLITS: dict[Any, Any] = {}


def split_dataset(space: SearchSpace, cfg_data: dict[str, Any]):
    """(search dataset, full dataset): train minus validation / validation, and the untouched train/test.

    The validation split is stratified, ``val_fraction`` of the training data, seeded by ``[search] seed``.
    """
    key = (repr(sorted(cfg_data.items())), space.options.val_fraction, space.options.seed)
    if key in _SPLITS:
        return _SPLITS[key]
    from sklearn.model_selection import train_test_split

    from lutnn.data import Dataset, load_dataset

    full = load_dataset(cfg_data.get("name", "digits"), cfg_data.get("path"), cfg_data.get("label"))
    idx = list(range(len(full.y_train)))
    tr, va = train_test_split(
        idx, test_size=space.options.val_fraction, random_state=space.options.seed, stratify=full.y_train
    )
    search = Dataset(
        full.name,
        full.x_train[tr],
        full.y_train[tr],
        full.x_train[va],
        full.y_train[va],
        full.n_classes,
        full.feature_names,
        full.class_names,
        full.image_shape,
        f"{full.source} (search: {len(tr)} train / {len(va)} validation carved from the training split)",
    )
    _SPLITS[key] = (search, full)
    return search, full
