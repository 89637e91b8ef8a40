"""Training throughput of LUT layers on CPU: LUT-samples/s (one node on one sample, forward + backward).

Model: 784 input bits → 8,000 → 8,000 LUT6 nodes → 10-class group sum, the configuration of the
issue (difflogic's CPU path measured ≈1.6e7 gate-samples/s here; torch-dwn has no CPU kernel).
Rows: the fused numba kernels with EFD and FD input gradients, the same layer on plain torch
ops (what a GPU runs), and the multilinear (soft-input) form. Memory per sample is what the
backward pass keeps (uint8 addresses + activations) and the measured peak RSS growth.

    .venv/bin/python benchmarks/bench_train_throughput.py [--threads 2] [--batch 256 1024] [--steps 5]
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numba
import torch

import lutnn.nn.lut as lut_mod
from lutnn.nn.heads import GroupSum
from lutnn.nn.lut import LUTLayer


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(mode: str, batch: int, steps: int, widths=(8000, 8000), n_in: int = 784, torch_ops: bool = False) -> dict:
    torch.manual_seed(0)
    grad = "multilinear" if mode == "multilinear" else mode
    layers, w_in = [], n_in
    for i, w in enumerate(widths):
        layers.append(LUTLayer(w_in, w, 6, grad=grad, seed=i))
        w_in = w
    head = GroupSum(w_in, 10, tau=30.0)
    params = [p for layer in layers for p in layer.parameters()]
    opt = torch.optim.Adam(params, lr=0.01)
    x = torch.randint(0, 2, (batch, n_in)).float()
    y = torch.randint(0, 10, (batch,))
    saved = lut_mod._use_numba
    if torch_ops:
        lut_mod._use_numba = lambda *a: False
    try:
        rss0 = _rss_mb()
        times = []
        for s in range(steps + 1):
            t = time.perf_counter()
            if mode == "multilinear":
                h = x
                for layer in layers:
                    h = layer(h)
                logits = head(h)
            else:
                h = x.t().contiguous()
                for layer in layers:
                    h = layer.forward_t(h)
                logits = head.forward_t(h)
            loss = torch.nn.functional.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if s:  # first step warms caches / compiles
                times.append(time.perf_counter() - t)
        dt = sorted(times)[len(times) // 2]
    finally:
        lut_mod._use_numba = saved
    nodes = sum(widths)
    return {
        "mode": mode + (" (torch ops)" if torch_ops else ""),
        "batch": batch,
        "step_ms": round(1000 * dt, 1),
        "lut_samples_per_s": nodes * batch / dt,
        "peak_rss_growth_mb": round(_rss_mb() - rss0, 1),
        "saved_bytes_per_sample": nodes * (1 + 4 + 4) if mode != "multilinear" else nodes * (4 * 6 + 4 * 63 * 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, nargs="+", default=[256, 1024])
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "train_throughput.json"))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    numba.set_num_threads(a.threads)
    rows = []
    for b in a.batch:
        for mode, tops in (("efd", False), ("fd", False), ("efd", True)):
            rows.append(measure(mode, b, a.steps, torch_ops=tops))
            print(rows[-1], flush=True)
    rows.append(measure("multilinear", 64, max(2, a.steps // 2)))
    print(rows[-1], flush=True)
    print(f"\n784→8000→8000→10 LUT6 network, forward+backward+Adam, {a.threads} threads")
    print(f"{'mode':24s} {'batch':>6s} {'ms/step':>9s} {'LUT-samples/s':>14s} {'saved B/sample':>15s}")
    for r in rows:
        print(
            f"{r['mode']:24s} {r['batch']:6d} {r['step_ms']:9.1f} {r['lut_samples_per_s']:14.3e} {r['saved_bytes_per_sample']:15,d}"
        )
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"threads": a.threads, "model": "784-8000-8000-10, K=6", "rows": rows}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
