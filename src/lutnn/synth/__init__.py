"""Synthesis through Yosys/ABC (and nextpnr for Fmax): K-LUT, gate, AIG and vendor flows with reports."""

from lutnn.synth.report import SynthReport
from lutnn.synth.yosys import FLOWS, SynthResult, synthesize, yosys_version

__all__ = ["FLOWS", "SynthReport", "SynthResult", "synthesize", "yosys_version"]
