"""JSC (LogicNets JSC-S/M/L shapes): QAT, truth-table compile, synthesis report, compile time (train excluded).

    .venv/bin/python benchmarks/bench_quant_jsc.py                       # synthetic 16-feature, 5-class stand-in
    .venv/bin/python benchmarks/bench_quant_jsc.py --data jsc_cernbox --path processed-pythia82-...z
    .venv/bin/python benchmarks/bench_quant_jsc.py --configs m          # one configuration

Writes benchmarks/results/quant_jsc.json. LogicNets' published LUTs (Vivado): S 232, M 14,576, L 38,925;
the goal is a third of those at equal accuracy (real data needed for the accuracy side).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from lutnn.quantnet.arith import compile_and_report
from lutnn.quantnet.config import load_quant_config, quant_dataset
from lutnn.quantnet.qat import QuantMLP, evaluate, train_qat

ROOT = Path(__file__).resolve().parents[1]
LOGICNETS = {"s": (232, 0.688), "m": (14576, 0.715), "l": (38925, 0.726)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", default="s,m", help="comma list of s, m, l")
    ap.add_argument("--data", default="jsc_synthetic", help="jsc_synthetic | jsc | jsc_cernbox")
    ap.add_argument("--path", default=None, help="the JSC file for jsc / jsc_cernbox")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-fraig", action="store_true", help="K-LUT mapping without ABC's SAT sweeping (faster)")
    ap.add_argument("--xilinx-max-luts", type=int, default=3000, help="skip synth_xilinx above this many LUT6")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    rows = []
    for c in args.configs.split(","):
        cfg = load_quant_config(ROOT / "configs" / f"quant_jsc_{c}.toml")
        cfg["data"]["name"] = args.data
        if args.path:
            cfg["data"]["path"] = args.path
        xtr, ytr, xte, yte, ncls, _ = quant_dataset(cfg["data"])
        tr = dict(cfg.get("train", {}))
        if args.epochs:
            tr["epochs"] = args.epochs
        t0 = time.time()
        m = QuantMLP(xtr.shape[1], n_classes=ncls, **cfg["model"])
        train_qat(m, xtr, ytr, progress=False, **tr)
        train_s = time.time() - t0
        im = m.integer_model()
        codes = im.quantize_input(xte)
        limit = max(12, max(int(L.fan_in().max()) * L.in_bits for L in im.layers))
        t1 = time.time()
        r = compile_and_report(
            im,
            codes,
            yte,
            name=f"jsc_{c}",
            route="tt",
            limit=limit,
            gates=False,
            xilinx_max_luts=args.xilinx_max_luts,
            fraig=False if args.no_fraig else None,
        )
        r.update({"config": c, "data": args.data, "train_s": round(train_s, 1), "float_acc": evaluate(m, xte, yte),
                  "compile_to_report_s": round(time.time() - t1, 1), "logicnets_luts": LOGICNETS[c][0],
                  "logicnets_acc_cernbox": LOGICNETS[c][1]})  # fmt: skip
        rows.append(r)
        print(
            f"JSC-{c.upper()} ({args.data}): float {r['float_acc']:.4f} int {r['int_acc']:.4f} circuit {r['circuit_acc']:.4f} "
            f"disagreements {r['compiled_class_disagreements']}/{r['lut_disagreements']['class_disagreements']} "
            f"LUT6 (ABC) {r['luts']} synth_xilinx LUTs {r['xilinx'].get('lut_total', '-')} depth {r['lut_depth']} "
            f"compile→report {r['compile_to_report_s']} s (LogicNets {LOGICNETS[c][0]} LUTs)",
            flush=True,
        )
        out = ROOT / "benchmarks" / "results" / f"quant_jsc{'_nofraig' if args.no_fraig else ''}.json"
        out.write_text(json.dumps(rows, indent=1, default=str))  # after each config: partial results survive


if __name__ == "__main__":
    main()
