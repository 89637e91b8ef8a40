"""Whole-design synthesis: one run, parts attributed from that run sum to the design, premapped flow is exact."""

from __future__ import annotations

import numpy as np
import pytest

from lutnn.netlist import NetlistBuilder, random_netlist
from lutnn.synth.design import attribute_parts, lut_depth, synthesize_design
from lutnn.synth.yosys import synthesize
from lutnn.tools import have_tool
from lutnn.verify.sat import check_equivalence

needs_yosys = pytest.mark.skipif(not have_tool("yosys"), reason="Yosys not installed")


def three_part_design():
    """An encoder / core / head chain of random LUTs, with each signal's part."""
    rng = np.random.default_rng(7)
    b = NetlistBuilder("three_parts", k=6)
    x = list(b.add_input("x", 12))
    bounds = [b.n_signals]
    sig = x
    for n in (10, 14, 6):
        new = []
        for _ in range(n):
            f = rng.choice(len(sig), size=min(4, len(sig)), replace=False)
            new.append(b.add_lut([sig[j] for j in f], int(rng.integers(1, 1 << 16))))
        sig = new
        bounds.append(b.n_signals)
    b.add_output("y", sig)
    ref = b.build()
    part = np.full(ref.n_signals, -1)
    for p in range(3):
        part[bounds[p] : bounds[p + 1]] = p
    return ref, part, ["encoder", "core", "head"]


def test_attribution_of_the_reference_itself_is_exact():
    ref, part, names = three_part_design()
    counts = attribute_parts(ref, part, names, ref, np.ones(ref.n_nodes, bool))
    assert counts == {"encoder": 10, "core": 14, "head": 6}


def test_attribution_counts_a_function_found_in_two_parts_once_in_each():
    # a core LUT equal to an encoder signal (here: its copy) must count in the core, not the encoder
    b = NetlistBuilder("dup", k=6)
    x = list(b.add_input("x", 6))
    e0 = b.add_lut(x[:3], 0x96)
    e1 = b.add_lut(x[3:], 0xE8)
    c0 = b.add_lut(x[:3], 0x96)  # the core recomputes e0
    c1 = b.add_lut([e0, e1, c0], 0x7E)
    h = b.add_lut([c0, c1], 0x6)
    b.add_output("y", [h, e1])
    ref = b.build()
    part = np.full(ref.n_signals, -1)
    part[6:8], part[8:10], part[10] = 0, 1, 2
    counts = attribute_parts(ref, part, ["encoder", "core", "head"], ref, np.ones(ref.n_nodes, bool))
    assert counts == {"encoder": 2, "core": 2, "head": 1}


def test_attribution_tells_rare_signals_apart():
    # an AND of 24 inputs is 0 on every uniform random vector; the biased half of the vectors sets it
    b = NetlistBuilder("rare", k=6)
    x = list(b.add_input("x", 24))
    enc = [b.add_lut(x[6 * i : 6 * i + 6], 1 << 63) for i in range(4)]
    core = b.add_lut(enc, 1 << 15)
    b.add_output("y", [core])
    ref = b.build()
    part = np.full(ref.n_signals, -1)
    part[24:28], part[28] = 0, 1
    counts = attribute_parts(ref, part, ["encoder", "core", "head"], ref, np.ones(ref.n_nodes, bool))
    assert counts == {"encoder": 4, "core": 1, "head": 0}


def test_lut_depth_counts_only_luts():
    nl = random_netlist(8, 20, k=4, seed=1, n_outputs=3)
    assert lut_depth(nl, np.ones(nl.n_nodes, bool)) == nl.depth()
    assert lut_depth(nl, np.zeros(nl.n_nodes, bool)) == 0


@needs_yosys
def test_whole_design_parts_sum_to_the_design():
    ref, part, names = three_part_design()
    nl = ref.sweep()
    ds = synthesize_design(nl, flow="premapped", parts=(ref, part, names), fmax=False)
    luts = ds.luts
    assert luts["scope"] == "whole" and ("native" in luts["tool"] or "WebAssembly" in luts["tool"])
    assert sum(luts["design_lut6_parts"].values()) == luts["design_lut6"]
    assert luts["design_lut6"] <= nl.n_nodes
    assert ds.timing["depth_lut"] <= nl.depth() and ds.timing["ff"] == 0 and ds.timing["latency_cycles"] == 0


@needs_yosys
def test_premapped_flow_is_equivalent_and_never_larger():
    nl = random_netlist(10, 60, k=6, seed=2, n_outputs=6)
    res = synthesize(nl, "premapped", fmax=False)
    assert res.netlist is not None and res.report.lut_count <= nl.n_nodes
    assert check_equivalence(nl, res.netlist, method="exhaustive").equivalent


@needs_yosys
def test_buffers_and_inverters_in_the_mapped_design():
    """Output aliases are not LUT levels; an inverter is read back (Xilinx INV) and counted as a LUT1."""
    b = NetlistBuilder("aliases", k=6)
    x = b.add_input("x", 6)
    a = b.add_lut(list(x[:3]), 0b10010110)
    c = b.add_lut([a, x[3]], 0b0110)
    n = b.add_lut([x[4]], 0b01)
    b.add_output("y", [c, c, x[5], a, n])
    nl = b.build()
    res = synthesize(nl, "premapped", fmax=False)
    assert res.netlist is not None and res.report.luts_by_size == {1: 1, 2: 1, 3: 1}
    assert check_equivalence(nl, res.netlist, method="exhaustive").equivalent
    ds = synthesize_design(nl, fmax=False)
    assert ds.timing["depth_lut"] == nl.depth() == 2 and ds.luts["design_lut6"] == 3
