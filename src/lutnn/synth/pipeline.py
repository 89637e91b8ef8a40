"""Pipelining a LUT netlist: a register stage every R LUT levels, as BLIF with ``.latch`` lines for Yosys.

The stage rule is the one of :func:`lutnn.formats.verilog.format_verilog` (``pipeline_every=R``):
a node at logic level v sits in stage ``(v - 1) // R``; a fan-in from an earlier stage is read
through one register per stage crossed; the outputs are read at stage ``latency`` =
``max(1, ceil(depth / R))``, so every input→output path crosses exactly ``latency`` registers.
"""

from __future__ import annotations

import numpy as np

from lutnn.errors import LutnnError
from lutnn.formats.blif import _signal_names, _table_rows, sanitize
from lutnn.netlist import Netlist

__all__ = ["format_pipelined_blif", "pipeline_registers", "pipeline_stages"]


def pipeline_stages(nl: Netlist, every: int) -> tuple[np.ndarray, int]:
    """Stage of every signal (inputs 0) and the latency in cycles for a register every ``every`` levels."""
    if every < 1:
        raise LutnnError(f"--pipeline must be >= 1 LUT level, got {every}")
    lv = nl.levels().astype(np.int64)
    stage = np.maximum(0, (lv - 1) // every)
    stage[: nl.n_inputs] = 0
    return stage, max(1, -(-nl.depth() // every))


def _delays(nl: Netlist, every: int) -> tuple[np.ndarray, int, dict[int, int]]:
    """Stages, latency and, per signal, the deepest register delay any reader needs."""
    stage, lat = pipeline_stages(nl, every)
    n_pi = nl.n_inputs
    need: dict[int, int] = {}
    const = np.zeros(nl.n_signals, dtype=bool)
    const[n_pi:] = nl.arity == 0
    for i in range(nl.n_nodes):
        at = int(stage[n_pi + i])
        for s in nl.fanins[i, : nl.arity[i]].tolist():
            d = at - int(stage[s])
            if d > 0 and not const[s]:
                need[s] = max(need.get(s, 0), d)
    for s in nl.output_signals.tolist():
        d = lat - int(stage[s])
        if d > 0 and not const[s]:
            need[s] = max(need.get(s, 0), d)
    return stage, lat, need


def pipeline_registers(nl: Netlist, every: int) -> int:
    """Flip-flops of the pipelined design (one per signal and stage crossed, shared by all readers)."""
    return int(sum(_delays(nl, every)[2].values()))


def format_pipelined_blif(nl: Netlist, every: int, clock: str = "clk") -> str:
    """BLIF of ``nl`` with a register stage every ``every`` LUT levels (``.latch D Q re clk 0``), clock input first."""
    stage, lat, need = _delays(nl, every)
    n_pi = nl.n_inputs
    names = _signal_names(nl)[:n_pi] + [f"lutnn_n{s}" for s in range(n_pi, nl.n_signals)]
    if clock in names:
        raise LutnnError(f"{nl.name}: a signal is named {clock!r}, which the pipelined design needs for its clock")
    po = nl.output_bit_names()

    def ref(s: int, at: int) -> str:
        d = at - int(stage[s])
        if d <= 0 or s not in need:
            return names[s]
        return f"{names[s]}_d{d}"

    lines = [
        f".model {sanitize(nl.name)}",
        ".inputs " + " ".join([clock, *names[:n_pi]]),
        ".outputs " + " ".join(po),
    ]
    for i in range(nl.n_nodes):
        a = int(nl.arity[i])
        at = int(stage[n_pi + i])
        fan = [ref(s, at) for s in nl.fanins[i, :a].tolist()]
        lines.append(".names " + " ".join([*fan, names[n_pi + i]]))
        lines.extend(_table_rows(nl.truth_table(i), a))
    for s, dmax in sorted(need.items()):
        prev = names[s]
        for d in range(1, dmax + 1):
            q = f"{names[s]}_d{d}"
            lines.append(f".latch {prev} {q} re {clock} 0")
            prev = q
    for p, s in enumerate(nl.output_signals.tolist()):
        src = ref(s, lat)
        if src != po[p]:
            lines.append(f".names {src} {po[p]}")
            lines.append("1 1")
    lines.append(".end")
    return "\n".join(lines) + "\n"
