"""Results reproduce: a seeded run gives the same netlist on 1 and 2 threads (torch and numba)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")

_SCRIPT = """
import sys
from lutnn.lutnet.config import EncoderConfig, ModelConfig, RunConfig, TrainConfig, ExportConfig
from lutnn.lutnet.compile import compile_design
from lutnn.lutnet.train import train
import hashlib, numpy as np
threads = int(sys.argv[1])
cfg = RunConfig(
    encoder=EncoderConfig(kind="quantile", levels=3),
    model=ModelConfig(layers=[600, 50], k=6, connectivity="learned", candidates=4, tau=1.5, smooth=0.3),
    train=TrainConfig(epochs=2, batch_size=512, lr=0.02, seed=0, threads=threads, teacher="mlp", teacher_epochs=2),
    export=ExportConfig(synth=None, hdl_sim=None),
)
res = train(cfg, progress=False)
nl = compile_design(res.model)
h = hashlib.sha256(b"".join(np.ascontiguousarray(a).tobytes() for a in (nl.fanins, nl.tables, nl.output_signals)))
print(h.hexdigest(), round(res.test_accuracy, 6))
"""


def _run(threads: int) -> str:
    env = {**os.environ, "PYTHONPATH": SRC, "NUMBA_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
    r = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(threads)], capture_output=True, text=True, env=env, timeout=600
    )
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout.strip().splitlines()[-1]


def test_netlist_is_identical_on_one_and_two_threads() -> None:
    """The batch of 512 x 600 nodes runs the parallel numba kernels; the teacher's GEMMs would split by threads."""
    one, two = _run(1), _run(2)
    assert one == two, f"1 thread: {one}; 2 threads: {two}"
