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
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lutnn.errors import LutnnError

__all__ = ["DataConfig", "EncoderConfig", "ExportConfig", "ModelConfig", "RunConfig", "TrainConfig", "load_config"]


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
        kwargs = {}
        for name, val in d.items():
            if name not in sections:
                raise LutnnError(f"{source}: unknown section [{name}]; sections are {sorted(sections)}")
            cls = classes[name]
            if not isinstance(val, dict):
                raise LutnnError(f"{source}: [{name}] must be a table of keys")
            known = {f.name for f in dataclasses.fields(cls)}
            bad = sorted(set(val) - known)
            if bad:
                raise LutnnError(f"{source}: unknown key(s) {bad} in [{name}]; known keys are {sorted(known)}")
            kwargs[name] = cls(**val)
        cfg = RunConfig(**kwargs)
        cfg.check(source)
        return cfg

    def check(self, source: str = "config") -> None:
        """Validate values that would otherwise fail deep inside training."""
        for sec in dataclasses.fields(self):
            part = getattr(self, sec.name)
            if not dataclasses.is_dataclass(part):
                raise LutnnError(
                    f"{source}: [{sec.name}] must be a {sec.type} (from lutnn.lutnet.config), got {type(part).__name__}"
                )
            for f in dataclasses.fields(part):
                _check_type(source, sec.name, f, getattr(part, f.name))
        m, t, e, d = self.model, self.train, self.encoder, self.data
        conn = m.connectivity if isinstance(m.connectivity, list) else [m.connectivity]
        if not conn or not all(c in ("random", "local", "learned") for c in conn):
            raise LutnnError(
                f"{source}: model.connectivity={m.connectivity!r} must be random, local or learned, or a list of those (one per layer)"
            )
        if m.freeze_epoch is not None and m.freeze_epoch < 0:
            raise LutnnError(f"{source}: model.freeze_epoch={m.freeze_epoch} must be >= 0 (or absent: half the epochs)")
        if m.window <= 0:
            raise LutnnError(f"{source}: model.window={m.window} must be > 0 (pixels)")
        if t.threads is not None and t.threads < 1:
            raise LutnnError(f"{source}: train.threads={t.threads} must be >= 1 (or absent: torch's default)")
        if t.schedule not in ("cosine", "constant"):
            raise LutnnError(f"{source}: train.schedule={t.schedule!r} must be cosine or constant")
        if t.teacher_epochs < 1 or t.checkpoint_every < 1:
            raise LutnnError(f"{source}: train.teacher_epochs and train.checkpoint_every must be >= 1")
        if not 0 <= t.jitter <= 1 or t.weight_decay < 0:
            raise LutnnError(f"{source}: train.jitter must be in [0, 1] and train.weight_decay >= 0")
        if e.lr is not None and e.lr <= 0:
            raise LutnnError(f"{source}: encoder.lr={e.lr} must be > 0 (or absent: train.lr)")
        if e.width is not None and not 1 <= e.width <= 24:
            raise LutnnError(f"{source}: encoder.width={e.width} must be in 1..24 bits (or absent: from the data)")
        for key in ("train_subset", "test_subset"):
            v = getattr(d, key)
            if v is not None and v < 1:
                raise LutnnError(f"{source}: data.{key}={v} must be >= 1 (or absent: every sample)")
        if self.export.hdl_vectors < 1:
            raise LutnnError(f"{source}: export.hdl_vectors={self.export.hdl_vectors} must be >= 1")
        if not isinstance(m.layers, list) or not m.layers or not all(isinstance(w, int) and w > 0 for w in m.layers):
            raise LutnnError(f"{source}: model.layers must be a non-empty list of positive integers, got {m.layers!r}")
        if not isinstance(m.k, int) or not 2 <= m.k <= 8:
            raise LutnnError(f"{source}: model.k={m.k!r} must be an integer in 2..8 (6 maps to one LUT6)")
        if m.grad not in ("efd", "fd", "multilinear"):
            raise LutnnError(f"{source}: model.grad={m.grad!r} must be efd, fd or multilinear")
        if t.epochs < 1 or t.batch_size < 1 or t.lr <= 0:
            raise LutnnError(f"{source}: train.epochs, train.batch_size and train.lr must be positive")
        if e.kind not in ("thermometer", "quantile", "pooled", "binary", "gray"):
            raise LutnnError(f"{source}: encoder.kind={e.kind!r} must be thermometer, quantile, pooled, binary or gray")
        if e.levels < 1:
            raise LutnnError(f"{source}: encoder.levels={e.levels} must be >= 1")
        if e.learn and e.kind not in ("thermometer", "quantile", "pooled"):
            raise LutnnError(
                f"{source}: encoder.learn needs a thermometer kind (thermometer, quantile or pooled), not {e.kind!r}"
            )
        if e.temperature <= 0:
            raise LutnnError(f"{source}: encoder.temperature={e.temperature} must be > 0 (bus steps)")
        if not 0 <= e.min_frac < 0.5:
            raise LutnnError(f"{source}: encoder.min_frac={e.min_frac} must be in [0, 0.5) (0 keeps every threshold)")
        x = self.export
        for key in ("synth", "hdl_sim"):
            v = getattr(x, key)
            if v is False or v in ("", "none", "None"):
                setattr(x, key, None)
            elif v is True:
                setattr(x, key, "xilinx" if key == "synth" else "icarus")
        if x.synth not in (None, "xilinx", "lut", "ice40", "ecp5"):
            raise LutnnError(f"{source}: export.synth={x.synth!r} must be xilinx, lut, ice40, ecp5 or false")
        if x.synth_scope == "design":
            x.synth_scope = "whole"
        if x.synth_scope not in ("whole", "parts"):
            raise LutnnError(
                f"{source}: export.synth_scope={x.synth_scope!r} must be 'whole' (the whole design in one run) "
                "or 'parts' (encoder, core and head synthesised one by one: an upper bound)"
            )
        if x.design_flow not in ("premapped", "xilinx", "lut"):
            raise LutnnError(f"{source}: export.design_flow={x.design_flow!r} must be premapped, xilinx or lut")
        if not isinstance(x.pipeline, int) or x.pipeline < 0:
            raise LutnnError(
                f"{source}: export.pipeline={x.pipeline!r} must be 0 (none) or R >= 1 LUT levels per stage"
            )
        if x.hdl_sim not in (None, "icarus", "verilator"):
            raise LutnnError(f"{source}: export.hdl_sim={x.hdl_sim!r} must be icarus, verilator or false")
        if t.augment is not None and not set(str(t.augment).split(",")) <= {"shift", "jitter"}:
            raise LutnnError(
                f"{source}: train.augment={t.augment!r} must be 'shift', 'jitter', 'shift,jitter' or absent"
            )
        if not 0 <= m.smooth < 1:
            raise LutnnError(f"{source}: model.smooth={m.smooth} must be in [0, 1)")
        if t.teacher not in (None, "mlp"):
            raise LutnnError(f"{source}: train.teacher={t.teacher!r} must be 'mlp' or absent")
        if not 0 <= t.distill <= 1:
            raise LutnnError(f"{source}: train.distill={t.distill} must be in [0, 1]")
        if t.optimizer not in ("adam", "adamw", "sgd"):
            raise LutnnError(f"{source}: train.optimizer={t.optimizer!r} must be adam, adamw or sgd")
        if t.device not in ("auto", "cpu", "cuda") and not str(t.device).startswith("cuda:"):
            raise LutnnError(f"{source}: train.device={t.device!r} must be auto, cpu or cuda")


_SCALARS = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}


def _check_type(source: str, section: str, f: dataclasses.Field, v: object) -> None:
    """Refuse a value of the wrong scalar type (``epochs = "ten"``) with the key named, not a deep TypeError."""
    parts = [t.strip() for t in str(f.type).split("|")]
    if v is None and "None" in parts:
        return
    allowed = [_SCALARS[t] for t in parts if t in _SCALARS]
    if len(allowed) != len([t for t in parts if t != "None"]):
        return  # lists, unions with other types: checked in RunConfig.check
    ok = any(isinstance(v, ts) and not (isinstance(v, bool) and bool not in ts) for ts in allowed)
    if not ok:
        want = " or ".join(t for t in parts if t in _SCALARS)
        raise LutnnError(f"{source}: {section}.{f.name} = {v!r} must be {want}")


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
    else:
        try:
            d = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise LutnnError(f"{p}: invalid TOML ({e})") from None
    return RunConfig.from_dict(d, source=str(p))
