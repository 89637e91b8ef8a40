"""Training throughput of LUT layers on CPU: LUT-samples/s (one node on one sample, forward + backward).

Model: 784 input bits → 8,000 → 8,000 LUT6 nodes → 10-class group sum, the configuration of the
issue (difflogic's CPU path measured ≈1.6e7 gate-samples/s here; torch-dwn has no CPU kernel).
Rows: the fused numba kernels with EFD and FD input gradients, the same layer on plain torch
ops (what a GPU runs), and the multilinear (soft-input) form. Each row times ``--steps`` full
training steps (forward, backward, Adam) after a warm-up step and reports the best (and median)
wall time and the process CPU time per step; the load average is recorded with the figures,
because other processes on a shared machine inflate wall times. Memory per sample is measured:
the bytes of every batch-sized tensor that autograd saves for the backward pass (hooked), and
the peak memory of a step: the resident-set high-water mark over the timed steps minus the
resident set before them (each row runs in a fresh process, big buffers are mmapped).

Threads: torch and numba each bring their own OpenMP runtime, and with the default (active)
wait policy each one's idle workers spin while the other's run. On a machine shared with other
jobs, ``OMP_WAIT_POLICY=PASSIVE`` or ``--torch-threads 1`` (torch only runs the head, the loss
and Adam) keeps them from competing; the JSON records both settings.

    .venv/bin/python benchmarks/bench_train_throughput.py [--threads 2] [--batch 256 1024] [--steps 8]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time
from pathlib import Path

import numba
import torch

import lutnn.lutnet.lut as lut_mod
from lutnn.lutnet.heads import GroupSum
from lutnn.lutnet.lut import LUTLayer


def _proc_status_mb(field: str) -> float | None:
    """``VmRSS`` / ``VmHWM`` of this process in MiB from /proc (None where there is no /proc)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    """Reset this process's RSS high-water mark (Linux: write 5 to /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _child(job: tuple) -> dict:
    """Run one :func:`measure` in a fresh process (so its RSS high-water mark is its own)."""
    threads, torch_threads, args, kwargs = job
    torch.set_num_threads(torch_threads)
    numba.set_num_threads(threads)
    return measure(*args, **kwargs)


def measure(
    mode: str,
    batch: int,
    steps: int,
    widths=(8000, 8000),
    n_in: int = 784,
    torch_ops: bool = False,
    fused_adam: bool = False,
) -> dict:
    """Time ``steps`` training steps of the benchmark model; returns one result row."""
    torch.manual_seed(0)
    grad = "multilinear" if mode == "multilinear" else mode
    layers, w_in = [], n_in
    for i, w in enumerate(widths):
        layers.append(LUTLayer(w_in, w, 6, grad=grad, seed=i))
        w_in = w
    head = GroupSum(w_in, 10, tau=30.0)
    params = [p for layer in layers for p in layer.parameters()]
    param_ptrs = {p.data_ptr() for p in params}
    opt = torch.optim.Adam(params, lr=0.01, fused=fused_adam or None)
    x = torch.randint(0, 2, (batch, n_in)).float()
    y = torch.randint(0, 10, (batch,))
    saved = lut_mod._use_numba
    if torch_ops:
        lut_mod._use_numba = lambda *a: False
    saved_bytes = [0]

    def pack(t: torch.Tensor) -> torch.Tensor:
        if batch in t.shape and t.data_ptr() not in param_ptrs:
            saved_bytes[0] += t.numel() * t.element_size()
        return t

    def _step() -> None:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
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

    try:
        _step()  # warm-up: loads / compiles kernels, allocates Adam's state
        rss0 = _proc_status_mb("VmRSS") if _reset_peak_rss() else None
        walls, cpus = [], []
        for _ in range(steps):
            saved_bytes[0] = 0
            t, c = time.perf_counter(), time.process_time()
            _step()
            walls.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
        peak = _proc_status_mb("VmHWM")
    finally:
        lut_mod._use_numba = saved

    nodes = sum(widths)
    best, med = min(walls), sorted(walls)[len(walls) // 2]
    return {
        "mode": mode + (" (torch ops)" if torch_ops else ""),
        "batch": batch,
        "step_ms": round(1000 * best, 1),
        "median_step_ms": round(1000 * med, 1),
        "cpu_ms_per_step": round(1000 * min(cpus), 1),
        "lut_samples_per_s": nodes * batch / best,
        "lut_samples_per_cpu_s": nodes * batch / min(cpus),
        "saved_bytes_per_sample": saved_bytes[0] // batch,
        # high-water RSS during the timed steps minus the RSS before them: everything a step
        # allocates (saved tensors, activations, gradients, kernel buffers); None without /proc
        "step_peak_rss_mb": round(peak - rss0, 1) if rss0 is not None and peak is not None else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2, help="numba threads (the LUT kernels)")
    ap.add_argument("--torch-threads", type=int, default=0, help="torch intra-op threads (default: --threads)")
    ap.add_argument("--batch", type=int, nargs="+", default=[256, 1024])
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--fused-adam", action="store_true", help="torch's fused Adam (train.py uses the default)")
    ap.add_argument("--no-multilinear", action="store_true", help="skip the (slow) multilinear row")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "train_throughput.json"))
    a = ap.parse_args()
    torch_threads = a.torch_threads or a.threads
    torch.set_num_threads(torch_threads)
    numba.set_num_threads(a.threads)
    load0 = os.getloadavg()[0]
    jobs = [
        ((mode, b, a.steps), {"torch_ops": tops, "fused_adam": a.fused_adam})
        for b in a.batch
        for mode, tops in (("efd", False), ("fd", False), ("efd", True))
    ]
    if not a.no_multilinear:
        jobs.append((("multilinear", 64, max(2, a.steps // 2)), {"fused_adam": a.fused_adam}))
    rows = []
    ctx = multiprocessing.get_context("spawn")
    for args, kwargs in jobs:
        with ctx.Pool(1) as pool:  # timing: a fresh process per row
            row = pool.apply(_child, ((a.threads, torch_threads, args, kwargs),))
        # memory: another fresh process whose glibc returns big freed buffers at once (a fixed
        # mmap threshold), so the resident set follows the live tensors; not used for timing,
        # since mapping fresh pages every step slows the step down
        os.environ["MALLOC_MMAP_THRESHOLD_"] = str(1 << 17)
        try:
            with ctx.Pool(1) as pool:
                mem = pool.apply(_child, ((a.threads, torch_threads, (args[0], args[1], 2), kwargs),))
        finally:
            os.environ.pop("MALLOC_MMAP_THRESHOLD_", None)
        row["step_peak_rss_mb"] = mem["step_peak_rss_mb"]
        rows.append(row)
        print(row, flush=True)
    load1 = os.getloadavg()[0]
    print(f"\n784→8000→8000→10 LUT6 network, forward+backward+Adam, {a.threads} numba / {torch_threads} torch threads")
    print(f"load average (1 min) {load0:.1f} at start, {load1:.1f} at end on {os.cpu_count()} CPUs")
    print(
        f"{'mode':20s} {'batch':>6s} {'best ms':>8s} {'median':>8s} {'cpu ms':>8s} {'LUT-samples/s':>14s}"
        f" {'saved B/sample':>15s} {'step peak MB':>13s}"
    )
    for r in rows:
        print(
            f"{r['mode']:20s} {r['batch']:6d} {r['step_ms']:8.1f} {r['median_step_ms']:8.1f} {r['cpu_ms_per_step']:8.1f}"
            f" {r['lut_samples_per_s']:14.3e} {r['saved_bytes_per_sample']:15,d} {r['step_peak_rss_mb'] or float('nan'):13.1f}"
        )
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "threads": a.threads,
        "torch_threads": torch_threads,
        "numba_threading_layer": numba.threading_layer(),
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", ""),
        "avx512_kernel": getattr(lut_mod, "USE_AVX512", None),
        "fused_adam": a.fused_adam,
        "model": "784-8000-8000-10, K=6",
        "loadavg_1min": [load0, load1],
    }
    out.write_text(json.dumps({**meta, "cpus": os.cpu_count(), "rows": rows}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
