"""lutnn: a hardware circuit that computes a neural network is itself a neural network.

The core representation is :class:`lutnn.netlist.Netlist` (a DAG of K-input LUTs); every flow
(training, compiling, binarizing, synthesis, verification, export) lowers into it or raises out of it.
"""

import os

# torch and numba each bring an OpenMP runtime; with the default (active) wait policy the idle
# threads of one spin while the other works, which made a 2-core LUT training step ~8x slower in
# CPU time (benchmarks/bench_train_throughput.py). Passive waiting costs nothing measurable here.
# It only takes effect when lutnn is imported before torch (the CLI does); users can override it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from lutnn.errors import LutnnError
from lutnn.netlist import Bus, Netlist, NetlistBuilder

__all__ = ["Bus", "LutnnError", "Netlist", "NetlistBuilder", "load"]
__version__ = "0.1.0"


def __getattr__(name: str):
    """``lutnn.load`` (a trained run for predictions) is imported on first use, so ``import lutnn`` stays light."""
    if name == "load":
        from lutnn.predict import load

        return load
    raise AttributeError(f"module 'lutnn' has no attribute {name!r}")
