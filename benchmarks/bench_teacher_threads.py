"""Cost of the thread-count-independent teacher: digits MLP teacher (30 epochs) on 1 thread vs torch's N threads.

The teacher now always runs on one thread (lutnet/teacher.py:single_thread) so that a seeded run gives the same
netlist on any core count; this measures what that costs against letting MKL use N threads.

    .venv/bin/python benchmarks/bench_teacher_threads.py [--threads 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

import lutnn.lutnet.teacher as teacher_mod
from lutnn.data import load_digits
from lutnn.quantizer import FeatureQuantizer


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    ds = load_digits()
    qz = FeatureQuantizer.fit(ds.x_train, None)
    q = torch.as_tensor(qz.transform(ds.x_train), dtype=torch.long)
    y = torch.as_tensor(ds.y_train, dtype=torch.long)
    rows = {}
    for mode in ("one_thread", f"{args.threads}_threads"):
        torch.set_num_threads(args.threads)
        if mode == "one_thread":
            fn = teacher_mod.train_teacher
        else:
            fn = teacher_mod._train_teacher  # the same loop without the single-thread guard
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            if mode == "one_thread":
                fn(q, y, 10, (1 << qz.width) - 1, epochs=30)
            else:
                fn(q, y, 10, (1 << qz.width) - 1, 30, 128, 1e-3, 0, None)
            times.append(time.perf_counter() - t)
        rows[mode] = {"best_s": min(times), "median_s": sorted(times)[len(times) // 2]}
    out = {"bench": "teacher_threads", "load_avg": os.getloadavg(), "cpus": os.cpu_count(), "rows": rows}
    print(json.dumps(out, indent=2))
    res = Path(__file__).parent / "results"
    res.mkdir(exist_ok=True)
    (res / "teacher_threads.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
