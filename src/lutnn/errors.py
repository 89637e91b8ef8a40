"""Errors lutnn raises on bad input or missing tools: one line that names the problem and the fix."""

from __future__ import annotations

__all__ = ["FormatError", "LutnnError", "NetlistError", "QuantError", "ToolError", "ToolNotFoundError"]


class LutnnError(Exception):
    """Base class: the CLI prints these as one line and exits non-zero (no traceback)."""


class NetlistError(LutnnError):
    """A netlist violates an invariant (cycle, undriven signal, arity, table width)."""


class FormatError(LutnnError):
    """A file could not be parsed; the message names the file and, where known, the line."""

    def __init__(self, path: object, message: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line


class ToolNotFoundError(LutnnError):
    """An external tool (Yosys, Icarus, Verilator, nextpnr) is not installed."""


class ToolError(LutnnError):
    """An external tool ran but failed; the message carries the tail of its log."""


class QuantError(LutnnError):
    """A quantized model or its configuration cannot be built, trained or compiled as given."""
