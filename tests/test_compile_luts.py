"""Trained LUT network → netlist → Verilog: bit-exact agreement at every step."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lutnn.lutnet.compile import (
    check_against_model,
    compile_core,
    compile_design,
    compile_encoder,
    pack_tables,
    read_bits,
)
from lutnn.lutnet.config import EncoderConfig, ModelConfig, RunConfig, TrainConfig
from lutnn.lutnet.train import train
from lutnn.netlist import table_from_function
from lutnn.pipeline import export_run
from lutnn.sim import simulate, simulate_buses
from lutnn.tools import have_tool


@pytest.fixture(scope="module")
def trained():
    cfg = RunConfig(
        encoder=EncoderConfig(kind="thermometer", levels=3),
        model=ModelConfig(layers=[150, 50], k=6, tau=2.0, smooth=0.3),
        train=TrainConfig(epochs=3, lr=0.02, threads=1),
    )
    return train(cfg, progress=False)


def test_pack_tables_bit_order() -> None:
    bits = np.zeros((2, 64), np.uint8)
    bits[0, [0, 5, 63]] = 1
    bits[1, 1] = 1
    t = pack_tables(bits)
    assert int(t[0, 0]) == (1 << 0) | (1 << 5) | (1 << 63) and int(t[1, 0]) == 2
    small = np.array([[0, 1, 1, 0]], np.uint8)
    assert int(pack_tables(small)[0, 0]) == table_from_function(2, lambda b: b[0] ^ b[1])
    wide = np.zeros((1, 256), np.uint8)
    wide[0, 200] = 1
    assert pack_tables(wide).shape == (1, 4) and int(pack_tables(wide)[0, 3]) == 1 << 8


def test_whole_design_equals_pytorch_on_the_test_set(trained) -> None:
    nl = compile_design(trained.model)
    a = check_against_model(trained.model, nl, trained.q_test)
    assert a.samples == 450 and a.disagreements == 0
    assert (a.model_pred == trained.prepared.dataset.y_test).mean() > 0.4
    assert [b.name for b in nl.inputs] == [f"x{i}" for i in range(64)] and nl.outputs[0].name == "class_index"
    # also on random integers over the whole bus range, not just the data
    q = np.random.default_rng(0).integers(0, 32, size=(2000, 64))
    assert check_against_model(trained.model, nl, q).disagreements == 0


def test_core_netlist_equals_layer_outputs(trained) -> None:
    m = trained.model
    core = compile_core(m)
    live = 50 + len(np.unique(m.layers[1].connections()))  # first-layer nodes nobody reads are dropped
    assert core.n_nodes == live and core.max_arity == 6
    _assert_core_equals_layers(core, m, trained.q_test[:300])


def _assert_core_equals_layers(core, m, q) -> None:
    """The core netlist on the encoder bits of ``q`` gives the last LUT layer's outputs bit for bit."""
    with torch.no_grad():
        bits = m.encoder(torch.as_tensor(q))
        h = bits.t()
        for layer in m.layers:
            h = layer.forward_t(h)
    np.testing.assert_array_equal(simulate(core, bits.numpy().astype(np.uint8)), h.t().numpy().astype(np.uint8))


def test_core_drops_first_layer_nodes_nobody_reads(trained) -> None:
    """A first layer read only in part: the core netlist keeps the live nodes and still computes the layers."""
    import copy

    m = copy.deepcopy(trained.model)
    with torch.no_grad():
        m.layers[1].conn.copy_(m.layers[1].conn % 7)  # the second layer now reads first-layer nodes 0..6 only
    core = compile_core(m)
    assert core.n_nodes == 50 + 7
    assert np.array_equal(read_bits(m), np.unique(m.layers[0].connections()[:7]))
    assert compile_encoder(m).outputs[0].width == len(read_bits(m)) < m.encoder.n_bits
    _assert_core_equals_layers(core, m, trained.q_test[:100])


def test_counts_match_group_sum(trained) -> None:
    m = trained.model
    nl = compile_design(m, counts=True)
    q = trained.q_test[:200]
    out = simulate_buses(nl, {f"x{i}": q[:, i] for i in range(64)})
    with torch.no_grad():
        scores = m(torch.as_tensor(q)) * m.head.tau
    for c in range(10):
        np.testing.assert_array_equal(out[f"count{c}"], scores[:, c].round().long().numpy())


@pytest.mark.tools
@pytest.mark.skipif(not have_tool("iverilog"), reason="Icarus Verilog not installed")
def test_export_run_verilog_agrees(trained, tmp_path) -> None:
    rep = export_run(
        trained.model,
        trained.q_test,
        trained.prepared.dataset.y_test,
        tmp_path,
        synth=None,
        hdl_sim="icarus",
        hdl_vectors=120,
    )
    assert rep["netlist_vs_pytorch"]["disagreements"] == 0
    assert rep["hdl"]["mismatches_vs_netlist"] == 0 and rep["hdl"]["vectors"] == 120
    on_disk = json.loads((tmp_path / "report.json").read_text())
    assert on_disk["interface"]["inputs"][5]["map"] == "q = clip(floor(x), 0, 31)"
    assert (tmp_path / "design.v").read_text().count("module") >= 1


def test_export_run_fails_when_verilog_disagrees(trained, tmp_path, monkeypatch) -> None:
    """A Verilog-vs-netlist mismatch is an error (with report.json kept for diagnosis), not a statistic."""
    import lutnn.pipeline as luts
    from lutnn.errors import LutnnError

    fake = {"simulator": "icarus", "vectors": 10, "mismatches_vs_netlist": 3, "accuracy": 0.5}
    monkeypatch.setattr(luts, "_check_verilog", lambda *a, **k: fake)
    with pytest.raises(LutnnError, match="disagrees with the netlist on 3 of 10"):
        export_run(
            trained.model, trained.q_test, trained.prepared.dataset.y_test, tmp_path, synth=None, hdl_sim="icarus"
        )
    assert json.loads((tmp_path / "report.json").read_text())["hdl"]["mismatches_vs_netlist"] == 3


def test_export_run_can_synthesise_the_parts_one_by_one(trained, tmp_path) -> None:
    """``synth_scope="parts"``: encoder, core and head each through Yosys; their sum is an upper bound only."""
    rep = export_run(
        trained.model,
        trained.q_test,
        trained.prepared.dataset.y_test,
        tmp_path,
        synth="lut",
        synth_scope="parts",
        verilog=False,
        hdl_sim=None,
    )
    luts = rep["luts"]
    parts = luts["parts_separately"]
    assert 0 < parts["core"] == luts["core_lut6"] <= luts["core_nodes"] <= 200
    assert parts["encoder"] > 0 and parts["head"] > 0
    assert luts["parts_upper_bound"] == sum(parts.values()) and luts["scope"] == "parts"
    assert luts["design_lut6"] is None  # parts numbers are never reported as the design's
    cfg = RunConfig()
    cfg.export.synth_scope = "layers"
    with pytest.raises(Exception, match=r"export\.synth_scope='layers' must be 'whole'"):
        cfg.check()


@pytest.mark.tools
@pytest.mark.skipif(not have_tool("iverilog"), reason="Icarus Verilog not installed")
def test_export_run_whole_design_report_schema(trained, tmp_path) -> None:
    """Default scope: one whole-design run; parts from that run sum to it; timing keys; pipelined export checked."""
    rep = export_run(
        trained.model,
        trained.q_test,
        trained.prepared.dataset.y_test,
        tmp_path,
        synth="xilinx",
        fmax=False,
        pipeline=2,
        hdl_sim="icarus",
        hdl_vectors=50,
    )
    luts, timing = rep["luts"], rep["timing"]
    assert luts["scope"] == "whole" and luts["tool"].startswith("yosys ")
    assert sum(luts["design_lut6_parts"].values()) == luts["design_lut6"] <= luts["design_nodes"]
    assert set(luts["design_lut6_parts"]) == {"encoder", "core", "head"}
    assert 0 < timing["depth_lut"] <= luts["design_depth"]
    assert timing["latency_cycles"] == -(-luts["design_depth"] // 2) and timing["ff"] > 0
    assert "fmax_mhz" in timing and "fmax_source" in timing
    assert rep["hdl_pipelined"]["mismatches_vs_netlist"] == 0
    assert (tmp_path / "design_pipelined.v").exists()


def test_encoder_and_head_parts_compose_to_the_design(trained) -> None:
    """compile_encoder → compile_core → compile_head, simulated in turn, give the whole design's classes."""
    from lutnn.lutnet.compile import compile_encoder, compile_head, netlist_predict

    m, q = trained.model, trained.q_test
    enc = compile_encoder(m)
    from lutnn.sim import encode_buses

    used_bits = simulate(enc, encode_buses(enc, {f"x{i}": q[:, i] for i in range(q.shape[1])}))
    bits = np.zeros((len(q), m.encoder.n_bits), dtype=np.uint8)
    bits[:, np.unique(m.layers[0].connections())] = used_bits  # unread encoder bits stay 0: no node sees them
    h = simulate(compile_core(m), bits)
    out = simulate(compile_head(m), h)
    cls = (out.astype(np.int64) << np.arange(out.shape[1])).sum(1)
    np.testing.assert_array_equal(cls, netlist_predict(compile_design(m), q))
