"""Family 1, LUT networks (torch): LUT layers, connectivity, encoders, heads, the network, training and compile.

Submodules: ``lut`` (LUTLayer), ``connectivity``, ``encoders``, ``heads``, ``network`` (LUTNetwork),
``teacher``, ``config`` (RunConfig), ``train`` (the loop), ``compile`` (trained network → netlist).
"""

from lutnn.lutnet.lut import LUTLayer, binarize_ste, lut_forward, lut_lookup

__all__ = ["LUTLayer", "binarize_ste", "lut_forward", "lut_lookup"]
