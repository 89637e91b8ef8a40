"""Truth-table route: the compiled netlist equals the integer model on every input (exhaustive on tiny nets)."""

from __future__ import annotations

import numpy as np
import pytest

from lutnn.netlist import NetlistBuilder
from lutnn.quantnet.intmodel import QuantError
from lutnn.quantnet.neurons import build_argmax, compile_neurons, count_disagreements, neuron_netlist
from lutnn.quantnet.qat import QuantMLP, train_qat
from lutnn.sim import simulate_buses


def _tiny(in_signed=False, act_signed=False, out_bits=None, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(256, 6)) if in_signed else rng.random((256, 6))
    y = (x[:, 0] + x[:, 1] > x[:, 2] + x[:, 3]).astype(int) + (x[:, 4] > 0.5)
    m = QuantMLP(
        6,
        [5, 4],
        3,
        in_bits=2,
        in_signed=in_signed,
        in_scale=0.4,
        w_bits=3,
        act_bits=2,
        act_signed=act_signed,
        fan_in=[3, 3, 4],
        out_bits=out_bits,
        seed=seed,
    )
    train_qat(m, x, y, epochs=3, progress=False)
    return m


@pytest.mark.parametrize("cfg", [{}, {"in_signed": True, "act_signed": True}, {"out_bits": 3}])
def test_exhaustive_equivalence(cfg):
    m = _tiny(**cfg)
    im = m.integer_model()
    nl = compile_neurons(m)
    lo = -2 if cfg.get("in_signed") else 0
    grid = np.stack(np.meshgrid(*[np.arange(lo, lo + 4)] * 6, indexing="ij"), -1).reshape(-1, 6)  # all 4096 inputs
    res = count_disagreements(im, nl, grid)
    assert res == {"samples": 4096, "score_disagreements": 0, "class_disagreements": 0}


def test_fault_is_detected():
    m = _tiny()
    im = m.integer_model()
    nl = compile_neurons(m)
    grid = np.stack(np.meshgrid(*[np.arange(4)] * 6, indexing="ij"), -1).reshape(-1, 6)
    drv = nl.output_signals[nl.output_bus("score0")] - nl.n_inputs
    i = int(drv[drv >= 0][0])
    bad = nl.with_table(i, nl.truth_table(i) ^ ((1 << (1 << int(nl.arity[i]))) - 1))  # complement one score bit
    r = count_disagreements(im, bad, grid)
    assert r["score_disagreements"] > 0 or r["class_disagreements"] > 0


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_argmax_first_max(signed, n):
    b = NetlistBuilder("am", k=3)
    ins = [b.add_input(f"s{i}", 3) for i in range(n)]
    b.add_output("class", build_argmax(b, ins, signed))
    nl = b.build()
    rng = np.random.default_rng(n)
    v = rng.integers(-4 if signed else 0, 4 if signed else 8, size=(3000, n))
    out = simulate_buses(nl, {f"s{i}": v[:, i] for i in range(n)})
    assert np.array_equal(out["class"], v.argmax(1))


def test_limit_error_names_layer():
    m = QuantMLP(10, [4], 2, in_bits=4, fan_in=[4, 4], act_bits=4)
    with pytest.raises(
        QuantError, match=r"layer 0: a neuron reads 4 inputs x 4 bits = 16 address bits > the truth-table limit 12"
    ):
        compile_neurons(m)


def test_neuron_netlist_matches_layer():
    m = _tiny()
    im = m.integer_model()
    L = im.layers[0]
    nl = neuron_netlist(im, 0, 2)
    idx = L.inputs_of(2)
    grid = np.stack(np.meshgrid(*[np.arange(4)] * len(idx), indexing="ij"), -1).reshape(-1, len(idx))
    out = simulate_buses(nl, {f"i{j}": grid[:, j] for j in range(len(idx))})
    assert np.array_equal(out["y"], L.neuron_function(2, grid))


def test_cli_qat_then_compile(tmp_path):
    """`lutnn qat` trains from a TOML config; `lutnn compile --no-synth` verifies on its test set."""
    import json

    from typer.testing import CliRunner

    from lutnn.cli import app

    cfg = tmp_path / "q.toml"
    cfg.write_text(
        '[data]\nname = "digits"\nscale = 16.0\n[model]\nhidden = [8]\nin_bits = 2\nin_scale = 0.3333\n'
        'w_bits = 3\nact_bits = 2\nfan_in = [4, 4]\nmask = "learned"\n[train]\nepochs = 3\nwarmup_epochs = 1\n'
        'prune_epochs = 2\naugment = "shift"\n'
    )
    r = CliRunner().invoke(app, ["qat", str(cfg), "-o", str(tmp_path / "m.pt")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "m.json").exists()
    rep = tmp_path / "rep.json"
    r = CliRunner().invoke(app, ["compile", str(tmp_path / "m.json"), "--no-synth", "--report", str(rep)])
    assert r.exit_code == 0, r.output
    d = json.loads(rep.read_text())
    assert d["compiled_samples"] == 450 and d["compiled_class_disagreements"] == 0
    # from the .pt model: the QAT model's float accuracy too, and -o writes the compiled netlist
    out = tmp_path / "c.blif"
    r = CliRunner().invoke(app, ["compile", str(tmp_path / "m.pt"), "--no-synth", "--report", str(rep), "-o", str(out)])
    assert r.exit_code == 0, r.output
    d = json.loads(rep.read_text())
    assert 0 < d["qat_float_acc"] <= 1 and abs(d["qat_float_acc"] - d["int_acc"]) < 0.05  # fake-quant ≈ integer
    from lutnn.formats import read_netlist

    assert read_netlist(out).n_outputs > 0
    bad = tmp_path / "bad.toml"
    bad.write_text('[data]\nname = "digits"\n[model]\nhidden = [8]\ncolour = 3\n')
    r = CliRunner().invoke(app, ["qat", str(bad)])
    assert r.exit_code != 0 and "unknown [model] keys ['colour']" in str(r.exception)
    bad.write_text(cfg.read_text().replace('augment = "shift"', 'augment = "mixup"'))
    r = CliRunner().invoke(app, ["qat", str(bad)])
    assert r.exit_code != 0 and 'the only QAT augmentation is "shift"' in str(r.exception)


@pytest.mark.parametrize("cfg", [{}, {"in_signed": True, "act_signed": True}, {"out_bits": 3}])
@pytest.mark.parametrize("max_lut", [4, 6])
def test_split_netlist_exact_on_every_input(cfg, max_lut):
    # the form handed to ABC: wide neurons decomposed (Curtis) or Shannon-split into <= max_lut-input LUTs
    m = _tiny(**cfg)
    im = m.integer_model()
    lo = -2 if cfg.get("in_signed") else 0
    grid = np.stack(np.meshgrid(*[np.arange(lo, lo + 4)] * 6, indexing="ij"), -1).reshape(-1, 6)
    for decompose in (True, False):
        nl = compile_neurons(m, max_lut=max_lut, decompose=decompose)
        assert nl.max_arity <= max_lut
        assert count_disagreements(im, nl, grid) == {
            "samples": 4096,
            "score_disagreements": 0,
            "class_disagreements": 0,
        }


def _linear12(seed: int, hidden: int) -> tuple[QuantMLP, np.random.Generator]:
    """A briefly trained net of 12-bit linear neurons (6 inputs x 2 bits) and the generator that made its data."""
    rng = np.random.default_rng(seed)
    x = rng.random((512, 24))
    y = (x[:, :12].sum(1) > x[:, 12:].sum(1)).astype(int)
    m = QuantMLP(24, [hidden], 2, in_bits=2, in_scale=1 / 3, w_bits=4, act_bits=2, fan_in=6, seed=seed)
    train_qat(m, x, y, epochs=2, progress=False)
    return m, rng


def test_decomposition_narrows_linear_neurons():
    # 12-bit linear neurons (6 inputs x 2 bits): recursive class-index banks beat a Shannon split
    m, rng = _linear12(1, 12)
    im = m.integer_model()
    dec = compile_neurons(m, max_lut=6, decompose=True)
    sha = compile_neurons(m, max_lut=6, decompose=False)
    assert dec.n_nodes < sha.n_nodes
    codes = rng.integers(0, 4, size=(20000, 24))
    assert count_disagreements(im, dec, codes)["score_disagreements"] == 0


def test_decomposed_circuit_maps_to_fewer_luts_and_stays_exact():
    # through Yosys/ABC: the decomposed tt netlist needs fewer 6-LUTs than the Shannon split, both exact
    from lutnn.quantnet.arith import compile_and_report

    m, rng = _linear12(2, 10)
    codes = rng.integers(0, 4, size=(4000, 24))
    luts = {}
    for dec in (True, False):
        r = compile_and_report(m, codes, name="d", gates=False, xilinx=False, decompose=dec)
        assert r["lut_disagreements"]["score_disagreements"] == 0 and r["lut_disagreements"]["class_disagreements"] == 0
        luts[dec] = r["luts"]
    assert luts[True] < luts[False], luts
