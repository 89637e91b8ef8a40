"""ABC without SAT sweeping (``fraig=False``): the arithmetic route's default, exact on adders."""

from __future__ import annotations

import numpy as np
import pytest

from lutnn.circuits import add
from lutnn.netlist import NetlistBuilder
from lutnn.quantnet.arith import synth_verilog
from lutnn.sim import simulate_buses
from lutnn.synth import synthesize
from lutnn.tools import have_tool

pytestmark = pytest.mark.skipif(not have_tool("yosys"), reason="needs Yosys")

A, B = (g.ravel() for g in np.meshgrid(np.arange(16), np.arange(16)))


def _adder():
    b = NetlistBuilder("add4", k=4)
    x, y = b.add_input("a", 4), b.add_input("b", 4)
    b.add_output("s", add(b, list(x), list(y)))
    return b.build()


@pytest.mark.parametrize("flow", ["lut", "gates"])
def test_synthesize_without_fraig_is_exact(flow, tmp_path):
    r = synthesize(_adder(), flow=flow, k=4, fmax=False, fraig=False, keep_dir=tmp_path)
    script = (tmp_path / "script.ys").read_text()
    assert "-noabc" in script and "-script +" in script and "fraig" not in script
    s = simulate_buses(r.netlist, {"a": A, "b": B})["s"]
    assert np.array_equal(s, A + B)
    assert r.netlist.max_arity <= (4 if flow == "lut" else 2)


@pytest.mark.parametrize("flow", ["lut", "gates"])
def test_synth_verilog_default_skips_fraig(flow, tmp_path):
    v = "module add4(input [3:0] a, input [3:0] b, output [4:0] s);\n  assign s = a + b;\nendmodule\n"
    out = synth_verilog(v, "add4", flow=flow, k=4, workdir=tmp_path)
    script = (tmp_path / "script.ys").read_text()
    assert "synth -flatten -noabc" in script and "fraig" not in script
    assert np.array_equal(simulate_buses(out.netlist, {"a": A, "b": B})["s"], A + B)


def test_compile_and_report_skips_xilinx_above_limit():
    from lutnn.quantnet.arith import compile_and_report
    from lutnn.quantnet.qat import QuantMLP, train_qat

    x = np.random.default_rng(0).random((300, 4))
    m = QuantMLP(4, [3], 2, in_bits=2, in_scale=1 / 3, w_bits=3, act_bits=2, seed=0)
    train_qat(m, x, (x[:, 0] + x[:, 1] > x[:, 2] + x[:, 3]).astype(int), epochs=5, progress=False)
    im = m.integer_model()
    codes = im.quantize_input(x)
    r = compile_and_report(im, codes, route="arith", gates=False, xilinx_max_luts=0)
    assert r["luts"] > 0 and r["xilinx"] == {"skipped": f"{r['luts']} LUTs > xilinx_max_luts=0"}
    assert r["lut_disagreements"]["score_disagreements"] == 0
