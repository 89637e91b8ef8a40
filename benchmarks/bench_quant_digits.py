"""Embedded digits (scikit-learn, 8x8): 4-bit MLPs compiled to gates by both routes, 0 disagreements.

    .venv/bin/python benchmarks/bench_quant_digits.py            # writes benchmarks/results/quant_digits.json

a) dense 4-bit MLP 64-16-10 (4-bit inputs, weights, activations) → arithmetic route;
b) sparse 4-bit MLP 64-32-10, fan-in 3 (12 address bits per neuron) → truth-table route.
Each is checked against the integer model on every test image and mapped to 2-input gates,
6-LUTs and Yosys synth_xilinx.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from lutnn.quantnet.arith import compile_and_report
from lutnn.quantnet.qat import QuantMLP, evaluate, train_qat

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--xilinx-max-luts", type=int, default=3000, help="skip synth_xilinx above this many LUT6")
    args = ap.parse_args()
    import torch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    torch.set_num_threads(1)
    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.data / 16.0, d.target, test_size=0.25, random_state=0, stratify=d.target)
    rows = []
    cases = [
        ("dense_4bit_arith", dict(hidden=[16], fan_in=None, w_bits=4), "arith"),
        ("sparse_4bit_tt", dict(hidden=[32], fan_in=[3, 3], w_bits=4), "tt"),
    ]
    for name, cfg, route in cases:
        t0 = time.time()
        m = QuantMLP(
            64,
            cfg["hidden"],
            10,
            in_bits=4,
            in_scale=1 / 15,
            w_bits=cfg["w_bits"],
            act_bits=4,
            fan_in=cfg["fan_in"],
            mask="learned",
            seed=0,
        )
        train_qat(m, xtr, ytr, epochs=60, lr=1e-2, batch_size=64, progress=False)
        train_s = time.time() - t0
        im = m.integer_model()
        codes = im.quantize_input(xte)
        print(f"{name}: trained in {train_s:.0f} s; compiling ({route} route) ...", flush=True)
        r = compile_and_report(im, codes, yte, name=name, route=route, xilinx_max_luts=args.xilinx_max_luts)
        r.update(
            {
                "case": name,
                "hidden": cfg["hidden"],
                "fan_in": cfg["fan_in"],
                "bits": 4,
                "train_s": round(train_s, 1),
                "float_acc": evaluate(m, xte, yte),
                "test_samples": len(yte),
            }
        )
        rows.append(r)
    hdr = f"{'case':<18}{'float':>7}{'int':>7}{'circ':>7}{'disagree':>9}{'gates':>8}{'LUT6':>7}{'xLUT':>7}{'depth':>7}"
    print(hdr)
    for r in rows:
        print(
            f"{r['case']:<18}{r['float_acc']:>7.3f}{r['int_acc']:>7.3f}{r['circuit_acc']:>7.3f}"
            f"{r['compiled_class_disagreements'] + r['lut_disagreements']['class_disagreements']:>9}"
            f"{r['gates']:>8}{r['luts']:>7}{r['xilinx'].get('lut_total', '-'):>7}{r['lut_depth']:>7}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "quant_digits.json").write_text(json.dumps(rows, indent=1, default=str))


if __name__ == "__main__":
    main()
