"""lutnn: a hardware circuit that computes a neural network is itself a neural network.

The core representation is :class:`lutnn.netlist.Netlist` (a DAG of K-input LUTs); every flow
(training, compiling, binarizing, synthesis, verification, export) lowers into it or raises out of it.
"""

from lutnn.errors import LutnnError
from lutnn.netlist import Bus, Netlist, NetlistBuilder

__all__ = ["Bus", "LutnnError", "Netlist", "NetlistBuilder"]
__version__ = "0.1.0"
