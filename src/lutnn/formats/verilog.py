"""Verilog: synthesizable export (combinational or pipelined), self-checking testbenches, and reading via Yosys.

Export writes one module per design: one ``input``/``output`` port per bus (the bus names), one
``wire`` per LUT named after the netlist's signal names where it has them (``n<signal>``
otherwise), common 1- and 2-input functions as plain expressions (``a & b``, ``~a``) and wider
LUTs as an indexed truth-table constant (``localparam [63:0] T_n9 = 64'h…; assign n9 =
T_n9[{c, b, a}];``), the way LUT primitives are written in vendor libraries.

Pipelining (``pipeline_every=R``): the design gets a ``clk`` input; a node at logic level ``L``
is computed in stage ``(L-1)//R``; every value crossing a stage boundary is registered, and all
outputs are registered at the end. The latency is :func:`pipeline_latency` ``= max(1,
ceil(depth/R))`` clock cycles: inputs applied before rising edge 1 appear on the outputs after
rising edge ``latency``, and a new input vector can be applied every cycle.

Reading Verilog needs Yosys, so the reader lives with the tool adapter:
:func:`lutnn.tools.yosys.read_verilog`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from lutnn.errors import LutnnError
from lutnn.fileio import atomic_write
from lutnn.formats.names import VERILOG_KEYWORDS, comment_text, plain_ident, require_port_names, verilog_ident
from lutnn.netlist import Netlist

__all__ = [
    "bits_to_hex_lines",
    "format_testbench",
    "format_verilog",
    "pipeline_latency",
    "write_testbench",
    "write_verilog",
]

# 2-input functions as expressions of fan-in 0 (a) and fan-in 1 (b)
_EXPR2 = {
    0b1000: "{a} & {b}",
    0b1110: "{a} | {b}",
    0b0110: "{a} ^ {b}",
    0b1001: "~({a} ^ {b})",
    0b0111: "~({a} & {b})",
    0b0001: "~({a} | {b})",
    0b0010: "{a} & ~{b}",
    0b0100: "~{a} & {b}",
    0b1011: "{a} | ~{b}",
    0b1101: "~{a} | {b}",
    0b1010: "{a}",
    0b0101: "~{a}",
    0b1100: "{b}",
    0b0011: "~{b}",
    0b0000: "1'b0",
    0b1111: "1'b1",
}
_EXPR1 = {0b10: "{a}", 0b01: "~{a}", 0b00: "1'b0", 0b11: "1'b1"}


def pipeline_latency(nl: Netlist, pipeline_every: int) -> int:
    """Clock cycles from an input vector to its outputs for ``write_verilog(..., pipeline_every=R)``."""
    if pipeline_every < 1:
        raise LutnnError(f"pipeline_every must be >= 1 logic level, got {pipeline_every}")
    return max(1, -(-nl.depth() // pipeline_every))


def _port_refs(buses, base_names) -> list[str]:
    """Verilog references of every bit of ``buses`` (``a[3]`` for wide buses, ``a`` for 1-bit ones)."""
    refs: list[str] = []
    for b, v in zip(buses, base_names, strict=True):
        if b.width == 1:
            refs.append(v)
        else:
            refs.extend(f"{v}[{i}]" for i in range(b.width))
    return refs


def _hex_tables(nl: Netlist) -> list[str]:
    """Each node's truth table as a hex string of exactly ``2**arity`` bits (vectorised for k ≤ 6)."""
    if nl.tables.shape[1] == 1:
        return [format(int(t), "x") for t in nl.tables[:, 0].tolist()]
    return [format(nl.truth_table(i), "x") for i in range(nl.n_nodes)]


def _wire_names(nl: Netlist, taken: set[str]) -> list[str]:
    """Readable unique identifiers of the nodes' wires: signal names where given, ``n<signal>`` otherwise."""
    names: list[str] = []
    n_pi = nl.n_inputs
    sn = nl.signal_names
    for i in range(nl.n_nodes):
        s = n_pi + i
        cand = plain_ident(sn[s]) if s in sn else f"n{s}"
        if cand in taken:
            cand = f"n{s}"
            while cand in taken:
                cand += "_"
        taken.add(cand)
        names.append(cand)
    return names


def format_verilog(nl: Netlist, *, pipeline_every: int | None = None, module: str | None = None) -> str:
    """Synthesizable Verilog-2005 text of ``nl`` (see the module docstring for names and pipelining).

    Linear in the netlist size: one list of lines joined once, so 10^5+ node designs take about a second.
    """
    require_port_names(nl.inputs, nl.outputs, f"Verilog writer ({comment_text(nl.name)})")
    mod = verilog_ident(module or nl.name or "top")
    in_ports = [verilog_ident(b.name) for b in nl.inputs]
    out_ports = [verilog_ident(b.name) for b in nl.outputs]
    taken = {b.name for b in nl.inputs} | {b.name for b in nl.outputs} | {"clk"} | set(VERILOG_KEYWORDS)
    wires = _wire_names(nl, taken)
    sig = _port_refs(nl.inputs, in_ports) + wires  # reference of every signal
    out_refs = _port_refs(nl.outputs, out_ports)
    n_pi = nl.n_inputs
    piped = pipeline_every is not None
    if piped and any(b.name == "clk" for b in nl.inputs + nl.outputs):
        raise LutnnError(
            f"{nl.name}: a bus is named 'clk', which the pipelined export needs for its clock; rename the bus"
        )
    lines: list[str] = [
        f"// {comment_text(nl.name)}: {nl.n_nodes} LUTs, {nl.n_inputs} inputs, {nl.n_outputs} outputs, depth {nl.depth()}",
        "// generated by lutnn (lutnn.formats.verilog); table bit m = output when fan-in j carries bit j of m",
    ]
    ports = (["input wire clk"] if piped else []) + [
        f"input wire {'' if b.width == 1 else f'[{b.width - 1}:0] '}{p}"
        for b, p in zip(nl.inputs, in_ports, strict=True)
    ]
    ports += [
        f"output wire {'' if b.width == 1 else f'[{b.width - 1}:0] '}{p}"
        for b, p in zip(nl.outputs, out_ports, strict=True)
    ]
    if piped:
        lat = pipeline_latency(nl, pipeline_every)
        lines.append(f"// pipelined: a register stage every {pipeline_every} logic levels; latency {lat} clock cycles")
    lines.append(f"module {mod} (")
    lines.append(",\n".join("  " + p for p in ports))
    lines.append(");")

    arity = nl.arity.tolist()
    fan = nl.fanins.tolist()
    hexes = _hex_tables(nl)
    stage: list[int] = []
    if piped:
        lv = nl.levels()
        # stage in which each signal is available (inputs and constants: 0)
        stage = [0] * n_pi + [max(0, (int(v) - 1) // pipeline_every) for v in lv[n_pi:].tolist()]
        delayed: dict[tuple[int, int], str] = {}

        def ref(s: int, at: int) -> str:
            d = at - stage[s]
            if d <= 0 or (s >= n_pi and arity[s - n_pi] == 0):
                return sig[s]
            key = (s, d)
            if key not in delayed:
                delayed[key] = plain_ident(f"{sig[s]}_d{d}")
                for dd in range(1, d):
                    if (s, dd) not in delayed:
                        delayed[(s, dd)] = plain_ident(f"{sig[s]}_d{dd}")
            return delayed[key]

    else:

        def ref(s: int, at: int) -> str:
            return sig[s]

    if nl.n_nodes:
        # declare in chunks so lines stay short
        for c in range(0, len(wires), 16):
            lines.append("  wire " + ", ".join(wires[c : c + 16]) + ";")
    body: list[str] = []
    for i in range(nl.n_nodes):
        a = arity[i]
        w = wires[i]
        at = stage[n_pi + i] if piped else 0
        f = [ref(s, at) for s in fan[i][:a]] if piped else [sig[s] for s in fan[i][:a]]
        h = hexes[i]
        if a == 0:
            body.append(f"  assign {w} = 1'b{int(h, 16) & 1};")
        elif a == 1:
            body.append(f"  assign {w} = {_EXPR1[int(h, 16)].format(a=f[0])};")
        elif a == 2:
            body.append(f"  assign {w} = {_EXPR2[int(h, 16)].format(a=f[0], b=f[1])};")
        else:
            n = 1 << a
            body.append(f"  localparam [{n - 1}:0] T_{w} = {n}'h{h};")
            body.append(f"  assign {w} = T_{w}[{{{', '.join(reversed(f))}}}];")
    if piped:
        lat = pipeline_latency(nl, pipeline_every)
        out_src = [ref(s, lat) for s in nl.output_signals.tolist()]
        # registers: every (signal, delay) chain link, delay d fed by delay d-1
        regs = sorted(delayed.items(), key=lambda kv: (kv[0][0], kv[0][1]))
        if regs:
            for c in range(0, len(regs), 16):
                lines.append("  reg " + ", ".join(v for _, v in regs[c : c + 16]) + ";")
        lines.extend(body)
        if regs:
            lines.append("  always @(posedge clk) begin")
            for (s, d), v in regs:
                src = sig[s] if d == 1 else delayed[(s, d - 1)]
                lines.append(f"    {v} <= {src};")
            lines.append("  end")
        lines.extend(f"  assign {o} = {s};" for o, s in zip(out_refs, out_src, strict=True))
    else:
        lines.extend(body)
        lines.extend(f"  assign {o} = {sig[s]};" for o, s in zip(out_refs, nl.output_signals.tolist(), strict=True))
    lines.append("endmodule")
    return "\n".join(lines) + "\n"


def write_verilog(
    nl: Netlist, path: str | os.PathLike, *, pipeline_every: int | None = None, module: str | None = None
) -> Path:
    """Write ``nl`` as one synthesizable Verilog module (atomically); see :func:`format_verilog`."""
    return atomic_write(path, format_verilog(nl, pipeline_every=pipeline_every, module=module))


# ---------------------------------------------------------------------------------------------- testbench
def bits_to_hex_lines(bits: np.ndarray) -> list[str]:
    """``[N, n]`` 0/1 rows → hex strings, bit j of the row = bit j of the number (for ``$readmemh``)."""
    b = np.asarray(bits, dtype=np.uint8)
    n = b.shape[1]
    digits = max(1, -(-n // 4))
    if n == 0:
        return ["0"] * b.shape[0]
    packed = np.packbits(b, axis=1, bitorder="little")
    return [bytes(row[::-1]).hex()[-digits:] for row in packed]


_FILE_OK = re.compile(r"^[A-Za-z0-9_.+\-/]+$")  # a file name inside a Verilog string literal


def format_testbench(
    nl: Netlist,
    n_vectors: int,
    in_file: str,
    exp_file: str | None,
    *,
    module: str | None = None,
    dump_file: str | None = None,
    pipeline_every: int | None = None,
    tb_name: str = "lutnn_tb",
) -> str:
    """Testbench text: reads vectors with ``$readmemh``, applies them, checks and/or dumps the outputs.

    Prints ``LUTNN_TB vectors=N mismatches=M`` at the end and ``LUTNN_TB_MISMATCH index=… got=…
    expected=…`` for the first mismatching vector (hex, bit j = input/output bit j).
    """
    require_port_names(nl.inputs, nl.outputs, f"testbench writer ({comment_text(nl.name)})")
    for f in (in_file, exp_file, dump_file):
        if f is not None and not _FILE_OK.match(f):
            raise LutnnError(
                f"testbench file name {f[:60]!r} must be plain characters (letters, digits, _ . - /); rename the output"
            )
    mod = verilog_ident(module or nl.name or "top")
    tb_name = verilog_ident(tb_name)
    ni, no = max(1, nl.n_inputs), max(1, nl.n_outputs)
    in_cat = _concat(_port_refs(nl.inputs, [verilog_ident("u_" + b.name) for b in nl.inputs]))
    L: list[str] = [
        "`timescale 1ns/1ps",
        f"module {tb_name};",
        f"  reg [{ni - 1}:0] in_mem [0:{max(0, n_vectors - 1)}];",
        f"  reg [{no - 1}:0] exp_mem [0:{max(0, n_vectors - 1)}];",
        f"  reg [{ni - 1}:0] vin;",
        f"  wire [{no - 1}:0] vout;",
        "  integer i, mism, fd;",
        "  reg clk;",
    ]
    for b in nl.inputs:
        L.append(f"  wire {'' if b.width == 1 else f'[{b.width - 1}:0] '}{verilog_ident('u_' + b.name)};")
    for b in nl.outputs:
        L.append(f"  wire {'' if b.width == 1 else f'[{b.width - 1}:0] '}{verilog_ident('u_' + b.name)};")
    if nl.n_inputs:
        L.append(f"  assign {in_cat} = vin;")
    if nl.n_outputs:
        out_cat = _concat(_port_refs(nl.outputs, [verilog_ident("u_" + b.name) for b in nl.outputs]))
        L.append(f"  assign vout = {out_cat};")
    else:
        L.append("  assign vout = 1'b0;")
    conns = ([".clk(clk)"] if pipeline_every is not None else []) + [
        f".{verilog_ident(b.name)}({verilog_ident('u_' + b.name)})" for b in nl.inputs + nl.outputs
    ]
    L.append(f"  {mod} dut ({', '.join(conns)});")
    L.append("  initial begin")
    L.append(f'    $readmemh("{in_file}", in_mem);')
    if exp_file:
        L.append(f'    $readmemh("{exp_file}", exp_mem);')
    if dump_file:
        L.append(f'    fd = $fopen("{dump_file}", "w");')
    L.append("    mism = 0; clk = 0;")
    if pipeline_every is None:
        L.append(f"    for (i = 0; i < {n_vectors}; i = i + 1) begin")
        L.append("      vin = in_mem[i]; #1;")
        L.extend(_check_lines("i", exp_file, dump_file))
        L.append("    end")
    else:
        lat = pipeline_latency(nl, pipeline_every)
        # stream one vector per cycle; outputs of vector i appear after rising edge i + lat
        L.append(f"    for (i = 0; i < {n_vectors + lat}; i = i + 1) begin")
        L.append(f"      if (i < {n_vectors}) vin = in_mem[i];")
        L.append("      #1 clk = 1; #1 clk = 0; #1;")
        L.append(f"      if (i >= {lat - 1} && i - {lat - 1} < {n_vectors}) begin")
        L.extend("  " + x for x in _check_lines(f"(i - {lat - 1})", exp_file, dump_file))
        L.append("      end")
        L.append("    end")
    if dump_file:
        L.append("    $fclose(fd);")
    L.append(f'    $display("LUTNN_TB vectors=%0d mismatches=%0d", {n_vectors}, mism);')
    L.append("    $finish;")
    L.append("  end")
    L.append("endmodule")
    return "\n".join(L) + "\n"


def _concat(refs: list[str]) -> str:
    """``{msb, ..., lsb}`` of bit references listed LSB first."""
    return "{" + ", ".join(reversed(refs)) + "}"


def _check_lines(idx: str, exp_file: str | None, dump_file: str | None) -> list[str]:
    out: list[str] = []
    if dump_file:
        out.append('      $fdisplay(fd, "%h", vout);')
    if exp_file:
        out.append(f"      if (vout !== exp_mem[{idx}]) begin")
        out.append("        if (mism == 0)")
        out.append(
            f'          $display("LUTNN_TB_MISMATCH index=%0d input=%h got=%h expected=%h", {idx}, in_mem[{idx}], vout, exp_mem[{idx}]);'
        )
        out.append("        mism = mism + 1;")
        out.append("      end")
    return out


def _check_vectors(
    nl: Netlist, input_bits: np.ndarray, expected_bits: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    x = np.asarray(input_bits)
    if x.ndim != 2 or x.shape[1] != nl.n_inputs:
        raise LutnnError(f"{nl.name}: input vectors must have shape [N, {nl.n_inputs}], got {x.shape}")
    if x.size and not np.isin(x, (0, 1)).all():
        raise LutnnError(f"{nl.name}: input vectors must hold only 0/1 bits")
    if expected_bits is None:
        return x.astype(np.uint8), None
    e = np.asarray(expected_bits)
    if e.shape != (x.shape[0], nl.n_outputs):
        raise LutnnError(f"{nl.name}: expected outputs must have shape [{x.shape[0]}, {nl.n_outputs}], got {e.shape}")
    if e.size and not np.isin(e, (0, 1)).all():
        raise LutnnError(f"{nl.name}: expected outputs must hold only 0/1 bits")
    return x.astype(np.uint8), e.astype(np.uint8)


def write_testbench(
    nl: Netlist,
    path: str | os.PathLike,
    input_bits: np.ndarray,
    expected_bits: np.ndarray,
    *,
    module: str | None = None,
    pipeline_every: int | None = None,
) -> Path:
    """Write a self-checking testbench ``path`` plus ``<stem>.in.hex`` / ``<stem>.exp.hex`` vector files beside it.

    Run it with ``iverilog -o tb design.v tb.v && vvp tb`` from the testbench's folder; it prints
    ``LUTNN_TB vectors=N mismatches=M`` (and the first mismatch). ``pipeline_every`` must match the
    export so the testbench drives ``clk`` and waits the pipeline latency.
    """
    x, e = _check_vectors(nl, input_bits, expected_bits)
    p = Path(path)
    stem = re.sub(
        r"[^A-Za-z0-9_.+\-]", "_", p.name.removesuffix(".v").removesuffix(".sv")
    )  # no quote reaches $readmemh
    in_name, exp_name = f"{stem}.in.hex", f"{stem}.exp.hex"
    atomic_write(p.parent / in_name, "\n".join(bits_to_hex_lines(x)) + "\n")
    atomic_write(p.parent / exp_name, "\n".join(bits_to_hex_lines(e)) + "\n")
    text = format_testbench(nl, len(x), in_name, exp_name, module=module, pipeline_every=pipeline_every)
    return atomic_write(p, text)
