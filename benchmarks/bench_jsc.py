"""JSC benchmark: runs when a JSC file is present (it is not in ../shared/datasets; no copy could be fetched).

Targets (issue): OpenML 42468 version ≥ 75.5% with ≤ 2,000 LUT6 whole design (DWN md 75.6% at
1,697 incl. encoder); CERNBox version ≥ 72% with ≤ 1,000 LUT6 (PolyLUT-Add 72% at 895).

    LUTNN_JSC_OPENML=/path/hls4ml_lhc_jets_hlf.arff LUTNN_JSC_CERNBOX=/path/....z \\
        .venv/bin/python benchmarks/bench_jsc.py
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_digits import ROOT, print_table, run
from lutnn.lutnet.config import load_config


def main() -> None:
    rows, skipped = [], []
    for env, cfg_name in (("LUTNN_JSC_OPENML", "jsc_openml.toml"), ("LUTNN_JSC_CERNBOX", "jsc_cernbox.toml")):
        path = os.environ.get(env)
        cfg_path = ROOT / "configs" / cfg_name
        if not path or not Path(path).exists():
            skipped.append(f"{cfg_name}: set {env} to the JSC file (not present on this machine)")
            continue
        tmp = ROOT / "runs" / "bench" / f"_{cfg_name}"
        tmp.parent.mkdir(parents=True, exist_ok=True)
        text = cfg_path.read_text().replace('path = ""', f"path = {json.dumps(path)}")
        tmp.write_text(text)
        load_config(tmp)  # validate early
        rows.append(run(tmp, ROOT / "runs" / "bench", synth=True, threads=2))
    for s in skipped:
        print("skipped:", s)
    if rows:
        print_table(rows, "LUT networks on JSC")
    out = ROOT / "benchmarks" / "results" / "jsc.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"benchmark": "jsc", "rows": rows, "skipped": skipped}, indent=2, default=str))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
