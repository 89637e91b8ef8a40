"""lutnn measure: Boolean-function measures against known answers and an independent pure-Python computation."""

from __future__ import annotations

import gzip
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lutnn.circuits import add
from lutnn.cli import app
from lutnn.errors import LutnnError
from lutnn.formats.blif import write_blif
from lutnn.netlist import NetlistBuilder, table_from_function
from lutnn.study.measure import measure_netlist, measure_on_data, parse_flip_rates

runner = CliRunner()
RATES = ["0.01", "0.05", "0.1", "0.5"]


def one_lut(name, n, fn):
    b = NetlistBuilder(name, k=max(6, n))
    x = b.add_input("x", n)
    b.add_output("y", b.add_lut(list(x), table_from_function(n, fn)))
    return b.build()


def parity_chain(n):
    b = NetlistBuilder("parity", k=2)
    x = [int(s) for s in b.add_input("x", n)]
    acc = x[0]
    for s in x[1:]:
        acc = b.xor(acc, s)
    b.add_output("y", acc)
    return b.build()


def adder(w):
    b = NetlistBuilder("adder", k=6)
    a, c = b.add_input("a", w), b.add_input("b", w)
    b.add_output("s", add(b, a, c))
    return b.build()


def brute(fn, n, rates):
    """Pure Python, straight from the definitions: every x, every flip, every flip pattern."""
    xs = list(itertools.product((0, 1), repeat=n))
    f = {x: fn(x) for x in xs}
    inf = [sum(f[x] != f[(*x[:i], 1 - x[i], *x[i + 1 :])] for x in xs) / 2**n for i in range(n)]
    ns = {}
    for key in rates:
        p = float(key)
        tot = 0.0
        for z in xs:
            w = sum(z)
            pz = p**w * (1 - p) ** (n - w)
            tot += pz * sum(f[x] == f[tuple(a ^ b for a, b in zip(x, z, strict=True))] for x in xs)
        ns[key] = tot / 2**n
    return inf, ns


@pytest.mark.parametrize("n", [1, 3, 5, 8])
def test_parity_every_influence_is_one(n):
    m = measure_netlist(one_lut("par", n, lambda b: sum(b) % 2), flip_rates=RATES)
    assert m.exact and m.samples == 2**n and m.noise_stability_exact
    assert m.influences == [1.0] * n and m.total_influence == n and m.avg_sensitivity == 1.0
    assert m.total_influence_stderr == 0.0
    for key in RATES:  # P[even number of flips] = (1 + (1 - 2p)^n) / 2
        p = float(key)
        assert m.noise_stability[key] == pytest.approx((1 + (1 - 2 * p) ** n) / 2, abs=1e-12)


def test_parity_monte_carlo_beyond_exact_limit():
    n = 30
    m = measure_netlist(parity_chain(n), samples=4096, flip_rates=["0.01", "0.1"], seed=3)
    assert not m.exact and m.samples == 4096 and not m.noise_stability_exact
    assert m.influences == [1.0] * n and m.total_influence == n and m.total_influence_stderr == 0.0
    for key in ("0.01", "0.1"):
        want = (1 + (1 - 2 * float(key)) ** n) / 2
        se = m.noise_stability_stderr[key]
        assert se > 0 and abs(m.noise_stability[key] - want) < 5 * se


@pytest.mark.parametrize("n", [2, 4, 7])
def test_and(n):
    m = measure_netlist(one_lut("and", n, all), flip_rates=RATES)
    assert m.influences == pytest.approx([2.0 ** (1 - n)] * n)
    assert m.total_influence == pytest.approx(n * 2.0 ** (1 - n))
    for key in RATES:  # f(x) != f(y) iff exactly one of x, y is all-ones
        p = float(key)
        assert m.noise_stability[key] == pytest.approx(1 - 2.0 ** (1 - n) * (1 - (1 - p) ** n), abs=1e-12)


@pytest.mark.parametrize("n", [3, 5, 9, 13])
def test_majority(n):
    m = measure_netlist(one_lut("maj", n, lambda b: 2 * sum(b) > len(b)), flip_rates=["0.05"])
    want = math.comb(n - 1, (n - 1) // 2) / 2 ** (n - 1)
    assert m.influences == pytest.approx([want] * n, abs=1e-12)
    assert m.exact and m.noise_stability_exact == (n <= 12)


def test_multi_output_adder_and_brute_force():
    w = 3
    nl = adder(w)
    m = measure_netlist(nl, flip_rates=RATES)
    assert nl.n_inputs == 2 * w and m.n_outputs == w + 1
    assert m.influences == [1.0] * (2 * w)  # a + b is injective in each operand: every flip changes the sum

    def fn(x):
        return sum(x[i] << i for i in range(w)) + sum(x[w + i] << i for i in range(w))

    _, ns = brute(fn, 2 * w, RATES)
    for key in RATES:
        assert m.noise_stability[key] == pytest.approx(ns[key], abs=1e-12)
    # one output of the adder (the carry): a nontrivial function, checked flip by flip
    b = NetlistBuilder("carry", k=6)
    a, c = b.add_input("a", w), b.add_input("b", w)
    b.add_output("c", add(b, a, c)[-1])
    mc = measure_netlist(b.build(), flip_rates=RATES)
    inf, ns = brute(lambda x: fn(x) >> w, 2 * w, RATES)
    assert mc.influences == pytest.approx(inf, abs=1e-12)
    for key in RATES:
        assert mc.noise_stability[key] == pytest.approx(ns[key], abs=1e-12)


def test_random_netlist_matches_brute_force():
    rng = np.random.default_rng(1)
    b = NetlistBuilder("rnd", k=3)
    sig = [int(s) for s in b.add_input("x", 7)]
    for _ in range(15):
        f = rng.choice(len(sig), 3, replace=False)
        sig.append(b.add_lut([sig[j] for j in f], int(rng.integers(1, 255))))
    b.add_output("y", sig[-3:])
    nl = b.build()
    from lutnn.sim import simulate

    def fn(x):
        return tuple(simulate(nl, np.array([x], np.uint8))[0])

    m = measure_netlist(nl, flip_rates=RATES)
    inf, ns = brute(fn, 7, RATES)
    assert m.influences == pytest.approx(inf, abs=1e-12)
    for key in RATES:
        assert m.noise_stability[key] == pytest.approx(ns[key], abs=1e-12)


def test_seed_reproduces_and_changes():
    nl = one_lut("maj", 13, lambda b: 2 * sum(b) > len(b))
    big = parity_chain(25)
    a = measure_netlist(big, samples=2000, seed=5).as_dict()
    assert a == measure_netlist(big, samples=2000, seed=5).as_dict()
    assert a["noise_stability"] != measure_netlist(big, samples=2000, seed=6).as_dict()["noise_stability"]
    assert measure_netlist(nl, seed=1).as_dict() == measure_netlist(nl, seed=1).as_dict()


def test_data_distribution_measures():
    nl = one_lut("and", 3, all)
    x = np.array([[1, 1, 1], [1, 1, 0], [0, 0, 0], [0, 0, 0]], np.uint8)
    m = measure_on_data(nl, x, flip_rates=["0.5"])
    # row 0: every flip changes AND; row 1: only flipping bit 2; rows 2, 3: none
    assert m.influences == pytest.approx([0.25, 0.25, 0.5])
    assert m.total_influence == pytest.approx((3 + 1 + 0 + 0) / 4)
    assert m.total_influence_stderr == pytest.approx(np.std([3, 1, 0, 0], ddof=1) / 2)
    with pytest.raises(LutnnError, match="shape"):
        measure_on_data(nl, x[:, :2])


def test_bad_arguments_are_one_line_errors():
    b = NetlistBuilder("const", k=2)
    b.add_output("y", b.const(1))
    with pytest.raises(LutnnError, match="no inputs"):
        measure_netlist(b.build())
    for bad in (["0"], ["0.6"], ["-0.1"], ["nan"], ["x"], []):
        with pytest.raises(LutnnError) as e:
            parse_flip_rates(bad)
        assert "\n" not in str(e.value)
    for n in (25, 3):  # a bad --samples is an error even where every x is enumerated
        with pytest.raises(LutnnError, match="samples"):
            measure_netlist(parity_chain(n), samples=1)
    with pytest.raises(LutnnError, match="seed"):
        measure_netlist(parity_chain(3), seed=-1)


# ---------------------------------------------------------------- EPFL: independent pure-Python AIGER evaluation
def _shared() -> Path:
    here = Path(__file__).resolve()
    for p in (here.parents[2] / "shared", here.parents[3] / "shared"):
        if (p / "circuits" / "epfl").is_dir():
            return p / "circuits" / "epfl"
    pytest.skip("../shared/circuits/epfl not present")


def _read_aig(path: Path):
    """A from-scratch binary AIGER reader (combinational): (n_inputs, outputs, ands) as literals."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    nl_pos = data.index(b"\n")
    _, _m, i, latch, o, a = (int(v) if v.isdigit() else v for v in data[:nl_pos].split())
    assert latch == 0
    pos = nl_pos + 1
    outs = []
    for _ in range(o):
        e = data.index(b"\n", pos)
        outs.append(int(data[pos:e]))
        pos = e + 1
    ands = []
    for k in range(a):
        lhs = 2 * (i + 1 + k)
        deltas = []
        for _ in range(2):
            x, sh = 0, 0
            while True:
                c = data[pos]
                pos += 1
                x |= (c & 0x7F) << sh
                sh += 7
                if not c & 0x80:
                    break
            deltas.append(x)
        r0 = lhs - deltas[0]
        ands.append((lhs, r0, r0 - deltas[1]))
    return i, outs, ands


def _eval_aig(aig, cols: list[int], n_samples: int) -> list[int]:
    """Outputs as Python big-int bit vectors (bit s = sample s), from input columns likewise."""
    n, outs, ands = aig
    mask = (1 << n_samples) - 1
    val = {0: 0}
    for j in range(n):
        val[2 * (j + 1)] = cols[j]

    def lit(v):
        x = val[v & ~1]
        return (~x & mask) if v & 1 else x

    for lhs, r0, r1 in ands:
        val[lhs] = lit(r0) & lit(r1)
    return [lit(v) for v in outs]


def _py_measures(aig, rows: list[list[int]]):
    """Influences and per-row sensitivities from the definitions, on the given rows."""
    n = aig[0]
    N = len(rows)
    cols = [sum(r[j] << s for s, r in enumerate(rows)) for j in range(n)]
    base = _eval_aig(aig, cols, N)
    mask = (1 << N) - 1
    inf, sens = [], [0] * N
    for i in range(n):
        c = list(cols)
        c[i] = ~c[i] & mask
        d = 0
        for u, v in zip(_eval_aig(aig, c, N), base, strict=True):
            d |= u ^ v
        inf.append(bin(d).count("1") / N)
        for s in range(N):
            sens[s] += (d >> s) & 1
    return inf, sens


@pytest.mark.parametrize("name", ["ctrl", "dec"])
def test_epfl_exact_agrees_with_pure_python(name):
    from lutnn.formats import read_netlist

    path = _shared() / f"{name}.aig"
    aig = _read_aig(path)
    n = aig[0]
    m = measure_netlist(read_netlist(path), flip_rates=["0.05"])
    rows = [[(x >> j) & 1 for j in range(n)] for x in range(1 << n)]
    inf, _ = _py_measures(aig, rows)
    assert m.exact and m.influences == pytest.approx(inf, abs=1e-12)
    # noise stability from the definition: Σ_z P(z) · #{x : f(x) = f(x ⊕ z)} / 2^n
    cols = [sum(r[j] << s for s, r in enumerate(rows)) for j in range(n)]
    outs = _eval_aig(aig, cols, 1 << n)
    fx = [tuple((o >> s) & 1 for o in outs) for s in range(1 << n)]
    p = 0.05
    ns = sum(
        p ** bin(z).count("1") * (1 - p) ** (n - bin(z).count("1")) * sum(fx[x] == fx[x ^ z] for x in range(1 << n))
        for z in range(1 << n)
    ) / (1 << n)
    assert m.noise_stability["0.05"] == pytest.approx(ns, abs=1e-12)


def test_epfl_multiplier_on_given_samples_agrees_with_pure_python():
    from lutnn.formats import read_netlist

    path = _shared() / "multiplier.aig"
    aig = _read_aig(path)
    x = np.random.default_rng(0).integers(0, 2, (200, aig[0]), dtype=np.uint8)
    m = measure_on_data(read_netlist(path), x, flip_rates=["0.01"])
    inf, sens = _py_measures(aig, x.tolist())
    assert m.influences == pytest.approx(inf, abs=1e-12)
    assert m.total_influence == pytest.approx(np.mean(sens), abs=1e-9)


# ---------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def maj_blif(tmp_path_factory):
    p = tmp_path_factory.mktemp("m") / "maj.blif"
    write_blif(one_lut("maj", 5, lambda b: 2 * sum(b) > len(b)), p)
    return p


def test_cli_json_is_one_object(maj_blif):
    r = runner.invoke(app, ["measure", str(maj_blif), "--json", "--flip-rate", "0.1", "--flip-rate", "0.25"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["n_inputs"] == 5 and d["exact"] is True and d["samples"] == 32
    assert d["influences"] == pytest.approx([6 / 16] * 5)
    assert d["avg_sensitivity"] == pytest.approx(6 / 16)
    assert set(d["noise_stability"]) == {"0.1", "0.25"} and d["noise_stability_exact"] is True
    assert d["total_influence_stderr"] == 0


def test_cli_table_and_errors(maj_blif, tmp_path):
    r = runner.invoke(app, ["measure", str(maj_blif)])
    assert r.exit_code == 0 and "total influence" in r.output
    for args in (["--flip-rate", "0.7"], ["--flip-rate", "0"], ["--seed", "-2"]):
        r = runner.invoke(app, ["measure", str(maj_blif), *args])
        assert r.exit_code != 0 and isinstance(r.exception, LutnnError), args
        assert "\n" not in str(r.exception)
    r = runner.invoke(app, ["measure", str(tmp_path / "nope.blif")])
    assert isinstance(r.exception, LutnnError)
