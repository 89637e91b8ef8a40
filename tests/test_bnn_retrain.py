"""Circuit as a trainable network: exact initialisation, fixed topology, recovery after damage."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lutnn.bnn.retrain import CircuitNet, damage_tables, retrain_circuit
from lutnn.errors import LutnnError
from lutnn.netlist import NetlistBuilder, random_netlist
from lutnn.sim import exhaustive_words, simulate, unpack_bits


def _x(n: int) -> np.ndarray:
    return unpack_bits(exhaustive_words(n), 1 << n)


def test_circuitnet_initialised_to_the_circuit():
    nl = random_netlist(7, 40, k=4, seed=4, n_outputs=6, min_arity=0)
    net = CircuitNet(nl)
    x = _x(7)
    ref = simulate(nl, x)
    with torch.no_grad():
        hard = net(torch.as_tensor(x, dtype=torch.float32), hard=True).numpy()
        soft = net(torch.as_tensor(x, dtype=torch.float32)).numpy()
    assert np.array_equal(hard.astype(np.uint8), ref)
    assert np.array_equal((soft > 0.5).astype(np.uint8), ref)  # sigmoid(±3) tables keep the function
    assert net.to_netlist().same_structure(nl)


def _or_of_ands() -> tuple:
    b = NetlistBuilder("ooa", k=3)
    s = b.add_input("x", 6)
    a = [b.and_(int(s[2 * i]), int(s[2 * i + 1])) for i in range(3)]
    b.add_output("y", [b.or_(b.or_(a[0], a[1]), a[2]), b.maj(*a)])
    return b.build()


@pytest.mark.parametrize("seed", [0, 1])
def test_damaged_circuit_recovers_by_retraining_tables(seed):
    nl = _or_of_ands()
    x = _x(6)
    y = simulate(nl, x)[:, 0].astype(np.int64)
    bad = damage_tables(nl, 1.0, 0.4, seed=seed)

    def acc(n):
        return float((simulate(n, x)[:, 0] == y).mean())

    def head(h):
        return torch.stack([torch.zeros_like(h[:, 0]), (2 * h[:, 0] - 1) * 6.0], 1)

    assert acc(bad) < 0.7
    net = retrain_circuit(bad, x, y, head, epochs=40, lr=0.2, batch_size=32, seed=seed)
    fixed = net.to_netlist()
    assert np.array_equal(fixed.fanins, bad.fanins) and np.array_equal(fixed.arity, bad.arity)
    assert acc(fixed) == 1.0
    with torch.no_grad():
        hard = net(torch.as_tensor(x, dtype=torch.float32), hard=True).numpy().astype(np.uint8)
    assert np.array_equal(hard, simulate(fixed, x))


def test_retrain_bad_input():
    nl = random_netlist(4, 5, k=3, seed=0)
    with pytest.raises(LutnnError, match="labels"):
        retrain_circuit(nl, _x(4), np.zeros(3, np.int64), lambda h: h)
    with pytest.raises(LutnnError, match="\\[0, 1\\]"):
        damage_tables(nl, 1.5)
    with pytest.raises(LutnnError, match="too wide"):
        CircuitNet(random_netlist(12, 3, k=12, seed=0))


def test_cli_retrain_own_circuit_and_data(tmp_path):
    """`lutnn retrain CIRCUIT DATA.npz`: a damaged circuit regains its function; bad data gets a clear error."""
    from typer.testing import CliRunner

    from lutnn.cli import app
    from lutnn.formats import read_netlist, write_netlist

    b = NetlistBuilder("cls", k=3)
    s = b.add_input("x", 6)
    a = [b.and_(int(s[2 * i]), int(s[2 * i + 1])) for i in range(3)]
    hit = b.or_(b.or_(a[0], a[1]), a[2])
    b.add_output("y", [b.not_(hit), hit])  # two classes, one output bit per class
    nl = b.build()
    x = _x(6)
    y = simulate(nl, x)[:, 1].astype(np.int64)
    bad = damage_tables(nl, 1.0, 0.4, seed=0)
    write_netlist(bad, tmp_path / "bad.blif")
    np.savez(tmp_path / "d.npz", x=x, y=y)
    out = tmp_path / "fixed.blif"
    r = CliRunner().invoke(app, ["retrain", str(tmp_path / "bad.blif"), str(tmp_path / "d.npz"), "-o", str(out),
                                 "--epochs", "60", "--lr", "0.2", "--tau", "0.2"])  # fmt: skip
    assert r.exit_code == 0, r.output
    fixed = read_netlist(out)  # BLIF narrows k to the widest node; same fan-ins, same arities
    assert np.array_equal(fixed.arity, bad.arity) and np.array_equal(fixed.fanins, bad.fanins[:, : fixed.k])
    pred = simulate(fixed, x)
    assert float(((pred[:, 1] > pred[:, 0]) == y).mean()) == 1.0
    np.savez(tmp_path / "w.npz", x=x[:, :5], y=y)
    r = CliRunner().invoke(app, ["retrain", str(tmp_path / "bad.blif"), str(tmp_path / "w.npz"), "-o", str(out)])
    assert isinstance(r.exception, LutnnError) and "6 input bits" in str(r.exception)
