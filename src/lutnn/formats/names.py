"""Bit names ↔ buses: ``x[3]`` is bit 3 of bus ``x``; shared by every reader and writer."""

from __future__ import annotations

import re
from collections.abc import Sequence

from lutnn.netlist import Bus

__all__ = ["VERILOG_KEYWORDS", "group_bits", "plain_ident", "sanitize", "verilog_ident"]

_BIT = re.compile(r"^(.*)\[(\d+)\]$")


def group_bits(names: Sequence[str]) -> tuple[list[Bus], list[int]]:
    """Group bit names into buses; returns the buses and, per bus bit in order, its index in ``names``.

    Names ``base[i]`` whose indices are exactly ``0..w-1`` form bus ``base`` (bit order by
    index); every other name is a 1-bit bus of its own. Buses appear in order of first mention.
    """
    groups: dict[str, list[tuple[int, int]]] = {}
    order: list[str] = []
    for pos, n in enumerate(names):
        m = _BIT.match(n)
        key = m.group(1) if m else n
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append((int(m.group(2)) if m else -1, pos))
    buses: list[Bus] = []
    perm: list[int] = []
    for key in order:
        bits = groups[key]
        idx = sorted(i for i, _ in bits)
        if len(bits) > 0 and idx == list(range(len(bits))) and not (len(bits) == 1 and names[bits[0][1]] == key):
            buses.append(Bus(key, len(bits)))
            perm.extend(p for _, p in sorted(bits))
        else:
            for _, p in bits:
                buses.append(Bus(names[p], 1))
                perm.append(p)
    return buses, perm


def sanitize(name: str) -> str:
    """A name safe as a BLIF/AIGER token (no whitespace, no comment or continuation characters)."""
    s = re.sub(r"[\s#\\=]", "_", name)
    return s or "_"


_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
VERILOG_KEYWORDS = frozenset(
    """always and assign automatic begin buf bufif0 bufif1 case casex casez cell cmos config deassign default
    defparam design disable edge else end endcase endconfig endfunction endgenerate endmodule endprimitive
    endspecify endtable endtask event for force forever fork function generate genvar highz0 highz1 if ifnone
    incdir include initial inout input instance integer join large liblist library localparam macromodule medium
    module nand negedge nmos nor noshowcancelled not notif0 notif1 or output parameter pmos posedge primitive
    pull0 pull1 pulldown pullup pulsestyle_onevent pulsestyle_ondetect rcmos real realtime reg release repeat
    rnmos rpmos rtran rtranif0 rtranif1 scalared showcancelled signed small specify specparam strong0 strong1
    supply0 supply1 table task time tran tranif0 tranif1 tri tri0 tri1 triand trior trireg unsigned use uwire
    vectored wait wand weak0 weak1 while wire wor xnor xor logic bit byte int""".split()
)


def verilog_ident(name: str) -> str:
    """``name`` as a Verilog identifier: unchanged when legal, an escaped identifier (``\\name ``) otherwise."""
    if _ID.match(name) and name not in VERILOG_KEYWORDS:
        return name
    return "\\" + re.sub(r"\s", "_", name) + " "


def plain_ident(name: str) -> str:
    """A legal plain identifier derived from ``name`` (for internal wires: no escaping needed)."""
    s = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if not s or not (s[0].isalpha() or s[0] == "_"):
        s = "n_" + s
    if s in VERILOG_KEYWORDS:
        s += "_"
    return s
