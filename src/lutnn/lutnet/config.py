"""Run configuration of a LUT-network training: one typed source of truth for training and export.

A config file (TOML, or YAML when PyYAML is installed) mirrors these dataclasses section by
section; unknown keys are errors so that a typo never silently falls back to a default::

    [data]
    name = "digits"

    [encoder]
    kind = "thermometer"   # thermometer | quantile | binary | gray
    levels = 3

    [model]
    layers = [800, 200]
    k = 6

    [train]
    epochs = 30
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lutnn.errors import LutnnError


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return repr(v)


def config_toml(d: dict[str, Any], header: str = "") -> str:
    """A run config (nested dict of scalars and lists) as TOML text; None values are left out."""
    lines = [f"# {h}" for h in header.splitlines()]
    for sec, keys in d.items():
        lines.append(f"\n[{sec}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in keys.items() if v is not None)
    return "\n".join(lines).lstrip("\n") + "\n"


__all__ = [
    "DataConfig",
    "EncoderConfig",
    "ExportConfig",
    "ModelConfig",
    "RunConfig",
    "TrainConfig",
    "config_toml",
    "load_config",
]


@dataclass
class DataConfig:
    name: str = "digits"  # digits | mnist | jsc | jsc_cernbox | unsw | csv | npz
    path: str | None = None  # file or folder for datasets that are not embedded
    label: str | None = None  # label column for csv (default: the last column)
    train_subset: int | None = None  # use only this many training samples (quick runs)
    test_subset: int | None = None


@dataclass
class EncoderConfig:
    kind: str = "thermometer"  # thermometer (uniform) | quantile (distributive) | pooled | binary | gray
    levels: int = 3  # thresholds per feature (thermometer kinds)
    width: int | None = None  # bits per feature bus; None: integer data keep their range, floats get 8
    min_frac: float = (
        0.0  # quantile, pooled: drop threshold bits that are 1 (or 0) on fewer than this fraction of samples
    )
    learn: bool = False  # thermometer kinds: train the thresholds (start where `kind` puts them)
    temperature: float = 1.0  # learned thresholds: width of the soft step, in bus steps
    lr: float | None = None  # learned thresholds: their learning rate (None: train.lr), in bus steps


@dataclass
class ModelConfig:
    layers: list[int] = field(default_factory=lambda: [1000, 200])  # nodes per LUT layer
    k: int = 6  # inputs per LUT (2..8; 6 = one LUT6)
    connectivity: str | list[str] = "random"  # random | local | learned, or one per layer
    candidates: int = 4  # learned connectivity: candidates per fan-in (0: every input, DWN's learnable mapping)
    freeze_epoch: int | None = None  # learned connectivity: freeze after this many epochs (default: half)
    mapping_init: str = "start"  # candidates = 0: start (faint scores on a random map) | uniform (DWN's U[0,1))
    window: float = 5.0  # local connectivity: receptive field width in pixels
    grad: str = "efd"  # efd | fd | multilinear
    tau: float | None = None  # group-sum temperature; None: sqrt(nodes per class)
    smooth: float = 0.0  # spread table gradients to Hamming neighbours (weight smooth**distance)


@dataclass
class TrainConfig:
    epochs: int = 30
    batch_size: int = 64
    lr: float = 0.01
    optimizer: str = "adam"  # adam | adamw | sgd
    weight_decay: float = 0.0
    fused: bool = False  # adam/adamw in one fused kernel: ~2x faster with a learnable mapping; not bit-identical to off
    schedule: str = "cosine"  # cosine | constant
    seed: int = 0
    device: str = "auto"  # auto (GPU when present, else CPU) | cpu | cuda
    threads: int | None = None  # CPU threads (None: torch's default)
    checkpoint_every: int = 1  # epochs between checkpoints
    augment: str | None = (
        None  # "shift" (±1-pixel shifts of images), "jitter" (±noise on bus values), or both "shift,jitter"
    )
    jitter: float = 0.1  # jitter amplitude as a fraction of the bus range
    teacher: str | None = None  # "mlp": distil from a float MLP trained first on the same data (training only)
    distill: float = 0.5  # weight of the teacher's soft labels in the loss (the rest: the hard labels)
    teacher_epochs: int = 30


@dataclass
class ExportConfig:
    verilog: bool = True  # write design.v
    synth: str | bool | None = "xilinx"  # Yosys flow for the LUT6 report (xilinx | lut); false to skip
    synth_scope: str = (
        "whole"  # whole: encoder+core+head in one run (parts attributed); parts: one by one (upper bound)
    )
    design_flow: str = (
        "premapped"  # flow for core and whole design: premapped (lutnn's LUT6 mapping kept) | xilinx | lut
    )
    fmax: bool = True  # Fmax from synth_ecp5 + nextpnr-ecp5 place and route (ECP5 LUT4 fabric)
    pipeline: int = 0  # >0: also export design_pipelined.v with a register stage every R LUT levels
    hdl_sim: str | bool | None = (
        "icarus"  # simulator checking design.v against the netlist (icarus | verilator); false to skip
    )
    hdl_vectors: int = 1000  # test-set samples simulated in the HDL simulator


@dataclass
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    export: ExportConfig = field(default_factory=ExportConfig)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @staticmethod
    def from_dict(d: dict[str, Any], source: str = "config") -> RunConfig:
        """Build from nested dicts; unknown sections or keys raise an error naming them."""
        if not isinstance(d, dict):
            raise LutnnError(f"{source}: expected a table of sections [data], [encoder], [model], [train], [export]")
        sections = {f.name: f.type for f in dataclasses.fields(RunConfig)}
        classes = {
            "data": DataConfig,
            "encoder": EncoderConfig,
            "model": ModelConfig,
            "train": TrainConfig,
            "export": ExportConfig,
        }
        kwargs, problems = {}, []
        for name, val in d.items():
            if name not in sections:
                problems.append(f"unknown section [{name}]; sections are {sorted(sections)}")
                continue
            cls = classes[name]
            if not isinstance(val, dict):
                problems.append(f"[{name}] must be a table of keys")
                continue
            known = {f.name for f in dataclasses.fields(cls)}
            bad = sorted(set(val) - known)
            if bad:
                problems.append(f"unknown key(s) {bad} in [{name}]; known keys are {sorted(known)}")
                continue
            kwargs[name] = cls(**val)
        if problems:
            raise LutnnError(f"{source}: " + "; ".join(problems))
        cfg = RunConfig(**kwargs)
        # "section.key"s the file leaves out (a plain attribute, never saved): lutnn.lutnet.defaults fills them
        cfg.unset = {f"{n}.{f.name}" for n, cls in classes.items() for f in dataclasses.fields(cls)} - {
            f"{n}.{k}" for n, v in d.items() for k in v
        }
        cfg.check(source)
        return cfg

    def check(self, source: str = "config") -> None:
        """Validate every value up front; all problems are reported at once, in one line."""
        problems: list[str] = []
        for sec in dataclasses.fields(self):
            part = getattr(self, sec.name)
            if not dataclasses.is_dataclass(part):
                problems.append(
                    f"[{sec.name}] must be a {sec.type} (from lutnn.lutnet.config), got {type(part).__name__}"
                )
                continue
            _normalise(part)
            problems += _section_problems(sec.name, part)
        m, e = self.model, self.encoder
        if isinstance(e, EncoderConfig) and e.learn is True and e.kind not in ("thermometer", "quantile", "pooled"):
            problems.append(f"encoder.learn needs a thermometer kind (thermometer, quantile or pooled), not {e.kind!r}")
        t = self.train
        if isinstance(t, TrainConfig) and t.fused is True and t.optimizer == "sgd":
            problems.append("train.fused needs optimizer adam or adamw (sgd has no fused kernel here)")
        if isinstance(m, ModelConfig) and _is_int(m.k) and 2 <= m.k <= 8 and _int_list(m.layers):
            size = sum(m.layers) * (1 << m.k)
            if size > _MAX_TABLE_ENTRIES:
                problems.append(
                    f"model.layers={m.layers} with k={m.k} need {size:,} table entries "
                    f"(limit {_MAX_TABLE_ENTRIES:,}, about 1 GiB); use fewer nodes or a smaller k"
                )
        if problems:
            n = len(problems)
            raise LutnnError(f"{source}: {n} invalid value{'s' if n > 1 else ''}: " + "; ".join(problems))


# Value tables: each section is checked against these (type first, then choices or range) by _section_problems.
# A range is (low, high, how to say it); floats must also be finite. None is allowed where the field's type says so.
_POS = math.ulp(0.0)  # smallest positive float: "> 0"
_MAX_TABLE_ENTRIES = 1 << 28  # sum(layers) * 2**k float32 table entries: 1 GiB
_CHOICES: dict[str, dict[str, tuple]] = {
    "encoder": {"kind": ("thermometer", "quantile", "pooled", "binary", "gray")},
    "model": {"grad": ("efd", "fd", "multilinear"), "mapping_init": ("start", "uniform")},
    "train": {
        "optimizer": ("adam", "adamw", "sgd"),
        "schedule": ("cosine", "constant"),
        "teacher": ("mlp", None),
    },
    "export": {
        "synth": ("xilinx", "lut", "ice40", "ecp5", None),
        "synth_scope": ("whole", "parts"),
        "design_flow": ("premapped", "xilinx", "lut"),
        "hdl_sim": ("icarus", "verilator", None),
    },
}
_RANGES: dict[str, dict[str, tuple]] = {
    "data": {
        "train_subset": (1, 10**9, "must be >= 1 (or absent: every sample)"),
        "test_subset": (1, 10**9, "must be >= 1 (or absent: every sample)"),
    },
    "encoder": {
        "levels": (1, 1024, "must be in 1..1024 thresholds per feature"),
        "width": (1, 24, "must be in 1..24 bits (or absent: from the data)"),
        "min_frac": (0.0, math.nextafter(0.5, 0), "must be in [0, 0.5) (0 keeps every threshold)"),
        "temperature": (_POS, 1e6, "must be > 0 and finite (bus steps)"),
        "lr": (_POS, 1e3, "must be in (0, 1000] (or absent: train.lr)"),
    },
    "model": {
        "k": (2, 8, "must be an integer in 2..8 (6 maps to one LUT6)"),
        "candidates": (0, 4096, "must be in 0..4096 (0: every input)"),
        "freeze_epoch": (0, 10**6, "must be >= 0 (or absent: half the epochs)"),
        "window": (_POS, 1e4, "must be > 0 and finite (pixels)"),
        "tau": (_POS, 1e6, "must be > 0 and finite (or absent: sqrt(nodes per class))"),
        "smooth": (0.0, math.nextafter(1.0, 0), "must be in [0, 1)"),
    },
    "train": {
        "epochs": (1, 10**6, "must be in 1..1000000"),
        "batch_size": (1, 1 << 24, "must be in 1..16777216"),
        "lr": (_POS, 1e3, "must be in (0, 1000]"),
        "weight_decay": (0.0, 1e3, "must be in [0, 1000]"),
        "seed": (0, 2**32 - 2, "must be in 0..4294967294"),
        "threads": (1, 1024, "must be in 1..1024 (or absent: torch's default)"),
        "checkpoint_every": (1, 10**6, "must be >= 1"),
        "jitter": (0.0, 1.0, "must be in [0, 1]"),
        "distill": (0.0, 1.0, "must be in [0, 1]"),
        "teacher_epochs": (1, 10**6, "must be in 1..1000000"),
    },
    "export": {
        "hdl_vectors": (1, 10**7, "must be in 1..10000000"),
        "pipeline": (0, 10**6, "must be 0 (none) or R >= 1 LUT levels per stage"),
    },
}
_MAX_LAYERS, _MAX_NODES = 64, 1 << 20


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _int_list(v: object) -> bool:
    return isinstance(v, list) and bool(v) and all(_is_int(w) and 1 <= w <= _MAX_NODES for w in v)


def _normalise(part: object) -> None:
    """Spell-outs that mean the same: ``synth = true`` → "xilinx", ``false``/"none" → None."""
    if isinstance(part, ExportConfig):
        for key in ("synth", "hdl_sim"):
            v = getattr(part, key)
            if v is False or v in ("", "none", "None"):
                setattr(part, key, None)
            elif v is True:
                setattr(part, key, "xilinx" if key == "synth" else "icarus")
        if part.synth_scope == "design":  # the name before whole-design synthesis in one run
            part.synth_scope = "whole"


def _choice_text(choices: tuple) -> str:
    named = [repr(c) for c in choices if c is not None]
    text = ", ".join(named[:-1]) + (" or " if len(named) > 1 else "") + named[-1]
    return text + (" or absent" if None in choices else "")


def _section_problems(section: str, part: object) -> list[str]:
    """Every invalid value of one section: wrong types, unknown choices, out-of-range or non-finite numbers."""
    out: list[str] = []
    choices, ranges = _CHOICES.get(section, {}), _RANGES.get(section, {})
    for f in dataclasses.fields(part):
        v = getattr(part, f.name)
        bad_type = _type_problem(section, f, v)
        if bad_type:
            out.append(bad_type)
            continue
        if f.name in choices and v not in choices[f.name]:
            out.append(f"{section}.{f.name}={v!r} must be {_choice_text(choices[f.name])}")
        elif f.name in ranges and v is not None:
            lo, hi, text = ranges[f.name]
            finite = not isinstance(v, float) or math.isfinite(v)
            if not (finite and lo <= v <= hi):
                out.append(f"{section}.{f.name}={v!r} {text}")
    if isinstance(part, ModelConfig):
        out += _model_problems(part)
    if isinstance(part, TrainConfig):
        t = part
        if isinstance(t.device, str) and t.device not in ("auto", "cpu", "cuda") and not t.device.startswith("cuda:"):
            out.append(f"train.device={t.device!r} must be auto, cpu or cuda")
        if isinstance(t.augment, str) and not set(t.augment.split(",")) <= {"shift", "jitter"}:
            out.append(f"train.augment={t.augment!r} must be 'shift', 'jitter', 'shift,jitter' or absent")
    return out


def _model_problems(m: ModelConfig) -> list[str]:
    out = []
    conn = m.connectivity if isinstance(m.connectivity, list) else [m.connectivity]
    if not conn or not all(isinstance(c, str) and c in ("random", "local", "learned") for c in conn):
        out.append(
            f"model.connectivity={m.connectivity!r} must be random, local or learned, or a list of those (one per layer)"
        )
    if not _int_list(m.layers) or len(m.layers) > _MAX_LAYERS:
        out.append(
            f"model.layers must be a list of 1..{_MAX_LAYERS} integers in 1..{_MAX_NODES:,} (nodes per layer), "
            f"got {m.layers!r}"[:300]
        )
    return out


_SCALARS = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}


def _type_problem(section: str, f: dataclasses.Field, v: object) -> str | None:
    """Describe a value of the wrong scalar type (``epochs = "ten"``) with the key named, or None when it fits."""
    parts = [t.strip() for t in str(f.type).split("|")]
    if v is None and "None" in parts:
        return None
    allowed = [_SCALARS[t] for t in parts if t in _SCALARS]
    if len(allowed) != len([t for t in parts if t != "None"]):
        return None  # lists, unions with other types: checked by _model_problems
    ok = any(isinstance(v, ts) and not (isinstance(v, bool) and bool not in ts) for ts in allowed)
    if ok:
        return None
    want = " or ".join(t for t in parts if t in _SCALARS)
    return f"{section}.{f.name} = {v!r} must be {want}"[:300]


def load_config(path: str | Path) -> RunConfig:
    """Read a TOML (``.toml``) or YAML (``.yaml``/``.yml``) run configuration."""
    if not isinstance(path, (str, Path)):
        raise LutnnError(f"load_config needs a file path, got {type(path).__name__}")
    p = Path(path)
    if not p.exists():
        raise LutnnError(f"config file not found: {p} (see configs/*.toml for examples)")
    if p.is_dir():
        raise LutnnError(f"{p} is a folder; give a config file (see configs/*.toml for examples)")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise LutnnError(f"{p}: not a text file (not UTF-8); a config is TOML or YAML text") from None
    if p.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise LutnnError(f"{p}: YAML configs need PyYAML (pip install pyyaml), or use TOML") from None
        try:
            d = yaml.safe_load(text) or {}
        except yaml.YAMLError as e:
            raise LutnnError(f"{p}: invalid YAML ({str(e).splitlines()[0]})") from None
        except RecursionError:
            raise LutnnError(f"{p}: values nested too deeply; a run config is two levels deep") from None
    else:
        try:
            d = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise LutnnError(f"{p}: invalid TOML ({e})") from None
        except RecursionError:
            raise LutnnError(f"{p}: values nested too deeply; a run config is two levels deep") from None
    return RunConfig.from_dict(d, source=str(p))
