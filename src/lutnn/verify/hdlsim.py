"""Running exported Verilog in a real HDL simulator (Icarus or Verilator) and comparing it with the netlist.

:func:`simulate_verilog` writes a testbench that streams stored vectors (``$readmemh``) through
the module and dumps every output vector to a file; :func:`check_simulation` compares that with
:func:`lutnn.sim.simulate` on random plus corner vectors (all-0, all-1, one-hot, walking zero).
Icarus compiles in well under a second and is what the tests use; Verilator compiles for tens
of seconds but then runs millions of vectors quickly.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lutnn.errors import LutnnError, ToolError
from lutnn.fileio import check_readable
from lutnn.formats.verilog import _check_vectors, bits_to_hex_lines, format_testbench
from lutnn.netlist import Netlist
from lutnn.sim import simulate
from lutnn.tools import run_tool

__all__ = ["SIMULATORS", "SimVerdict", "bits_to_buses", "check_simulation", "corner_vectors", "simulate_verilog"]

SIMULATORS = ("icarus", "verilator")
_MODULE = re.compile(r"^\s*module\s+(\\\S+|[A-Za-z_][A-Za-z0-9_$]*)", re.MULTILINE)
_PIPE = re.compile(r"pipelined: a register stage every (\d+) logic levels")


@dataclass
class SimVerdict:
    """Netlist simulation vs HDL simulation on ``vectors`` input vectors."""

    vectors: int
    mismatches: int
    counterexample: dict[str, int] | None
    simulator: str
    runtime_s: float = 0.0
    expected: dict[str, int] | None = None
    got: dict[str, int] | None = None

    @property
    def ok(self) -> bool:
        return self.mismatches == 0

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "vectors": self.vectors,
            "mismatches": self.mismatches,
            "counterexample": self.counterexample,
            "expected": self.expected,
            "got": self.got,
            "simulator": self.simulator,
            "runtime_s": self.runtime_s,
        }


def bits_to_buses(buses, row: np.ndarray) -> dict[str, int]:
    """One row of bits → ``{bus: unsigned int}`` (bit 0 of each bus first); works for any width."""
    out: dict[str, int] = {}
    off = 0
    for b in buses:
        v = 0
        for j, bit in enumerate(row[off : off + b.width].tolist()):
            v |= int(bit & 1) << j
        out[b.name] = v
        off += b.width
    return out


def _module_name(text: str, nl: Netlist, module: str | None, path: Path) -> str:
    mods = [m.strip().lstrip("\\") for m in _MODULE.findall(text)]
    if module is not None:
        if module not in mods:
            raise LutnnError(f"{path}: no module named {module!r} (found {mods})")
        return module
    if not mods:
        raise LutnnError(f"{path}: no Verilog module found")
    if len(mods) == 1:
        return mods[0]
    if nl.name in mods:
        return nl.name
    raise LutnnError(f"{path}: several modules {mods}; say which one with module=")


def simulate_verilog(
    verilog_path: str | os.PathLike,
    nl: Netlist,
    input_bits: np.ndarray,
    simulator: str = "icarus",
    *,
    module: str | None = None,
    pipeline_every: int | None = None,
    timeout: float | None = 600,
) -> np.ndarray:
    """Outputs ``uint8 [N, n_outputs]`` of the Verilog module in ``verilog_path`` on ``input_bits``.

    ``nl`` supplies the port list (buses and widths). A pipelined export (``pipeline_every``, read
    from the file's header comment when not given) is clocked one vector per cycle. Output bits
    the simulator reports as x or z come back as 2, so they never compare equal to 0 or 1.
    """
    if simulator not in SIMULATORS:
        raise LutnnError(f"unknown simulator {simulator!r}; choose one of {', '.join(SIMULATORS)}")
    vp = check_readable(verilog_path, "Verilog file").resolve()
    x, _ = _check_vectors(nl, input_bits, None)
    text = vp.read_text(errors="replace")
    mod = _module_name(text, nl, module, vp)
    if pipeline_every is None:
        m = _PIPE.search(text)
        pipeline_every = int(m.group(1)) if m else None
    n = len(x)
    if n == 0:
        return np.zeros((0, nl.n_outputs), np.uint8)
    with tempfile.TemporaryDirectory(prefix="lutnn_hdl_") as td:
        wd = Path(td)
        (wd / "in.hex").write_text("\n".join(bits_to_hex_lines(x)) + "\n")
        tb = format_testbench(nl, n, "in.hex", None, module=mod, dump_file="out.hex", pipeline_every=pipeline_every)
        (wd / "tb.v").write_text(tb)
        if simulator == "icarus":
            run_tool(
                "iverilog",
                ["-g2005-sv", "-o", "sim.vvp", "-s", "lutnn_tb", str(vp), "tb.v"],
                cwd=wd,
                timeout=timeout,
                what="iverilog (compiling the design)",
            )
            run_tool("vvp", ["-n", "sim.vvp"], cwd=wd, timeout=timeout, what="vvp (simulating)")
        else:
            run_tool(
                "verilator",
                [
                    "--binary",
                    "--timing",
                    "-j",
                    "2",
                    "-Wno-fatal",
                    "-Wno-lint",
                    "-Wno-style",
                    "--top-module",
                    "lutnn_tb",
                    "-Mdir",
                    "obj",
                    "-O1",
                    str(vp),
                    "tb.v",
                ],
                cwd=wd,
                timeout=timeout,
                what="verilator (compiling the design)",
            )
            exe = wd / "obj" / "Vlutnn_tb"
            try:
                p = subprocess.run([str(exe)], cwd=wd, capture_output=True, text=True, timeout=timeout)
            except subprocess.TimeoutExpired:
                raise ToolError(f"Verilator model did not finish within {timeout} s") from None
            if p.returncode != 0:
                raise ToolError(f"Verilator model failed (exit {p.returncode}): {(p.stdout + p.stderr)[-800:]}")
        out = (wd / "out.hex").read_text().split() if (wd / "out.hex").exists() else []
    if len(out) != n:
        raise ToolError(f"{simulator} produced {len(out)} output vectors, expected {n} (see the simulator log)")
    return _parse_hex(out, nl.n_outputs)


def _parse_hex(lines: list[str], width: int) -> np.ndarray:
    res = np.zeros((len(lines), width), np.uint8)
    if width == 0:
        return res
    for r, h in enumerate(lines):
        if re.search(r"[xzXZ]", h):
            res[r] = 2
            continue
        v = int(h, 16)
        res[r] = [(v >> j) & 1 for j in range(width)]
    return res


def corner_vectors(n_inputs: int, cap: int = 512) -> np.ndarray:
    """All-0, all-1, one-hot and walking-zero vectors (the latter two over the first ``cap`` inputs)."""
    rows = [np.zeros(n_inputs, np.uint8), np.ones(n_inputs, np.uint8)]
    m = min(n_inputs, cap)
    if m:
        eye = np.eye(m, n_inputs, dtype=np.uint8)
        rows.extend(eye)
        rows.extend(1 - eye)
    return np.asarray(rows, dtype=np.uint8).reshape(-1, n_inputs)


def check_simulation(
    nl: Netlist,
    verilog_path: str | os.PathLike,
    *,
    n_random: int = 1000,
    simulator: str = "icarus",
    seed: int = 0,
    module: str | None = None,
    input_bits: np.ndarray | None = None,
) -> SimVerdict:
    """Compare :func:`lutnn.sim.simulate` with the HDL simulation of ``verilog_path`` on random + corner vectors."""
    t0 = time.perf_counter()
    if input_bits is None:
        rng = np.random.default_rng(seed)
        x = np.concatenate([corner_vectors(nl.n_inputs), rng.integers(0, 2, (n_random, nl.n_inputs), dtype=np.uint8)])
    else:
        x, _ = _check_vectors(nl, input_bits, None)
    want = simulate(nl, x)
    got = simulate_verilog(verilog_path, nl, x, simulator, module=module)
    bad = np.flatnonzero((want != got).any(axis=1))
    cex = exp = g = None
    if len(bad):
        i = int(bad[0])
        cex = bits_to_buses(nl.inputs, x[i])
        exp = bits_to_buses(nl.outputs, want[i])
        g = bits_to_buses(nl.outputs, np.minimum(got[i], 1))
    return SimVerdict(len(x), len(bad), cex, simulator, time.perf_counter() - t0, exp, g)
