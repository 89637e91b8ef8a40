"""Draw a quantized network and the circuit it compiles to, side by side (Graphviz DOT → PNG/SVG).

The left panel is the network graph (inputs, neurons with their bit-widths, one edge per
weight, labelled with the integer weight); the right panel is the gate-level circuit (one node
per gate, named AND/OR/XOR/... or ``LUTk``). Both are drawn top to bottom, inputs on top. Above
``max_nodes`` a panel is replaced by a summary (counts per layer / per gate type, depth), so large
models still give a readable picture. DOT text is written by hand (no Python graphviz package);
the ``dot`` program renders it (found through :func:`lutnn.tools.require_tool`).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lutnn.errors import LutnnError
from lutnn.fileio import atomic_write, temp_dir
from lutnn.netlist import Netlist
from lutnn.quantnet.intmodel import IntegerMLP

if TYPE_CHECKING:
    from lutnn.quantnet.qat import QuantMLP

__all__ = [
    "GATE_NAMES",
    "circuit_dot",
    "draw_side_by_side",
    "gate_name",
    "network_dot",
    "render_dot",
    "side_by_side_dot",
]

GATE_NAMES = {
    (2, 0b1000): "AND",
    (2, 0b1110): "OR",
    (2, 0b0110): "XOR",
    (2, 0b1001): "XNOR",
    (2, 0b0111): "NAND",
    (2, 0b0001): "NOR",
    (2, 0b0010): "ANDN",  # a & ~b
    (2, 0b0100): "ANDN",  # ~a & b
    (2, 0b1011): "ORN",  # a | ~b
    (2, 0b1101): "ORN",  # ~a | b
    (1, 0b01): "NOT",
    (1, 0b10): "BUF",
    (0, 0): "0",
    (0, 1): "1",
}


def gate_name(nl: Netlist, i: int) -> str:
    """A short name for node ``i``: the 2-input gate it is, or ``LUTk``."""
    a = int(nl.arity[i])
    return GATE_NAMES.get((a, nl.truth_table(i)), f"LUT{a}")


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def network_dot(model: QuantMLP | IntegerMLP, max_nodes: int = 120, prefix: str = "n") -> list[str]:
    """DOT lines (a ``subgraph cluster``) for the network graph, or a summary box when it is large."""
    from lutnn.quantnet.neurons import as_integer_model

    im = as_integer_model(model)
    n_nodes = im.n_features + sum(L.n_out for L in im.layers)
    sw, _ssg = im.score_format()
    lines = [f"subgraph cluster_{prefix} {{", f'label="network: {len(im.layers)} layers"; fontsize=18; color=gray60;']
    if n_nodes > max_nodes:
        rows = [f"inputs: {im.n_features} x {im.in_bits}-bit {'signed' if im.in_signed else 'unsigned'}"]
        for li, L in enumerate(im.layers):
            fan = L.fan_in()
            fz = f"fan-in {int(fan.min())}" + (f"..{int(fan.max())}" if fan.max() != fan.min() else "")
            ob = f"{L.out_bits}-bit" if L.thresholds is not None else f"{sw}-bit scores"
            rows.append(f"layer {li}: {L.n_out} neurons, {fz}, out {ob}, {int(L.mask.sum())} weights")
        lines.append(
            f'{prefix}_summary [shape=box, style=rounded, fontname="Helvetica", label={_q(chr(10).join(rows))}];'
        )
        lines.append("}")
        return lines
    lines.append(f"subgraph {prefix}_in {{ rank=same;")
    for i in range(im.n_features):
        lines.append(f'{prefix}_x{i} [label="x{i}\\n{im.in_bits}b", shape=circle, style=filled, fillcolor="#dbe9f6"];')
    lines.append("}")
    prev = [f"{prefix}_x{i}" for i in range(im.n_features)]
    for li, L in enumerate(im.layers):
        last = li == len(im.layers) - 1
        cur = []
        lines.append(f"subgraph {prefix}_l{li} {{ rank=same;")
        for o in range(L.n_out):
            nm = f"{prefix}_l{li}_{o}"
            ob = f"{sw}b score" if last and L.thresholds is None else f"{L.out_bits}b"
            lab = f"y{o}\\n{ob}" if last else f"h{li}.{o}\\n{ob}"
            color = "#fde2c8" if last else "#e3f1dd"
            lines.append(f'{nm} [label="{lab}", shape=circle, style=filled, fillcolor="{color}"];')
            cur.append(nm)
        lines.append("}")
        for o in range(L.n_out):
            for j in L.inputs_of(o):
                w = int(L.weight[o, j])
                style = "" if w >= 0 else ", style=dashed"
                lines.append(f'{prev[j]} -> {cur[o]} [label="{w}", fontsize=9{style}];')
        prev = cur
    lines.append("}")
    return lines


def circuit_dot(nl: Netlist, max_nodes: int = 400, prefix: str = "c", group_buses: bool = True) -> list[str]:
    """DOT lines (a ``subgraph cluster``) for the gate-level circuit, or a summary box when large."""
    nl = nl.sweep()  # dangling constants and dead gates are not part of the picture
    st = nl.stats()
    title = f"circuit: {nl.n_nodes} gates, depth {st.depth}"
    lines = [f"subgraph cluster_{prefix} {{", f"label={_q(title)}; fontsize=18; color=gray60;"]
    if nl.n_nodes > max_nodes:
        counts = Counter(gate_name(nl, i) for i in range(nl.n_nodes))
        rows = [f"{nl.n_inputs} input bits, {nl.n_outputs} output bits", f"{nl.n_nodes} nodes, depth {st.depth}"]
        rows += [f"{k}: {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1])[:12]]
        lines.append(
            f'{prefix}_summary [shape=box, style=rounded, fontname="Helvetica", label={_q(chr(10).join(rows))}];'
        )
        lines.append("}")
        return lines
    names = nl.input_bit_names()
    used = np.zeros(nl.n_signals, dtype=bool)
    used[nl.fanins[nl.fanins >= 0]] = True
    used[nl.output_signals] = True
    lines.append(f"subgraph {prefix}_in {{ rank=same; ordering=out;")
    for s in range(nl.n_inputs):
        if used[s]:
            lines.append(f'{prefix}_s{s} [label={_q(names[s])}, shape=plaintext, fontsize=10, fontcolor="#1f4e79"];')
    lines.append("}")
    for i in range(nl.n_nodes):
        s = nl.n_inputs + i
        g = gate_name(nl, i)
        shape = "box" if g.startswith("LUT") else ("invtriangle" if g == "NOT" else "ellipse")
        lines.append(f'{prefix}_s{s} [label="{g}", shape={shape}, fontsize=9, width=0.3, height=0.25, margin=0.02];')
        for j in range(int(nl.arity[i])):
            f = int(nl.fanins[i, j])
            lines.append(f"{prefix}_s{f} -> {prefix}_s{s} [arrowsize=0.4];")
    lines.append(f"subgraph {prefix}_out {{ rank=sink;")
    for o, nm in enumerate(nl.output_bit_names()):
        lines.append(f'{prefix}_o{o} [label={_q(nm)}, shape=plaintext, fontsize=10, fontcolor="#7f3f00"];')
    lines.append("}")
    for o, s in enumerate(nl.output_signals.tolist()):
        lines.append(f"{prefix}_s{s} -> {prefix}_o{o} [arrowsize=0.4, color=gray50];")
    lines.append("}")
    return lines


def side_by_side_dot(
    model: QuantMLP | IntegerMLP, nl: Netlist, title: str = "", max_neurons: int = 120, max_gates: int = 400
) -> str:
    """One DOT graph: the network on the left, its circuit on the right."""
    lines = ["digraph lutnn {", "rankdir=TB; newrank=true; nodesep=0.15; ranksep=0.35;", 'fontname="Helvetica";']
    if title:
        lines.append(f"labelloc=t; label={_q(title)}; fontsize=20;")
    lines += network_dot(model, max_nodes=max_neurons)
    lines += circuit_dot(nl, max_nodes=max_gates)
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_dot(dot: str, path: str | Path, timeout: float = 300) -> Path:
    """Render DOT text to ``path`` (format from its suffix: .png, .svg, .pdf, .dot), atomically."""
    p = Path(path)
    fmt = p.suffix.lstrip(".").lower()
    if fmt == "dot":
        return atomic_write(p, dot)
    if fmt not in ("png", "svg", "pdf"):
        raise LutnnError(f"cannot render {p.name}: use a .png, .svg, .pdf or .dot file name")
    from lutnn.tools import run_tool

    with temp_dir("lutnn_draw_") as td:
        (Path(td) / "g.dot").write_text(dot)
        run_tool(
            "dot",
            [f"-T{fmt}", "-Gdpi=110" if fmt == "png" else "-q", "-o", f"g.{fmt}", "g.dot"],
            cwd=td,
            timeout=timeout,
            what="graphviz dot",
        )
        data = (Path(td) / f"g.{fmt}").read_bytes()
    return atomic_write(p, data)


def draw_side_by_side(
    model: QuantMLP | IntegerMLP,
    nl: Netlist,
    paths: list[str | Path],
    title: str = "",
    max_neurons: int = 120,
    max_gates: int = 400,
) -> list[Path]:
    """Write the side-by-side picture to every path in ``paths`` (e.g. ``x.png`` and ``x.svg``)."""
    dot = side_by_side_dot(model, nl, title=title, max_neurons=max_neurons, max_gates=max_gates)
    return [render_dot(dot, p) for p in paths]
