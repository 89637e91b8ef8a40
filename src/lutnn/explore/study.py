"""The search: an Optuna multi-objective study whose trials train through :func:`lutnn.pipeline.run_pipeline`.

One study lives in one storage: by default ``sqlite:///DIR/study.db`` in the run folder (resumable
after a crash or a kill), or any Optuna RDB URL given with ``--storage`` (PostgreSQL for many
machines). Every worker runs the same loop: reap trials of dead workers (their parameters are
enqueued again and the retry resumes from the dead trial's checkpoint), stop when the study holds
``trials`` finished trials, else run one more. ``N`` counts the trials of the whole study, so
re-running the same command resumes and a second worker on the same storage joins.

Objectives: validation accuracy (a split carved from the training data, never the test split),
whole-design LUT count (``cost = "nodes"``: the compiled netlist's LUT count, no synthesis;
``cost = "synth"``: Yosys LUT6 of each trial) and optionally the netlist's LUT depth.

Pruning: multi-objective Optuna studies have no pruners, so lutnn prunes by learning curve: after
``prune_warmup`` of the epochs, a trial stops when a finished trial of no more LUT nodes was
``prune_margin`` more accurate at the same fraction of its training (such a trial would end
dominated unless its curve crossed that one late).
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lutnn.errors import LutnnError
from lutnn.explore.common import excluded_numbers as _excluded
from lutnn.explore.common import split_dataset
from lutnn.explore.space import SearchSpace
from lutnn.fileio import pid_alive

__all__ = [
    "StudyCounts",
    "count_trials",
    "default_storage",
    "explore",
    "open_study",
    "reap_dead_trials",
    "run_worker",
    "threads_per_trial",
]

HEARTBEAT_S = 20  # RDB heartbeat of running trials; a trial silent for GRACE_S is failed and retried
GRACE_S = 120
TRIALS_DIR = "trials"


def _optuna():
    try:
        import optuna
    except ImportError:
        raise LutnnError("lutnn explore needs Optuna: pip install 'lutnn[explore]' (optuna, psycopg2-binary)") from None
    return optuna


def default_storage(out: str | Path) -> str:
    """The embedded storage: an SQLite file in the run folder."""
    return f"sqlite:///{(Path(out) / 'study.db').resolve()}"


def _storage(url: str):
    """An Optuna RDB storage with heartbeats; retried while a concurrent worker creates the schema."""
    optuna = _optuna()
    import inspect
    import warnings

    kw: dict[str, Any] = {"heartbeat_interval": HEARTBEAT_S, "grace_period": GRACE_S}
    params = inspect.signature(optuna.storages.RDBStorage).parameters  # renamed in Optuna 4.9
    kw["heartbeat_stale_trial_callback" if "heartbeat_stale_trial_callback" in params else "failed_trial_callback"] = (
        _retry
    )
    if url.startswith("sqlite"):
        kw["engine_kwargs"] = {"connect_args": {"timeout": 60}}
    elif url.split(":", 1)[0].split("+")[0] not in ("postgresql", "mysql", "oracle", "mssql"):
        raise LutnnError(
            f"--storage {url!r} is not an Optuna RDB URL; give e.g. postgresql://user@host/db or sqlite:///path/study.db"
        )
    last: Exception | None = None
    for attempt in range(8):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # heartbeats are "experimental" in Optuna
                return optuna.storages.RDBStorage(url, **kw)
        except ImportError as e:
            raise LutnnError(
                f"--storage {url}: the database driver is missing ({e}); pip install psycopg2-binary"
            ) from None
        except Exception as e:  # schema creation races (two workers at once), a database starting up
            last = e
            time.sleep(0.5 + attempt)
    raise LutnnError(f"cannot open the study storage {url}: {type(last).__name__}: {str(last).splitlines()[0]}")


def _sampler(space: SearchSpace, n_trials: int, seed: int):
    optuna = _optuna()
    o = space.options
    kind = o.sampler
    if kind == "auto":
        kind = "tpe" if n_trials < 4 * o.population else "nsga2"
    if kind == "nsga2":
        return optuna.samplers.NSGAIISampler(population_size=o.population, seed=seed)
    if kind == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=max(2, min(10, n_trials // 3)), multivariate=True)
    return optuna.samplers.RandomSampler(seed=seed)


def open_study(space: SearchSpace, storage: str, n_trials: int, seed: int | None = None):
    """Create or load the space's study in ``storage`` (same name and directions on every worker)."""
    optuna = _optuna()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    directions = ["minimize" if o != "accuracy" else "maximize" for o in space.options.objectives]
    st = _storage(storage)
    sampler = _sampler(space, n_trials, space.options.seed if seed is None else seed)
    for attempt in range(8):
        try:
            study = optuna.create_study(
                storage=st, study_name=space.study_name, directions=directions, sampler=sampler, load_if_exists=True
            )
            break
        except Exception as e:  # two workers creating the same study at once
            if attempt == 7:
                raise LutnnError(f"cannot create study {space.study_name!r} in {storage}: {e}") from None
            time.sleep(0.5 + attempt)
    if [d.name.lower() for d in study.directions] != directions:
        raise LutnnError(
            f"study {space.study_name!r} in {storage} has objectives {[d.name for d in study.directions]}, "
            f"this space asks for {space.options.objectives}; use another --out/--storage or [search] name"
        )
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # set_metric_names is "experimental" in Optuna
        study.set_metric_names(list(space.options.objectives))
    return study


@dataclass
class StudyCounts:
    """Trials of a study by what they mean for the budget ``N``."""

    finished: int  # complete + pruned + failed for good
    complete: int
    pruned: int
    failed: int
    running: int
    waiting: int

    def line(self) -> str:
        return f"{self.complete} complete, {self.pruned} pruned, {self.failed} failed, {self.running} running"


def count_trials(study) -> StudyCounts:
    """Count the study's trials (failed trials that were retried, and surplus trials, do not count)."""
    from optuna.trial import TrialState as S

    trials = study.get_trials(deepcopy=False)
    ex = _excluded(trials)
    live = [t for t in trials if t.number not in ex]
    n = {s: sum(t.state == s for t in live) for s in (S.COMPLETE, S.PRUNED, S.FAIL, S.RUNNING, S.WAITING)}
    return StudyCounts(
        n[S.COMPLETE] + n[S.PRUNED] + n[S.FAIL], n[S.COMPLETE], n[S.PRUNED], n[S.FAIL], n[S.RUNNING], n[S.WAITING]
    )


def _retry(study, trial) -> None:
    """Fail a dead worker's trial and enqueue its parameters again; the retry resumes its folder."""
    attrs: dict[str, Any] = {"retry_of": trial.number}
    for k in ("dir", "curve"):  # the retry resumes the dead trial's folder (checkpoint) and learning curve
        if trial.user_attrs.get(k):
            attrs[k] = trial.user_attrs[k]
    study.enqueue_trial(dict(trial.params), user_attrs=attrs, skip_if_exists=False)


def reap_dead_trials(study) -> int:
    """Running trials of dead workers on this host (their pid is gone): failed and retried; returns how many."""
    from optuna.trial import TrialState

    host, n = socket.gethostname(), 0
    storage = study._storage
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        pid = t.user_attrs.get("pid")
        if t.user_attrs.get("host") == host and pid is not None and not pid_alive(int(pid)):
            with contextlib.suppress(Exception):  # another worker may reap it at the same moment
                if storage.set_trial_state_values(t._trial_id, TrialState.FAIL):
                    _retry(study, t)
                    n += 1
    return n


def threads_per_trial(jobs: int) -> int:
    """CPU threads for each of ``jobs`` concurrent trials, so the machine's cores are not oversubscribed."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return max(1, cores // max(1, jobs))


def check_against_data(space: SearchSpace) -> None:
    """Checks that need the dataset: the last layer of every layers choice a multiple of the classes."""
    if space.options.family != "lutnet":
        return
    search, _ = split_dataset(space, space.base.get("data", {}))
    c = search.n_classes
    choices = [space.base.get("model", {}).get("layers", [1000, 200])]
    for q in space.params:
        if q.name == "model.layers":
            choices = q.choices or []
    bad = [ch for ch in choices if isinstance(ch, list) and ch and ch[-1] % c]
    if bad:
        raise LutnnError(
            f"{space.path}: model.layers choice(s) {bad} end in a layer that is not a multiple of the "
            f"{c} classes of {search.name} (group-sum head); fix the last widths"
        )


class _ParentGone(BaseException):
    """The explore process that started this worker died: stop now (the trial is retried on resume)."""


def _objective_factory(space: SearchSpace, out: Path, n_trials: int, threads: int, parent: int | None):
    optuna = _optuna()
    from optuna.trial import TrialState

    from lutnn.lutnet.config import RunConfig
    from lutnn.pipeline import run_pipeline

    o = space.options

    def objective(trial) -> tuple[float, ...]:
        trials = trial.study.get_trials(deepcopy=False)
        ex = _excluded(trials)
        before = sum(1 for t in trials if t.number < trial.number and t.number not in ex)
        if before >= n_trials:  # another worker started the N-th trial at the same moment
            trial.set_user_attr("surplus", True)
            raise _Surplus(f"trial {trial.number} is beyond the study's {n_trials} trials")
        trial.set_user_attr("host", socket.gethostname())
        trial.set_user_attr("pid", os.getpid())
        values = {q.name: q.suggest(trial) for q in space.params}
        d = space.config_dict(values)
        retry_dir = trial.user_attrs.get("dir")
        rel = retry_dir or f"{TRIALS_DIR}/{trial.number:04d}"
        trial.set_user_attr("dir", rel)
        quant = o.family == "quantnet"
        unit = "neurons" if quant else "nodes"
        if quant:
            model = d.get("model", {})
            size = int(sum(model.get("hidden") or []) + sum(c.get("channels", 0) for c in model.get("conv") or []))
            epochs = int(d.get("train", {}).get("epochs") or 20)
        else:
            cfg = RunConfig.from_dict(d, source=f"{space.path} (trial {trial.number})")
            size, epochs = int(sum(cfg.model.layers)), cfg.train.epochs
        trial.set_user_attr("size", size)
        curve: list[float] = list(trial.user_attrs.get("curve") or []) if retry_dir else []
        if retry_dir:
            trial.set_user_attr("resumed_at_epoch", len(curve))

        def on_epoch(rec: dict) -> None:
            if parent is not None and os.getppid() != parent:
                raise _ParentGone()
            del curve[int(rec["epoch"]) - 1 :]
            # the search's "test" split is the validation split (lutnet); QAT records it as val_acc
            curve.append(round(float(rec["val_acc"] if quant else rec["test_acc"]), 5))
            trial.set_user_attr("curve", curve)
            e = len(curve)
            if not o.prune or e >= epochs or e < max(1, math.ceil(o.prune_warmup * epochs)):
                return
            frac = e / epochs
            for t in trial.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
                tc = t.user_attrs.get("curve") or []
                if not tc or t.user_attrs.get("size", math.inf) > size:
                    continue
                j = min(len(tc), max(1, round(frac * len(tc)))) - 1
                if tc[j] >= curve[-1] + o.prune_margin:
                    trial.set_user_attr(
                        "pruned",
                        f"epoch {e}: {curve[-1]:.2%} vs trial {t.number} ({t.user_attrs['size']} {unit}) {tc[j]:.2%}",
                    )
                    raise optuna.TrialPruned()

        if quant:
            from lutnn.explore.quant import run_quant_trial

            qt = run_quant_trial(
                space, d, out / rel, threads=threads, cost=o.cost, on_epoch=on_epoch,
                source=f"{space.path} (trial {trial.number})",
            )  # fmt: skip
            val = float(qt["val_accuracy"])  # bit-exact netlist simulation on the validation split
            cost = int(qt["design_nodes"] if o.cost == "nodes" else qt["design_lut6"])
            depth = int(qt["depth_lut"])
            attrs = {"design_nodes": qt["design_nodes"], "core_nodes": None,
                     "design_lut6_search": qt.get("design_lut6"), "train_s": qt["train_s"]}  # fmt: skip
        else:
            if "train.threads" not in values:  # this machine's cores shared by the --jobs trials, never more
                cfg.train.threads = threads if cfg.train.threads is None else min(cfg.train.threads, threads)
            cfg.export.verilog = False
            cfg.export.hdl_sim = None
            if o.cost == "nodes":
                cfg.export.synth = None
            elif cfg.export.synth is None:
                cfg.export.synth = "xilinx"
            search_ds, _ = split_dataset(space, d.get("data", {}))
            rep = run_pipeline(
                cfg, out / rel, resume=bool(retry_dir), title=f"trial {trial.number}", dataset=search_ds,
                on_epoch=on_epoch,
            )  # fmt: skip
            luts = rep["luts"]
            val = float(rep["accuracy"]["netlist"])  # bit-exact netlist simulation on the validation split
            cost = int(luts["design_nodes"] if o.cost == "nodes" else luts["design_lut6"])
            depth = int(luts["design_depth"])
            attrs = {"design_nodes": int(luts["design_nodes"]), "core_nodes": int(luts["core_nodes"]),
                     "design_lut6_search": luts.get("design_lut6"), "train_s": rep["timings"].get("train_s")}  # fmt: skip
        for k, v in {"val_accuracy": val, **attrs, "depth_lut": depth}.items():
            trial.set_user_attr(k, v)
        objs = {"accuracy": val, "lut6": cost, "depth": depth}
        return tuple(objs[k] for k in o.objectives)

    return objective


class _Surplus(Exception):
    pass


def run_worker(
    space: SearchSpace,
    out: str | Path,
    storage: str,
    n_trials: int,
    threads: int,
    seed: int | None = None,
    parent: int | None = None,
) -> int:
    """Run trials until the study holds ``n_trials`` finished ones; returns the trials this worker ran."""
    out = Path(out)
    study = open_study(space, storage, n_trials, seed=seed)
    objective = _objective_factory(space, out, n_trials, threads, parent)
    ran = 0
    while True:
        if parent is not None and os.getppid() != parent:
            break
        reap_dead_trials_quiet(study)
        c = count_trials(study)
        if c.finished >= n_trials or (c.finished + c.running >= n_trials and c.waiting == 0):
            break
        try:
            study.optimize(objective, n_trials=1, catch=(Exception,), gc_after_trial=True)
        except _ParentGone:
            break
        ran += 1
    return ran


def reap_dead_trials_quiet(study) -> None:
    """:func:`reap_dead_trials`, never raising (another worker may race us); Optuna fails and retries
    trials whose heartbeat went silent (a dead machine) itself, through the storage's callback."""
    with contextlib.suppress(Exception):
        reap_dead_trials(study)


def _worker_entry(space: SearchSpace, out: str, storage: str, n_trials: int, threads: int, seed: int, parent: int):
    """A ``--jobs`` worker process (spawned): its output goes to ``DIR/logs/worker-PID.log``, then the shared loop."""
    import sys
    import warnings

    warnings.filterwarnings("ignore")
    logs = Path(out) / "logs"
    logs.mkdir(exist_ok=True)
    log = open(logs / f"worker-{os.getpid()}.log", "a", buffering=1)
    sys.stdout = sys.stderr = log
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    run_worker(space, out, storage, n_trials, threads, seed=seed, parent=parent)


def _check_same_space(space: SearchSpace, out: Path) -> None:
    """A run folder holds one space: refuse a different one (resuming needs the same space)."""
    from lutnn.fileio import atomic_write

    rec = out / "space.toml"
    if rec.exists():
        if rec.read_text(encoding="utf-8") != space.text:
            raise LutnnError(
                f"{out} holds a search of another space ({rec} differs from {space.path}); "
                "re-run with the same space file to resume, or give another --out"
            )
    else:
        atomic_write(rec, space.text)


def explore(
    space: SearchSpace,
    out: str | Path,
    n_trials: int | None = None,
    jobs: int = 1,
    storage: str | None = None,
    progress: Any = None,
    front: bool = True,
    poll_s: float = 2.0,
) -> dict[str, Any]:
    """Run (or resume, or join) the search: ``jobs`` worker processes until the study holds ``n_trials``.

    ``progress``: an object with ``update(study_trials, counts)`` and ``close()`` (see
    :class:`lutnn.explore.progress.ProgressDisplay`), or None. When the study is done and no trial is
    running anywhere, the front is re-synthesised whole and written (see :func:`lutnn.explore.front.write_front`).
    Returns ``{"counts", "front", "storage"}``.
    """
    import multiprocessing as mp

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise LutnnError(f"--out {out} is a file; give a folder")
    if jobs < 1:
        raise LutnnError(f"--jobs {jobs} must be >= 1")
    out.mkdir(parents=True, exist_ok=True)
    _check_same_space(space, out)
    n = int(n_trials or space.options.trials)
    shared = storage is not None
    storage = storage or default_storage(out)
    check_against_data(space)
    study = open_study(space, storage, n)  # schema and study exist before the workers start
    reap_dead_trials_quiet(study)
    threads = threads_per_trial(jobs)
    ctx = mp.get_context("spawn")
    procs = []
    env_keys = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
    saved = {k: os.environ.get(k) for k in env_keys}
    try:
        for k in env_keys:
            os.environ[k] = str(threads)
        for i in range(jobs):
            seed = space.options.seed + 1009 * i + (os.getpid() if shared else 0)
            p = ctx.Process(
                target=_worker_entry, args=(space, str(out), storage, n, threads, seed, os.getpid()), daemon=False
            )
            p.start()
            procs.append(p)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    try:
        while any(p.is_alive() for p in procs):
            if progress is not None:
                with contextlib.suppress(Exception):
                    progress.update(study.get_trials(deepcopy=False), count_trials(study))
            for p in procs:
                p.join(timeout=poll_s / max(1, len(procs)))
    except BaseException:
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(timeout=10)
        raise
    reap_dead_trials_quiet(study)
    counts = count_trials(study)
    if progress is not None:
        progress.update(study.get_trials(deepcopy=False), counts)
        progress.close()
    bad = [p.exitcode for p in procs if p.exitcode]
    if bad and counts.finished < n:
        raise LutnnError(f"{len(bad)} worker process(es) died (exit codes {bad}); re-run the same command to resume")
    result: dict[str, Any] = {"counts": counts, "front": None, "storage": storage}
    if front and counts.finished >= n and counts.running == 0:
        from lutnn.explore.front import write_front

        result["front"] = write_front(space, study, out, jobs=jobs)
    return result
