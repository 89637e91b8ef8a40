"""Pipelined designs: the balanced-pipeline check, register stripping, and the full verification of exports."""

from __future__ import annotations

import re

import pytest

from lutnn.formats.verilog import format_verilog, pipeline_latency
from lutnn.netlist import random_netlist
from lutnn.synth.pipeline import format_pipelined_blif, pipeline_registers
from lutnn.tools import have_tool
from lutnn.verify.pipeline import check_balanced, strip_registers, verify_pipelined
from lutnn.verify.sat import check_equivalence

needs_tools = pytest.mark.skipif(not (have_tool("yosys") and have_tool("iverilog")), reason="needs Yosys and Icarus")

BALANCED = """.model p
.inputs clk a b
.outputs y
.names a b t
11 1
.latch t t1 re clk 0
.latch b b1 re clk 0
.names t1 b1 y0
10 1
.latch y0 y re clk 0
.end
"""


def test_balanced_pipeline_is_accepted():
    c = check_balanced(BALANCED)
    assert c.balanced and c.latency == 2 and c.registers == 3


def test_missing_register_on_one_path_is_caught():
    # b reaches the second stage without its register: paths a->y and b->y cross 2 and 1 registers
    bad = BALANCED.replace(".latch b b1 re clk 0\n", "").replace("t1 b1 y0", "t1 b y0")
    c = check_balanced(bad)
    assert not c.balanced and "different register depths" in c.problem


def test_unbalanced_outputs_are_caught():
    bad = BALANCED.replace(".outputs y", ".outputs y z") + ".names b z\n1 1\n"
    bad = bad.replace(".end\n.names b z\n1 1\n", ".names b z\n1 1\n.end\n")
    c = check_balanced(bad)
    assert not c.balanced and "unbalanced outputs" in c.problem


def test_loop_and_clock_as_data_are_caught():
    loop = BALANCED.replace("t1 b1 y0", "t1 y y0")  # y0 -> y -> y0 through a register
    assert "loop" in check_balanced(loop).problem
    clk_data = BALANCED.replace("t1 b1 y0", "t1 clk y0")
    assert "clock" in check_balanced(clk_data).problem


def test_pipelined_blif_is_balanced_and_strips_to_the_original():
    nl = random_netlist(10, 40, k=4, seed=3, n_outputs=5)
    for r in (1, 2, 3):
        text = format_pipelined_blif(nl, r)
        c = check_balanced(text)
        assert c.balanced, c.problem
        assert c.latency == pipeline_latency(nl, r)
        assert c.registers == pipeline_registers(nl, r)
        assert check_equivalence(nl, strip_registers(text), method="exhaustive").equivalent


@needs_tools
def test_pipelined_export_verifies_and_a_tampered_one_fails(tmp_path):
    nl = random_netlist(8, 30, k=4, seed=5, n_outputs=4)
    good = tmp_path / "good.v"
    good.write_text(format_verilog(nl, pipeline_every=2))
    v = verify_pipelined(good, nl, vectors=100)
    assert v.ok, v.problems
    assert v.latency == pipeline_latency(nl, 2) and v.equivalent and v.simulation_mismatches == 0

    # tamper: one reader of a stage-1 register takes the undelayed signal instead (a register bypassed)
    text = good.read_text()
    regs = dict(re.findall(r"^\s+(\S+_d1) <= (\S+);$", text, re.M))
    lines = text.splitlines()
    i = next(j for j, line in enumerate(lines) if line.lstrip().startswith("assign") and any(r in line for r in regs))
    reg = next(r for r in regs if re.search(rf"\b{re.escape(r)}\b", lines[i]))
    lines[i] = re.sub(rf"\b{re.escape(reg)}\b", regs[reg], lines[i])
    tampered = "\n".join(lines) + "\n"
    bad = tmp_path / "bad.v"
    bad.write_text(tampered)
    vb = verify_pipelined(bad, nl, vectors=100)
    assert not vb.ok and not vb.balanced

    # tamper: a wrong truth table (balanced, but not the reference function)
    t2 = re.sub(
        r"(localparam \[15:0\] T_\w+ = 16'h)([0-9a-f]{4})",
        lambda mm: mm.group(1) + f"{int(mm.group(2), 16) ^ 1:04x}",
        text,
        count=1,
    )
    assert t2 != text
    bad2 = tmp_path / "bad2.v"
    bad2.write_text(t2)
    v2 = verify_pipelined(bad2, nl, vectors=200)
    assert not v2.ok and v2.balanced and v2.equivalent is False
