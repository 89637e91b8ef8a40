"""Search-space files of ``lutnn explore``: TOML, validated like run configs, every problem reported at once.

A space names the run-config keys to search and their ranges, the keys to hold fixed, and how to
search::

    [search]
    family = "lutnet"            # lutnet (LUT networks, lutnn train) | quantnet (quantized nets, lutnn qat)
    base = "../digits.toml"      # optional run config to start from (relative to this file)
    trials = 8                   # default --trials
    objectives = ["accuracy", "lut6"]   # add "depth" for a third objective (LUT levels)

    [fixed]                      # keys held at one value ("section.key" or [fixed.section] tables)
    "train.epochs" = 20

    [params]                     # keys searched
    "model.layers" = { choices = [[200, 50], [500, 100]] }   # categorical (any TOML values)
    "encoder.levels" = { low = 1, high = 7 }                  # int range (both bounds integers)
    "train.lr" = { low = 0.002, high = 0.03, log = true }     # float range, log-uniform
    "model.tau" = { low = 0.5, high = 3.0, step = 0.5 }       # float range on a grid
"""

from __future__ import annotations

import copy
import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lutnn.errors import LutnnError

__all__ = ["Param", "SearchOptions", "SearchSpace", "SpaceError", "load_space", "parse_space"]

OBJECTIVES = ("accuracy", "lut6", "depth")
FAMILIES = ("lutnet", "quantnet")
COSTS = ("nodes", "synth")
SAMPLERS = ("auto", "nsga2", "tpe", "random")


class SpaceError(LutnnError):
    """A search-space file has problems; the message lists every one of them."""


@dataclass
class Param:
    """One searched key: ``kind`` is categorical, int or float (``log``: log-uniform; ``step``: a grid)."""

    name: str  # "section.key"
    kind: str  # categorical | int | float
    choices: list[Any] | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None

    def suggest(self, trial: Any) -> Any:
        """Ask an Optuna trial for this key's value (lists in choices travel as their index)."""
        if self.kind == "categorical":
            assert self.choices is not None
            if all(isinstance(c, (str, int, float, bool)) or c is None for c in self.choices):
                return trial.suggest_categorical(self.name, self.choices)
            i = trial.suggest_categorical(self.name, list(range(len(self.choices))))
            return copy.deepcopy(self.choices[i])
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.name, float(self.low), float(self.high), step=self.step, log=self.log)

    def decode(self, value: Any) -> Any:
        """The config value of an Optuna parameter value (list choices are stored as their index)."""
        if (
            self.kind == "categorical"
            and self.choices is not None
            and not all(isinstance(c, (str, int, float, bool)) or c is None for c in self.choices)
        ):
            return copy.deepcopy(self.choices[int(value)])
        return value

    def corners(self) -> list[Any]:
        """Values that every trial's config must accept: every choice, or both ends of a range."""
        if self.kind == "categorical":
            return list(self.choices or [])
        if self.kind == "int":
            return [int(self.low), int(self.high)]
        return [float(self.low), float(self.high)]


@dataclass
class SearchOptions:
    """The ``[search]`` table: how to search (defaults in comments)."""

    family: str = "lutnet"  # lutnet | quantnet
    base: str | None = None  # run config to start from, relative to the space file
    name: str | None = None  # study name in the storage (default: the space file's stem)
    trials: int = 20  # default --trials: trials of the whole study, not of one run
    objectives: list[str] = field(default_factory=lambda: ["accuracy", "lut6"])  # + "depth"
    cost: str = "nodes"  # nodes: LUT count of the compiled netlist (no synthesis); synth: Yosys LUT6 per trial
    sampler: str = "auto"  # auto (TPE below 4 populations of trials, else NSGA-II) | nsga2 | tpe | random
    population: int = 8  # NSGA-II population size
    seed: int = 0  # sampler seed and validation split seed
    val_fraction: float = 0.2  # share of the training split held out for the validation objective
    prune: bool = True  # stop trials whose learning curve is dominated (see lutnn.explore.study)
    prune_warmup: float = 0.5  # prune only after this fraction of the epochs
    prune_margin: float = 0.04  # ... when a no-larger completed trial was this much more accurate then
    front_synth_scope: str | None = None  # whole | parts for the front's synthesis (default: the config's)


@dataclass
class SearchSpace:
    """A parsed search space: the base run config (nested dict), the searched keys, the search options."""

    path: Path
    options: SearchOptions
    base: dict[str, Any]
    params: list[Param]
    text: str = ""

    @property
    def study_name(self) -> str:
        return self.options.name or self.path.stem

    def config_dict(self, values: dict[str, Any]) -> dict[str, Any]:
        """The base config with ``{"section.key": value}`` applied (a deep copy; "none" means absent, TOML has no null)."""
        d = copy.deepcopy(self.base)
        for k, v in values.items():
            sec, key = k.split(".", 1)
            d.setdefault(sec, {})[key] = None if v == "none" else copy.deepcopy(v)
        return d


def _lutnet_keys() -> dict[str, set[str]]:
    from lutnn.lutnet.config import RunConfig

    out = {}
    for f in dataclasses.fields(RunConfig):
        cls = f.default_factory()  # type: ignore[misc]
        out[f.name] = {g.name for g in dataclasses.fields(cls)}
    return out


def _quantnet_keys() -> dict[str, set[str]]:
    from lutnn.quantnet.config import _MODEL_KEYS, _TRAIN_KEYS

    return {
        "data": {"name", "path", "scale", "standardize", "n", "seed"},
        "model": set(_MODEL_KEYS),
        "train": set(_TRAIN_KEYS),
        "export": {"route", "limit", "hdl_vectors"},
    }


def _flatten(table: Any, where: str, sections: dict[str, set[str]], errors: list[str], leaf) -> dict[str, Any]:
    """``{"section.key": v}`` from dotted top-level keys and/or ``[where.section]`` sub-tables."""
    out: dict[str, Any] = {}
    if not isinstance(table, dict):
        errors.append(f"[{where}] must be a table")
        return out
    for k, v in table.items():
        if "." in k:
            items = [(k, v)]
        elif isinstance(v, dict) and not leaf(v):
            items = [(f"{k}.{kk}", vv) for kk, vv in v.items()]
        else:
            errors.append(f'[{where}] {k!r}: name a run-config key as "section.key" (e.g. "train.lr")')
            continue
        for name, val in items:
            sec, key = name.split(".", 1)
            if sec not in sections:
                errors.append(f"[{where}] {name}: unknown section {sec!r}; sections are {sorted(sections)}")
            elif key not in sections[sec]:
                errors.append(f"[{where}] {name}: unknown key {key!r} in [{sec}]; known: {sorted(sections[sec])}")
            else:
                out[name] = val
    return out


def _is_spec(v: Any) -> bool:
    return isinstance(v, dict) and bool({"choices", "low", "high"} & set(v))


def _param(name: str, spec: Any, errors: list[str]) -> Param | None:
    where = f"[params] {name}"
    if not isinstance(spec, dict):
        errors.append(f"{where}: give {{ choices = [...] }} or {{ low = .., high = .. }}, not {spec!r}")
        return None
    bad = set(spec) - {"choices", "low", "high", "log", "step"}
    if bad:
        errors.append(f"{where}: unknown field(s) {sorted(bad)}; fields are choices, low, high, log, step")
        return None
    if "choices" in spec:
        if {"low", "high", "log", "step"} & set(spec):
            errors.append(f"{where}: choices cannot be combined with low/high/log/step")
            return None
        ch = spec["choices"]
        if not isinstance(ch, list) or not ch:
            errors.append(f"{where}: choices must be a non-empty list")
            return None
        return Param(name, "categorical", choices=ch)
    if "low" not in spec or "high" not in spec:
        errors.append(f"{where}: a range needs both low and high (or give choices)")
        return None
    lo, hi, log, step = spec["low"], spec["high"], spec.get("log", False), spec.get("step")
    nums = (int, float)
    if not all(isinstance(v, nums) and not isinstance(v, bool) for v in (lo, hi)):
        errors.append(f"{where}: low and high must be numbers, got {lo!r} and {hi!r}")
        return None
    if not isinstance(log, bool):
        errors.append(f"{where}: log must be true or false")
        return None
    if step is not None and (not isinstance(step, nums) or isinstance(step, bool) or step <= 0):
        errors.append(f"{where}: step must be a positive number")
        return None
    if lo >= hi:
        errors.append(f"{where}: low={lo} must be below high={hi}")
        return None
    if log and lo <= 0:
        errors.append(f"{where}: a log range needs low > 0, got {lo}")
        return None
    if log and step is not None:
        errors.append(f"{where}: log and step cannot be combined (Optuna samples one or the other)")
        return None
    kind = "int" if isinstance(lo, int) and isinstance(hi, int) and (step is None or isinstance(step, int)) else "float"
    return Param(name, kind, low=lo, high=hi, log=log, step=step)


def _options(table: Any, errors: list[str]) -> SearchOptions:
    opts = SearchOptions()
    if not isinstance(table, dict):
        errors.append("[search] must be a table")
        return opts
    known = {f.name: f for f in dataclasses.fields(SearchOptions)}
    for k, v in table.items():
        if k not in known:
            errors.append(f"[search] unknown key {k!r}; known: {sorted(known)}")
            continue
        setattr(opts, k, v)
    checks = [
        (opts.family in FAMILIES, f"[search] family={opts.family!r} must be one of {list(FAMILIES)}"),
        (
            isinstance(opts.trials, int) and not isinstance(opts.trials, bool) and opts.trials >= 1,
            f"[search] trials={opts.trials!r} must be a positive integer",
        ),
        (
            isinstance(opts.objectives, list)
            and len(opts.objectives) == len(set(opts.objectives))
            and "accuracy" in opts.objectives
            and "lut6" in opts.objectives
            and set(opts.objectives) <= set(OBJECTIVES),
            f"[search] objectives={opts.objectives!r} must hold accuracy and lut6, optionally depth",
        ),
        (opts.cost in COSTS, f"[search] cost={opts.cost!r} must be one of {list(COSTS)}"),
        (opts.sampler in SAMPLERS, f"[search] sampler={opts.sampler!r} must be one of {list(SAMPLERS)}"),
        (
            isinstance(opts.population, int) and opts.population >= 2,
            f"[search] population={opts.population!r} must be an integer >= 2",
        ),
        (isinstance(opts.seed, int), f"[search] seed={opts.seed!r} must be an integer"),
        (
            isinstance(opts.val_fraction, (int, float)) and 0 < opts.val_fraction < 1,
            f"[search] val_fraction={opts.val_fraction!r} must be in (0, 1)",
        ),
        (isinstance(opts.prune, bool), f"[search] prune={opts.prune!r} must be true or false"),
        (
            isinstance(opts.prune_warmup, (int, float)) and 0 <= opts.prune_warmup < 1,
            f"[search] prune_warmup={opts.prune_warmup!r} must be in [0, 1)",
        ),
        (
            isinstance(opts.prune_margin, (int, float)) and opts.prune_margin >= 0,
            f"[search] prune_margin={opts.prune_margin!r} must be >= 0 (accuracy, 0.03 = 3 points)",
        ),
        (
            opts.front_synth_scope in (None, "whole", "design", "parts"),
            f"[search] front_synth_scope={opts.front_synth_scope!r} must be whole or parts",
        ),
        (opts.name is None or isinstance(opts.name, str), "[search] name must be a string"),
        (opts.base is None or isinstance(opts.base, str), "[search] base must be a path string"),
    ]
    errors.extend(msg for ok, msg in checks if not ok)
    return opts


def _read_toml(path: Path, what: str, errors: list[str]) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        errors.append(f"{what} {path} not found")
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        errors.append(f"{what} {path}: invalid TOML ({e})")
    return {}


def _check_config(family: str, d: dict[str, Any], path: Path) -> str | None:
    """The run config's own validation of one candidate; the error text, or None when it is accepted."""
    try:
        if family == "lutnet":
            from lutnn.lutnet.config import RunConfig

            RunConfig.from_dict(d, source="config")
        else:
            _check_quant(d)
    except LutnnError as e:
        return str(e).removeprefix("config: ")
    except TypeError as e:
        return str(e)
    return None


def _check_quant(d: dict[str, Any]) -> None:
    from lutnn.quantnet.config import check_quant_config

    if "data" not in d or "name" not in d.get("data", {}):
        raise LutnnError("a quantnet space needs data.name (in [fixed] or the base config)")
    if "model" not in d:
        raise LutnnError("a quantnet space needs [model] keys (in [fixed], [params] or the base config)")
    ex = d.get("export", {})
    problems = []
    if ex.get("route", "auto") not in ("auto", "tt", "datapath"):
        problems.append(f"export.route = {ex['route']!r} must be auto, tt or datapath")
    for key, hi in (("limit", 20), ("hdl_vectors", 10**6)):
        v = ex.get(key, 1)
        if not (isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= hi):
            problems.append(f"export.{key} = {v!r} must be an integer in 1..{hi}")
    if problems:
        raise LutnnError("; ".join(problems))
    clean = {s: {k: v for k, v in t.items() if v is not None} for s, t in d.items() if s != "export"}
    check_quant_config(clean, "config")


def parse_space(text: str, path: str | Path = "space.toml") -> SearchSpace:
    """Parse and validate a search space; raise :class:`SpaceError` listing every problem found."""
    p = Path(path)
    errors: list[str] = []
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SpaceError(f"{p}: invalid TOML ({e}); see configs/explore/digits.toml") from None
    bad = set(raw) - {"search", "fixed", "params"}
    if bad:
        errors.append(f"unknown table(s) {sorted(bad)}; a space has [search], [fixed] and [params]")
    opts = _options(raw.get("search", {}), errors)
    family = opts.family if opts.family in FAMILIES else "lutnet"
    sections = _lutnet_keys() if family == "lutnet" else _quantnet_keys()
    base: dict[str, Any] = {}
    if isinstance(opts.base, str):
        bp = (p.parent / opts.base).resolve()
        base = _read_toml(bp, "[search] base", errors)
    fixed = _flatten(raw.get("fixed", {}), "fixed", sections, errors, leaf=lambda v: False)
    specs = _flatten(raw.get("params", {}), "params", sections, errors, leaf=_is_spec)
    params = [q for name, spec in specs.items() if (q := _param(name, spec, errors)) is not None]
    for name in sorted(set(fixed) & set(specs)):
        errors.append(f"{name} is both in [fixed] and in [params]; keep one")
    if not params and not errors:
        errors.append("[params] is empty: name at least one key to search")
    space = SearchSpace(p, opts, base, params, text)
    space.base = space.config_dict(fixed)
    if not any("[fixed]" in e or "base" in e for e in errors):  # every candidate must pass the config's checks
        first = {q.name: q.corners()[0] for q in params}  # a searched key may be absent from base and [fixed]
        msg = _check_config(family, space.config_dict(first), p)
        if msg:
            errors.append(f"the base config with [fixed] and the first value of each [params] key is invalid: {msg}")
        else:
            for q in params:
                for v in q.corners():
                    msg = _check_config(family, space.config_dict({**first, q.name: v}), p)
                    if msg:
                        errors.append(f"[params] {q.name} = {v!r} gives an invalid config: {msg}")
    if errors:
        lines = "\n".join(f"  - {e}" for e in errors)
        raise SpaceError(
            f"{p}: {len(errors)} problem(s) in the search space (see docs/explore.md for the format):\n{lines}"
        )
    return space


def load_space(path: str | Path) -> SearchSpace:
    """Read and validate a search-space TOML file."""
    p = Path(path)
    if not p.is_file():
        raise SpaceError(f"search space {p} not found (see configs/explore/*.toml for examples)")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SpaceError(f"{p}: not a text file; a search space is TOML") from None
    return parse_space(text, p)
