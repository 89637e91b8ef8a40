"""Training loop of LUT networks: data → quantizer → encoder → model, with progress, checkpoints, resume.

Python API::

    from lutnn.lutnet.config import RunConfig
    from lutnn.lutnet.train import train
    result = train(RunConfig(), out_dir="runs/digits")    # CPU by default, GPU when present
    result.model.predict(result.q_test)                     # class indices, inference mode

Training is deterministic for a given seed and thread count: the data order comes from a seeded
generator, parameters from seeded initialisers, and the CPU kernels reduce in a fixed order.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lutnn.augment import shift_half
from lutnn.data import Dataset, load_dataset
from lutnn.errors import LutnnError
from lutnn.lutnet.config import RunConfig
from lutnn.lutnet.encoders import Encoder, make_encoder
from lutnn.lutnet.network import LUTNetwork
from lutnn.lutnet.teacher import distill_loss, train_teacher
from lutnn.quantizer import FeatureQuantizer

__all__ = [
    "Prepared",
    "TrainResult",
    "build_model",
    "check_out_dir",
    "load_checkpoint",
    "prepare",
    "resolve_device",
    "train",
]

CHECKPOINT = "checkpoint.pt"


@dataclass
class Prepared:
    """A dataset with its quantizer and encoder, and the integer bus values of both splits."""

    dataset: Dataset
    quantizer: FeatureQuantizer
    encoder: Encoder
    q_train: np.ndarray
    q_test: np.ndarray
    chosen: list[dict[str, Any]] = field(default_factory=list)  # settings chosen from the data (defaults.py)


@dataclass
class TrainResult:
    model: LUTNetwork
    prepared: Prepared
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    config: RunConfig | None = None

    @property
    def q_test(self) -> np.ndarray:
        return self.prepared.q_test

    @property
    def test_accuracy(self) -> float:
        return self.history[-1]["test_acc"] if self.history else float("nan")


def resolve_device(name: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU; an explicit CUDA request without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise LutnnError("train.device asks for CUDA but no GPU is available; use device = 'cpu' or 'auto'")
    return torch.device(name)


def prepare(cfg: RunConfig, dataset: Dataset | None = None) -> Prepared:
    """Load (or take) the dataset, fit the quantizer on the training split, build the encoder."""
    ds = dataset if dataset is not None else load_dataset(cfg.data.name, cfg.data.path, cfg.data.label)
    if cfg.data.train_subset or cfg.data.test_subset:
        ds = ds.subset(cfg.data.train_subset, cfg.data.test_subset, seed=cfg.train.seed)
    ds.validate()
    from lutnn.lutnet.defaults import choose_defaults

    chosen = choose_defaults(cfg, ds)  # only keys the config file left out
    qz = FeatureQuantizer.fit(ds.x_train, cfg.encoder.width)
    q_train, q_test = qz.transform(ds.x_train), qz.transform(ds.x_test)
    e = cfg.encoder
    enc = make_encoder(e.kind, q_train, qz.width, e.levels, e.min_frac, e.learn, e.temperature)
    return Prepared(ds, qz, enc, q_train, q_test, chosen)


def default_tau(cfg: RunConfig, n_classes: int) -> float:
    """Group-sum temperature: the config's, else sqrt(nodes per class) (logits of order ±sqrt(g))."""
    if cfg.model.tau is not None:
        return float(cfg.model.tau)
    return math.sqrt(max(1, cfg.model.layers[-1] // n_classes))


def build_model(cfg: RunConfig, prep: Prepared) -> LUTNetwork:
    """The LUT network the config describes, for the prepared data."""
    m = cfg.model
    ds = prep.dataset
    if m.layers[-1] % ds.n_classes:
        w = m.layers[-1]
        raise LutnnError(
            f"model.layers[-1]={w} must be a multiple of the {ds.n_classes} classes (group-sum head); "
            f"use {w - w % ds.n_classes or ds.n_classes} or {w + ds.n_classes - w % ds.n_classes}"
        )
    conns = m.connectivity
    needs_image = "local" in ([conns] if isinstance(conns, str) else conns)
    if needs_image and ds.image_shape is None:
        raise LutnnError(f"connectivity 'local' needs image data; {ds.name} is tabular — use 'random' or 'learned'")
    torch.manual_seed(cfg.train.seed)
    net = LUTNetwork(
        prep.quantizer,
        prep.encoder,
        m.layers,
        ds.n_classes,
        k=m.k,
        tau=default_tau(cfg, ds.n_classes),
        grad=m.grad,
        connectivity=conns,
        image_shape=ds.image_shape if needs_image else None,
        window=m.window,
        seed=cfg.train.seed,
        smooth=m.smooth,
        candidates=m.candidates,
        mapping_init=m.mapping_init,
    )
    return net


def _augment(qb: torch.Tensor, cfg: RunConfig, prep: Prepared, gen: torch.Generator) -> torch.Tensor:
    """Training-time augmentation named by ``train.augment`` (comma-separated: shift, jitter)."""
    kinds = (cfg.train.augment or "").split(",")
    if "shift" in kinds and prep.dataset.image_shape is not None:
        qb = shift_half(qb, prep.dataset.image_shape, gen)
    if "jitter" in kinds:
        top = (1 << prep.quantizer.width) - 1
        amp = max(1, round(cfg.train.jitter * top))
        noise = torch.randint(-amp, amp + 1, qb.shape, generator=gen).to(qb.device)
        qb = (qb + noise).clamp(0, top)
    return qb


def _optimizer(cfg: RunConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    """The configured optimiser; learned encoder thresholds get ``encoder.lr`` and no weight decay."""
    t = cfg.train
    enc = {id(p) for p in model.encoder.parameters()} if isinstance(model, LUTNetwork) else set()
    groups: list[dict[str, Any]] = [{"params": [p for p in model.parameters() if id(p) not in enc]}]
    if enc:
        lr = cfg.encoder.lr if cfg.encoder.lr is not None else t.lr
        groups.append({"params": list(model.encoder.parameters()), "lr": lr, "weight_decay": 0.0})
    fused = {"fused": True} if t.fused else {}
    if t.optimizer == "adam":
        return torch.optim.Adam(groups, lr=t.lr, weight_decay=t.weight_decay, **fused)
    if t.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=t.lr, weight_decay=t.weight_decay, **fused)
    return torch.optim.SGD(groups, lr=t.lr, momentum=0.9, weight_decay=t.weight_decay)


def _forget_dropped(opt: torch.optim.Optimizer, model: torch.nn.Module) -> None:
    """Drop the optimiser's parameters (and their state) that the model no longer has (a frozen mapping)."""
    live = {id(p) for p in model.parameters()}
    for group in opt.param_groups:
        for p in group["params"]:
            if id(p) not in live:
                opt.state.pop(p, None)
        group["params"] = [p for p in group["params"] if id(p) in live]


@torch.no_grad()
def _accuracy(model: LUTNetwork, q: torch.Tensor, y: torch.Tensor, batch: int = 4096) -> float:
    model.eval()
    correct = 0
    for i in range(0, len(q), batch):
        correct += int((model(q[i : i + batch]).argmax(1) == y[i : i + batch]).sum())
    model.train()
    return correct / max(1, len(q))


def train(
    cfg: RunConfig,
    out_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    dataset: Dataset | None = None,
    console: Any = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> TrainResult:
    """Train the configured LUT network; with ``out_dir``, checkpoint there (and resume from it).

    ``on_epoch``: called after each epoch's checkpoint with its history record (a search prunes by raising).
    """
    if not isinstance(cfg, RunConfig):
        raise LutnnError(
            f"train needs a RunConfig (lutnn.lutnet.config.load_config or RunConfig.from_dict), got {type(cfg).__name__}"
        )
    cfg.check()
    if cfg.train.threads:
        torch.set_num_threads(int(cfg.train.threads))
    device = resolve_device(cfg.train.device)
    prep = prepare(cfg, dataset)
    if console is not None and prep.chosen:
        console.print(f"[bold]chosen from the data[/] ({prep.dataset.name}; set these in the config to override):")
        for c in prep.chosen:
            console.print(f"  {c['key']} = {c['value']!r}: {c['why']}", highlight=False, soft_wrap=True)
    model = build_model(cfg, prep).to(device)
    epochs = cfg.train.epochs
    out = Path(out_dir) if out_dir is not None else None
    ck = None
    if out is not None:
        check_out_dir(out)
        out.mkdir(parents=True, exist_ok=True)
        if resume and (out / CHECKPOINT).exists():
            ck = _read_checkpoint(out / CHECKPOINT, device)
            if ck["config"]["model"] != cfg.as_dict()["model"] or ck["config"]["data"] != cfg.as_dict()["data"]:
                raise LutnnError(
                    f"{out / CHECKPOINT} was trained with a different model or data config; use another --out folder"
                )
            if ck.get("frozen"):  # a frozen learned mapping has dropped its scores: so must the new model
                model.freeze_connectivity()
    opt = _optimizer(cfg, model)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs) if cfg.train.schedule == "cosine" else None
    history: list[dict[str, Any]] = []
    start_epoch = 0
    if ck is not None:
        try:
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["optimizer"])
            if sched is not None and ck.get("scheduler"):
                sched.load_state_dict(ck["scheduler"])
        except (RuntimeError, KeyError, TypeError, ValueError) as e:
            raise LutnnError(
                f"{out / CHECKPOINT}: does not match the model ({type(e).__name__}); use another --out folder"
            ) from None
        history = list(ck["history"])
        start_epoch = int(ck["epoch"])
    q_tr = torch.as_tensor(prep.q_train, dtype=torch.long, device=device)
    y_tr = torch.as_tensor(prep.dataset.y_train, dtype=torch.long, device=device)
    q_te = torch.as_tensor(prep.q_test, dtype=torch.long, device=device)
    y_te = torch.as_tensor(prep.dataset.y_test, dtype=torch.long, device=device)
    gen = torch.Generator().manual_seed(cfg.train.seed)
    aug_gen = torch.Generator().manual_seed(cfg.train.seed + 1)
    for _ in range(start_epoch):  # keep the data order of an uninterrupted run
        torch.randperm(len(q_tr), generator=gen)
    teacher = None
    if cfg.train.teacher == "mlp":
        teacher = train_teacher(
            q_tr,
            y_tr,
            prep.dataset.n_classes,
            (1 << prep.quantizer.width) - 1,
            epochs=cfg.train.teacher_epochs,
            seed=cfg.train.seed,
            augment=(lambda qb: _augment(qb, cfg, prep, aug_gen)) if cfg.train.augment else None,
        )
    freeze_at = cfg.model.freeze_epoch if cfg.model.freeze_epoch is not None else max(1, epochs // 2)
    bs = cfg.train.batch_size
    t0 = time.perf_counter() - (history[-1]["time_s"] if history else 0.0)

    from lutnn.progress import reporting, stage

    if progress and console is None:
        from rich.console import Console

        console = Console()
    n_batches = math.ceil(len(q_tr) / bs)
    # a bar on a terminal, a line every ~10% elsewhere (lutnn.progress)
    with (
        reporting(console if progress else None),
        stage("train", total=(epochs - start_epoch) * n_batches, unit="batches") as bar,
    ):
        for epoch in range(start_epoch, epochs):
            if epoch == freeze_at:
                model.freeze_connectivity()
                _forget_dropped(opt, model)
            model.train()
            perm = torch.randperm(len(q_tr), generator=gen).to(device)
            tot_loss, tot_correct, seen = 0.0, 0, 0
            for bi in range(n_batches):
                idx = perm[bi * bs : (bi + 1) * bs]
                qb = q_tr[idx]
                qb = _augment(qb, cfg, prep, aug_gen)
                logits = model(qb)
                if teacher is not None:
                    with torch.no_grad():
                        t_logits = teacher(qb)
                    loss = distill_loss(logits, y_tr[idx], t_logits, cfg.train.distill)
                else:
                    loss = torch.nn.functional.cross_entropy(logits, y_tr[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                model.clamp_()
                tot_loss += float(loss.detach()) * len(idx)
                tot_correct += int((logits.argmax(1) == y_tr[idx]).sum())
                seen += len(idx)
                bar.advance(
                    info=f"epoch {epoch + 1}/{epochs}  loss {tot_loss / seen:.3f}  train {tot_correct / seen:.2%}"
                    + (f"  test {history[-1]['test_acc']:.2%}" if history else "")
                )
            if sched is not None:
                sched.step()
            test_acc = _accuracy(model, q_te, y_te)
            rec = {
                "epoch": epoch + 1,
                "loss": tot_loss / max(1, seen),
                "train_acc": tot_correct / max(1, seen),
                "test_acc": test_acc,
                "time_s": time.perf_counter() - t0,
            }
            history.append(rec)
            bar.set_info(
                f"epoch {epoch + 1}/{epochs}  loss {rec['loss']:.3f}  train {rec['train_acc']:.2%}  test {test_acc:.2%}"
            )
            if out is not None and ((epoch + 1) % max(1, cfg.train.checkpoint_every) == 0 or epoch + 1 == epochs):
                save_checkpoint(out / CHECKPOINT, cfg, model, opt, sched, history, epoch + 1)
            if on_epoch is not None:
                on_epoch(rec)
    if freeze_at >= epochs:
        model.freeze_connectivity()
    model.eval()
    return TrainResult(model, prep, history, time.perf_counter() - t0, cfg)


def save_checkpoint(path: Path, cfg: RunConfig, model: LUTNetwork, opt, sched, history, epoch: int) -> None:
    """Everything needed to resume or export: config, weights, optimiser, history (written atomically)."""
    import io

    from lutnn.fileio import atomic_write

    buf = io.BytesIO()
    torch.save(
        {
            "config": cfg.as_dict(),
            "model": model.state_dict(),
            "optimizer": opt.state_dict() if opt is not None else None,
            "scheduler": sched.state_dict() if sched is not None else None,
            "history": history,
            "epoch": epoch,
            "frozen": all(layer.frozen for layer in model.layers),
            "quantizer": model.quantizer.state(),
        },
        buf,
    )
    atomic_write(path, buf.getvalue())


def check_out_dir(path: str | Path) -> None:
    """Refuse an output folder that is a file or lies under one (before any work, with the fix named)."""
    p = Path(path)
    for q in (p, *p.parents):
        if q.exists():
            if not q.is_dir():
                what = "is a file" if q == p else f"lies under {q}, which is a file"
                raise LutnnError(f"output folder {p} {what}; choose another --out folder")
            return


def _read_checkpoint(p: Path, device: Any) -> dict:
    """Load a lutnn checkpoint with ``weights_only=True``: tensors and plain containers only, never code.

    A pickle that names any other Python object (a crafted ``__reduce__``) is refused before it runs.
    """
    import pickle

    try:
        ck = torch.load(p, map_location=device, weights_only=True)
    except pickle.UnpicklingError as e:
        if "GLOBAL" not in str(e):  # corrupt, or an opcode the safe unpickler lacks
            raise LutnnError(
                f"{p}: not a lutnn checkpoint (corrupt pickle); give a checkpoint.pt written by lutnn train"
            ) from None
        raise LutnnError(
            f"{p}: refused: the file holds Python objects other than tensors and plain data, which a lutnn "
            "checkpoint never does (it may be crafted to run code); give a checkpoint.pt written by lutnn train"
        ) from None
    except Exception as e:  # torch raises many types on corrupt files
        raise LutnnError(
            f"{p}: not a lutnn checkpoint ({type(e).__name__}); give a checkpoint.pt written by lutnn train"
        ) from None
    keys = {"config": dict, "model": dict, "history": list, "epoch": int}
    if not isinstance(ck, dict) or any(not isinstance(ck.get(k), t) for k, t in keys.items()):
        raise LutnnError(
            f"{p}: not a lutnn checkpoint (needs config, model, history, epoch); give a checkpoint.pt written by lutnn train"
        )
    if not all(isinstance(h, dict) and isinstance(h.get("time_s"), float) for h in ck["history"]):
        raise LutnnError(f"{p}: damaged checkpoint (bad history records); retrain, or give another checkpoint.pt")
    return ck


def load_checkpoint(path: str | Path, dataset: Dataset | None = None) -> TrainResult:
    """Rebuild a trained model from ``checkpoint.pt`` (re-reads the dataset for the encoder and tests)."""
    p = Path(path)
    if p.is_dir():
        p = p / CHECKPOINT
    if not p.exists():
        raise LutnnError(f"checkpoint not found: {p} (train first, or give the run folder)")
    ck = _read_checkpoint(p, "cpu")
    cfg = RunConfig.from_dict(ck["config"], source=str(p))
    prep = prepare(cfg, dataset)
    model = build_model(cfg, prep)
    if ck.get("frozen"):
        model.freeze_connectivity()
    try:
        model.load_state_dict(ck["model"])
    except (RuntimeError, KeyError, TypeError, ValueError) as e:
        raise LutnnError(f"{p}: weights do not match its config ({type(e).__name__}); retrain the run") from None
    model.eval()
    return TrainResult(model, prep, list(ck["history"]), ck["history"][-1]["time_s"] if ck["history"] else 0.0, cfg)


def plot_history(history: list[dict[str, Any]], path: str | Path, title: str = "LUT network") -> Path:
    """Accuracy (train, test) against epochs as a PNG (matplotlib, Agg backend; written atomically)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lutnn.fileio import atomic_write

    if not history:
        raise LutnnError("no training history to plot (train for at least one epoch)")
    ep = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    ax.plot(ep, [100 * h["train_acc"] for h in history], label="train (soft/STE forward)")
    ax.plot(ep, [100 * h["test_acc"] for h in history], label="test (hard LUTs = hardware)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return atomic_write(path, buf.getvalue())
