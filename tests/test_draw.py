"""lutnn draw: the side-by-side DOT names every neuron and gate; large models become summaries; PNG/SVG render."""

from __future__ import annotations

import numpy as np
import pytest

from lutnn.draw import gate_name, render_dot, side_by_side_dot
from lutnn.errors import LutnnError
from lutnn.netlist import NetlistBuilder
from lutnn.quantnet.intmodel import example_model
from lutnn.quantnet.neurons import compile_neurons
from lutnn.quantnet.qat import QuantMLP
from lutnn.tools import have_tool


def test_gate_names():
    b = NetlistBuilder("g", k=3)
    x = b.add_input("x", 2)
    sigs = [b.and_(x[0], x[1]), b.xor(x[0], x[1]), b.not_(x[0]), b.maj(x[0], x[1], x[0])]
    b.add_output("y", sigs)
    nl = b.build()
    assert [gate_name(nl, i) for i in range(nl.n_nodes)] == ["AND", "XOR", "NOT", "LUT3"]


def test_side_by_side_has_both_graphs():
    im = example_model()
    nl = compile_neurons(im)
    dot = side_by_side_dot(im, nl, title="t")
    assert dot.count("subgraph cluster_") == 2
    # every weight is an edge with its integer label, every neuron a node
    for w in (3, -2, -1, 2):
        assert f'label="{w}"' in dot
    assert "n_l0_1" in dot and "n_l1_1" in dot
    # every live gate appears once
    live = nl.sweep()
    assert dot.count("c_s") >= live.n_nodes


def test_large_models_are_summarised():
    m = QuantMLP(100, [90, 60], 10, in_bits=1, act_bits=1, fan_in=[4, 4, 6])
    im = m.integer_model()
    nl = compile_neurons(im)
    dot = side_by_side_dot(im, nl, max_neurons=50, max_gates=50)
    assert "layer 1: 60 neurons, fan-in 4" in dot
    assert "n_summary" in dot and "c_summary" in dot
    assert dot.count("->") == 0


@pytest.mark.skipif(not have_tool("dot"), reason="needs graphviz dot")
def test_render_png_svg(tmp_path):
    im = example_model()
    dot = side_by_side_dot(im, compile_neurons(im))
    png = render_dot(dot, tmp_path / "x.png")
    svg = render_dot(dot, tmp_path / "x.svg")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in svg.read_bytes()[:500]
    with pytest.raises(LutnnError, match=r"use a \.png, \.svg"):
        render_dot(dot, tmp_path / "x.gif")
    assert not (tmp_path / "x.gif").exists()


def test_example_model_is_what_the_picture_says():
    im = example_model()
    codes = np.array([[15, 0], [0, 15], [7, 7]])
    h = np.clip((codes @ np.array([[3, -2], [-1, 2]]).T) // 2, 0, 15)
    assert np.array_equal(im.forward(codes), h @ np.array([[2, -1], [-1, 3]]).T + np.array([1, 0]))
