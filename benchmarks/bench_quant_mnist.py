"""MNIST "HDR" (PolyLUT/NeuraLUT shape): 2-bit, fan-in 6, hidden [256,100,100,100,100], linear neurons.

Trains with QAT (LogicNets-style linear neurons), compiles by the truth-table route, checks the
circuit against the integer model on all 10,000 test images, synthesises (ABC K-LUT mapping and
Yosys synth_xilinx) and writes benchmarks/results/quant_mnist.json.

    .venv/bin/python benchmarks/bench_quant_mnist.py --no-fraig             # train (30 epochs) + compile + synth
    .venv/bin/python benchmarks/bench_quant_mnist.py --model benchmarks/results/quant_mnist.pt   # reuse
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

import numpy as np

from lutnn.quantnet.io import load_quant_model
from lutnn.quantnet.qat import QuantMLP, evaluate, save_quant_model, shift_augment, train_qat

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def load_mnist(root: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The IDX files under ``root`` → float images in [0, 1] (flattened) and labels."""
    try:
        from lutnn.data import load_mnist as _lm  # helper C's loader when present

        d = _lm(root) if root else _lm()
        return d[0], d[1], d[2], d[3]
    except Exception:
        pass

    def imgs(name):
        with gzip.open(root / name) as f:
            return np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784).astype(np.float32) / 255.0

    def labs(name):
        with gzip.open(root / name) as f:
            return np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)

    return (
        imgs("train-images-idx3-ubyte.gz"),
        labs("train-labels-idx1-ubyte.gz"),
        imgs("t10k-images-idx3-ubyte.gz"),
        labs("t10k-labels-idx1-ubyte.gz"),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "mnist")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--model", type=Path, default=None, help="reuse a trained .pt (skip training)")
    ap.add_argument("--mask", default="learned", choices=["learned", "random"])
    ap.add_argument(
        "--shift",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="augment: ±1-pixel shifts of half the images",
    )
    ap.add_argument("--prune-epochs", type=int, default=10, help="learned masks: gradual (cubic) pruning over N epochs")
    ap.add_argument("--in-bits", type=int, default=2)
    ap.add_argument("--w-bits", type=int, default=4, help="weight bits (free in the truth-table route)")
    ap.add_argument("--no-synth", action="store_true")
    ap.add_argument("--gates", action="store_true", help="also map to 2-input gates (slow at this size)")
    ap.add_argument("--no-fraig", action="store_true", help="skip ABC's SAT sweeping (stalls on large designs)")
    ap.add_argument("--xilinx-max-luts", type=int, default=3000, help="skip synth_xilinx above this many LUTs")
    ap.add_argument("--out", default="quant_mnist")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    xtr, ytr, xte, yte = load_mnist(args.data)
    res: dict = {"benchmark": "quant_mnist_hdr"}
    t0 = time.time()
    if args.model:
        model = load_quant_model(args.model)
    else:
        model = QuantMLP(
            784,
            [256, 100, 100, 100, 100],
            10,
            in_bits=args.in_bits,
            in_scale=1 / ((1 << args.in_bits) - 1),
            w_bits=args.w_bits,
            act_bits=2,
            fan_in=6,
            mask=args.mask,
            seed=0,
        )
        hist = train_qat(
            model,
            xtr,
            ytr,
            epochs=args.epochs,
            lr=args.lr,
            batch_size=args.batch,
            prune_epochs=args.prune_epochs,
            augment=shift_augment((28, 28)) if args.shift else None,
            x_val=xte,
            y_val=yte,
        )
        res["train_s"] = round(time.time() - t0, 1)
        res["train_args"] = {k: getattr(args, k) for k in ("epochs", "lr", "batch", "prune_epochs", "shift", "w_bits")}
        res["history"] = hist
        save_quant_model(model, RESULTS / f"{args.out}.pt")
    res["config"] = model.config
    res["float_acc"] = evaluate(model, xte, yte)
    im = model.integer_model()
    codes_te = im.quantize_input(xte)
    res["int_acc"] = float((im.predict(codes_te) == yte).mean())
    print(f"float (fake-quant) acc {res['float_acc']:.4f}  integer-model acc {res['int_acc']:.4f}")
    from lutnn.quantnet.arith import compile_and_report

    res.update(
        compile_and_report(
            im,
            codes_te,
            yte,
            name="mnist_hdr",
            synth=not args.no_synth,
            gates=args.gates,
            fraig=False if args.no_fraig else None,
            xilinx_max_luts=args.xilinx_max_luts,
        )
    )
    (RESULTS / f"{args.out}.json").write_text(json.dumps(res, indent=1, default=str))
    print(json.dumps({k: v for k, v in res.items() if k != "history"}, indent=1, default=str))


if __name__ == "__main__":
    main()
