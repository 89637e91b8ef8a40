"""MNIST benchmark (60k/10k from ../shared/datasets/mnist or --data-path): accuracy vs LUT6 count.

Targets (issue): ≥ 97.0% with ≤ 1,500 LUT6 core; ≥ 98.0% with ≤ 6,000 LUT6 core. Published
(core only, Vivado): DWN 97.1% at 692, 98.3% at 4,082; TreeLUT 97% at 4,478.

    .venv/bin/python benchmarks/bench_mnist.py [--config configs/mnist_small.toml configs/mnist_large.toml] [--no-synth]
    .venv/bin/python benchmarks/bench_mnist.py --config configs/mnist_600.toml --seeds 0,1,2 --threads 1 \
        --out benchmarks/results/mnist_600.json       # one results file per config
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_digits import main

if __name__ == "__main__":
    main(
        ["configs/mnist_small.toml", "configs/mnist_large.toml"], "mnist", "LUT networks on MNIST (10,000 test samples)"
    )
