"""Digits benchmark: train → netlist → Verilog (Icarus) → Yosys synth_xilinx; accuracy vs LUT6 (core, whole).

Target (issue): ≥ 97% test accuracy with ≤ 1,000 LUT6 for the whole design, trained in under a
minute on 2 cores. Peers measured on this machine: difflogic 96.9% with 8,000 gates (51 s),
DWN 96.7% with 3,000 LUT6 (core only, 15 s).

    .venv/bin/python benchmarks/bench_digits.py [--config configs/digits.toml ...] [--seeds 0,1,2]
    .venv/bin/python benchmarks/bench_digits.py --heads 3,6,7,10   # LUT6 of the popcount/argmax head alone
    .venv/bin/python benchmarks/bench_digits.py --val --seeds 0,1 --set train.augment=shift   # model selection
    .venv/bin/python benchmarks/bench_digits.py --seeds 0,1,2 --set encoder.learn=True --out F.json   # an override on test
    .venv/bin/python benchmarks/bench_digits.py --config C --collect runs/bench/C_s0 runs/b2/C_s1   # seeds run apart
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lutnn.errors import LutnnError
from lutnn.lutnet.config import load_config
from lutnn.pipeline import run_pipeline

ROOT = Path(__file__).resolve().parents[1]


def _literal(val: str):
    """An override's value: TOML (``false``, ``[600]``, ``"x"``), else a Python literal (``False``), else the bare string."""
    import ast
    import tomllib

    try:
        return tomllib.loads(f"v = {val}")["v"]
    except tomllib.TOMLDecodeError:
        pass
    try:
        return ast.literal_eval(val)
    except (ValueError, SyntaxError):
        return val


def apply_overrides(cfg, overrides: list[str], source: str) -> None:
    """Apply ``section.key=value`` overrides (value as in a config file), then re-check."""
    for ov in overrides:
        key, eq, val = ov.partition("=")
        sec, _, name = key.partition(".")
        if not eq or not hasattr(cfg, sec) or not hasattr(getattr(cfg, sec), name):
            raise LutnnError(
                f"{source}: override {ov!r} is not section.key=value with a known key (e.g. train.epochs=40)"
            )
        setattr(getattr(cfg, sec), name, _literal(val))
    cfg.check(source)


def run(
    config: Path,
    out_root: Path,
    synth: bool,
    threads: int | None,
    seed: int | None = None,
    overrides: list[str] = (),
    resume: bool = False,
) -> dict:
    """Train, export, verify and synthesise one config (optionally with another seed); one result row.

    ``resume`` continues an interrupted run folder from its checkpoint instead of starting it again."""
    cfg = load_config(config)
    apply_overrides(cfg, list(overrides), str(config))
    if not synth:
        cfg.export.synth = None
    if threads:
        cfg.train.threads = threads
    if seed is not None:
        cfg.train.seed = seed
    folder = out_root / f"{config.stem}_s{cfg.train.seed}"
    rep = run_pipeline(cfg, folder, title=config.stem, resume=resume, force=not resume)
    return result_row(config, rep, cfg.train.seed, overrides, threads)


def result_row(config: Path, rep: dict, seed: int, overrides: list[str] = (), threads: int | None = None) -> dict:
    """One result row from a finished run's report.json."""
    luts, acc, tm = rep["luts"], rep["accuracy"], rep["timings"]
    return {
        "config": str(config.relative_to(ROOT)) if config.is_relative_to(ROOT) else str(config),
        "overrides": list(overrides),
        "seed": seed,
        "dataset": rep["dataset"]["name"],
        "layers": rep["model"]["layers"],
        "encoder": rep["model"]["encoder"],
        "acc_pytorch": acc["pytorch"],
        "acc_netlist": acc["netlist"],
        "acc_verilog": acc["verilog"],
        "disagreements": rep["netlist_vs_pytorch"]["disagreements"],
        "hdl_mismatches": rep.get("hdl", {}).get("mismatches_vs_netlist"),
        "core_nodes": luts["core_nodes"],
        "core_lut6": luts.get("core_lut6"),
        "design_lut6": luts.get("design_lut6"),
        "design_nodes": luts["design_nodes"],
        "design_depth": luts.get("design_depth_synth") or luts["design_depth"],
        "tool": luts["tool"],
        "train_s": tm.get("train_s"),
        "threads": threads,
        "synth_s": (tm.get("synth_core_s") or 0) + (tm.get("synth_design_s") or 0),
    }


def print_table(rows: list[dict], title: str) -> None:
    print(f"\n{title}")
    print(
        f"{'config':28s} {'seed':>4s} {'acc':>7s} {'core LUT6':>10s} {'whole LUT6':>11s} {'depth':>6s} {'train s':>8s} {'disagree':>9s}"
    )
    for r in rows:

        def f(v, fmt):
            return format(v, fmt) if v is not None else "—"

        print(
            f"{r['config']:28s} {r['seed']:4d} {100 * r['acc_pytorch']:6.2f}% {f(r['core_lut6'], '10d')} {f(r['design_lut6'], '11d')} "
            f"{f(r['design_depth'], '6d')} {r['train_s']:8.1f} {r['disagreements']:9d}"
        )
    if rows and rows[0]["tool"]:
        print(f"LUT counts: {rows[0]['tool']}")


def validate(config: Path, seeds: list[int], overrides: list[str], threads: int | None) -> list[dict]:
    """Model selection without the test set: train on 80% of the training split, score the other 20% (split by seed)."""
    from lutnn.data import Dataset, _split, load_dataset
    from lutnn.lutnet.compile import compile_core, compile_design, compile_encoder
    from lutnn.lutnet.train import train

    rows = []
    for seed in seeds:
        cfg = load_config(config)
        cfg.train.seed = seed
        if threads:
            cfg.train.threads = threads
        apply_overrides(cfg, overrides, str(config))
        ds = load_dataset(cfg.data.name, cfg.data.path, cfg.data.label)
        xtr, xva, ytr, yva = _split(ds.x_train, ds.y_train, 0.2, random_state=seed)  # a new split per seed
        val = Dataset(ds.name, xtr, ytr, xva, yva, ds.n_classes, ds.feature_names, ds.class_names, ds.image_shape)
        res = train(cfg, progress=False, dataset=val)
        row = {"config": str(config), "overrides": overrides, "seed": seed, "val_acc": res.test_accuracy}
        row["train_s"] = res.seconds
        row["val_curve"] = [round(h["test_acc"], 4) for h in res.history]  # validation accuracy after each epoch
        nl = compile_design(res.model)  # LUT nodes of the whole design: the premapped flow's LUT6 within ~1%
        row["design_nodes"] = int(nl.n_nodes)
        row["core_nodes"] = int(compile_core(res.model).n_nodes)
        row["encoder_nodes"] = int(compile_encoder(res.model).n_nodes)
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def head_costs(groups: list[int], n_classes: int = 10) -> list[dict]:
    """Yosys LUT6 of the group-sum head alone (popcount per class, then + argmax) for each group size."""
    import numpy as np

    from lutnn import circuits
    from lutnn.netlist import NetlistBuilder
    from lutnn.synth import synthesize

    out = []
    for g in groups:
        row: dict = {"group": g, "last_layer": g * n_classes}
        for part in ("popcount", "popcount+argmax"):
            b = NetlistBuilder("head", k=6)
            rows = np.asarray(b.add_input("h", g * n_classes)).reshape(n_classes, g)
            counts = [circuits.popcount(b, r) for r in rows]
            if part == "popcount":
                for c, bus in enumerate(counts):
                    b.add_output(f"count{c}", bus)
            else:
                b.add_output("class_index", circuits.argmax(b, counts))
            nl = b.build().sweep()
            row[f"{part} nodes"] = int(nl.n_nodes)
            for flow in ("premapped", "xilinx"):  # the design flow (lutnn's mapping kept) and synth_xilinx's own
                row[f"{part} {flow}"] = int(synthesize(nl, flow=flow, k=6, fmax=False).report.lut_count)
        print(
            f"head g={g:3d} ({g * n_classes} last-layer nodes): popcount {row['popcount premapped']} LUT6 "
            f"(synth_xilinx {row['popcount xilinx']}), with argmax {row['popcount+argmax premapped']} LUT6 "
            f"(synth_xilinx {row['popcount+argmax xilinx']})"
        )
        out.append(row)
    return out


def summarize(rows: list[dict]) -> list[dict]:
    """Per config: mean and standard deviation of the test accuracy over seeds, LUT6 range, mean train time."""
    import statistics

    out = []
    for cfg in dict.fromkeys(r["config"] for r in rows):
        rs = [r for r in rows if r["config"] == cfg]
        accs = [r["acc_pytorch"] for r in rs]
        luts = [r["design_lut6"] for r in rs if r["design_lut6"] is not None]
        out.append(
            {
                "config": cfg,
                "seeds": [r["seed"] for r in rs],
                "acc_mean": statistics.fmean(accs),
                "acc_std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
                "design_lut6": f"{min(luts)}..{max(luts)}" if luts else None,
                "design_lut6_max": max(luts) if luts else None,
                "train_s_mean": statistics.fmean(r["train_s"] for r in rs),
            }
        )
    return out


def config_path(c: str) -> Path:
    """A --config argument: relative to the repository root unless absolute."""
    return Path(c) if Path(c).is_absolute() else ROOT / c


def main(default_configs: list[str], name: str, title: str) -> None:
    ap = argparse.ArgumentParser(description=title)
    ap.add_argument("--config", nargs="+", default=default_configs)
    ap.add_argument("--no-synth", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seeds", default=None, help="comma-separated seeds (default: each config's own seed)")
    ap.add_argument("--runs", default=str(ROOT / "runs" / "bench"))
    ap.add_argument("--out", default=None, help=f"result JSON (default benchmarks/results/{name}.json)")
    ap.add_argument("--resume", action="store_true", help="continue interrupted run folders from their checkpoints")
    ap.add_argument(
        "--heads", default=None, help="instead: synthesise the head alone for these group sizes (e.g. 3,6,7,10)"
    )
    ap.add_argument("--val", action="store_true", help="instead: validation-split accuracy (no test set, no export)")
    ap.add_argument("--set", nargs="*", default=[], help="config overrides such as train.augment=shift")
    ap.add_argument(
        "--collect", nargs="+", default=None, help="instead of training: rows from finished run folders of --config"
    )
    a = ap.parse_args()
    try:
        _main(a, name, title)
    except LutnnError as e:  # bad config, override or data: one line, no traceback
        raise SystemExit(f"error: {e}") from None


def _main(a: argparse.Namespace, name: str, title: str) -> None:
    """Run what ``main``'s arguments ask for: validation, head costs, collection or the benchmark itself."""
    if a.val:
        vs = [int(s) for s in (a.seeds or "0").split(",")]
        rows = [r for c in a.config for r in validate(config_path(c), vs, a.set, a.threads)]
        accs = [r["val_acc"] for r in rows]
        print(f"validation accuracy {100 * sum(accs) / len(accs):.2f}% over {len(accs)} runs")
        return
    if a.heads:
        res = {"benchmark": f"{name}_heads", "heads": head_costs([int(g) for g in a.heads.split(",")])}
        out = Path(a.out) if a.out else ROOT / "benchmarks" / "results" / f"{name}_heads.json"
        out.write_text(json.dumps(res, indent=2))
        print(f"wrote {out}")
        return
    seeds = [int(s) for s in a.seeds.split(",")] if a.seeds else [None]
    if a.collect:  # seeds trained by separate processes (in parallel): one results file from their folders
        rows = [
            result_row(
                config_path(a.config[0]),
                json.loads((Path(d) / "report.json").read_text()),
                load_config(Path(d) / "config.toml").train.seed,
                a.set,
                a.threads,
            )
            for d in a.collect
        ]
    else:
        rows = [
            run(config_path(c), Path(a.runs), not a.no_synth, a.threads, seed, a.set, a.resume)
            for c in a.config
            for seed in seeds
        ]
    print_table(rows, title)
    summary = summarize(rows)
    for s in summary:
        print(
            f"{s['config']}: accuracy {100 * s['acc_mean']:.2f}% ± {100 * s['acc_std']:.2f} over seeds {s['seeds']}, "
            f"whole LUT6 {s['design_lut6']}, train {s['train_s_mean']:.1f} s"
        )
    result = {"benchmark": name, "rows": rows, "summary": summary}
    out = Path(a.out) if a.out else ROOT / "benchmarks" / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str))
    print(f"wrote {out}")


if __name__ == "__main__":
    main(["configs/digits.toml"], "digits", "LUT networks on scikit-learn digits (450 test samples)")
