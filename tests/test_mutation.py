"""Mutation campaign (fast): every real single-table mutant verifies NOT EQUIVALENT; re-synthesis stays EQUIVALENT.

The full campaign (more netlists, hundreds of mutants) is ``benchmarks/bench_mutation.py``
and the ``slow`` test below (``--runslow``).
"""

from __future__ import annotations

import pytest

from lutnn.formats.aiger import read_aiger
from lutnn.netlist import NetlistBuilder, random_netlist
from lutnn.tools import have_tool
from lutnn.verify import check_equivalence
from lutnn.verify.mutation import function_changed, mutants, run_campaign

needs_yosys = pytest.mark.skipif(not have_tool("yosys"), reason="Yosys not installed")


def small_with_constants():
    """A random k=4 network with a constant node and an all-zero LUT that has inputs (both once slipped through)."""
    base = random_netlist(9, 25, k=4, seed=5, n_outputs=4, min_arity=2)
    b = NetlistBuilder("rnd_consts", k=4)
    x = b.add_input("x", 9)
    out = b.instantiate(base, {"x": x})["y"]
    zero = b.add_lut([int(x[0]), int(x[1])], 0)
    one = b.add_lut([], 1)
    b.add_output("y", out)
    b.add_output("c", [zero, one, b.and_(int(out[0]), one)])
    return b.build()


def quant_example():
    from lutnn.quantnet.intmodel import example_model
    from lutnn.quantnet.neurons import compile_neurons

    return compile_neurons(example_model(), max_lut=6)


def test_mutants_cover_zero_one_and_flips_on_outputs_and_internal_nodes():
    nl = small_with_constants()
    ms = list(mutants(nl, 60, seed=1))
    assert {m.kind for m in ms} == {"flip", "zero", "one"}
    assert any(m.drives_output for m in ms) and any(not m.drives_output for m in ms)
    assert len({(m.node, m.table) for m in ms}) == len(ms)
    changed = [m for m in ms if function_changed(nl, m.apply(nl))]
    assert changed  # most mutants change the function; masked ones are dropped by the campaign


@needs_yosys
@pytest.mark.parametrize("which", ["random", "quant"])
def test_fast_mutation_campaign_has_no_false_equivalent(which):
    nl = small_with_constants() if which == "random" else quant_example()
    res = run_campaign(nl, 6, seed=2)
    assert res.kept >= 3, res
    assert res.false_equivalent == 0 and res.errors == 0, res.failures
    assert res.not_equivalent == res.kept


@needs_yosys
def test_resynthesised_design_stays_equivalent():
    from lutnn.synth import synthesize

    nl = small_with_constants()
    mapped = synthesize(nl, "lut", 4, fmax=False).netlist
    assert mapped is not None
    v = check_equivalence(nl, mapped)
    assert v.equivalent and "abc-iprove" in v.judges


@pytest.mark.slow
@needs_yosys
def test_mutation_campaign_epfl(shared_dir):
    for name in ("ctrl", "dec"):
        nl = read_aiger(shared_dir / "circuits" / "epfl" / f"{name}.aig")
        res = run_campaign(nl, 25, seed=0)
        assert res.kept >= 10 and res.false_equivalent == 0 and res.errors == 0, res.failures
