"""The one naming rule of lutnn: bit names ↔ buses, and what a name may contain in every format.

Names are data, never code. ``x[3]`` is bit 3 of bus ``x``. A *port* name (bus and bit names:
the interface) must be 1..:data:`NAME_MAX` printable ASCII characters without space, ``#``,
``\\`` or ``"`` — such a name is one token in BLIF and AIGER symbol tables and a (possibly
escaped) identifier in Verilog, so it survives every writer unchanged; readers reject anything
else with a clear error (:func:`port_name_problem`). Other names (design name, internal signal
names) are legalised by each writer (:func:`sanitize`, :func:`verilog_ident`, :func:`plain_ident`);
comments carry only :func:`comment_text` forms, never raw names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from lutnn.errors import NetlistError
from lutnn.netlist import Bus

__all__ = [
    "NAME_MAX",
    "VERILOG_KEYWORDS",
    "check_port_names",
    "comment_text",
    "group_bits",
    "has_control",
    "plain_ident",
    "port_name_problem",
    "require_port_names",
    "sanitize",
    "verilog_ident",
]

#: longest accepted port name (characters)
NAME_MAX = 1000
_PORT_OK = re.compile(r"^[!$-\[\]-~]+$")  # printable ASCII 0x21..0x7e without '"', '#', '\\'
_CTRL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def port_name_problem(name: object) -> str | None:
    """Why ``name`` cannot be a port (bus or bit) name, or ``None`` when it can."""
    if not isinstance(name, str):
        return f"a name must be a string, got {type(name).__name__}"
    if not name:
        return "a name must not be empty"
    if len(name) > NAME_MAX:
        return f"a name is {len(name)} characters long (at most {NAME_MAX})"
    if _CTRL.search(name):
        return f"name {name[:60]!r} contains a control character"
    if not _PORT_OK.match(name):
        bad = sorted({c for c in name if not _PORT_OK.match(c)})
        return (
            f'name {name[:60]!r} contains {"".join(bad)[:10]!r} (ports take printable ASCII without space, #, \\ or ")'
        )
    return None


def check_port_names(inputs: Sequence[Bus], outputs: Sequence[Bus]) -> str | None:
    """The first problem with a netlist's port names: a bad name, or bit names that would not regroup into the same buses."""
    every = [*inputs, *outputs]
    if any(_BIT.match(b.name) for b in every):
        # BLIF and AIGER name bits, not buses: an input bit and an output bit must not share a name
        bits_all = [n for b in every for n in b.bit_names()]
        if len(set(bits_all)) != len(bits_all):
            dup = sorted(n for n in set(bits_all) if bits_all.count(n) > 1)[:3]
            return f"bit names {dup} name both an input and an output bit (or two bits); rename one"
    for what, buses in (("input", inputs), ("output", outputs)):
        for b in buses:
            p = port_name_problem(b.name)
            if p:
                return f"{what} bus: {p}"
        names = [b.name for b in buses]
        if len(set(names)) != len(names):
            return f"{what} bus names are not unique"
        if not any(_BIT.match(n) for n in names):
            continue  # no bus is named like a bus bit: bit names are unique and regroup into the same buses
        bits = [n for b in buses for n in b.bit_names()]
        if len(set(bits)) != len(bits):
            return f"{what} bit names are not unique: {sorted(n for n in set(bits) if bits.count(n) > 1)[:3]}"
        got, _ = group_bits(bits)
        if [(b.name, b.width) for b in got] != [(b.name, b.width) for b in buses]:
            bad = next((b.name for b, g in zip(buses, got, strict=False) if (b.name, b.width) != (g.name, g.width)), "")
            return (
                f"{what} bus {bad!r} clashes with the bit naming (x[3] is bit 3 of bus x): "
                "a 1-bit bus must not be named like a bus bit; rename it"
            )
    return None


def require_port_names(inputs: Sequence[Bus], outputs: Sequence[Bus], what: str = "netlist") -> None:
    """Raise :class:`NetlistError` when :func:`check_port_names` finds a problem (writers call this first)."""
    p = check_port_names(inputs, outputs)
    if p:
        raise NetlistError(f"{what}: {p}")


def has_control(name: str) -> bool:
    """True when ``name`` holds a control character (newline, NUL, escape, ...)."""
    return bool(_CTRL.search(name))


def comment_text(name: str, limit: int = 80) -> str:
    """``name`` reduced to characters that are harmless in any comment (``A-Za-z0-9_.-[]``)."""
    return re.sub(r"[^A-Za-z0-9_.\-\[\]]", "_", str(name))[:limit] or "_"


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
    """A name safe as a BLIF/AIGER token: printable ASCII only, no whitespace, comment or continuation characters."""
    s = re.sub(r"[^!$-\[\]-~]|=", "_", name)
    return s or "_"


_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
#: every reserved word of Verilog (IEEE 1364-2005) and SystemVerilog (IEEE 1800-2017, Annex B): a
#: design read back with ``read_verilog -sv`` must not use any of them as a plain identifier
VERILOG_KEYWORDS = frozenset(
    """accept_on alias always always_comb always_ff always_latch and assert assign assume automatic before
    begin bind bins binsof bit break buf bufif0 bufif1 byte case casex casez cell chandle checker class
    clocking cmos config const constraint context continue cover covergroup coverpoint cross deassign default
    defparam design disable dist do edge else end endcase endchecker endclass endclocking endconfig
    endfunction endgenerate endgroup endinterface endmodule endpackage endprimitive endprogram endproperty
    endspecify endsequence endtable endtask enum event eventually expect export extends extern final
    first_match for force foreach forever fork forkjoin function generate genvar global highz0 highz1 if iff
    ifnone ignore_bins illegal_bins implements implies import incdir include initial inout input inside
    instance int integer interconnect interface intersect join join_any join_none large let liblist library
    local localparam logic longint macromodule matches medium modport module nand negedge nettype new
    nexttime nmos nor noshowcancelled not notif0 notif1 null or output package packed parameter pmos posedge
    primitive priority program property protected pull0 pull1 pulldown pullup pulsestyle_ondetect
    pulsestyle_onevent pure rand randc randcase randsequence rcmos real realtime ref reg reject_on release
    repeat restrict return rnmos rpmos rtran rtranif0 rtranif1 s_always s_eventually s_nexttime s_until
    s_until_with scalared sequence shortint shortreal showcancelled signed small soft solve specify specparam
    static string strong strong0 strong1 struct super supply0 supply1 sync_accept_on sync_reject_on table
    tagged task this throughout time timeprecision timeunit tran tranif0 tranif1 tri tri0 tri1 triand trior
    trireg type typedef union unique unique0 unsigned until until_with untyped use uwire var vectored virtual
    void wait wait_order wand weak weak0 weak1 while wildcard wire with within wor xnor xor""".split()
)


def verilog_ident(name: str) -> str:
    """``name`` as a Verilog identifier: unchanged when legal, an escaped identifier (``\\name ``) otherwise."""
    if _ID.match(name) and name not in VERILOG_KEYWORDS:
        return name
    # an escaped identifier holds printable ASCII up to the next white space; anything else is legalised
    return "\\" + (re.sub(r'[^\x21-\x7e]|["\\\\]', "_", name) or "_") + " "


def plain_ident(name: str) -> str:
    """A legal plain identifier derived from ``name`` (for internal wires: no escaping needed)."""
    s = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if not s or not (s[0].isalpha() or s[0] == "_"):
        s = "n_" + s
    if s in VERILOG_KEYWORDS:
        s += "_"
    return s
