"""Encoders and heads: PyTorch bits equal their circuits' bits (exhaustively over the bus values)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lutnn.errors import LutnnError
from lutnn.lutnet.encoders import BinaryCode, GrayCode, Thermometer, make_encoder
from lutnn.lutnet.heads import GroupSum
from lutnn.netlist import NetlistBuilder
from lutnn.quantizer import FeatureQuantizer
from lutnn.sim import simulate, simulate_buses


def _circuit_bits(enc, width: int, q: np.ndarray) -> np.ndarray:
    b = NetlistBuilder("enc", k=6)
    buses = [b.add_input(f"x{i}", width) for i in range(q.shape[1])]
    b.add_output("bits", enc.build(b, buses))
    nl = b.build()
    from lutnn.sim import encode_buses

    return simulate(nl, encode_buses(nl, {f"x{i}": q[:, i] for i in range(q.shape[1])}))


@pytest.mark.parametrize("kind", ["thermometer", "quantile", "pooled", "binary", "gray"])
@pytest.mark.parametrize("width", [3, 5, 8])
def test_encoder_circuit_equals_torch(kind: str, width: int) -> None:
    rng = np.random.default_rng(width)
    top = (1 << width) - 1
    q_train = rng.integers(0, top + 1, size=(200, 2))
    enc = make_encoder(kind, q_train, width, levels=5)
    # every value of feature 0, random values of feature 1
    q = np.stack([np.arange(top + 1), rng.integers(0, top + 1, top + 1)], axis=1)
    ref = enc(torch.from_numpy(q)).numpy().astype(np.uint8)
    np.testing.assert_array_equal(_circuit_bits(enc, width, q), ref)
    assert ref.shape[1] == enc.n_bits


def test_thermometer_semantics() -> None:
    enc = Thermometer.uniform(1, 4, 3)
    thr = enc.thr.numpy()
    assert list(thr) == sorted(thr) and thr.min() >= 1 and thr.max() <= 15
    q = torch.arange(16)[:, None]
    bits = enc(q).numpy()
    np.testing.assert_array_equal(bits.sum(1), (q.numpy() >= thr[None, :]).sum(1))
    assert np.all(np.diff(bits.sum(1)) >= 0)  # monotone: a thermometer
    gray = GrayCode(1, 4)(q).numpy()
    assert np.all(np.abs(np.diff(gray, axis=0)).sum(1) == 1)  # neighbours differ in one bit
    binary = BinaryCode(1, 4)(q).numpy()
    np.testing.assert_array_equal((binary * (1 << np.arange(4))).sum(1), np.arange(16))


def test_quantile_thresholds_follow_data() -> None:
    q = np.concatenate([np.zeros(900), np.arange(100)])[:, None].astype(np.int64)
    enc = Thermometer.quantile(q, 7, 4)
    assert len(enc.thr) >= 1 and enc.thr.min() >= 1  # 90% zeros: thresholds at 0 move just above it
    # uniform data: 3 thresholds at the quartiles, so each bin holds about a quarter of the samples
    u = np.repeat(np.arange(100), 10)[:, None].astype(np.int64)
    enc = Thermometer.quantile(u, 7, 3)
    assert np.allclose(np.sort(enc.thr), [25, 50, 75], atol=1)
    ones = (u >= np.sort(enc.thr)[None, :]).sum(1)
    assert np.allclose(np.bincount(ones, minlength=4) / len(u), 0.25, atol=0.02)


def test_quantile_min_frac_drops_nearly_constant_bits() -> None:
    # feature 0 is constant, feature 1 is non-zero on 1% of samples, feature 2 spreads evenly
    n = 1000
    q = np.zeros((n, 3), dtype=np.int64)
    q[:10, 1] = 5
    q[:, 2] = np.arange(n) % 16
    full = Thermometer.quantile(q, 5, 3)
    kept = Thermometer.quantile(q, 5, 3, min_frac=0.02)
    assert set(full.feat.tolist()) == {0, 1, 2}
    assert set(kept.feat.tolist()) == {2} and kept.n_bits == int((full.feat == 2).sum())
    bits = kept(torch.from_numpy(q)).numpy()
    assert np.all((bits.mean(0) >= 0.02) & (bits.mean(0) <= 0.98))
    with pytest.raises(LutnnError, match="min_frac"):
        Thermometer.quantile(q, 5, 3, min_frac=0.7)
    with pytest.raises(LutnnError, match="no useful thresholds"):
        Thermometer.quantile(q[:, :2], 5, 3, min_frac=0.02)


def test_pooled_quantile_shares_thresholds() -> None:
    rng = np.random.default_rng(0)
    q = np.concatenate([rng.integers(0, 17, (300, 3)), np.zeros((300, 1), np.int64)], axis=1)
    enc = Thermometer.pooled_quantile(q, 5, 3, min_frac=0.02)
    per_feature = [enc.thr[enc.feat == f].tolist() for f in range(4)]
    assert per_feature[0] == per_feature[1] == per_feature[2] and len(per_feature[0]) == 3
    assert per_feature[3] == []  # the constant feature costs no comparator


def test_quantizer_maps() -> None:
    x = np.array([[0.0, -1.0], [16.0, 3.0], [8.0, 1.0]])
    qz = FeatureQuantizer.fit(x[:, :1])
    assert qz.identity and qz.width == 5
    np.testing.assert_array_equal(qz.transform(x[:, :1])[:, 0], [0, 16, 8])
    qf = FeatureQuantizer.fit(x[:, 1:], width=4)
    q = qf.transform(x[:, 1:])[:, 0]
    assert q.min() == 0 and q.max() == 15 and not qf.identity
    d = qf.describe()[0]
    assert d["width"] == 4 and "floor" in d["map"]
    # the documented map reproduces the integers
    np.testing.assert_array_equal(np.clip(np.floor((x[:, 1] - d["offset"]) / d["step"]), 0, 15), q)
    with pytest.raises(LutnnError, match="NaN or inf"):
        qf.transform(np.array([[np.nan]]))
    with pytest.raises(LutnnError, match="expected 1 features"):
        qf.transform(np.zeros((2, 3)))
    with pytest.raises(LutnnError, match="NaN or inf"):
        FeatureQuantizer.fit(np.array([[1.0], [np.inf]]))


def test_group_sum_head_circuit() -> None:
    head = GroupSum(12, 3, tau=2.0)
    rng = np.random.default_rng(0)
    h = rng.integers(0, 2, size=(4096, 12))
    scores = head(torch.from_numpy(h).float())
    torch.testing.assert_close(scores * 2, torch.from_numpy(h.reshape(-1, 3, 4).sum(-1)).float())
    b = NetlistBuilder("head", k=6)
    x = b.add_input("h", 12)
    _counts, idx = head.build(b, x)
    b.add_output("cls", idx)
    nl = b.build()
    hv = (h << np.arange(12)).sum(1)
    out = simulate_buses(nl, {"h": hv})["cls"]
    np.testing.assert_array_equal(out, scores.argmax(1).numpy())
    with pytest.raises(LutnnError, match="multiple of the 3 classes"):
        GroupSum(10, 3)


@pytest.mark.parametrize("width", [4, 8])
def test_learned_thermometer_circuit_equals_torch_after_moving(width: int) -> None:
    """Moved (learned) thresholds, clipped at both ends and colliding, still give the circuit's bits."""
    rng = np.random.default_rng(width)
    top = (1 << width) - 1
    enc = make_encoder("quantile", rng.integers(0, top + 1, size=(300, 2)), width, levels=4, learn=True)
    with torch.no_grad():
        enc.offset.copy_(torch.linspace(-3 * top, 3 * top, enc.n_bits))  # far out of range at both ends
        enc.offset[1] = enc.thr[0] - enc.thr[1]  # bit 1 lands on bit 0's threshold
    t = enc.thresholds()
    assert t.min() >= 1 and t.max() <= top and t[0] == 1 and t[-1] == top
    q = np.stack([np.arange(top + 1), rng.integers(0, top + 1, top + 1)], axis=1)
    for mode in (enc.train, enc.eval):
        mode()
        ref = enc(torch.from_numpy(q)).detach().numpy()
        np.testing.assert_array_equal(ref, (q[:, enc.feat.numpy()] >= t.numpy()[None, :]).astype(np.float32))
        np.testing.assert_array_equal(_circuit_bits(enc, width, q), ref.astype(np.uint8))
    assert enc.describe()["learned"] and enc.describe()["distinct"] < enc.n_bits


def test_learned_threshold_gradient_finds_the_class_boundary() -> None:
    """Fitting one bit to the label ``q >= 11`` by its threshold alone moves the threshold from 4 to 11."""
    q = torch.arange(16).repeat(20)[:, None]
    y = (q[:, 0] >= 11).float()
    enc = Thermometer([np.array([4])], 4, learn=True)
    opt = torch.optim.Adam(enc.parameters(), lr=0.1)
    for _ in range(300):
        bit = enc(q)[:, 0]
        loss = ((bit - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert int(enc.thresholds()[0]) == 11


def test_learned_thresholds_need_a_thermometer() -> None:
    with pytest.raises(LutnnError, match="needs a thermometer kind"):
        make_encoder("binary", np.zeros((4, 2), np.int64), 4, learn=True)
    with pytest.raises(LutnnError, match="temperature"):
        Thermometer([np.array([3])], 4, learn=True, temperature=0.0)
