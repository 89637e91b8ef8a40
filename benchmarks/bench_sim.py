"""Simulator throughput: LUT-evaluations per second (one LUT on one sample = 1).

Random 6-LUT netlists (every node 6 inputs, fan-ins drawn uniformly from all earlier signals,
the cache-hostile worst case; plus 10^5 and 10^6 nodes with fan-ins from the previous 1000
signals, like a layered network) of 10^3 .. 10^6 nodes are evaluated by

* the bit-parallel simulator on one core (``simulate_packed``, 64 samples per word),
* the same with numba threads (opt-in multi-core mode, reported separately),
* the naive per-sample evaluator (one table lookup per node per sample),

and the outputs of all three are checked against each other. Prints a table and writes
``benchmarks/results/bench_sim.json``.

    .venv/bin/python benchmarks/bench_sim.py            # all sizes, ~2 minutes
    .venv/bin/python benchmarks/bench_sim.py --quick    # 10^3 and 10^4 only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numba
import numpy as np
from rich.console import Console
from rich.progress import track
from rich.table import Table

from lutnn.netlist import random_netlist
from lutnn.sim import chunk_words_for, simulate_naive, simulate_packed, unpack_bits

# The estimate of the one-core limit: 64-bit logic ops/s × 64 samples per word ÷ ~190 ops
# per 6-input mux tree ≈ 1e9 LUT-evaluations/s, ×4 with 256-bit SIMD.
SCALAR_LIMIT = 1e9
SIMD256_LIMIT = 4e9

RESULTS = Path(__file__).resolve().parent / "results" / "bench_sim.json"


def _time_best(fn, repeats: int) -> tuple[float, float]:
    """Best wall-clock and best process-CPU seconds over ``repeats`` runs.

    On a shared machine the CPU time of a single-threaded run is the fairer one-core figure:
    it leaves out the time the scheduler gave to other processes.
    """
    wall = cpu = float("inf")
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu


def run(
    sizes: list[tuple[int, int | None]], repeats: int, evals_target: float, naive_evals: float, n_inputs: int = 64
) -> list[dict]:
    rows = []
    rng = np.random.default_rng(0)
    # compile every kernel once on a small netlist so no timing includes JIT work
    warm = random_netlist(8, 50, 6, seed=0)
    w = rng.integers(0, 2**63, size=(8, 16), dtype=np.int64).astype(np.uint64)
    simulate_packed(warm, w)
    simulate_packed(warm, w, threads=True)
    simulate_naive(warm, unpack_bits(w, 64))
    for n, loc in track(sizes, description="netlists"):
        nl = random_netlist(n_inputs, n, 6, seed=n, n_outputs=64, locality=loc)
        words = int(max(64, min(1 << 16, evals_target // (n * 64)))) // 8 * 8
        x = rng.integers(0, 2**63, size=(n_inputs, words), dtype=np.int64).astype(np.uint64)
        x |= rng.integers(0, 2, size=(n_inputs, words), dtype=np.int64).astype(np.uint64) << np.uint64(63)
        samples = words * 64
        res: dict = {}

        def one(res=res, nl=nl, x=x):
            res["one"] = simulate_packed(nl, x)

        def multi(res=res, nl=nl, x=x):
            res["multi"] = simulate_packed(nl, x, threads=True)

        t1_wall, t1 = _time_best(one, repeats)
        tm, tm_cpu = _time_best(multi, repeats)
        assert np.array_equal(res["one"], res["multi"]), "multi-core result differs"
        n_naive = int(max(64, min(samples, naive_evals // n)))
        xb = unpack_bits(x, n_naive)
        c0 = time.process_time()
        ref = simulate_naive(nl, xb)
        tn = time.process_time() - c0
        assert np.array_equal(ref, unpack_bits(res["one"], n_naive)), "bit-parallel result differs from naive"
        one_rate = n * samples / t1
        rows.append(
            {
                "nodes": n,
                "fanin_window": loc,
                "inputs": n_inputs,
                "samples": samples,
                "chunk_words": chunk_words_for(nl),
                "one_core_cpu_s": t1,
                "one_core_wall_s": t1_wall,
                "one_core_evals_per_s": one_rate,
                "one_core_evals_per_wall_s": n * samples / t1_wall,
                "multi_core_threads": numba.get_num_threads(),
                "multi_core_evals_per_s": n * samples / tm,
                "multi_core_cpu_s": tm_cpu,
                "naive_samples": n_naive,
                "naive_evals_per_s": n * n_naive / tn,
                "speedup_vs_naive": one_rate / (n * n_naive / tn),
                "fraction_of_scalar_limit": one_rate / SCALAR_LIMIT,
                "fraction_of_simd256_limit": one_rate / SIMD256_LIMIT,
            }
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="only 10^3 and 10^4 nodes")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    sizes: list[tuple[int, int | None]] = [(1_000, None), (10_000, None)]
    if not args.quick:
        sizes += [(100_000, None), (1_000_000, None), (100_000, 1000), (1_000_000, 1000)]
    console = Console(width=150)
    rows = run(sizes, args.repeats, evals_target=1.6e10, naive_evals=1e8)
    tab = Table(title="lutnn.sim: random 6-LUT netlists, LUT-evaluations per second")
    for col in (
        "nodes",
        "fan-ins from",
        "samples",
        "1 core",
        "÷ 1e9 (scalar limit)",
        "÷ 4e9 (SIMD-256 limit)",
        "threads",
        "multi-core",
        "naive",
        "1 core ÷ naive",
    ):
        tab.add_column(col, justify="right")
    for r in rows:
        tab.add_row(
            f"{r['nodes']:,}",
            "all earlier" if r["fanin_window"] is None else f"last {r['fanin_window']:,}",
            f"{r['samples']:,}",
            f"{r['one_core_evals_per_s']:.2e}",
            f"{r['fraction_of_scalar_limit']:.1f}",
            f"{r['fraction_of_simd256_limit']:.2f}",
            str(r["multi_core_threads"]),
            f"{r['multi_core_evals_per_s']:.2e}",
            f"{r['naive_evals_per_s']:.2e}",
            f"{r['speedup_vs_naive']:.0f}×",
        )
    console.print(tab)
    meta = {
        "benchmark": "bench_sim",
        "unit": "LUT-evaluations per second (one LUT on one sample = 1); one-core and naive rates per "
        "process-CPU second, multi-core per wall-clock second",
        "netlists": "random_netlist(64 inputs, n nodes, k=6): every node 6 inputs, uniform random fan-ins "
        "from all earlier signals, or from the previous fanin_window signals",
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores_visible": os.cpu_count(),
            "load_average_at_end": os.getloadavg(),
            "numba": numba.__version__,
            "numba_threads": numba.get_num_threads(),
        },
        "limits": {"scalar_issue_estimate": SCALAR_LIMIT, "simd256_issue_estimate": SIMD256_LIMIT},
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(meta, indent=2) + "\n")
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
