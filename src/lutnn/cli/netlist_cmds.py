"""Netlist commands: ``lutnn stats``, ``synth``, ``export``, ``verify``, ``simulate``.

Every FILE argument is read with :func:`lutnn.formats.read_netlist` (``.blif``, ``.aig``,
``.aag``, ``.json``, ``.v``); every output goes through an atomic write, so a failing command
leaves no partial file behind.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer
from rich.table import Table

from lutnn.cli.app import app, console, parent_dir
from lutnn.errors import LutnnError
from lutnn.fileio import all_or_nothing, atomic_open, atomic_write
from lutnn.netlist import Netlist
from lutnn.progress import reporting, stage

__all__ = ["export", "simulate", "stats", "synth", "verify"]


_LATCHES = typer.Option("error", "--latches", help="AIGER latches: error, or cut (each becomes an input + an output)")
_TOP = typer.Option(None, "--top", help="Verilog input: the top module (default: the one Yosys picks)")


def read_cli_netlist(path: Path, top: str | None = None, latches: str = "error") -> Netlist:
    """Read any netlist file; ``latches`` applies to AIGER, ``top`` to Verilog."""
    from lutnn.formats import format_of, read_netlist

    if latches not in ("error", "cut"):
        raise LutnnError(f"--latches must be 'error' or 'cut', got {latches!r}")
    fmt = format_of(path)
    if fmt in ("aig", "aag"):
        return read_netlist(path, latches=latches)
    if fmt == "verilog" and top:
        return read_netlist(path, top=top)
    return read_netlist(path)


def _write_json(path: Path | None, data: dict) -> None:
    if path is not None:
        atomic_write(path, json.dumps(data, indent=2, default=str) + "\n")
        console.print(f"wrote {path}")


@app.command()
def stats(
    file: Path = typer.Argument(..., help="netlist (.blif/.aig/.aag/.json/.v)"),
    json_out: Path | None = typer.Option(None, "--json", help="also write the figures as JSON", callback=parent_dir),
    latches: str = _LATCHES,
    top: str | None = _TOP,
) -> None:
    """Print size, depth and fan-out figures of a netlist."""
    nl = read_cli_netlist(file, top, latches)
    s = nl.stats()
    t = Table(title=f"{file.name}: {s.name}")
    t.add_column("figure")
    t.add_column("value", justify="right")
    for k, v in (
        ("inputs", f"{s.inputs} bits in {len(nl.inputs)} buses"),
        ("outputs", f"{s.outputs} bits in {len(nl.outputs)} buses"),
        ("LUT nodes", str(s.nodes)),
        ("nodes by arity", ", ".join(f"{a}:{c}" for a, c in sorted(s.nodes_by_arity.items())) or "-"),
        ("depth", str(s.depth)),
        ("max fan-out", str(s.max_fanout)),
        ("mean fan-out", f"{s.mean_fanout:.2f}"),
        ("widest LUT", str(s.k)),
    ):
        t.add_row(k, v)
    console.print(t)
    _write_json(json_out, s.as_dict())


@app.command()
def synth(
    file: Path = typer.Argument(..., help="netlist to synthesize"),
    lut: int = typer.Option(6, "--lut", "-k", help="LUT size K for the lut flow (2..16)"),
    flow: list[str] = typer.Option(
        ["lut"], "--flow", "-f", help="lut, gates, aig, xilinx, premapped, ice40, ecp5 (repeat for several)"
    ),
    report: Path | None = typer.Option(None, "--report", "-r", help="write the report(s) as JSON", callback=parent_dir),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="write the mapped netlist (first flow)", callback=parent_dir
    ),
    timeout: float | None = typer.Option(None, help="seconds per tool run"),
    no_fmax: bool = typer.Option(False, "--no-fmax", help="skip nextpnr place-and-route (ice40/ecp5)"),
    json_out: Path | None = typer.Option(
        None, "--json", help="whole-design hardware figures (luts.*, timing.*: LUT6, depth, FFs, latency, Fmax)"
    ),
    pipeline: int | None = typer.Option(
        None, "--pipeline", "-p", help="with --json: register stage every R LUT levels"
    ),
    latches: str = _LATCHES,
    top: str | None = _TOP,
) -> None:
    """Optimise and re-map with Yosys/ABC; print LUT/gate counts, depth and Fmax."""
    from lutnn.formats import format_of, write_netlist
    from lutnn.synth import FLOWS, synthesize

    bad = [f for f in flow if f not in FLOWS]
    if bad:
        raise LutnnError(f"unknown flow(s) {bad}; choose from {', '.join(FLOWS)}")
    if output is not None:
        format_of(output)  # fail on an unknown extension before the long run
    nl = read_cli_netlist(file, top, latches)
    if json_out is not None:
        from lutnn.synth.design import synthesize_design

        dflow = flow[0] if flow[0] in ("premapped", "xilinx", "lut") else "premapped"
        with console.status(f"whole-design synthesis ({dflow}) of {nl.name}, Fmax on ECP5 …"):
            ds = synthesize_design(nl, flow=dflow, fmax=not no_fmax, pipeline=pipeline, timeout=timeout)
        if pipeline:
            from lutnn.synth.pipeline import pipeline_registers

            ds.timing["ff"] = pipeline_registers(nl, pipeline)
        console.print(ds.report.table())
        console.print(f"timing: {ds.timing}")
        _write_json(json_out, {"luts": ds.luts, "timing": ds.timing})
        return
    reports = []
    for i, f in enumerate(flow):
        with reporting(console), stage(f"Yosys {f} flow on {nl.name} ({nl.n_nodes} nodes)"):
            res = synthesize(nl, f, lut, timeout=timeout, fmax=not no_fmax)
        console.print(res.report.table())
        reports.append(res.report.as_dict())
        if i == 0 and output is not None:
            if res.netlist is None:
                raise LutnnError(f"the {f} flow's mapped netlist could not be read back; no {output} written")
            write_netlist(res.netlist, output)
            console.print(f"wrote {output}")
    _write_json(report, reports[0] if len(reports) == 1 else {"reports": reports})


@app.command()
def export(
    file: Path = typer.Argument(..., help="netlist to export"),
    output: Path = typer.Option(..., "--output", "-o", help="Verilog file to write (.v)", callback=parent_dir),
    pipeline: int | None = typer.Option(None, "--pipeline", "-p", help="register stage every R logic levels"),
    module: str | None = typer.Option(None, help="module name (default: the design name)"),
    testbench: Path | None = typer.Option(
        None, "--testbench", help="also write a self-checking testbench here", callback=parent_dir
    ),
    vectors: int = typer.Option(1000, help="random vectors stored in the testbench"),
    check: bool = typer.Option(False, "--check", help="run the exported module in Icarus against the netlist"),
    latches: str = _LATCHES,
    top: str | None = _TOP,
) -> None:
    """Write a synthesizable Verilog module (optionally pipelined) and a self-checking testbench."""
    from lutnn.formats.verilog import pipeline_latency, write_testbench, write_verilog
    from lutnn.sim import simulate
    from lutnn.verify import check_simulation

    nl = read_cli_netlist(file, top, latches)
    if output.suffix.lower() not in (".v", ".sv"):
        raise LutnnError(f"{output}: Verilog output needs a .v or .sv extension")
    with all_or_nothing():  # the module and its testbench appear together or not at all
        write_verilog(nl, output, pipeline_every=pipeline, module=module)
        if testbench is not None:
            from lutnn.verify.hdlsim import corner_vectors

            rng = np.random.default_rng(0)
            x = np.concatenate(
                [corner_vectors(nl.n_inputs, 64), rng.integers(0, 2, (vectors, nl.n_inputs), dtype=np.uint8)]
            )
            write_testbench(nl, testbench, x, simulate(nl, x), module=module, pipeline_every=pipeline)
    msg = f"wrote {output} ({nl.n_nodes} LUTs"
    if pipeline is not None:
        msg += f", pipelined every {pipeline} levels: latency {pipeline_latency(nl, pipeline)} cycles"
    console.print(msg + ")")
    if testbench is not None:
        console.print(f"wrote {testbench} with {len(x)} vectors (run: iverilog -o tb {output} {testbench} && vvp tb)")
    if check:
        v = check_simulation(nl, output, n_random=vectors, module=module)
        _print_sim(v)
        if not v.ok:
            raise typer.Exit(1)


def _print_sim(v) -> None:
    if v.ok:
        console.print(f"[green]HDL simulation ({v.simulator}) matches the netlist on {v.vectors} vectors[/]")
    else:
        console.print(
            f"[red]HDL simulation ({v.simulator}) differs on {v.mismatches}/{v.vectors} vectors[/]; first: "
            f"inputs {v.counterexample} → netlist {v.expected}, HDL {v.got}"
        )


@app.command()
def verify(
    a: Path = typer.Argument(..., help="first design (netlist or Verilog)"),
    b: Path = typer.Argument(..., help="second design (netlist or Verilog)"),
    method: str = typer.Option("sat", help="sat (proof), exhaustive (≤ 24 inputs) or random"),
    hdl: bool = typer.Option(False, "--hdl", help="when B is Verilog, also run it in Icarus against A"),
    json_out: Path | None = typer.Option(None, "--json", help="write the verdict as JSON", callback=parent_dir),
    timeout: float | None = typer.Option(None, help="seconds for the SAT run"),
    latches: str = _LATCHES,
    top: str | None = _TOP,
) -> None:
    """Check that A and B compute the same function; on a mismatch print an input that tells them apart.

    A registered (pipelined) Verilog B is checked against A by :mod:`lutnn.verify.pipeline`:
    balanced pipeline, SAT without registers, cycle-accurate Icarus run with the latency offset.
    """
    from lutnn.verify import check_equivalence, check_simulation
    from lutnn.verify.pipeline import has_registers

    if b.suffix.lower() in (".v", ".sv") and has_registers(b):
        _verify_pipelined(read_cli_netlist(a, None, latches), b, top, timeout, json_out)
        return

    na, nb = read_cli_netlist(a, top, latches), read_cli_netlist(b, top, latches)
    with reporting(console), stage(f"checking {a} ≡ {b} ({method})"):
        v = check_equivalence(na, nb, method=method, timeout=timeout)
    out = v.as_dict()
    if v.equivalent:
        extra = f" ({v.vectors} vectors)" if v.vectors else ""
        console.print(
            f"[bold green]EQUIVALENT[/] {a} ≡ {b} by {v.method}{extra} in {v.runtime_s:.2f} s"
            + (f"; {v.note}" if v.note else "")
        )
    else:
        console.print(f"[bold red]NOT EQUIVALENT[/] {a} vs {b} ({v.method}, {v.runtime_s:.2f} s)")
        t = Table(title="counterexample")
        t.add_column("input bus")
        t.add_column("value", justify="right")
        for k, val in (v.counterexample or {}).items():
            t.add_row(k, f"{val} (0x{val:x})")
        console.print(t)
        t = Table(title="outputs")
        t.add_column("output bus")
        t.add_column(f"A: {a}", justify="right")  # full paths: two runs' netlist.blif differ by folder
        t.add_column(f"B: {b}", justify="right")
        for k in v.outputs_a or {}:
            va, vb = v.outputs_a[k], (v.outputs_b or {}).get(k)
            t.add_row(("[red]" if va != vb else "") + k, str(va), str(vb))
        console.print(t)
    if hdl and b.suffix.lower() in (".v", ".sv"):
        sv = check_simulation(na, b)
        _print_sim(sv)
        out["hdl_simulation"] = sv.as_dict()
    _write_json(json_out, out)
    if not v.equivalent or (hdl and not out.get("hdl_simulation", {"ok": True})["ok"]):
        raise typer.Exit(1)


def _verify_pipelined(ref: Netlist, b: Path, top: str | None, timeout: float | None, json_out: Path | None) -> None:
    from lutnn.verify.pipeline import verify_pipelined

    with console.status(f"checking pipelined {b.name} against {ref.name} …"):
        pv = verify_pipelined(b, ref, top=top, timeout=timeout)
    if pv.ok:
        console.print(
            f"[bold green]EQUIVALENT[/] {b} is {ref.name} pipelined: balanced ({pv.registers} registers, latency "
            f"{pv.latency} cycles), SAT-equivalent without registers, Icarus matches on {pv.vectors} vectors "
            f"{pv.latency} cycles later ({pv.runtime_s:.1f} s)"
        )
    else:
        console.print(f"[bold red]NOT EQUIVALENT[/] {b} (pipelined) vs {ref.name}:")
        for p in pv.problems:
            console.print(f"  - {p}")
    _write_json(json_out, pv.as_dict())
    if not pv.ok:
        raise typer.Exit(1)


def _load_vectors(path: Path, nl: Netlist) -> np.ndarray:
    from lutnn.data import read_arrays

    x = read_arrays(path, "vector file")
    if isinstance(x, dict):
        from lutnn.sim import encode_buses

        return encode_buses(nl, x)
    if x.ndim == 2 and x.shape[1] == nl.n_inputs:
        if x.dtype.kind == "f" and not np.isfinite(x).all():
            raise LutnnError(f"{path}: vectors contain NaN/inf; give 0/1 bits")
        if x.size and not np.isin(x, (0, 1)).all():
            raise LutnnError(f"{path}: a [N, {nl.n_inputs}] array must hold 0/1 bits")
        return x.astype(np.uint8)
    if x.ndim == 1 and len(nl.inputs) == 1:
        from lutnn.sim import encode_buses

        return encode_buses(nl, {nl.inputs[0].name: x})
    raise LutnnError(
        f"{path}: shape {x.shape} does not fit {nl.name}: give [N, {nl.n_inputs}] bits, "
        "integers [N] for a one-bus design, or an .npz with one integer array per input bus"
    )


@app.command()
def simulate(
    file: Path = typer.Argument(..., help="netlist to simulate"),
    vectors: Path | None = typer.Option(None, "--vectors", "-x", help=".npy [N, n_inputs] bits, or .npz per bus"),
    random: int = typer.Option(0, "--random", help="simulate this many random vectors instead"),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="write output bits [N, n_outputs] as .npy", callback=parent_dir
    ),
    verilog: Path | None = typer.Option(None, "--verilog", help="also run this Verilog in a simulator and compare"),
    simulator: str = typer.Option("icarus", help="icarus or verilator (with --verilog)"),
    show: int = typer.Option(8, help="rows to print"),
    latches: str = _LATCHES,
    top: str | None = _TOP,
) -> None:
    """Evaluate a netlist on stored (or random) vectors; optionally compare with its Verilog in Icarus/Verilator."""
    import time

    from lutnn.sim import decode_buses
    from lutnn.sim import simulate as run_sim
    from lutnn.verify import simulate_verilog
    from lutnn.verify.hdlsim import bits_to_buses

    nl = read_cli_netlist(file, top, latches)
    if vectors is None and random <= 0:
        raise LutnnError("give --vectors X.npy or --random N")
    if output is not None and output.suffix != ".npy":
        raise LutnnError(f"{output}: output must be a .npy file")
    x = (
        _load_vectors(vectors, nl)
        if vectors is not None
        else np.random.default_rng(0).integers(0, 2, (random, nl.n_inputs), dtype=np.uint8)
    )
    t0 = time.perf_counter()
    y = run_sim(nl, x)
    dt = time.perf_counter() - t0
    console.print(f"simulated {len(x)} vectors through {nl.n_nodes} LUTs in {dt * 1e3:.1f} ms")
    t = Table(title=f"{nl.name}: first {min(show, len(x))} vectors")
    for bname in [b.name for b in nl.inputs] + [b.name for b in nl.outputs]:
        t.add_column(bname, justify="right")
    outs = decode_buses(nl, y) if all(b.width <= 64 for b in nl.outputs) else None
    for i in range(min(show, len(x))):
        ins = bits_to_buses(nl.inputs, x[i])
        ov = bits_to_buses(nl.outputs, y[i]) if outs is None else {k: int(v[i]) for k, v in outs.items()}
        t.add_row(*[str(v) for v in ins.values()], *[str(v) for v in ov.values()])
    console.print(t)
    if verilog is not None:
        got = simulate_verilog(verilog, nl, x, simulator)
        bad = np.flatnonzero((got != y).any(axis=1))
        if len(bad):
            console.print(
                f"[red]{verilog} differs from the netlist on {len(bad)}/{len(x)} vectors[/] (first: "
                f"{bits_to_buses(nl.inputs, x[bad[0]])})"
            )
            raise typer.Exit(1)
        console.print(f"[green]{verilog} ({simulator}) matches the netlist on all {len(x)} vectors[/]")
    if output is not None:
        with atomic_open(output, "wb") as fh:
            np.save(fh, y)
        console.print(f"wrote {output}")
