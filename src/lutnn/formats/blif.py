"""BLIF (Berkeley Logic Interchange Format) ``.names`` netlists: read and write.

BLIF is how lutnn hands netlists to Yosys (``read_blif -wideports`` is the fastest way in) and
reads mapped results back. Only combinational logic is accepted: ``.latch``, ``.subckt`` and
``.gate`` raise a clear error. Bits named ``x[i]`` are grouped into bus ``x``.

Round trip: ``read_blif(write_blif(nl))`` has the same nodes, tables and outputs as ``nl``.
The writer adds a buffer only where BLIF needs one (an output driven directly by an input or by
a signal that another output already names), as the last nodes, and says how many in a first line
``# lutnn: N output aliases at the end``; the reader absorbs exactly those buffers again (files
without the marker: output-only buffers that read an input or another output's signal are absorbed,
which keeps the function). Every ``.names`` has at least one cover row: a constant 0 is written as
its OFF-set (``-- 0``, or ``0`` without inputs), because Yosys reads a coverless ``.names`` with
inputs as an undefined (x) LUT.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from lutnn.errors import FormatError, NetlistError
from lutnn.fileio import atomic_write, check_readable
from lutnn.formats.names import check_port_names, group_bits, require_port_names, sanitize
from lutnn.netlist import MAX_K, Netlist, table_words

__all__ = ["format_blif", "parse_blif", "read_blif", "write_blif"]


def _logical_lines(text: str):
    """Yield (line_number, tokens) with comments stripped and ``\\`` continuations joined."""
    buf: list[str] = []
    start = 0
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].rstrip()
        if not buf:
            start = no
        if line.endswith("\\"):
            buf.append(line[:-1])
            continue
        buf.append(line)
        toks = " ".join(buf).split()
        buf = []
        if toks:
            yield start, toks


def parse_blif(text: str, source: str = "<blif>") -> Netlist:
    """Parse BLIF text (the first ``.model``) into a netlist."""
    bad = _CONTROL.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise FormatError(
            source, f"control character {bad.group()!r} in the file: names are data, BLIF is printable text", line
        )
    inputs: list[str] = []
    outputs: list[str] = []
    nodes: list[tuple[list[str], str, int]] = []  # (fanin names, output name, line)
    covers: list[list[tuple[str, str]]] = []
    model = "top"
    cur: list[tuple[str, str]] | None = None
    cur_k = 0
    seen_model = False
    for no, toks in _logical_lines(text):
        kw = toks[0]
        if kw.startswith("."):
            cur = None
            if kw == ".model":
                if seen_model:
                    break  # only the first model is read
                seen_model = True
                model = toks[1] if len(toks) > 1 else "top"
            elif kw == ".inputs":
                inputs.extend(toks[1:])
            elif kw == ".outputs":
                outputs.extend(toks[1:])
            elif kw == ".names":
                if len(toks) < 2:
                    raise FormatError(source, ".names needs at least an output signal", no)
                fan = toks[1:-1]
                if len(fan) > MAX_K:
                    raise FormatError(
                        source,
                        f".names with {len(fan)} inputs exceeds the {MAX_K}-input limit; re-map it first (lutnn synth --lut 6)",
                        no,
                    )
                nodes.append((fan, toks[-1], no))
                cur = []
                covers.append(cur)
                cur_k = len(fan)
            elif kw == ".conn":
                if len(toks) != 3:
                    raise FormatError(source, ".conn needs exactly two signals", no)
                nodes.append(([toks[1]], toks[2], no))
                covers.append([("1", "1")])
            elif kw == ".end":
                break
            elif kw in (".latch", ".subckt", ".gate", ".mlatch"):
                raise FormatError(
                    source,
                    f"{kw} is not supported: lutnn reads combinational LUT netlists only "
                    "(flatten and cut registers with Yosys first)",
                    no,
                )
            elif kw in (
                ".attr",
                ".param",
                ".cname",
                ".default_input_arrival",
                ".default_output_required",
                ".area",
                ".delay",
                ".wire_load_slope",
                ".exdc",
                ".clock",
                ".inputs_as_clocks",
                ".barbuf",
                ".search",
            ):
                continue
            else:
                raise FormatError(source, f"unknown BLIF directive {kw}", no)
        else:
            if cur is None:
                raise FormatError(source, f"unexpected line {' '.join(toks)!r} outside a .names block", no)
            if cur_k == 0:
                if len(toks) != 1 or toks[0] not in ("0", "1"):
                    raise FormatError(source, "a constant .names row must be a single 0 or 1", no)
                cur.append(("", toks[0]))
            else:
                if len(toks) != 2 or len(toks[0]) != cur_k or toks[1] not in ("0", "1") or set(toks[0]) - set("01-"):
                    raise FormatError(
                        source,
                        f"bad cover row {' '.join(toks)!r}: expected {cur_k} characters of 0/1/- then 0 or 1",
                        no,
                    )
                cur.append((toks[0], toks[1]))
    if not seen_model and not (inputs or outputs or nodes):
        raise FormatError(source, "no .model, .inputs, .outputs or .names found: not a BLIF file")

    sig: dict[str, int] = {}
    for n in inputs:
        if n in sig:
            raise FormatError(source, f"input {n} declared twice")
        sig[n] = len(sig)
    n_pi = len(inputs)
    for i, (_, out, no) in enumerate(nodes):
        if out in sig:
            raise FormatError(source, f"signal {out} is driven more than once", no)
        sig[out] = n_pi + i
    n = len(nodes)
    k = max([len(f) for f, _, _ in nodes] + [1])
    tw = table_words(k)
    need = n * (8 * tw + 8 * k)
    if need > MAX_TABLE_BYTES:
        raise FormatError(
            source,
            f"{n} nodes of up to {k} inputs need {need / 2**30:.1f} GiB of truth tables "
            f"(limit {MAX_TABLE_BYTES >> 20} MiB); split the design or map it to smaller LUTs",
        )
    fanins = np.full((n, k), -1, dtype=np.int64)
    arity = np.zeros(n, dtype=np.uint8)
    tables = np.zeros((n, tw), dtype=np.uint64)
    for i, ((fan, out, no), cover) in enumerate(zip(nodes, covers, strict=True)):
        for j, f in enumerate(fan):
            if f not in sig:
                raise FormatError(source, f"signal {f} (input {j} of {out}) is never driven", no)
            fanins[i, j] = sig[f]
        arity[i] = len(fan)
        if len(fan) <= 6:
            tables[i, 0] = _cover_to_table(cover, len(fan), source, no)
        else:
            words = _cover_to_words(cover, len(fan), source, no)
            tables[i, : len(words)] = words
    for o in outputs:
        if o not in sig:
            raise FormatError(source, f"output {o} is never driven")
    # absorb writer-inserted buffers: output-only buffers reading an input or another output's signal
    po_set = set(outputs)
    head = _ALIAS_HEAD_RE.search(text[:4096])
    marker = _ALIAS_MARKER_RE.search(text) if head is None else None
    marker_line = text.count("\n", 0, marker.start()) + 1 if marker else None
    first_alias = n - int(head.group(1)) if head else None  # the last N nodes are the writer's buffers
    readers = np.bincount(fanins[fanins >= 0], minlength=n_pi + n)
    sig_name = [*inputs, *(out for _, out, _ in nodes)]
    drop: set[int] = set()
    out_sig: list[int] = []
    for o in outputs:
        s = sig[o]
        if s >= n_pi:
            i = s - n_pi
            src = int(fanins[i, 0])
            src_name = sig_name[src] if arity[i] == 1 and src >= 0 else None
            if first_alias is not None:
                absorb = i >= first_alias and arity[i] == 1 and int(tables[i, 0]) == 0b10
            elif marker_line is not None:
                absorb = nodes[i][2] > marker_line and arity[i] == 1 and int(tables[i, 0]) == 0b10
            else:
                absorb = (
                    arity[i] == 1
                    and int(tables[i, 0]) == 0b10
                    and readers[s] == 0
                    and (src < n_pi or (src_name in po_set))
                )
            if absorb:
                drop.add(i)
                s = src
        out_sig.append(s)
    labels = [out for _, out, _ in nodes]
    in_buses, in_perm = group_bits(inputs)
    out_buses, out_perm = group_bits(outputs)
    bad = check_port_names(in_buses, out_buses)
    if bad:
        raise FormatError(source, f"{bad} (lutnn port names are printable ASCII tokens)")
    # reorder primary inputs to bus order
    pi_remap = np.empty(n_pi, dtype=np.int64)
    pi_remap[np.asarray(in_perm, dtype=np.int64)] = np.arange(n_pi)
    keep = np.array([i for i in range(n) if i not in drop], dtype=np.int64)
    node_remap = np.full(n, -1, dtype=np.int64)
    node_remap[keep] = n_pi + np.arange(len(keep))
    full = np.concatenate([pi_remap, node_remap, [-1]])
    f = fanins[keep]
    f = np.where(f >= 0, full[np.where(f >= 0, f, -1)], -1)
    outs = full[np.asarray([out_sig[p] for p in out_perm], dtype=np.int64)]
    names = {int(full[v]): nm for nm, v in sig.items() if v >= n_pi and full[v] >= 0}
    try:
        nl = Netlist.from_unordered(
            in_buses,
            out_buses,
            f,
            arity[keep],
            tables[keep],
            outs,
            name=model,
            signal_names=names,
            node_labels=[labels[i] for i in keep],
        )
    except NetlistError as e:
        raise FormatError(source, str(e)) from None
    return nl


#: truth-table memory a file may ask for (nodes x table words)
MAX_TABLE_BYTES = 512 << 20
# control characters other than tab / CR / LF (Python's splitlines() also breaks lines at some of them,
# Yosys does not: one file must not read as two different netlists)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
_ALIAS_HEAD_RE = re.compile(r"^# lutnn: (\d{1,9}) output aliases at the end\s*$", re.MULTILINE)
# older lutnn files: the marker sat between the nodes and the buffers (Yosys cannot read it after a constant)
_ALIAS_MARKER_RE = re.compile(r"^# lutnn: output aliases\s*$", re.MULTILINE)


def _cover_to_table(cover: list[tuple[str, str]], k: int, source: str, line: int) -> int:
    if not cover:
        return 0
    vals = {o for _, o in cover}
    if len(vals) > 1:
        raise FormatError(source, "a .names cover mixes 1 and 0 outputs; BLIF allows one polarity per cover", line)
    on = vals.pop() == "1"
    if k == 0:
        return 1 if on else 0
    t = 0
    full = (1 << (1 << k)) - 1
    for pat, _ in cover:
        # minterms matching the cube: start from all, restrict per literal
        cube = full
        for j, c in enumerate(pat):
            if c == "-":
                continue
            var = _var_mask(j, k)
            cube &= var if c == "1" else (full ^ var)
        t |= cube
    return t if on else (full ^ t)


def _cover_to_words(cover: list[tuple[str, str]], k: int, source: str, line: int) -> np.ndarray:
    """Truth table (``uint64`` words) of a wide cover, vectorised: near-linear in the cover size.

    Cubes are grouped by their care mask; each group costs ``min(cubes * 2**dashes, 2**k)``
    array operations (expand the cubes, or test every minterm once), so even 2**16-row covers
    of 16-input LUTs read in well under a second.
    """
    n = 1 << k
    t = np.zeros(n, dtype=bool)
    if cover:
        vals = {o for _, o in cover}
        if len(vals) > 1:
            raise FormatError(source, "a .names cover mixes 1 and 0 outputs; BLIF allows one polarity per cover", line)
        groups: dict[int, list[int]] = {}
        for pat, _ in cover:
            r = pat[::-1]  # character j is input j = bit j of the minterm index
            care = int(r.replace("0", "1").replace("-", "0"), 2)
            groups.setdefault(care, []).append(int(r.replace("-", "0"), 2))
        m = None
        for care, vs in groups.items():
            dash = [j for j in range(k) if not (care >> j) & 1]
            v = np.asarray(vs, dtype=np.int64)
            if len(vs) << len(dash) <= n:  # expand each cube into its minterms
                off = np.zeros(1, dtype=np.int64)
                for j in dash:
                    off = np.concatenate([off, off + (1 << j)])
                t[(v[:, None] + off[None, :]).ravel()] = True
            else:  # test every minterm against the group's cubes once
                if m is None:
                    m = np.arange(n, dtype=np.int64)
                hit = np.zeros(n, dtype=bool)
                hit[v] = True
                t |= hit[m & care]
        if vals.pop() == "0":
            t = ~t
    return np.packbits(t, bitorder="little").view("<u8").astype(np.uint64)  # bit m of word w = minterm 64 w + m


def _var_mask(j: int, k: int) -> int:
    """Truth table of the projection onto input j (bit m set iff bit j of m is 1)."""
    block = ((1 << (1 << j)) - 1) << (1 << j)  # 2^j zeros then 2^j ones
    period = 1 << (j + 1)
    m = 0
    for s in range(0, 1 << k, period):
        m |= block << s
    return m


def read_blif(path: str | os.PathLike) -> Netlist:
    """Read a BLIF file into a netlist (errors name the file and line)."""
    p = check_readable(path, "BLIF file")
    try:
        text = p.read_text()
    except UnicodeDecodeError:
        raise FormatError(p, "not a text file; BLIF is plain text") from None
    return parse_blif(text, source=str(p))


def format_blif(nl: Netlist) -> str:
    """BLIF text of ``nl``; each node's cover lists whichever of its on- or off-set is smaller."""
    require_port_names(nl.inputs, nl.outputs, f"BLIF writer ({sanitize(nl.name)})")
    names = _signal_names(nl)
    in_names = names[: nl.n_inputs]
    po_names = nl.output_bit_names()
    aliases = [(names[s], po_names[p]) for p, s in enumerate(nl.output_signals.tolist()) if names[s] != po_names[p]]
    lines = [
        # always written, before .model: marks the file as exact lutnn output (Yosys's reader takes a
        # comment line after a constant .names for a cover row, so no comment goes between nodes)
        f"# lutnn: {len(aliases)} output aliases at the end",
        f".model {sanitize(nl.name)}",
        ".inputs " + " ".join(in_names),
        ".outputs " + " ".join(po_names),
    ]
    for i in range(nl.n_nodes):
        a = int(nl.arity[i])
        fan = [names[s] for s in nl.fanins[i, :a].tolist()]
        lines.append(".names " + " ".join([*fan, names[nl.n_inputs + i]]))
        t = nl.truth_table(i)
        lines.extend(_table_rows(t, a))
    for src, po in aliases:
        lines.append(f".names {src} {po}")
        lines.append("1 1")
    lines.append(".end")
    return "\n".join(lines) + "\n"


def _table_rows(t: int, a: int) -> list[str]:
    """Cover rows of a node: never empty (Yosys reads a coverless ``.names`` as an undefined x LUT)."""
    if a == 0:
        return ["1" if t & 1 else "0"]  # "0": the OFF-set is everything, an explicit constant 0
    n = 1 << a
    ones = bin(t).count("1")
    on = ones <= n - ones
    if ones == 0:
        return ["-" * a + " 0"]  # constant 0 over its inputs: the whole space as OFF-set
    if ones == n:
        return ["-" * a + " 1"]
    rows = []
    for m in range(n):
        if ((t >> m) & 1) == on:
            rows.append("".join("1" if (m >> j) & 1 else "0" for j in range(a)) + (" 1" if on else " 0"))
    return rows


def _signal_names(nl: Netlist) -> list[str]:
    """A unique BLIF name for every signal: input bit names, output names for nodes that drive one output."""
    names: list[str] = list(nl.input_bit_names())
    used = set(names)
    node_names: list[str | None] = [None] * nl.n_nodes
    for p, s in zip(nl.output_bit_names(), nl.output_signals.tolist(), strict=True):
        if s >= nl.n_inputs and node_names[s - nl.n_inputs] is None and p not in used:
            node_names[s - nl.n_inputs] = p
            used.add(p)
    po = set(nl.output_bit_names())
    for i in range(nl.n_nodes):
        if node_names[i] is None:
            cand = sanitize(nl.signal_names.get(nl.n_inputs + i, f"n{nl.n_inputs + i}"))
            if cand in used or cand in po:
                cand = f"n{nl.n_inputs + i}"
                while cand in used or cand in po:
                    cand += "_"
            node_names[i] = cand
            used.add(cand)
    return names + [str(n) for n in node_names]


def write_blif(nl: Netlist, path: str | os.PathLike) -> Path:
    """Write ``nl`` as BLIF (atomically)."""
    return atomic_write(path, format_blif(nl))
