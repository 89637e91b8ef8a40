"""Verifying a pipelined (registered) Verilog design against its combinational reference netlist.

Three checks, each able to fail on its own:

1. **Balanced pipeline** (:func:`check_balanced`): Yosys reads the Verilog (registers kept as
   ``.latch``); every signal must be reached from the inputs through one and the same number of
   registers on every path, the design must have no combinational or registered loop, the clock
   may only clock registers, and every output must sit at the same register depth — the latency.
2. **SAT on the register-free version** (:func:`strip_registers`): every register replaced by a
   wire gives a combinational netlist that must be formally equivalent to the reference. With 1.
   this proves the pipeline computes the reference function, delayed by ``latency`` cycles.
3. **Cycle-accurate simulation**: Icarus clocks one vector per cycle through the Verilog and
   compares outputs ``latency`` cycles later with the reference.
"""

from __future__ import annotations

import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lutnn.errors import FormatError, LutnnError, ToolError
from lutnn.fileio import check_readable
from lutnn.netlist import Netlist

__all__ = [
    "PipelineCheck",
    "PipelineVerdict",
    "check_balanced",
    "has_registers",
    "read_registered_verilog",
    "strip_registers",
    "verify_pipelined",
]


@dataclass
class PipelineCheck:
    """Result of the balanced-pipeline check on a registered BLIF."""

    balanced: bool
    latency: int | None
    registers: int
    problem: str = ""


@dataclass
class PipelineVerdict:
    """Balanced check + SAT on the register-free design + cycle-accurate HDL simulation."""

    ok: bool
    latency: int | None
    registers: int
    balanced: bool
    equivalent: bool | None
    simulation_mismatches: int | None
    vectors: int | None
    runtime_s: float
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "latency_cycles": self.latency,
            "registers": self.registers,
            "balanced": self.balanced,
            "equivalent_without_registers": self.equivalent,
            "simulation_mismatches": self.simulation_mismatches,
            "vectors": self.vectors,
            "runtime_s": round(self.runtime_s, 3),
            "problems": self.problems,
        }


def has_registers(path: str | Path) -> bool:
    """True when a Verilog file has clocked processes (a pipelined export, say)."""
    text = Path(path).read_text(errors="replace")
    return bool(re.search(r"always\s*@\s*\(\s*(posedge|negedge)", text))


def read_registered_verilog(path: str | Path, top: str | None = None, timeout: float | None = None) -> str:
    """BLIF text of a Verilog design through Yosys with its flip-flops kept as ``.latch D Q re clk``.

    Logic is mapped to LUT6 by ABC between the registers (registers are boundaries for ABC).
    """
    from lutnn.formats.names import verilog_ident
    from lutnn.tools.yosys import run_yosys

    p = check_readable(path, "Verilog file").resolve()
    with tempfile.TemporaryDirectory(prefix="lutnn_pipe_") as td:
        local = "design_" + re.sub(r"[^A-Za-z0-9_.]", "_", p.name)
        (Path(td) / local).write_bytes(p.read_bytes())
        top_cmd = f"hierarchy -check -top {verilog_ident(top).strip()}" if top else "hierarchy -check -auto-top"
        script = [
            f'read_verilog -sv "{local}"',
            top_cmd,
            "proc",
            "flatten",
            "opt_clean",
            "techmap",
            "opt -fast",
            "abc -lut 6",
            "opt_clean -purge",
            "tee -q -o cells.json stat -json",
            "write_blif out.blif",
        ]
        try:
            run_yosys("\n".join(script), td, timeout=timeout, what=f"Yosys reading {p.name}")
        except ToolError as e:
            raise FormatError(
                p, f"Yosys could not read it ({str(e).splitlines()[-1][:200]}); fix the Verilog"
            ) from None
        from lutnn.tools.yosys import parse_stat_json

        cells = parse_stat_json((Path(td) / "cells.json").read_text())
        odd = sorted(t for t in cells if t not in ("$lut", "$_DFF_P_", "$_DFF_N_") and cells[t])
        if odd:
            raise FormatError(
                p, f"cells {odd} are not plain LUT logic and edge-triggered registers; lutnn cannot check them"
            )
        return (Path(td) / "out.blif").read_text()


def _parse(
    text: str,
) -> tuple[list[str], list[str], list[tuple[list[str], str, list[str]]], list[tuple[str, str, str, str]]]:
    """Inputs, outputs, ``.names`` (fanins, output, cover rows) and ``.latch`` (d, q, type, clock) of a BLIF."""
    lines = text.replace("\\\n", " ").splitlines()
    ins: list[str] = []
    outs: list[str] = []
    names: list[tuple[list[str], str, list[str]]] = []
    latches: list[tuple[str, str, str, str]] = []
    cur: list[str] | None = None
    for line in lines:
        t = line.split("#", 1)[0].split()
        if not t:
            continue
        if t[0] == ".inputs":
            ins += t[1:]
        elif t[0] == ".outputs":
            outs += t[1:]
        elif t[0] == ".names":
            cur = []
            names.append((t[1:-1], t[-1], cur))
            continue
        elif t[0] == ".latch":
            if len(t) < 5:
                raise LutnnError(f"a .latch without a clock ({line.strip()}): lutnn checks clocked pipelines only")
            latches.append((t[1], t[2], t[3], t[4]))
        elif t[0] in (".subckt", ".gate"):
            raise LutnnError(f"cell {t[1]} in the registered netlist: lutnn checks LUT logic and registers only")
        elif not t[0].startswith(".") and cur is not None:
            cur.append(line.strip())
            continue
        cur = None
    return ins, outs, names, latches


def check_balanced(blif: str, clock: str | None = None) -> PipelineCheck:
    """Is every input→output path through the same number of registers, with no loop? (see module docstring)"""
    ins, outs, names, latches = _parse(blif)
    clocks = {c for _, _, _, c in latches}
    if len(clocks) > 1:
        return PipelineCheck(False, None, len(latches), f"registers on several clocks: {sorted(clocks)}")
    clk = clock or (next(iter(clocks)) if clocks else None)
    edges = {typ for _, _, typ, _ in latches}
    if edges - {"re"}:
        return PipelineCheck(False, None, len(latches), f"registers not on the rising edge ({sorted(edges)})")
    drivers: dict[str, tuple[str, int]] = {}
    for i, (_, o, _) in enumerate(names):
        drivers[o] = ("names", i)
    for i, (_, q, _, _) in enumerate(latches):
        if q in drivers:
            return PipelineCheck(False, None, len(latches), f"signal {q} has two drivers")
        drivers[q] = ("latch", i)
    depth: dict[str, int | None] = {s: 0 for s in ins if s != clk}
    state: dict[str, int] = {}  # 1 visiting, 2 done
    WILD = None  # constants: any depth

    def visit(root: str) -> str:
        stack = [(root, False)]
        while stack:
            s, expanded = stack.pop()
            if s in depth:
                continue
            if s == clk:
                return f"the clock {clk} feeds logic (not only register clock pins)"
            if s not in drivers:
                if s in ("$false", "$true", "$undef"):
                    depth[s] = WILD
                    continue
                return f"signal {s} has no driver"
            kind, i = drivers[s]
            srcs = names[i][0] if kind == "names" else [latches[i][0]]
            if not expanded:
                if state.get(s) == 1:
                    return f"a loop through {s}"
                state[s] = 1
                stack.append((s, True))
                for f in srcs:
                    if f not in depth:
                        if state.get(f) == 1:
                            return f"a loop through {f}"
                        stack.append((f, False))
                continue
            state[s] = 2
            if kind == "latch":
                d = depth[srcs[0]]
                depth[s] = WILD if d is WILD else d + 1
                continue
            if not srcs:
                depth[s] = WILD
                continue
            seen = {f: depth[f] for f in srcs if depth[f] is not WILD}
            vals = set(seen.values())
            if len(vals) > 1:
                detail = ", ".join(f"{f}: {v}" for f, v in sorted(seen.items(), key=lambda kv: kv[1]))
                return f"unbalanced: {s} reads signals at different register depths ({detail})"
            depth[s] = vals.pop() if vals else WILD
        return ""

    for o in outs:
        problem = visit(o)
        if problem:
            return PipelineCheck(False, None, len(latches), problem)
    lat = {depth[o] for o in outs if depth[o] is not WILD}
    if len(lat) > 1:
        per = {o: depth[o] for o in outs if depth[o] is not WILD}
        lo = min(per, key=per.get)
        hi = max(per, key=per.get)
        return PipelineCheck(
            False, None, len(latches), f"unbalanced outputs: {lo} after {per[lo]} registers, {hi} after {per[hi]}"
        )
    return PipelineCheck(True, lat.pop() if lat else 0, len(latches))


def strip_registers(blif: str, source: str = "pipelined design") -> Netlist:
    """The combinational netlist of a registered BLIF: every register a wire, the clock input dropped."""
    from lutnn.formats.blif import parse_blif
    from lutnn.tools.yosys import clean_yosys_blif

    _, _, _, latches = _parse(blif)
    clocks = {c for *_, c in latches}
    out: list[str] = []
    for line in blif.replace("\\\n", " ").splitlines():
        t = line.split()
        if t and t[0] == ".latch":
            out += [f".names {t[1]} {t[2]}", "1 1"]
        elif t and t[0] == ".inputs":
            out.append(" ".join(x for x in t if x not in clocks))
        else:
            out.append(line)
    return parse_blif(clean_yosys_blif("\n".join(out) + "\n"), source=source).sweep()


def verify_pipelined(
    verilog: str | Path,
    reference: Netlist,
    *,
    top: str | None = None,
    simulator: str | None = "icarus",
    vectors: int = 500,
    timeout: float | None = None,
    seed: int = 0,
) -> PipelineVerdict:
    """Balanced check + SAT of the register-free design vs ``reference`` + cycle-accurate simulation."""
    from lutnn.formats.verilog import pipeline_latency
    from lutnn.verify.sat import check_equivalence

    t0 = time.perf_counter()
    blif = read_registered_verilog(verilog, top=top, timeout=timeout)
    bal = check_balanced(blif)
    problems: list[str] = [] if bal.balanced else [bal.problem]
    m = re.search(r"latency (\d+) clock cycles", Path(verilog).read_text(errors="replace")[:4000])
    if bal.balanced and m and int(m.group(1)) != bal.latency:
        problems.append(f"the file says latency {m.group(1)} but its registers give {bal.latency}")
    stripped = strip_registers(blif, source=str(verilog))
    v = check_equivalence(reference, stripped, method="sat", timeout=timeout)
    if not v.equivalent:
        problems.append(f"without registers the design differs from the reference (counterexample {v.counterexample})")
    mism = n = None
    if simulator and bal.balanced and bal.latency:
        from lutnn.sim import simulate
        from lutnn.verify.hdlsim import corner_vectors, simulate_verilog

        every = next(
            (r for r in range(1, max(1, reference.depth()) + 1) if pipeline_latency(reference, r) == bal.latency), None
        )
        if every is None:
            problems.append(f"latency {bal.latency} exceeds the reference depth {reference.depth()}: not simulated")
        else:
            rng = np.random.default_rng(seed)
            x = np.concatenate(
                [
                    corner_vectors(reference.n_inputs, 64),
                    rng.integers(0, 2, (vectors, reference.n_inputs), dtype=np.uint8),
                ]
            )
            got = simulate_verilog(verilog, reference, x, simulator, module=top, pipeline_every=every)
            want = simulate(reference, x)
            n = len(x)
            mism = int((got != want).any(axis=1).sum())
            if mism:
                problems.append(f"{simulator}: {mism} of {n} vectors differ {bal.latency} cycles later")
    ok = not problems
    return PipelineVerdict(
        ok, bal.latency, bal.registers, bal.balanced, v.equivalent, mism, n, time.perf_counter() - t0, problems
    )
