"""The search's results: the front re-synthesised whole and tested bit-exactly, trials.csv, a PNG, an HTML page.

Every front point (non-dominated in the search's objectives: validation accuracy against the
estimated cost) is rebuilt from its trial's checkpoint, compiled, simulated bit-exactly on the
whole test split, exported to Verilog (checked in an HDL simulator when one is installed) and
synthesised whole by Yosys — the numbers in ``front.json`` are those, never the estimate.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
from pathlib import Path
from typing import Any

from lutnn.explore.space import SearchSpace
from lutnn.fileio import atomic_write, json_default
from lutnn.lutnet.config import config_toml

__all__ = ["ANCHORS", "pareto", "write_front", "write_trials_csv"]

# Published and hand-made points, whole design unless marked (docs: /work/shared/design/field-numbers.md).
ANCHORS: dict[str, list[tuple[str, float, float]]] = {
    "digits": [
        ("lutnn configs/digits.toml (3 seeds)", 97.48, 927),
        ("lutnn digits one layer [200] (6 seeds)", 94.96, 703),
        ("lutnn digits one layer [300] (6 seeds)", 95.85, 1040),
    ],
    "mnist": [
        ("dwn-fpga-study 1x100 (Vivado)", 92.98, 845),
        ("dwn-fpga-study 1x300 (Vivado)", 96.77, 1597),
        ("dwn-fpga-study 1x500 (Vivado)", 97.70, 2246),
        ("dwn-fpga-study 2x[1000,500] (Vivado)", 97.76, 3464),
        ("TreeLUT II (≈, Vivado)", 96.0, 3499),
        ("TreeLUT I (≈, Vivado)", 97.0, 4478),
        ("DWN sm, core only (≈, Vivado)", 97.1, 692),
        ("PolyLUT-Add HDR-Add2 (Vivado)", 96.0, 14810),
        ("lutnn configs/mnist_top2.toml (hand-made, 3 seeds)", 97.70, 2618),
        ("lutnn configs/mnist_600.toml (3 seeds)", 97.73, 1781),
        ("lutnn configs/mnist_tiny.toml (3 seeds)", 96.89, 1072),
        ("lutnn configs/mnist_2000.toml (3 seeds)", 98.66, 4762),
    ],
}


def _live_complete(study) -> list:
    from optuna.trial import TrialState

    from lutnn.explore.common import excluded_numbers as _excluded

    trials = study.get_trials(deepcopy=False)
    ex = _excluded(trials)
    return [t for t in trials if t.state == TrialState.COMPLETE and t.number not in ex and t.values]


def pareto(points: list[tuple[float, ...]], maximize: list[bool]) -> list[int]:
    """Indices of the non-dominated points (``maximize[i]``: objective i is maximised)."""
    sign = [1 if m else -1 for m in maximize]
    keyed = [tuple(s * v for s, v in zip(sign, p, strict=True)) for p in points]
    keep = []
    for i, a in enumerate(keyed):
        dominated = any(
            all(x >= y for x, y in zip(b, a, strict=True)) and any(x > y for x, y in zip(b, a, strict=True))
            for j, b in enumerate(keyed)
            if j != i
        )
        if not dominated and a not in [keyed[k] for k in keep]:
            keep.append(i)
    return keep


def _export_point(space: SearchSpace, study_trial, out: Path) -> dict[str, Any]:
    """Rebuild one front trial, test it on the test split from its netlist, export and synthesise it whole."""
    if space.options.family == "quantnet":
        from lutnn.explore.quant import export_quant_point

        return export_quant_point(space, study_trial, out)
    from lutnn.explore.common import exported_point, split_dataset
    from lutnn.lutnet.train import load_checkpoint
    from lutnn.pipeline import export_run
    from lutnn.tools import have_tool

    tdir, fdir, done = exported_point(out, study_trial)
    if done is not None:  # a resumed run: this point was exported already
        return done
    data = space.base.get("data", {})
    search_ds, full = split_dataset(space, data)
    res = load_checkpoint(tdir, dataset=search_ds)  # same split → same quantizer and encoder as in training
    model, cfg = res.model, res.config
    assert cfg is not None
    if cfg.data.test_subset:
        full = full.subset(None, cfg.data.test_subset, seed=cfg.train.seed)
    q_test = model.quantizer.transform(full.x_test)
    ex = space.base.get("export", {})
    synth = ex.get("synth", "xilinx") or "xilinx"
    scope = space.options.front_synth_scope or ex.get("synth_scope", "whole")
    scope = "whole" if scope == "design" else scope  # "design": the name before one-run whole synthesis
    sim = ex.get("hdl_sim", "icarus")
    sim = sim if sim and have_tool("iverilog" if sim == "icarus" else "verilator") else None
    rep = export_run(
        model,
        q_test,
        full.y_test,
        fdir,
        synth=synth,
        synth_scope=scope,
        verilog=True,
        hdl_sim=sim,
        hdl_vectors=int(ex.get("hdl_vectors", 1000)),
        timings={"train_s": float(study_trial.user_attrs.get("train_s") or 0.0)},
    )
    cfg_d = cfg.as_dict()
    cfg_d["export"] = {
        **cfg_d["export"],
        "verilog": True,
        "synth": synth,
        "synth_scope": scope,
        "hdl_sim": sim or False,
    }
    cfg_d["train"].pop("threads", None)
    rep["dataset"] = {
        "name": full.name,
        "train": min(len(search_ds.y_train), cfg.data.train_subset or len(search_ds.y_train)),
        "validation": len(search_ds.y_test),
        "test": len(full.y_test),
        "source": search_ds.source,
    }
    rep["history"] = res.history
    rep["explore"] = {
        "trial": study_trial.number,
        "val_accuracy": study_trial.user_attrs.get("val_accuracy"),
        "search_cost": study_trial.values[1] if len(study_trial.values) > 1 else None,
        "params": dict(study_trial.params),
    }
    rep["files"]["config"] = "config.toml"
    atomic_write(
        fdir / "config.toml",
        config_toml(
            cfg_d,
            f"found by lutnn explore {space.path.name}, trial {study_trial.number}; trained on the training split\n"
            f"minus a {space.options.val_fraction:.0%} validation split (lutnn train uses the whole training split)",
        ),
    )
    atomic_write(fdir / "report.json", json.dumps(rep, indent=2, default=json_default))
    return rep


def write_trials_csv(space: SearchSpace, study, out: Path) -> Path:
    """``trials.csv``: one row per finished trial (complete, pruned, failed; retried and surplus ones marked)."""
    from optuna.trial import TrialState

    from lutnn.explore.common import excluded_numbers as _excluded

    trials = study.get_trials(deepcopy=False)
    ex = _excluded(trials)
    names = [q.name for q in space.params]
    decode = {q.name: q for q in space.params}
    cols = [
        "number", "state", "val_accuracy", "search_cost", "cost_kind", "depth_lut", "design_nodes", "core_nodes",
        "epochs_run", "duration_s", "counted", *names, "note", "dir",
    ]  # fmt: skip
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(cols)
    for t in trials:
        if t.state in (TrialState.RUNNING, TrialState.WAITING):
            continue
        a = t.user_attrs
        vals = t.values or []
        dur = (
            (t.datetime_complete - t.datetime_start).total_seconds()
            if t.datetime_complete and t.datetime_start
            else None
        )
        note = a.get("pruned") or t.system_attrs.get("fail_reason", "") or ("surplus" if a.get("surplus") else "")
        if a.get("retry_of") is not None:
            note = f"retry of trial {a['retry_of']}; {note}".rstrip("; ")
        row = [
            t.number,
            t.state.name.lower(),
            a.get("val_accuracy"),
            vals[1] if len(vals) > 1 else None,
            space.options.cost,
            a.get("depth_lut"),
            a.get("design_nodes"),
            a.get("core_nodes"),
            len(a.get("curve") or []),
            None if dur is None else round(dur, 1),
            t.number not in ex,
            *[json.dumps(decode[n].decode(t.params[n])) if n in t.params else "" for n in names],
            str(note).splitlines()[0] if note else "",
            a.get("dir", ""),
        ]
        w.writerow(row)
    return atomic_write(out / "trials.csv", buf.getvalue())


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


def _front_png(space: SearchSpace, trials: list, front: list[dict], dataset: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 5), dpi=120)
    est = "netlist LUTs" if space.options.cost == "nodes" else "Yosys LUT6"
    if trials:
        ax.scatter(
            [t.values[1] for t in trials],
            [100 * t.values[0] for t in trials],
            s=18,
            c="0.6",
            label=f"trials (validation acc. vs {est}, the search's estimate)",
        )
    if front:
        pts = sorted((p for p in front if not p.get("dominated_after_synthesis")), key=lambda p: p["design_lut6"])
        ax.plot(
            [p["design_lut6"] for p in pts],
            [100 * p["test_accuracy"] for p in pts],
            "o-",
            c="tab:red",
            label="front (test acc. from the netlist vs whole-design Yosys LUT6)",
        )
        dom = [p for p in front if p.get("dominated_after_synthesis")]
        if dom:
            ax.scatter(
                [p["design_lut6"] for p in dom],
                [100 * p["test_accuracy"] for p in dom],
                facecolors="none",
                edgecolors="tab:red",
                label="dominated once synthesised (validation acc. vs LUT6)",
            )
    markers = "s^vD<>phP*X"
    for i, (label, acc, lut) in enumerate(ANCHORS.get(dataset, [])):
        ax.scatter([lut], [acc], marker=markers[i % len(markers)], s=40, label=label)
    ax.set_xscale("log")
    ax.set_xlabel("LUTs (log scale)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"lutnn explore {space.path.name}: {dataset}")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=6, loc="lower right")
    return _png(fig)


def _history_png(space: SearchSpace, study) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trials = _live_complete(study)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), dpi=110)
    axes[0].scatter([t.number for t in trials], [100 * t.values[0] for t in trials], s=14)
    axes[0].set_xlabel("trial")
    axes[0].set_ylabel("validation accuracy (%)")
    axes[1].scatter([t.number for t in trials], [t.values[1] for t in trials], s=14, c="tab:orange")
    axes[1].set_xlabel("trial")
    axes[1].set_ylabel(f"search cost ({space.options.cost})")
    for a in axes:
        a.grid(alpha=0.3)
    return _png(fig)


def _importance_png(space: SearchSpace, study) -> tuple[bytes | None, str]:
    """Parameter importances (Optuna's fANOVA) for each objective, or why there are none."""
    import matplotlib

    matplotlib.use("Agg")
    import warnings

    import matplotlib.pyplot as plt
    import optuna

    objs = space.options.objectives
    res = {}
    try:
        for i, name in enumerate(objs):
            sign = -1.0 if name == "accuracy" else 1.0  # the evaluator ranks parameters for low target values
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res[name] = optuna.importance.get_param_importances(
                    study, target=lambda t, i=i, sign=sign: sign * t.values[i]
                )
    except Exception as e:  # too few trials, a single-valued parameter
        return None, f"no importances ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
    fig, axes = plt.subplots(1, len(objs), figsize=(4 * len(objs), 3), dpi=110)
    for ax, (name, imp) in zip(axes, res.items(), strict=True):
        ax.barh(list(imp)[::-1], list(imp.values())[::-1])
        ax.set_title(f"importance for {name}")
        ax.tick_params(labelsize=7)
    return _png(fig), ""


def _html(space: SearchSpace, front: list[dict], images: dict[str, bytes | None], note: str, out: Path) -> str:
    def img(b: bytes | None) -> str:
        return f'<img src="data:image/png;base64,{base64.b64encode(b).decode()}">' if b else ""

    rows = "".join(
        f"<tr><td>{p['trial']}</td><td>{100 * p['val_accuracy']:.2f}%</td><td>{100 * p['test_accuracy']:.2f}%</td>"
        f"<td>{p['design_lut6']}</td><td>{p['depth_lut']}</td><td>{p['design_nodes']}</td>"
        f"<td>{html.escape(json.dumps(p['params']))}</td><td>{html.escape(p['dir'])}</td></tr>"
        for p in front
    )
    trials_csv = (out / "trials.csv").read_text() if (out / "trials.csv").exists() else ""
    trows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in line) + "</tr>"
        for line in csv.reader(io.StringIO(trials_csv))
    )
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>lutnn explore {html.escape(space.path.name)}</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse;font-size:12px}}
td{{border:1px solid #ccc;padding:2px 6px}} img{{max-width:100%}}</style></head><body>
<h1>lutnn explore {html.escape(space.path.name)}</h1>
<h2>Front</h2>{img(images.get("front"))}
<p>Front points are re-trained nowhere: each is its trial's model, compiled, tested on the test split from
its netlist (bit-exact) and synthesised whole by Yosys. The search's objectives were validation accuracy and
{html.escape(space.options.cost)} cost.</p>
<table><tr><td>trial</td><td>validation</td><td>test (netlist)</td><td>LUT6 whole (Yosys)</td><td>depth (LUT levels)</td>
<td>netlist LUTs</td><td>parameters</td><td>folder</td></tr>{rows}</table>
<h2>All trials</h2>{img(images.get("history"))}
<h2>Parameter importances</h2>{img(images.get("importance")) or html.escape(note)}
<h2>trials.csv</h2><table>{trows}</table></body></html>
"""


def _export_many(space: SearchSpace, points: list, out: Path, jobs: int) -> list[dict[str, Any]]:
    """:func:`_export_point` for each front trial, ``jobs`` at a time (each one Yosys run after another)."""
    if jobs <= 1 or len(points) <= 1:
        return [_export_point(space, t, out) for t in points]
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=min(jobs, len(points)), mp_context=mp.get_context("spawn")) as pool:
        return list(pool.map(_export_point, [space] * len(points), points, [out] * len(points)))


def write_front(space: SearchSpace, study, out: str | Path, jobs: int = 1) -> list[dict[str, Any]]:
    """Export every front point whole (``jobs`` at once), then write ``front.json``, ``trials.csv``,
    ``front.png`` and ``report.html``."""
    out = Path(out)
    trials = _live_complete(study)
    maximize = [o == "accuracy" for o in space.options.objectives]
    idx = pareto([tuple(t.values) for t in trials], maximize)
    front: list[dict[str, Any]] = []
    points = sorted((trials[i] for i in idx), key=lambda t: t.values[1])
    for t, rep in zip(points, _export_many(space, points, out, jobs), strict=True):
        luts = rep["luts"]
        front.append(
            {
                "trial": t.number,
                "val_accuracy": float(t.user_attrs.get("val_accuracy", t.values[0])),
                "test_accuracy": float(rep["accuracy"]["netlist"]),
                "verilog_check": {k: rep["hdl"][k] for k in ("simulator", "vectors", "mismatches_vs_netlist")}
                if rep.get("hdl")
                else None,
                "design_lut6": luts["design_lut6"],
                "core_lut6": luts.get("core_lut6"),
                "depth_lut": int(luts["design_depth"]),
                "depth_lut6_synth": luts.get("design_depth_synth"),
                "design_nodes": int(luts["design_nodes"]),
                "search_cost": t.values[1],
                "search_cost_kind": space.options.cost,
                "tool": luts.get("tool"),
                "params": {q.name: q.decode(t.params[q.name]) for q in space.params if q.name in t.params},
                "dir": str(Path("front") / f"{t.number:04d}"),
            }
        )
    # after real synthesis some estimated-front points may be dominated on (validation accuracy, LUT6)
    real = pareto([(p["val_accuracy"], p["design_lut6"]) for p in front if p["design_lut6"] is not None], [True, False])
    for i, p in enumerate(front):
        p["dominated_after_synthesis"] = i not in real if p["design_lut6"] is not None else None
        p["lut6_per_netlist_lut"] = (
            round(p["design_lut6"] / p["design_nodes"], 3) if p["design_lut6"] and p["design_nodes"] else None
        )
    atomic_write(out / "front.json", json.dumps(front, indent=2))
    write_trials_csv(space, study, out)
    dataset = str(space.base.get("data", {}).get("name", "digits"))
    images: dict[str, bytes | None] = {
        "front": _front_png(space, trials, [p for p in front if p["design_lut6"] is not None], dataset),
        "history": _history_png(space, study),
    }
    images["importance"], note = _importance_png(space, study)
    atomic_write(out / "front.png", images["front"])
    atomic_write(out / "report.html", _html(space, front, images, note, out))
    return front


def estimator_error(front: list[dict[str, Any]]) -> dict[str, float] | None:
    """How far the search's netlist-LUT estimate is from whole-design Yosys LUT6 on the front (ratio stats)."""
    r = [p["lut6_per_netlist_lut"] for p in front if p.get("lut6_per_netlist_lut")]
    if not r:
        return None
    m = sum(r) / len(r)
    return {"mean": m, "min": min(r), "max": max(r), "std": math.sqrt(sum((x - m) ** 2 for x in r) / len(r))}
