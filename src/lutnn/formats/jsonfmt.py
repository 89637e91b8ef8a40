"""A versioned JSON form of a netlist: readable, diffable and exact (every table bit kept).

Layout (``version`` 1)::

    {"format": "lutnn-netlist", "version": 1, "name": "top", "k": 6,
     "inputs": [{"name": "a", "width": 4}, ...], "outputs": [{"name": "y", "width": 2}, ...],
     "nodes": [{"fanins": [0, 5], "table": "8"}, ...],      # node i drives signal n_inputs + i
     "output_signals": [7, 9], "signal_names": {"7": "carry"}}

``table`` is the truth table in hexadecimal (bit ``m`` = output for address ``m``, fan-in 0 the
least-significant address bit), ``2**arity / 4`` digits at least one. Reading checks the schema
and every netlist invariant and names the offending field on failure.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from lutnn.errors import FormatError, NetlistError
from lutnn.fileio import atomic_write, check_readable
from lutnn.formats.names import check_port_names, has_control
from lutnn.netlist import MAX_K, Bus, Netlist, table_words

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "from_json_dict", "parse_json", "read_json", "to_json_dict", "write_json"]

FORMAT_NAME = "lutnn-netlist"
FORMAT_VERSION = 1
#: largest JSON netlist file lutnn reads
MAX_JSON_BYTES = 512 << 20
#: most bits a JSON netlist may declare per direction
MAX_JSON_BITS = 1 << 24
#: truth-table memory a file may ask for (nodes x table words)
MAX_TABLE_BYTES = 512 << 20


def to_json_dict(nl: Netlist) -> dict[str, Any]:
    """The JSON-ready dictionary of ``nl`` (see the module docstring for the layout)."""
    fan = nl.fanins.tolist()
    ar = nl.arity.tolist()
    tw = nl.tables.shape[1]
    rows = nl.tables.tolist()
    nodes = []
    for i in range(nl.n_nodes):
        a = ar[i]
        t = 0
        for w in range(tw):
            t |= int(rows[i][w]) << (64 * w)
        digits = max(1, (1 << a) // 4)
        nodes.append({"fanins": fan[i][:a], "table": format(t, f"0{digits}x")})
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "name": nl.name,
        "k": nl.k,
        "inputs": [{"name": b.name, "width": b.width} for b in nl.inputs],
        "outputs": [{"name": b.name, "width": b.width} for b in nl.outputs],
        "nodes": nodes,
        "output_signals": nl.output_signals.tolist(),
        "signal_names": {str(s): n for s, n in sorted(nl.signal_names.items())},
    }


def _err(source: str, msg: str) -> FormatError:
    return FormatError(source, msg)


def _int(v: Any, where: str, source: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise _err(source, f"{where} must be an integer, got {str(v)[:40]!r}")
    if not -(2**62) < v < 2**62:
        raise _err(source, f"{where} = {str(v)[:30]} is out of range")
    return v


def _buses(v: Any, key: str, source: str) -> list[Bus]:
    if not isinstance(v, list):
        raise _err(source, f"'{key}' must be a list of {{name, width}} objects")
    out = []
    for i, b in enumerate(v):
        if not isinstance(b, dict) or set(b) != {"name", "width"} or not isinstance(b["name"], str):
            raise _err(source, f"{key}[{i}] must be an object with a string 'name' and an integer 'width'")
        w = _int(b["width"], f"{key}[{i}].width", source)
        if not 1 <= w <= MAX_JSON_BITS:
            raise _err(source, f"{key}[{i}].width must be at least 1 and at most {MAX_JSON_BITS}, got {w}")
        out.append(Bus(b["name"], w))
    return out


def from_json_dict(d: Any, source: str = "<json>") -> Netlist:
    """Netlist from the dictionary form; schema and invariant errors name the field."""
    if not isinstance(d, dict):
        raise _err(source, "the top level must be a JSON object")
    if d.get("format") != FORMAT_NAME:
        raise _err(source, f"'format' must be {FORMAT_NAME!r} (got {d.get('format')!r}): not a lutnn netlist file")
    ver = d.get("version")
    if ver != FORMAT_VERSION:
        raise _err(source, f"unsupported version {ver!r}; this lutnn reads version {FORMAT_VERSION} (upgrade lutnn)")
    missing = [k for k in ("inputs", "outputs", "nodes", "output_signals") if k not in d]
    if missing:
        raise _err(source, f"missing required field(s) {missing}")
    unknown = set(d) - {
        "format",
        "version",
        "name",
        "k",
        "inputs",
        "outputs",
        "nodes",
        "output_signals",
        "signal_names",
    }
    if unknown:
        raise _err(source, f"unknown field(s) {sorted(unknown)}")
    name = d.get("name", "top")
    if not isinstance(name, str):
        raise _err(source, "'name' must be a string")
    if has_control(name) or len(name) > 1000:
        raise _err(source, f"'name' {name[:60]!r} holds a control character or is too long: names are data, not code")
    inputs = _buses(d["inputs"], "inputs", source)
    outputs = _buses(d["outputs"], "outputs", source)
    for key, buses in (("inputs", inputs), ("outputs", outputs)):
        if sum(b.width for b in buses) > MAX_JSON_BITS:
            raise _err(source, f"'{key}' declare more than {MAX_JSON_BITS} bits in all")
    bad = check_port_names(inputs, outputs)
    if bad:
        raise _err(source, bad)
    nodes = d["nodes"]
    if not isinstance(nodes, list):
        raise _err(source, "'nodes' must be a list of {fanins, table} objects")
    arities = []
    for i, nd in enumerate(nodes):
        if not isinstance(nd, dict) or set(nd) != {"fanins", "table"} or not isinstance(nd["fanins"], list):
            raise _err(source, f"nodes[{i}] must be an object with a 'fanins' list and a hex 'table' string")
        arities.append(len(nd["fanins"]))
    max_a = max(arities, default=0)
    k = _int(d.get("k", max(max_a, 1)), "k", source)
    if k > MAX_K or max_a > MAX_K:
        raise _err(source, f"k={max(k, max_a)} exceeds the maximum LUT size {MAX_K}")
    if k < 1:
        raise _err(source, f"k={k} must be at least 1")
    if max_a > k:
        raise _err(source, f"nodes[{arities.index(max_a)}] has {max_a} fan-ins but k={k}")
    n = len(nodes)
    tw = table_words(k)
    if n * 8 * (tw + k) > MAX_TABLE_BYTES:
        raise _err(
            source, f"{n} nodes with k={k} need more than {MAX_TABLE_BYTES >> 20} MiB of tables; use a smaller 'k'"
        )
    n_sig = sum(b.width for b in inputs) + n
    fanins = np.full((n, k), -1, np.int64)
    tables = np.zeros((n, tw), np.uint64)
    for i, nd in enumerate(nodes):
        for j, s in enumerate(nd["fanins"]):
            v = _int(s, f"nodes[{i}].fanins[{j}]", source)
            if not 0 <= v < n_sig:
                raise _err(source, f"nodes[{i}].fanins[{j}] = {v} is not a signal id (0..{n_sig - 1})")
            fanins[i, j] = v
        t_s = nd["table"]
        if not isinstance(t_s, str):
            raise _err(source, f"nodes[{i}].table must be a hex string, got {str(t_s)[:40]!r}")
        if len(t_s) > max(1, (1 << arities[i]) // 4) + 2:
            raise _err(
                source,
                f"nodes[{i}].table has {len(t_s)} digits; {arities[i]} fan-ins need at most {max(1, (1 << arities[i]) // 4)}",
            )
        try:
            t = int(t_s, 16)
        except ValueError:
            raise _err(source, f"nodes[{i}].table {t_s!r} is not hexadecimal") from None
        if t < 0 or t >> (1 << arities[i]):
            raise _err(source, f"nodes[{i}].table 0x{t_s} has bits above 2**{arities[i]} (its fan-in count)")
        for w in range(tw):
            tables[i, w] = (t >> (64 * w)) & 0xFFFFFFFFFFFFFFFF
    outs_v = d["output_signals"]
    if not isinstance(outs_v, list):
        raise _err(source, "'output_signals' must be a list of signal ids")
    outs = np.asarray([_int(s, f"output_signals[{i}]", source) for i, s in enumerate(outs_v)], np.int64)
    if len(outs) and (outs.min() < 0 or outs.max() >= n_sig):
        bad_o = int(outs[(outs < 0) | (outs >= n_sig)][0])
        j = int(np.flatnonzero((outs < 0) | (outs >= n_sig))[0])
        names_o = [n for b in outputs for n in b.bit_names()]
        who = f"output bit {names_o[j]} is undriven: " if j < len(names_o) else ""
        raise _err(source, f"{who}output_signals holds {bad_o}, which is not a signal id (0..{n_sig - 1})")
    names_v = d.get("signal_names", {})
    if not isinstance(names_v, dict):
        raise _err(source, "'signal_names' must be an object {signal id: name}")
    names: dict[int, str] = {}
    for s, nm in names_v.items():
        if not re.fullmatch(r"-?[0-9]{1,12}", s) or not isinstance(nm, str):
            raise _err(source, f"signal_names entry {s[:40]!r}: keys must be signal ids and values strings")
        if has_control(nm) or len(nm) > 1000:
            raise _err(source, f"signal_names entry {s}: name {nm[:60]!r} holds a control character or is too long")
        names[int(s)] = nm
    nl = Netlist(
        inputs=inputs,
        outputs=outputs,
        fanins=fanins.astype(np.int32),
        arity=np.asarray(arities, np.uint8),
        tables=tables,
        output_signals=outs.astype(np.int32),
        name=name,
        signal_names=names,
    )
    try:
        nl.validate()
    except NetlistError as e:
        raise _err(source, f"{e} (nodes must be listed in topological order)") from None
    bad = [s for s in names if not 0 <= s < nl.n_signals]
    if bad:
        raise _err(source, f"signal_names refers to missing signal {bad[0]}")
    return nl


def read_json(path: str | os.PathLike) -> Netlist:
    """Read a ``lutnn-netlist`` JSON file (errors name the file and the field or line)."""
    p = check_readable(path, "JSON netlist")
    if p.stat().st_size > MAX_JSON_BYTES:
        raise FormatError(
            p, f"the file is larger than {MAX_JSON_BYTES >> 20} MiB; lutnn reads JSON netlists up to that size"
        )
    try:
        return parse_json(p.read_text(), source=str(p))
    except UnicodeDecodeError:
        raise FormatError(p, "not a text file; a JSON netlist is UTF-8 text") from None


def parse_json(text: str, source: str = "<json>") -> Netlist:
    """Netlist from JSON text; syntax, nesting, schema and invariant errors are :class:`FormatError`."""
    try:
        d = json.loads(text)
    except json.JSONDecodeError as e:
        raise FormatError(source, f"invalid JSON: {e.msg} (column {e.colno})", e.lineno) from None
    except RecursionError:
        raise FormatError(source, "JSON nested too deeply (a netlist needs 4 levels)") from None
    except ValueError as e:  # e.g. an integer of more than 4300 digits
        raise FormatError(source, f"invalid JSON: {str(e)[:80]}") from None
    return from_json_dict(d, source=source)


def write_json(nl: Netlist, path: str | os.PathLike, indent: int | None = None) -> Path:
    """Write ``nl`` as JSON (atomically); ``indent`` pretty-prints it."""
    return atomic_write(path, json.dumps(to_json_dict(nl), indent=indent) + "\n")
