"""UNSW-NB15 (network intrusion detection): LUT networks against float baselines on the same split.

Only the 82,332-record partition of UNSW-NB15 is on this machine (../shared/datasets/unsw_nb15_partial),
so lutnn's ``unsw`` loader splits it 75/25 (stratified, random_state=0). The published LUT results
(LogicNets NID-S/M/L 89.4/92.6/93.1% at 110/3,058/9,087 LUT; PolyLUT-Add 92% at 1,649) train on the
official 175,341-record partition and test on this one, with FINN's 593-bit binarisation: the
numbers here are NOT comparable with theirs. The float models (scikit-learn, no hardware) show how
much of the split's accuracy a LUT network leaves on the table.

    .venv/bin/python benchmarks/bench_unsw.py [--data PATH] [--seeds 0,1,2] [--configs unsw_s,unsw_m]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_digits import ROOT, print_table, run

DEFAULT = ROOT.parent / "shared" / "datasets" / "unsw_nb15_partial" / "UNSW_NB15_test_82332.csv.gz"


def float_baselines(path: Path) -> list[dict]:
    """Logistic regression and gradient-boosted trees (scikit-learn) on the same split: no hardware."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from lutnn.data import load_dataset

    ds = load_dataset("unsw", path)
    rows = []
    models = {
        "logistic regression (float)": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
        "gradient-boosted trees (float, sklearn HistGradientBoosting)": HistGradientBoostingClassifier(random_state=0),
    }
    for name, m in models.items():
        t = time.perf_counter()
        m.fit(ds.x_train, ds.y_train)
        acc = float(m.score(ds.x_test, ds.y_test))
        rows.append({"model": name, "acc": acc, "train_s": time.perf_counter() - t})
        print(f"{name}: {100 * acc:.2f}% ({rows[-1]['train_s']:.1f} s)", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT, help="the UNSW-NB15 CSV (.csv or .csv.gz)")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--configs", default="unsw_s,unsw_m")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "unsw.json")
    args = ap.parse_args()
    if not args.data.exists():
        sys.exit(f"UNSW-NB15 CSV not found: {args.data} (put ../shared beside the repository or pass --data)")
    data = args.data.resolve()
    rows = []
    for name in args.configs.split(","):
        for seed in [int(s) for s in args.seeds.split(",")]:
            rows.append(
                run(
                    ROOT / "configs" / f"{name}.toml",
                    ROOT / "runs" / "bench",
                    synth=True,
                    threads=args.threads,
                    seed=seed,
                    overrides=[f"data.path={data}"],
                )
            )
    print_table(rows, "LUT networks on UNSW-NB15 (82,332-record partition, 75/25 split)")
    base = float_baselines(data)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"benchmark": "unsw_partial_75_25", "data": str(data), "rows": rows, "float_baselines": base},
            indent=2,
            default=str,
        )
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
