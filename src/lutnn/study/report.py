"""The study's markdown report: the three questions answered with Spearman correlations, bootstrap CIs and counts.

1. Which encodings preserve the input metric best (distortion on data pairs), and does that predict
   test accuracy at equal LUTs (within a fixed architecture, and after a fit on log LUTs)?
2. Does Hamming smoothness (data-distribution sensitivity, noise stability) predict the
   generalisation gap (train − test accuracy)?
3. Does choosing by it — or training toward it (axes ``model.smooth`` / ``train.augment``) — improve
   test accuracy at equal LUTs?
"""

from __future__ import annotations

import io
import json
import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lutnn.fileio import atomic_write
from lutnn.study.grid import load_results
from lutnn.study.stats import bootstrap_spearman

__all__ = ["encoding_name", "write_report"]


def encoding_name(cfg: dict) -> str:
    """Short label of a network's encoder config (``quantile3+learn``, ``binary`` …)."""
    e = cfg.get("encoder", {})
    k = e.get("kind", "thermometer")
    s = k + (str(e.get("levels", 3)) if k in ("thermometer", "quantile", "pooled") else "")
    return s + ("+learn" if e.get("learn") else "")


def _ci(s: dict) -> str:
    """``+0.12 [-0.05, +0.30]``, or ``n/a`` where the correlation is undefined (a constant side, too few networks)."""
    if not math.isfinite(s["rho"]):
        return "n/a"
    if not math.isfinite(s["lo"]):
        return f"{s['rho']:+.2f}"
    return f"{s['rho']:+.2f} [{s['lo']:+.2f}, {s['hi']:+.2f}]"


def _fmt_ci(s: dict) -> str:
    if not math.isfinite(s["rho"]):
        return f"Spearman n/a (n = {s['n']})"
    return f"Spearman ρ = {s['rho']:+.2f} [95% CI {s['lo']:+.2f}, {s['hi']:+.2f}], n = {s['n']} networks"


def _get(r: dict, path: str) -> float:
    v: Any = r
    for p in path.split("."):
        if not isinstance(v, dict) or p not in v:
            return float("nan")
        v = v[p]
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def _fig(fig, path: Path) -> str:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=100)
    import matplotlib.pyplot as plt

    plt.close(fig)
    atomic_write(path, buf.getvalue())
    return path.name


def _residual_on_luts(rs: list[dict]) -> np.ndarray:
    """Test accuracy minus a least-squares fit on log10(whole-design LUTs) (per dataset)."""
    x = np.log10([r["design_luts"] for r in rs])
    y = np.array([r["test_acc"] for r in rs])
    if len(rs) < 3 or x.std() == 0:
        return y - y.mean()
    a, b = np.polyfit(x, y, 1)
    return y - (a * x + b)


def _within(rs: list[dict], axis: str, key: str = "test_acc") -> np.ndarray:
    """A value minus the mean over the networks that differ from it only in ``axis`` (same other axes and seed).

    With ``axis="encoder"`` the group shares connectivity, K, layers and seed (an equal core LUT budget).
    """
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rs):
        other = {k: v for k, v in r["axes"].items() if k != axis}
        groups[json.dumps(other, sort_keys=True, default=str)].append(i)
    out = np.full(len(rs), np.nan)
    for idx in groups.values():
        if len(idx) > 1:
            v = np.array([rs[i][key] for i in idx], float)
            out[idx] = v - v.mean()
    return out


def _within_arch(rs: list[dict], key: str = "test_acc") -> np.ndarray:
    return _within(rs, "encoder", key)


def _table(header: Sequence[str], rows: list[Sequence[Any]]) -> str:
    def f(v):
        if isinstance(v, float):
            return "—" if not math.isfinite(v) else f"{v:.4g}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(f(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _encoding_distortion_table(rs: list[dict]) -> str | None:
    """Distortion of each code kind (one-hot and several levels included) on the dataset's test pairs."""
    from lutnn.data import load_dataset
    from lutnn.quantizer import FeatureQuantizer
    from lutnn.study.distortion import encoding_table

    d = rs[0]["config"]["data"]
    try:
        ds = load_dataset(d["name"], d.get("path"), d.get("label"))
    except Exception as e:
        return f"(encoding table skipped: {e})"
    if d.get("train_subset"):
        ds = ds.subset(d.get("train_subset"), 2000, seed=0)
    qz = FeatureQuantizer.fit(ds.x_train, None)
    qtr, qte = qz.transform(ds.x_train), qz.transform(ds.x_test)
    rows = encoding_table(qtr, qte[:2000], qz.width)
    return _table(
        [
            "code",
            "levels",
            "bits",
            "Spearman(d_L1, H)",
            "Spearman(d_L2, H)",
            "distortion q95/q05",
            "L_upper/L_lower",
            "collisions",
        ],
        [
            [
                r["code"],
                r["levels"] or "—",
                r["bits"],
                r["spearman_l1"],
                r["spearman_l2"],
                r["distortion_q"],
                r["distortion"],
                r["collision_frac"],
            ]
            for r in rows
        ],
    )


def _section(name: str, rs: list[dict], figdir: Path, prefix: str) -> tuple[str, dict]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: list[str] = []
    ans: dict[str, Any] = {}
    n = len(rs)
    encs = sorted({encoding_name(r["config"]) for r in rs})
    out.append(f"## {name}: {n} networks\n")
    ntr = sorted({r["n_train"] for r in rs})
    out.append(
        f"Training samples per network: {', '.join(map(str, ntr))}; test samples: {rs[0]['n_test']}. "
        f"Mean test accuracy {np.mean([r['test_acc'] for r in rs]):.4f} "
        f"(min {min(r['test_acc'] for r in rs):.4f}, max {max(r['test_acc'] for r in rs):.4f}); "
        f"whole-design LUTs {min(r['design_luts'] for r in rs)}–{max(r['design_luts'] for r in rs)}.\n"
    )
    # ---------------------------------------------------------------- Q1
    if len(encs) > 1:
        out.append("### Q1. Which encodings preserve the input metric, and does that predict accuracy at equal LUTs?\n")
        t = _encoding_distortion_table(rs)
        if t:
            out.append(
                "Every code on the same 4,000 random pairs of test points (d = distance of the raw integer features, H = Hamming distance of the codes):\n"
            )
            out.append(t + "\n")
        rows = []
        for e in encs:
            g = [r for r in rs if encoding_name(r["config"]) == e]
            rows.append(
                [
                    e,
                    len(g),
                    np.nanmean([_get(r, "measures.distortion.spearman_l1") for r in g]),
                    np.nanmean([_get(r, "measures.distortion.distortion_q") for r in g]),
                    np.nanmean([_get(r, "measures.distortion.collision_frac") for r in g]),
                    np.mean([r["test_acc"] for r in g]),
                    np.nanmean(_within_arch(rs)[[rs.index(r) for r in g]]),
                    np.mean([r["design_luts"] for r in g]),
                    np.mean([r["gap"] for r in g]),
                ]
            )
        out.append(
            "Per encoding over the trained networks (the network's own encoder; learned thresholds after training):\n"
        )
        out.append(
            _table(
                [
                    "encoding",
                    "networks",
                    "Spearman(d_L1,H)",
                    "distortion q95/q05",
                    "collisions",
                    "test acc",
                    "acc − architecture mean",
                    "design LUTs",
                    "gap",
                ],
                rows,
            )
            + "\n"
        )
        pres = np.array([_get(r, "measures.distortion.spearman_l1") for r in rs])
        wa = _within_arch(rs)
        s1 = bootstrap_spearman(pres, wa)
        res = _residual_on_luts(rs)
        s2 = bootstrap_spearman(pres, res)
        s3 = bootstrap_spearman(pres, [r["test_acc"] for r in rs])
        ans["q1_within_arch"] = s1
        ans["q1_resid_luts"] = s2
        out.append(
            f"Metric preservation is a property of the encoder, so the {len(rs)} networks carry only "
            f"{len({round(float(p), 3) for p in pres if np.isfinite(p)})} distinct values of it ({len(encs)} encodings; learned "
            "thresholds move a little per network): the correlations below rank encodings more than networks.\n\n"
            f"- metric preservation (Spearman(d_L1, H) of the encoder) vs test accuracy minus the mean of the same architecture "
            f"(connectivity, K, layers, seed; the core LUT budget is equal): **{_fmt_ci(s1)}**\n"
            f"- the same vs test accuracy minus a fit on log10(whole-design LUTs): **{_fmt_ci(s2)}**\n"
            f"- the same vs raw test accuracy: {_fmt_ci(s3)}\n"
        )
        fig, ax = plt.subplots(1, 2, figsize=(10, 4))
        for e in encs:
            idx = [i for i, r in enumerate(rs) if encoding_name(r["config"]) == e]
            ax[0].scatter([rs[i]["design_luts"] for i in idx], [rs[i]["test_acc"] for i in idx], s=12, label=e)
            ax[1].scatter(pres[idx], wa[idx], s=12, label=e)
        ax[0].set_xscale("log")
        ax[0].set_xlabel("whole-design LUTs")
        ax[0].set_ylabel("test accuracy")
        ax[1].set_xlabel("Spearman(d_L1, Hamming) of the encoder")
        ax[1].set_ylabel("test acc − architecture mean")
        ax[0].legend(fontsize=7)
        f1 = _fig(fig, figdir / f"{prefix}_q1.png")
        out.append(f"![Q1]({figdir.name}/{f1})\n")
    # ---------------------------------------------------------------- Q2
    out.append("### Q2. Does Hamming smoothness predict the generalisation gap (train − test accuracy)?\n")
    gap = np.array([r["gap"] for r in rs])
    measures = [
        ("data_test.avg_sensitivity", "sensitivity on test data (total influence / n)"),
        ("data_test.total_influence", "total influence on test data"),
        ("data_train.total_influence", "total influence on train data"),
        ("data_test.sensitivity_zero_frac", "fraction of test points no single flip changes"),
        ("data_test.noise_stability.0.01", "noise stability p=0.01 on test data"),
        ("data_test.noise_stability.0.1", "noise stability p=0.1 on test data"),
        ("uniform.total_influence", "total influence, uniform x"),
        ("uniform.noise_stability.0.01", "noise stability p=0.01, uniform x"),
    ]
    rows = []
    for key, label in measures:
        parts = key.split(".")
        path = "measures." + ".".join(parts[:2]) + ("." + ".".join(parts[2:]) if len(parts) > 2 else "")
        if key.count(".") >= 2 and "noise_stability" in key:
            v = np.array(
                [r["measures"][parts[0]]["noise_stability"].get(".".join(parts[2:]), np.nan) for r in rs], float
            )
        else:
            v = np.array([_get(r, path) for r in rs])
        sg = bootstrap_spearman(v, gap)
        sw = bootstrap_spearman(v, _within_arch(rs, "gap"))
        st = bootstrap_spearman(v, [r["test_acc"] for r in rs])
        ans[f"q2_{key}"] = sg
        rows.append(
            [
                label,
                _ci(sg),
                _ci(sw),
                _ci({**st, "lo": math.nan}),
                sg["n"],
            ]
        )
    out.append(
        _table(
            [
                "measure",
                "Spearman vs gap [95% CI]",
                "Spearman vs gap − architecture mean",
                "Spearman vs test acc",
                "networks",
            ],
            rows,
        )
        + "\n"
    )
    sens = np.array([_get(r, "measures.data_test.avg_sensitivity") for r in rs])
    fig, ax = plt.subplots(figsize=(5, 4))
    for e in encs:
        idx = [i for i, r in enumerate(rs) if encoding_name(r["config"]) == e]
        ax.scatter(sens[idx], gap[idx], s=12, label=e)
    ax.set_xscale("log")
    ax.set_xlabel("sensitivity on test data (total influence / n)")
    ax.set_ylabel("gap (train − test accuracy)")
    ax.legend(fontsize=7)
    f2 = _fig(fig, figdir / f"{prefix}_q2.png")
    out.append(f"![Q2]({figdir.name}/{f2})\n")
    # ---------------------------------------------------------------- topology
    conns = sorted({str(r["config"].get("model", {}).get("connectivity")) for r in rs})
    if len(conns) > 1:
        out.append("### Topology: learned vs random vs local connectivity\n")
        conns = sorted({str(r["config"].get("model", {}).get("connectivity")) for r in rs})
        rows = []
        for c in conns:
            g = [r for r in rs if str(r["config"].get("model", {}).get("connectivity")) == c]
            rows.append(
                [c, len(g)]
                + [
                    np.nanmean([_get(r, f"measures.topology.{k}") for r in g])
                    for k in ("fanout_cv", "unused_frac", "overlap_ratio", "path_gini", "locality", "rf_pixels")
                ]
                + [np.mean([r["test_acc"] for r in g]), np.mean([r["gap"] for r in g])]
            )
        out.append(
            _table(
                [
                    "connectivity",
                    "networks",
                    "fan-out CV",
                    "unused inputs",
                    "overlap / random",
                    "path Gini",
                    "locality",
                    "pixels per output",
                    "test acc",
                    "gap",
                ],
                rows,
            )
            + "\n"
        )
        rows = []
        wc = _within(rs, "model.connectivity")
        for k in ("fanout_cv", "unused_frac", "overlap_ratio", "path_gini", "locality", "rf_pixels"):
            v = [_get(r, f"measures.topology.{k}") for r in rs]
            sa, sg = bootstrap_spearman(v, wc), bootstrap_spearman(v, gap)
            rows.append(
                [
                    k,
                    _ci(sa),
                    _ci(sg),
                    sa["n"],
                ]
            )
        out.append(
            _table(
                [
                    "topology measure",
                    "Spearman vs acc − mean of the same encoding/K/layers/seed",
                    "Spearman vs gap",
                    "networks",
                ],
                rows,
            )
            + "\n"
        )
    # ---------------------------------------------------------------- Q3 (choosing by it)
    out.append("### Q3. Choosing by the measures\n")
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rs:
        groups[json.dumps({k: v for k, v in r["axes"].items() if k != "encoder"}, sort_keys=True, default=str)].append(
            r
        )
    picks = defaultdict(list)
    for g in groups.values():
        if len(g) < 2:
            continue
        picks["mean of the group"].append(np.mean([r["test_acc"] for r in g]))
        picks["best metric preservation"].append(
            max(g, key=lambda r: _get(r, "measures.distortion.spearman_l1"))["test_acc"]
        )
        picks["lowest test-data sensitivity"].append(
            min(g, key=lambda r: _get(r, "measures.data_test.avg_sensitivity"))["test_acc"]
        )
        picks["highest train accuracy"].append(max(g, key=lambda r: r["train_acc"])["test_acc"])
        picks["best test accuracy (oracle)"].append(max(r["test_acc"] for r in g))
    if picks:
        ng = len(picks["mean of the group"])
        out.append(
            f"Within each architecture group ({ng} groups; one network per encoding), the test accuracy of the network a rule picks:\n"
        )
        out.append(
            _table(["rule", "mean test acc", "groups"], [[k, float(np.mean(v)), len(v)] for k, v in picks.items()])
            + "\n"
        )
        ans["q3_picks"] = {k: float(np.mean(v)) for k, v in picks.items()}
    for axis in ("model.smooth", "train.augment"):
        vals = sorted({str(r["axes"].get(axis)) for r in rs if axis in r["axes"]})
        if len(vals) > 1:
            rows = []
            for v in vals:
                g = [r for r in rs if str(r["axes"].get(axis)) == v]
                acc = [r["test_acc"] for r in g]
                rows.append(
                    [
                        f"{axis} = {v}",
                        len(g),
                        float(np.mean(acc)),
                        float(np.std(acc)),
                        float(np.mean([r["gap"] for r in g])),
                        float(np.nanmean([_get(r, "measures.data_test.avg_sensitivity") for r in g])),
                        float(np.mean([r["design_luts"] for r in g])),
                    ]
                )
            out.append(
                _table(
                    [
                        "training toward smoothness",
                        "networks",
                        "test acc",
                        "std",
                        "gap",
                        "test sensitivity",
                        "design LUTs",
                    ],
                    rows,
                )
                + "\n"
            )
    return "\n".join(out), ans


def write_report(
    folders: Sequence[str | Path], path: str | Path, command: str = "lutnn study SPEC --out DIR", intro: str = ""
) -> Path:
    """Write the markdown report over every finished network in ``folders`` (figures beside it)."""
    path = Path(path)
    figdir = path.parent / (path.stem + "_figures")
    figdir.mkdir(parents=True, exist_ok=True)
    by_ds: dict[str, list[dict]] = {}
    for f in folders:
        rs = load_results(f)
        if rs:
            by_ds[f"{rs[0]['dataset']} ({Path(f).name})"] = rs
    parts = [
        "# LUT networks: topology × node function × encoding, measured\n",
        f"Regenerate: `{command}` (resumable; `--report-only` rewrites this file from finished networks).\n",
        "Definitions of every measure: docs/measures.md. Spearman correlations carry a 95% percentile-bootstrap CI "
        "(2,000 resamples of the networks) and the count of networks.\n",
    ]
    if intro:
        parts.append(intro + "\n")
    for name, rs in by_ds.items():
        text, _ = _section(name, rs, figdir, Path(name.split(" (")[1].rstrip(")")).name.replace(" ", "_"))
        parts.append(text)
    return atomic_write(path, "\n".join(parts))
