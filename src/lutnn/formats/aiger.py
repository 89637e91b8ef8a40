"""AIGER and-inverter graphs (ASCII ``.aag`` and binary ``.aig``): read and write.

Reading gives an AIG-form netlist in the canonical layout of :mod:`lutnn.aig` (constant nodes
first, AND gates in file order with fan-in 0 the smaller signal, one NOT node per complemented
output). Symbol-table names ``x[i]`` become buses; unnamed inputs/outputs are ``i[p]``/``o[p]``.
Latches are refused unless ``latches="cut"``, which turns each latch into an extra input (its
current state, bus ``latch_q``) and an extra output (its next state, bus ``latch_d``).
AIGER 1.9 header fields (bad-state, constraint, justice, fairness) must be 0.

Writing accepts any netlist: an AIG-form one is written gate for gate, anything else through
:func:`lutnn.aig.to_aig`. So ``read_aiger(write_aiger(to_aig(nl)))`` has the same structure as
``to_aig(nl)`` and every netlist reads back equivalent to itself.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

import numpy as np

from lutnn.aig import AND_TABLES, is_aig, to_aig
from lutnn.errors import FormatError, LutnnError, NetlistError
from lutnn.fileio import atomic_write, check_readable
from lutnn.formats.names import check_port_names, comment_text, group_bits, require_port_names
from lutnn.netlist import Bus, Netlist

__all__ = ["aiger_comments", "format_aiger", "parse_aiger", "read_aiger", "write_aiger"]

LatchMode = Literal["error", "cut"]


class _Lines:
    """Line reader over bytes that remembers line numbers (binary AND bytes sit between lines)."""

    def __init__(self, data: bytes, source: str) -> None:
        self.data = data
        self.pos = 0
        self.line = 0
        self.source = source

    def next(self, what: str) -> str:
        if self.pos >= len(self.data):
            raise FormatError(self.source, f"file ends before {what}", self.line + 1)
        end = self.data.find(b"\n", self.pos)
        if end < 0:
            end = len(self.data)
        raw = self.data[self.pos : end]
        self.pos = end + 1
        self.line += 1
        try:
            return raw.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            raise FormatError(self.source, f"undecodable bytes where {what} was expected", self.line) from None

    def ints(self, what: str, n_min: int, n_max: int) -> list[int]:
        text = self.next(what)
        toks = text.split()
        if not n_min <= len(toks) <= n_max or not all(_UINT.match(t) for t in toks):
            want = f"{n_min}" if n_min == n_max else f"{n_min}..{n_max}"
            raise FormatError(self.source, f"expected {want} unsigned integers for {what}, got {text!r}", self.line)
        return [int(t) for t in toks]


#: an unsigned decimal in ASCII digits (``str.isdigit`` also takes '²' and other Unicode digits)
_UINT = re.compile(r"^[0-9]{1,19}$")
#: the most outputs or AND gates an AIGER file may declare (each; the file size bounds them too)
MAX_AIGER_ITEMS = 1 << 26
#: the most inputs or latches (binary AIGER stores inputs implicitly: no file bytes bound them)
MAX_AIGER_INPUTS = 1 << 20


def _varint(data: bytes, pos: int, source: str) -> tuple[int, int]:
    """One delta of the binary AND section: at most 5 bytes (32 bits), so reading stays linear."""
    x = 0
    for shift in range(0, 35, 7):
        if pos >= len(data):
            raise FormatError(source, f"binary AND section truncated at byte {pos}; the file is incomplete")
        b = data[pos]
        pos += 1
        x |= (b & 0x7F) << shift
        if not b & 0x80:
            return x, pos
    raise FormatError(source, f"binary AND delta at byte {pos - 5} is longer than 5 bytes (over 32 bits): corrupt file")


def _check_sizes(source: str, size: int, binary: bool, m: int, n_i: int, n_l: int, n_o: int, n_a: int) -> None:
    """Refuse headers that declare more than the file can hold or than lutnn will allocate."""
    for what, v, lim in (
        ("inputs", n_i, MAX_AIGER_INPUTS),
        ("latches", n_l, MAX_AIGER_INPUTS),
        ("outputs", n_o, MAX_AIGER_ITEMS),
        ("AND gates", n_a, MAX_AIGER_ITEMS),
    ):
        if v > lim:
            raise FormatError(source, f"the header declares {v} {what}; lutnn reads at most {lim}", 1)
    if m > 4 * MAX_AIGER_ITEMS:
        raise FormatError(source, f"header M={m} is larger than lutnn reads ({4 * MAX_AIGER_ITEMS})", 1)
    # every output and latch is a line of at least 2 bytes, every AND gate 2 bytes (binary) or 6 (ASCII),
    # every ASCII input line 2 bytes: a header that needs more bytes than the file has is corrupt
    need = 2 * (n_o + n_l) + (2 * n_a if binary else 6 * n_a + 2 * n_i)
    if need > size:
        raise FormatError(
            source, f"the header declares more entries than the file can hold ({size} bytes; at least {need} needed)", 1
        )


def parse_aiger(data: bytes, source: str = "<aiger>", latches: LatchMode = "error") -> Netlist:
    """Parse AIGER bytes (``aag`` or ``aig``) into a canonical AIG-form netlist."""
    if latches not in ("error", "cut"):
        raise LutnnError(f"latches must be 'error' or 'cut', got {latches!r}")
    rd = _Lines(data, source)
    head = rd.next("the header").split()
    if not head or head[0] not in ("aag", "aig"):
        raise FormatError(source, "not an AIGER file: the header must start with 'aag' or 'aig'", 1)
    binary = head[0] == "aig"
    nums = head[1:]
    if len(nums) < 5 or len(nums) > 9 or not all(_UINT.match(t) for t in nums):
        raise FormatError(source, f"bad header {' '.join(head)[:80]!r}: expected '{head[0]} M I L O A [B C J F]'", 1)
    m_max, n_i, n_l, n_o, n_a, *extra = (int(t) for t in nums)
    _check_sizes(source, len(data), binary, m_max, n_i, n_l, n_o, n_a)
    if any(extra):
        names = ["B (bad states)", "C (invariant constraints)", "J (justice)", "F (fairness)"]
        bad = [f"{names[i]}={v}" for i, v in enumerate(extra) if v]
        raise FormatError(
            source,
            f"AIGER 1.9 properties {', '.join(bad)} are not supported: lutnn reads combinational AIGs "
            "(drop the properties, e.g. with ABC 'write_aiger')",
            1,
        )
    if n_l and latches == "error":
        raise FormatError(
            source,
            f"the AIG has {n_l} latches; lutnn netlists are combinational — pass latches='cut' "
            "(CLI: --latches cut) to turn each latch into an input latch_q and an output latch_d",
            1,
        )
    if m_max < n_i + n_l + n_a:
        raise FormatError(source, f"header M={m_max} is smaller than I+L+A={n_i + n_l + n_a}", 1)
    max_lit = 2 * m_max + 1

    def check_lit(lit: int, what: str, line: int | None) -> int:
        if lit > max_lit:
            raise FormatError(
                source, f"literal {lit} in {what} is out of range (M={m_max}, largest literal {max_lit})", line
            )
        return lit

    # var -> (kind, index): defined by inputs, latches, ands
    in_lits: list[int] = []
    latch_rows: list[tuple[int, int, int]] = []  # (lhs, next, line)
    out_lits: list[tuple[int, int]] = []
    and_rows: list[tuple[int, int, int, int]] = []  # (lhs, rhs0, rhs1, line)
    if binary:
        in_lits = [2 * (i + 1) for i in range(n_i)]
        for j in range(n_l):
            v = rd.ints(f"latch {j}", 1, 2)
            latch_rows.append((2 * (n_i + j + 1), check_lit(v[0], f"latch {j}", rd.line), rd.line))
            if len(v) == 2 and v[1] not in (0, 1, 2 * (n_i + j + 1)):
                raise FormatError(source, f"latch {j}: bad initial value {v[1]}", rd.line)
        for j in range(n_o):
            out_lits.append((check_lit(rd.ints(f"output {j}", 1, 1)[0], f"output {j}", rd.line), rd.line))
        pos = rd.pos
        for j in range(n_a):
            lhs = 2 * (n_i + n_l + j + 1)
            d0, pos = _varint(data, pos, source)
            d1, pos = _varint(data, pos, source)
            r0 = lhs - d0
            r1 = r0 - d1
            if d0 == 0 or r1 < 0:
                raise FormatError(source, f"AND gate {j} (literal {lhs}): bad delta encoding at byte {pos}")
            and_rows.append((lhs, r0, r1, 0))
        rd.pos = pos
    else:
        for j in range(n_i):
            v = rd.ints(f"input {j}", 1, 1)[0]
            if v < 2 or v & 1:
                raise FormatError(source, f"input {j}: literal {v} must be even and not constant", rd.line)
            in_lits.append(check_lit(v, f"input {j}", rd.line))
        for j in range(n_l):
            v = rd.ints(f"latch {j}", 2, 3)
            if v[0] < 2 or v[0] & 1:
                raise FormatError(source, f"latch {j}: literal {v[0]} must be even and not constant", rd.line)
            latch_rows.append((check_lit(v[0], f"latch {j}", rd.line), check_lit(v[1], f"latch {j}", rd.line), rd.line))
        for j in range(n_o):
            out_lits.append((check_lit(rd.ints(f"output {j}", 1, 1)[0], f"output {j}", rd.line), rd.line))
        for j in range(n_a):
            v = rd.ints(f"AND gate {j}", 3, 3)
            if v[0] < 2 or v[0] & 1:
                raise FormatError(source, f"AND gate {j}: literal {v[0]} must be even and not constant", rd.line)
            for x in v:
                check_lit(x, f"AND gate {j}", rd.line)
            and_rows.append((v[0], v[1], v[2], rd.line))

    # symbol table and comments
    in_names: dict[int, str] = {}
    out_names: dict[int, str] = {}
    while rd.pos < len(data):
        text = rd.next("a symbol")
        if text == "c" or (text.startswith("c ") and not text[1:2].isdigit()):
            break
        if not text:
            continue
        kind, _, rest = text.partition(" ")
        if kind[:1] in "ilobcjf" and _UINT.match(kind[1:]) and rest:
            idx = int(kind[1:])
            limit = {"i": n_i, "l": n_l, "o": n_o}.get(kind[0])
            if limit is not None and idx >= limit:
                raise FormatError(source, f"symbol {kind} refers to a missing {kind[0]} entry", rd.line)
            if kind[0] == "i":
                in_names[idx] = rest
            elif kind[0] == "o":
                out_names[idx] = rest
            continue
        raise FormatError(
            source, f"bad symbol table line {text!r} (expected e.g. 'i0 name' or 'c' before comments)", rd.line
        )

    # ---- build the netlist: signals are inputs, latch_q, then nodes
    n_pi = n_i + (n_l if latches == "cut" else 0)
    var_sig: dict[int, int] = {}
    var_line: dict[int, int] = {}

    def define(lit: int, sig: int, line: int) -> None:
        v = lit >> 1
        if v in var_sig:
            raise FormatError(source, f"variable {v} (literal {lit}) is defined twice", line)
        var_sig[v] = sig
        var_line[v] = line

    for j, lit in enumerate(in_lits):
        define(lit, j, j + 2 if not binary else 0)
    for j, (lhs, _, line) in enumerate(latch_rows):
        define(lhs, n_i + j, line)
    uses_const = any(r0 < 2 or r1 < 2 for _, r0, r1, _ in and_rows)
    latch_next = [nx for _, nx, _ in latch_rows] if latches == "cut" else []
    all_out = [lit for lit, _ in out_lits] + latch_next
    need0 = uses_const or 0 in all_out
    need1 = 1 in all_out
    n_const = int(need0) + int(need1)
    base = n_pi + n_const
    for j, (lhs, _, _, line) in enumerate(and_rows):
        define(lhs, base + j, line)

    def sig_of(lit: int, what: str, line: int | None) -> int:
        if lit < 2:
            return n_pi  # the constant-0 node (complemented in the table when lit == 1)
        s = var_sig.get(lit >> 1)
        if s is None:
            raise FormatError(source, f"{what} reads literal {lit}, whose variable is never defined", line or None)
        return s

    n_and = len(and_rows)
    f = np.empty((n_and, 2), np.int64)
    comp = np.empty((n_and, 2), np.int64)
    for j, (lhs, r0, r1, line) in enumerate(and_rows):
        f[j, 0] = sig_of(r0, f"AND gate {lhs}", line)
        f[j, 1] = sig_of(r1, f"AND gate {lhs}", line)
        comp[j, 0] = r0 & 1
        comp[j, 1] = r1 & 1
    not_of: dict[int, int] = {}
    not_src: list[int] = []
    outs: list[int] = []
    base_not = base + n_and
    out_rows = out_lits + [(nx, line) for _, nx, line in latch_rows if latches == "cut"]
    for lit, line in out_rows:
        if lit == 0:
            outs.append(n_pi)
        elif lit == 1:
            outs.append(n_pi + int(need0))
        elif lit & 1:
            s = sig_of(lit, "output", line)
            if s not in not_of:
                not_of[s] = base_not + len(not_src)
                not_src.append(s)
            outs.append(not_of[s])
        else:
            outs.append(sig_of(lit, "output", line))
    fanins = np.concatenate(
        [
            np.full((n_const, 2), -1, np.int64),
            f,
            np.stack([np.asarray(not_src, np.int64), np.full(len(not_src), -1, np.int64)], axis=1),
        ]
    )
    arity = np.concatenate([np.zeros(n_const, np.uint8), np.full(n_and, 2, np.uint8), np.ones(len(not_src), np.uint8)])
    tab = np.asarray(AND_TABLES, np.uint64)[comp[:, 0] + 2 * comp[:, 1]] if n_and else np.zeros(0, np.uint64)
    const_tabs = ([0] if need0 else []) + ([1] if need1 else [])
    tables = np.concatenate([np.asarray(const_tabs, np.uint64), tab, np.full(len(not_src), 1, np.uint64)])[:, None]

    in_bit_names = [in_names.get(j, f"i[{j}]") for j in range(n_i)]
    out_bit_names = [out_names.get(j, f"o[{j}]") for j in range(n_o)]
    in_buses, in_perm = group_bits(in_bit_names)
    out_buses, out_perm = group_bits(out_bit_names)
    bad = check_port_names(in_buses, out_buses)
    if bad:
        raise FormatError(source, f"symbol table: {bad}; rename the symbol (or drop the symbol table)")
    in_perm = list(in_perm)
    out_perm = list(out_perm)
    if latches == "cut" and n_l:
        in_buses.append(Bus("latch_q", n_l))
        in_perm += list(range(n_i, n_i + n_l))
        out_buses.append(Bus("latch_d", n_l))
        out_perm += list(range(n_o, n_o + n_l))
    # reorder primary inputs into bus order
    pi_remap = np.empty(n_pi, np.int64)
    pi_remap[np.asarray(in_perm, np.int64)] = np.arange(n_pi)
    n_nodes = len(arity)
    remap = np.concatenate([pi_remap, n_pi + np.arange(n_nodes), [-1]])
    fanins = np.where(fanins >= 0, remap[np.where(fanins >= 0, fanins, -1)], -1)
    outs_arr = remap[np.asarray(outs, np.int64)[np.asarray(out_perm, np.int64)]] if out_rows else np.zeros(0, np.int64)
    labels = [f"constant {c}" for c in const_tabs] + [f"AND gate {lhs}" for lhs, *_ in and_rows]
    labels += [f"inverter of signal {s}" for s in not_src]
    try:
        nl = Netlist.from_unordered(
            in_buses, out_buses, fanins, arity, tables, outs_arr, name=Path(source).stem or "top", node_labels=labels
        )
    except NetlistError as e:
        raise FormatError(source, str(e)) from None
    return _canonical_fanin_order(nl)


def _canonical_fanin_order(nl: Netlist) -> Netlist:
    """Swap AND fan-ins so fan-in 0 is the smaller signal (tables follow the swap)."""
    if not nl.n_nodes:
        return nl
    ands = nl.arity == 2
    sw = ands & (nl.fanins[:, 0] > nl.fanins[:, 1])
    if sw.any():
        nl.fanins[sw] = nl.fanins[sw][:, ::-1]
        t = nl.tables[sw, 0]
        swapped = np.where(t == 0b0100, np.uint64(0b0010), np.where(t == 0b0010, np.uint64(0b0100), t))
        nl.tables[sw, 0] = swapped
    return nl


def aiger_comments(path: str | os.PathLike) -> list[str]:
    """The comment lines at the end of an AIGER file (after the ``c`` line)."""
    p = check_readable(path, "AIGER file")
    data = p.read_bytes()
    for marker in (b"\nc\n", b"\nc\r\n"):
        i = data.rfind(marker)
        if i >= 0:
            return data[i + len(marker) :].decode("utf-8", "replace").splitlines()
    return []


def read_aiger(path: str | os.PathLike, latches: LatchMode = "error") -> Netlist:
    """Read an ASCII (``.aag``) or binary (``.aig``) AIGER file; errors name the file and line."""
    p = check_readable(path, "AIGER file")
    return parse_aiger(p.read_bytes(), source=str(p), latches=latches)


def _encode(x: int, out: bytearray) -> None:
    while x & ~0x7F:
        out.append((x & 0x7F) | 0x80)
        x >>= 7
    out.append(x)


def format_aiger(nl: Netlist, binary: bool = True, comments: list[str] | None = None, *, symbols: bool = True) -> bytes:
    """AIGER bytes of ``nl`` (converted with :func:`lutnn.aig.to_aig` unless already an AIG).

    ``symbols=False`` writes neither symbol table nor comments (ports then match by position only).
    """
    if symbols:
        require_port_names(nl.inputs, nl.outputs, "AIGER writer")
    if not is_aig(nl):
        nl = to_aig(nl)
    n_pi = nl.n_inputs
    lit = np.zeros(nl.n_signals, np.int64)
    lit[:n_pi] = 2 * (np.arange(n_pi) + 1)
    ands: list[tuple[int, int, int]] = []
    fan = nl.fanins.tolist()
    ar = nl.arity.tolist()
    tab = nl.tables[:, 0].tolist()
    lit_l = lit.tolist()
    next_var = n_pi + 1
    for i in range(nl.n_nodes):
        a, t = ar[i], int(tab[i])
        if a == 0:
            lit_l[n_pi + i] = t & 1
        elif a == 1:
            lit_l[n_pi + i] = lit_l[fan[i][0]] ^ (1 if t == 1 else 0)
        else:
            c = AND_TABLES.index(t)
            l0 = lit_l[fan[i][0]] ^ (c & 1)
            l1 = lit_l[fan[i][1]] ^ (c >> 1)
            lhs = 2 * next_var
            next_var += 1
            ands.append((lhs, max(l0, l1), min(l0, l1)))
            lit_l[n_pi + i] = lhs
    n_a = len(ands)
    m = n_pi + n_a
    outs = [lit_l[s] for s in nl.output_signals.tolist()]
    head = f"{'aig' if binary else 'aag'} {m} {n_pi} 0 {len(outs)} {n_a}\n"
    parts: list[bytes] = [head.encode()]
    body: list[str] = []
    if not binary:
        body.extend(str(2 * (j + 1)) for j in range(n_pi))
    body.extend(str(o) for o in outs)
    if not binary:
        body.extend(f"{lhs} {r0} {r1}" for lhs, r0, r1 in ands)
    parts.append(("\n".join(body) + "\n").encode() if body else b"")
    if binary:
        buf = bytearray()
        for lhs, r0, r1 in ands:
            _encode(lhs - r0, buf)
            _encode(r0 - r1, buf)
        parts.append(bytes(buf))
    sym = [f"i{j} {n}" for j, n in enumerate(nl.input_bit_names())]
    sym += [f"o{j} {n}" for j, n in enumerate(nl.output_bit_names())]
    text = "\n".join(sym) + "\n" if sym else ""
    comments = comments or [f"written by lutnn: {comment_text(nl.name)}"]
    text += "c\n" + "".join(re.sub(r"[\x00-\x1f\x7f]", " ", c) + "\n" for c in comments)
    if symbols:
        parts.append(text.encode())
    return b"".join(parts)


def write_aiger(
    nl: Netlist, path: str | os.PathLike, binary: bool | None = None, comments: list[str] | None = None
) -> Path:
    """Write ``nl`` as AIGER (binary unless ``binary=False`` or the name ends in ``.aag``), atomically."""
    if binary is None:
        binary = not str(path).endswith(".aag")
    return atomic_write(path, format_aiger(nl, binary=binary, comments=comments))
