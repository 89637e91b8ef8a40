"""Netlist file formats, with one entry point that picks the format from the file extension.

``read_netlist(path)`` / ``write_netlist(nl, path)`` handle ``.blif``, ``.aig`` (binary AIGER),
``.aag`` (ASCII AIGER), ``.json`` (lutnn's own form) and ``.v`` / ``.sv`` (Verilog, read through
Yosys). ``fmt`` overrides the extension: one of ``blif``, ``aig``, ``aag``, ``json``, ``verilog``.
"""

from __future__ import annotations

import os
from pathlib import Path

from lutnn.errors import LutnnError
from lutnn.fileio import check_readable
from lutnn.netlist import Netlist

__all__ = ["FORMATS", "format_of", "read_netlist", "write_netlist"]

FORMATS = {".blif": "blif", ".aig": "aig", ".aag": "aag", ".json": "json", ".v": "verilog", ".sv": "verilog"}
_NAMES = sorted(set(FORMATS.values()))


def format_of(path: str | os.PathLike, fmt: str | None = None) -> str:
    """The format name for ``path`` (``fmt`` wins when given); a clear error for unknown ones."""
    if fmt is not None:
        f = fmt.lower().lstrip(".")
        f = {"aiger": "aig", "v": "verilog", "sv": "verilog"}.get(f, f)
        if f not in _NAMES:
            raise LutnnError(f"unknown netlist format {fmt!r}; supported: {', '.join(_NAMES)}")
        return f
    ext = Path(path).suffix.lower()
    if ext not in FORMATS:
        raise LutnnError(
            f"cannot tell the netlist format of {path} from its extension {ext or '(none)'!r}; "
            f"rename it with one of the extensions {', '.join(FORMATS)} (Python: pass fmt=)"
        )
    return FORMATS[ext]


def read_netlist(path: str | os.PathLike, fmt: str | None = None, **kwargs) -> Netlist:
    """Read a netlist from ``path`` in the format its extension (or ``fmt``) names.

    Extra keyword arguments go to the reader (``latches=`` for AIGER, ``top=`` for Verilog).
    """
    f = format_of(path, fmt)
    check_readable(path, "netlist file")
    if f == "blif":
        from lutnn.formats.blif import read_blif

        return read_blif(path, **kwargs)
    if f in ("aig", "aag"):
        from lutnn.formats.aiger import read_aiger

        return read_aiger(path, **kwargs)
    if f == "json":
        from lutnn.formats.jsonfmt import read_json

        return read_json(path, **kwargs)
    from lutnn.tools.yosys import read_verilog

    return read_verilog(path, **kwargs)


def write_netlist(nl: Netlist, path: str | os.PathLike, fmt: str | None = None, **kwargs) -> Path:
    """Write ``nl`` to ``path`` in the format its extension (or ``fmt``) names (atomically)."""
    f = format_of(path, fmt)
    if f == "blif":
        from lutnn.formats.blif import write_blif

        return write_blif(nl, path, **kwargs)
    if f in ("aig", "aag"):
        from lutnn.formats.aiger import write_aiger

        return write_aiger(nl, path, binary=(f == "aig"), **kwargs)
    if f == "json":
        from lutnn.formats.jsonfmt import write_json

        return write_json(nl, path, **kwargs)
    from lutnn.formats.verilog import write_verilog

    write_verilog(nl, path, **kwargs)
    return Path(path)
