"""Verification: netlist vs HDL simulation (Icarus/Verilator) and combinational equivalence (SAT, exhaustive, random)."""

from lutnn.verify.hdlsim import SimVerdict, check_simulation, simulate_verilog
from lutnn.verify.sat import Verdict, check_equivalence, check_interfaces

__all__ = ["SimVerdict", "Verdict", "check_equivalence", "check_interfaces", "check_simulation", "simulate_verilog"]
