"""Torch modules of lutnn: LUT layers, input encoders, class heads and the LUT network that chains them."""

from lutnn.nn.lut import LUTLayer, binarize_ste, lut_forward, lut_lookup

__all__ = ["LUTLayer", "binarize_ste", "lut_forward", "lut_lookup"]
