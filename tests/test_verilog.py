"""Verilog export: bit-exact in Icarus against lutnn.sim (and the naive reference), pipelining, testbenches, reading."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest

from lutnn.errors import FormatError, LutnnError
from lutnn.formats.verilog import (
    format_verilog,
    pipeline_latency,
    write_testbench,
    write_verilog,
)
from lutnn.netlist import TABLE_AND2, TABLE_XOR2, NetlistBuilder
from lutnn.sim import exhaustive_words, simulate, simulate_naive, unpack_bits
from lutnn.tools import have_tool, require_tool
from lutnn.tools.yosys import read_verilog
from lutnn.verify import check_equivalence, check_simulation, simulate_verilog

needs_icarus = pytest.mark.skipif(not have_tool("iverilog"), reason="Icarus Verilog not installed")
needs_yosys = pytest.mark.skipif(not have_tool("yosys"), reason="Yosys not installed")


def random_netlist(n_in=10, n=30, k=6, n_out=5, seed=0, wide=False):
    """Random LUT network mixing constants, inverters, 2-input gates and k-LUTs (and one 8-LUT if ``wide``)."""
    rng = np.random.default_rng(seed)
    b = NetlistBuilder(f"rnd{seed}", k=8 if wide else k)
    a = b.add_input("a", n_in - 3)
    c = b.add_input("c", 3)
    sigs = [*a, *c]
    sigs.append(b.const(1))
    sigs.append(b.not_(sigs[0]))
    sigs.append(b.add_lut([sigs[1], sigs[2]], TABLE_XOR2))
    for _ in range(n):
        ar = int(rng.integers(2, k + 1))
        f = rng.choice(len(sigs), size=ar, replace=False)
        t = int(rng.integers(0, 2**63)) | (int(rng.integers(0, 2)) << 63)
        sigs.append(b.add_lut([sigs[j] for j in f], t & ((1 << (1 << ar)) - 1)))
    if wide:
        f = rng.choice(len(sigs), size=8, replace=False)
        sigs.append(b.add_lut([sigs[j] for j in f], int.from_bytes(rng.bytes(32), "little")))
    b.signal_names[sigs[-1]] = "last node"
    b.add_output("y", sigs[-n_out:])
    b.add_output("z", [sigs[0], sigs[-1]])  # an output straight from an input, and a shared signal
    return b.build()


def all_inputs(nl):
    return unpack_bits(exhaustive_words(nl.n_inputs), 1 << nl.n_inputs)


@pytest.fixture(scope="module")
def nl():
    return random_netlist(wide=True)


def test_reference_simulators_agree(nl):
    x = all_inputs(nl)
    assert np.array_equal(simulate(nl, x), simulate_naive(nl, x))


@needs_icarus
def test_export_bit_exact_in_icarus(nl, tmp_path):
    p = write_verilog(nl, tmp_path / "d.v")
    text = p.read_text()
    assert "module rnd0 (" in text and "input wire [6:0] a" in text and "output wire [4:0] y" in text
    assert "last_node" in text  # readable name kept from signal_names
    x = all_inputs(nl)
    got = simulate_verilog(p, nl, x)
    assert np.array_equal(got, simulate_naive(nl, x))


@needs_icarus
@pytest.mark.parametrize("r", [1, 2, 5])
def test_pipelined_export(nl, tmp_path, r):
    p = write_verilog(nl, tmp_path / "p.v", pipeline_every=r)
    text = p.read_text()
    assert "input wire clk" in text and "always @(posedge clk)" in text
    lat = pipeline_latency(nl, r)
    assert lat == -(-nl.depth() // r)
    assert f"latency {lat} clock cycles" in text
    v = check_simulation(nl, p, n_random=200)
    assert v.ok, v


@needs_icarus
def test_testbench_self_checks(nl, tmp_path):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 2, (300, nl.n_inputs), dtype=np.uint8)
    y = simulate(nl, x)
    write_verilog(nl, tmp_path / "d.v")
    tb = write_testbench(nl, tmp_path / "tb.v", x, y)
    assert (tmp_path / "tb.in.hex").exists() and (tmp_path / "tb.exp.hex").exists()

    def run():
        iv, vvp = require_tool("iverilog"), require_tool("vvp")
        subprocess.run([iv, "-o", "tb.vvp", "d.v", tb.name], cwd=tmp_path, check=True)
        return subprocess.run([vvp, "-n", "tb.vvp"], cwd=tmp_path, check=True, capture_output=True, text=True).stdout

    out = run()
    assert "LUTNN_TB vectors=300 mismatches=0" in out
    y_bad = y.copy()
    y_bad[7, 2] ^= 1
    y_bad[100, 0] ^= 1
    write_testbench(nl, tmp_path / "tb.v", x, y_bad)
    out = run()
    assert "LUTNN_TB vectors=300 mismatches=2" in out
    assert re.search(r"LUTNN_TB_MISMATCH index=7 ", out)


@needs_icarus
def test_odd_bus_names_are_escaped(tmp_path):
    b = NetlistBuilder("module", k=2)  # a keyword as module name
    i = b.add_input("input", 2)
    j = b.add_input("x-y", 1)
    b.add_output("out.put", [b.add_lut([i[0], j[0]], TABLE_AND2), b.xor(i[1], j[0])])
    nl = b.build()
    p = write_verilog(nl, tmp_path / "odd.v")
    assert "\\input " in p.read_text() and "\\out.put " in p.read_text()
    assert check_simulation(nl, p, n_random=20).ok
    nl.outputs[0] = type(nl.outputs[0])("out put", 2)  # a space cannot be in any Verilog identifier: refused
    with pytest.raises(LutnnError, match="contains ' '"):
        format_verilog(nl)


def test_format_is_linear_and_complete():
    nl = random_netlist(n_in=16, n=20000, seed=3)
    text = format_verilog(nl)
    assert text.count("assign ") == nl.n_nodes + nl.n_outputs
    assert text.rstrip().endswith("endmodule")


def test_bad_arguments(nl, tmp_path):
    with pytest.raises(LutnnError, match="pipeline_every"):
        format_verilog(nl, pipeline_every=0)
    with pytest.raises(LutnnError, match=r"shape \[N, 10\]"):
        write_testbench(nl, tmp_path / "tb.v", np.zeros((4, 3)), np.zeros((4, 7)))
    with pytest.raises(LutnnError, match="expected outputs"):
        write_testbench(nl, tmp_path / "tb.v", np.zeros((4, 10)), np.zeros((4, 3)))
    assert not (tmp_path / "tb.v").exists()
    b = NetlistBuilder("c")
    clk = b.add_input("clk")
    b.add_output("y", [b.not_(clk[0])])
    with pytest.raises(LutnnError, match="clk"):
        format_verilog(b.build(), pipeline_every=1)


@needs_yosys
def test_read_verilog_round_trip(tmp_path):
    nl = random_netlist(n_in=9, n=12, k=4, seed=5)
    p = write_verilog(nl, tmp_path / "rt.v")
    back = read_verilog(p)
    assert back.max_arity <= 6
    assert check_equivalence(nl, back, method="exhaustive").equivalent


@needs_yosys
def test_read_verilog_errors(tmp_path):
    bad = tmp_path / "bad.v"
    bad.write_text("module bad(input a, output y);\n  assign y = a &;\nendmodule\n")
    with pytest.raises(FormatError, match=r"bad\.v:2: .*syntax error"):
        read_verilog(bad)
    reg = tmp_path / "reg.v"
    reg.write_text("module r(input clk, input a, output reg y);\n  always @(posedge clk) y <= a;\nendmodule\n")
    with pytest.raises(FormatError, match="combinational"):
        read_verilog(reg)
    with pytest.raises(LutnnError, match="not found"):
        read_verilog(tmp_path / "missing.v")
