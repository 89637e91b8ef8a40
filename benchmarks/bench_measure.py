"""Throughput of ``lutnn measure``: flipped-input LUT evaluations per second on the EPFL circuits.

Each circuit is measured with the defaults (exact when n <= 20, else 65,536 seeded samples) and
the work is counted as (n + 1) simulated samples per x for the influences plus one per x and rate
for noise stability, times the LUT count. Writes ``benchmarks/results/bench_measure.json``.

    .venv/bin/python benchmarks/bench_measure.py [--samples N] [--shared PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from lutnn.fileio import atomic_write
from lutnn.formats import read_netlist
from lutnn.study.measure import measure_netlist


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=65536)
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    a = ap.parse_args()
    epfl = Path(a.shared) / "circuits" / "epfl"
    rows = []
    measure_netlist(read_netlist(sorted(epfl.glob("*.aig"))[0]), samples=64)  # compile the kernels first
    for path in sorted(epfl.glob("*.aig")):
        nl = read_netlist(path)
        t = time.perf_counter()
        m = measure_netlist(nl, samples=a.samples)
        dt = time.perf_counter() - t
        evals = (m.samples * (nl.n_inputs + 1) + m.samples * (0 if m.noise_stability_exact else 4)) * nl.n_nodes
        rows.append(
            {
                "circuit": path.stem,
                "inputs": nl.n_inputs,
                "outputs": nl.n_outputs,
                "luts": nl.n_nodes,
                "exact": m.exact,
                "samples": m.samples,
                "seconds": round(dt, 3),
                "lut_evals_per_s": evals / dt,
                "total_influence": m.total_influence,
                "noise_stability": m.noise_stability,
            }
        )
        print(
            f"{path.stem:12s} n={nl.n_inputs:4d} LUTs={nl.n_nodes:6d} {dt:7.2f} s  {evals / dt:.3g} LUT-evals/s  "
            f"I={m.total_influence:.4g}"
        )
    out = Path(__file__).parent / "results" / "bench_measure.json"
    atomic_write(out, json.dumps({"load_avg_1min": os.getloadavg()[0], "rows": rows}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
