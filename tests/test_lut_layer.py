"""LUT layers: interpolation exact at corners, gradients against finite differences, fused kernel vs reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lutnn.errors import LutnnError
from lutnn.lutnet.connectivity import live_nodes, local_connectivity, random_connectivity
from lutnn.lutnet.lut import LUTLayer, binarize_ste, lut_forward, lut_lookup


def _addr(x: torch.Tensor) -> torch.Tensor:
    k = x.shape[-1]
    return (x.long() << torch.arange(k)).sum(-1)


@pytest.mark.parametrize("k", [2, 3, 6])
def test_corners_are_table_lookups(k: int) -> None:
    g = torch.Generator().manual_seed(k)
    t = torch.randn(7, 1 << k, generator=g)
    x = torch.randint(0, 2, (11, 7, k), generator=g).float()
    ref = t.gather(1, _addr(x).T).T
    torch.testing.assert_close(lut_forward(x, t), ref, rtol=0, atol=0)
    torch.testing.assert_close(lut_lookup(x, t), ref, rtol=0, atol=0)


def test_multilinear_gradcheck_and_soft_value() -> None:
    x = torch.rand(3, 4, 3, dtype=torch.double, requires_grad=True)
    t = torch.randn(4, 8, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(lut_forward, (x, t))
    # at x = 0.5 everywhere the interpolation is the mean of the table
    half = torch.full((1, 4, 3), 0.5, dtype=torch.double)
    torch.testing.assert_close(lut_forward(half, t)[0], t.mean(1))


def test_fd_gradient_equals_multilinear_at_corners() -> None:
    g = torch.Generator().manual_seed(1)
    t = (torch.rand(5, 64, generator=g) * 2 - 1).requires_grad_(True)
    x = torch.randint(0, 2, (9, 5, 6), generator=g).float().requires_grad_(True)
    up = torch.randn(9, 5, generator=g)
    a = torch.autograd.grad((lut_forward(x, t) * up).sum(), [x, t])
    b = torch.autograd.grad((lut_lookup(x, t, "fd") * up).sum(), [x, t])
    torch.testing.assert_close(a[0], b[0])
    torch.testing.assert_close(a[1], b[1])


def test_efd_weights_every_entry() -> None:
    """EFD: changing an entry far from the addressed one still changes the input gradient."""
    t = torch.zeros(1, 8)
    x = torch.zeros(1, 1, 3, requires_grad=True)
    (gx,) = torch.autograd.grad(lut_lookup(x, t, "efd").sum(), [x])
    assert torch.all(gx == 0)
    t[0, 0b111] = 1.0  # hamming distance 2 from address 0 in the other bits
    x2 = torch.zeros(1, 1, 3, requires_grad=True)
    (gx2,) = torch.autograd.grad(lut_lookup(x2, t, "efd").sum(), [x2])
    assert torch.all(gx2 > 0)
    (gfd,) = torch.autograd.grad(lut_lookup(x2, t, "fd").sum(), [x2])
    assert torch.all(gfd == 0)


@pytest.mark.parametrize("mode", ["efd", "fd"])
@pytest.mark.parametrize("batch", [3, 40])
def test_fused_layer_matches_reference(mode: str, batch: int) -> None:
    """The numba kernel path (feature-major) equals gather + lut_lookup in values and gradients."""
    layer = LUTLayer(50, 40, 6, grad=mode, seed=3)
    with torch.no_grad():
        layer.tables.mul_(1.5)  # entries outside [-1, 1] exercise the straight-through window
    x = torch.randint(0, 2, (batch, 50)).float().requires_grad_(True)
    y = layer(x)
    up = torch.randn_like(y)
    (y * up).sum().backward()
    gx, gt = x.grad.clone(), layer.tables.grad.clone()
    x.grad, layer.tables.grad = None, None
    xk = x[:, layer.conn.reshape(-1)].view(batch, 40, 6)
    y2 = binarize_ste(lut_lookup(xk, layer.tables, mode))
    (y2 * up).sum().backward()
    torch.testing.assert_close(y, y2, rtol=0, atol=0)
    torch.testing.assert_close(gx, x.grad, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(gt, layer.tables.grad, rtol=1e-5, atol=1e-5)


def test_eval_mode_is_thresholded_lookup() -> None:
    layer = LUTLayer(20, 30, 4, seed=0).eval()
    x = torch.randint(0, 2, (17, 20)).float()
    bits = torch.from_numpy(layer.truth_tables()).long()
    conn = torch.from_numpy(layer.connections())
    ref = bits.gather(1, _addr(x[:, conn]).T).T.float()
    torch.testing.assert_close(layer(x), ref, rtol=0, atol=0)


def test_learned_connectivity_trains_and_freezes() -> None:
    torch.manual_seed(0)
    layer = LUTLayer(16, 8, 3, connectivity="learned", candidates=4, seed=1)
    x = torch.randint(0, 2, (32, 16)).float()
    y = layer(x)
    y.sum().backward()
    assert layer.selection.grad is not None and layer.selection.grad.abs().sum() > 0
    layer.freeze_connectivity()
    assert layer.frozen
    conn = layer.connections()
    assert conn.shape == (8, 3)
    layer.eval()
    ref = LUTLayer(16, 8, 3, connectivity=conn, seed=1)
    ref.tables.data.copy_(layer.tables.data)
    torch.testing.assert_close(layer(x), ref.eval()(x))


def test_multilinear_mode_trains() -> None:
    """The multilinear (LUTNet) form learns 3-input parity from soft inputs; its thresholded table is exact."""
    torch.manual_seed(0)
    layer = LUTLayer(3, 1, 3, grad="multilinear")
    bits = torch.tensor([[(m >> j) & 1 for j in range(3)] for m in range(8)], dtype=torch.float32)
    y = bits.sum(1).remainder(2)
    opt = torch.optim.Adam(layer.parameters(), lr=0.05)
    for _ in range(300):
        x = (bits + 0.15 * torch.randn_like(bits)).clamp(0, 1)  # soft inputs near the corners
        loss = ((layer(x)[:, 0] - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05
    layer.eval()
    with torch.no_grad():
        assert torch.equal((layer(bits)[:, 0] > 0.5).float(), y)


def test_connectivity_maps() -> None:
    c = random_connectivity(10, 30, 6, seed=0)
    assert c.shape == (30, 6) and all(len(set(r)) == 6 for r in c)
    assert set(np.unique(c)) == set(range(10))  # every input read
    pos = np.stack(np.divmod(np.arange(64), 8), 1)
    lc = local_connectivity(pos, 20, 4, window=3, seed=0)
    span = np.ptp(pos[lc], axis=1).max()
    assert span <= 3
    live = live_nodes([c, np.array([[0, 1], [2, 2]])], [30, 2])
    assert live[0].sum() == 3 and live[1].all()


def test_bad_arguments() -> None:
    with pytest.raises(LutnnError, match="k=9"):
        LUTLayer(10, 4, 9)
    with pytest.raises(LutnnError, match="at least 6 inputs"):
        LUTLayer(4, 4, 6)
    with pytest.raises(LutnnError, match="expected input"):
        LUTLayer(10, 4, 2)(torch.zeros(3, 11))
    with pytest.raises(LutnnError, match="tables of shape"):
        lut_forward(torch.zeros(2, 3, 2), torch.zeros(3, 8))
    with pytest.raises(LutnnError, match="connectivity"):
        LUTLayer(10, 4, 2, connectivity="nearest")


def _fused_step(layer: LUTLayer, x: torch.Tensor, up: torch.Tensor) -> tuple[torch.Tensor, ...]:
    xt = x.t().contiguous().requires_grad_(True)
    layer.tables.grad = None
    y = layer.forward_t(xt)
    (y * up).sum().backward()
    return y.detach(), xt.grad.clone(), layer.tables.grad.clone()


@pytest.mark.parametrize("k", [3, 6])
@pytest.mark.parametrize("mode", ["efd", "fd"])
@pytest.mark.parametrize("parallel", [False, True])
def test_numba_kernels_match_torch_ops(monkeypatch: pytest.MonkeyPatch, k: int, mode: str, parallel: bool) -> None:
    """Compiled kernels (serial and parallel) equal the torch-op path, including the STE window |v| <= 1."""
    import lutnn.lutnet._lut_kernels as kern_mod
    import lutnn.lutnet.lut as lut_mod

    torch.manual_seed(k)
    layer = LUTLayer(30, 50, k, grad=mode, seed=k)
    with torch.no_grad():
        layer.tables.mul_(1.6)  # some entries outside [-1, 1]: their gradient is masked
    x = torch.randint(0, 2, (37, 30)).float()
    up = torch.randn(50, 37)
    monkeypatch.setattr(kern_mod, "PARALLEL_MIN_WORK", 0 if parallel else 1 << 60)
    y, gx, gt = _fused_step(layer, x, up)
    assert torch.all(gt[layer.tables.detach().abs() > 1] == 0) and gt.abs().sum() > 0
    monkeypatch.setattr(lut_mod, "_use_numba", lambda *a: False)
    y2, gx2, gt2 = _fused_step(layer, x, up)
    torch.testing.assert_close(y, y2, rtol=0, atol=0)
    torch.testing.assert_close(gt, gt2, rtol=0, atol=0)
    torch.testing.assert_close(gx, gx2, rtol=1e-6, atol=1e-6)


def test_fused_layer_input_dtypes_agree() -> None:
    """uint8, float32 and float64 0/1 inputs give the same outputs."""
    layer = LUTLayer(40, 24, 6, seed=2)
    x = torch.randint(0, 2, (40, 19))
    ys = [layer.forward_t(x.to(dt)).detach() for dt in (torch.uint8, torch.float32, torch.float64)]
    torch.testing.assert_close(ys[0], ys[1], rtol=0, atol=0)
    torch.testing.assert_close(ys[0], ys[2], rtol=0, atol=0)


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("batch", [5, 16, 45])
def test_avx512_input_gradient_is_bit_identical(monkeypatch: pytest.MonkeyPatch, parallel: bool, batch: int) -> None:
    """The AVX-512 permute kernel (K=6) gives exactly the portable kernel's input gradient, tails included."""
    import lutnn.lutnet._lut_kernels as kern_mod
    import lutnn.lutnet.lut as lut_mod

    if not lut_mod.HAS_AVX512:
        pytest.skip("host has no AVX-512 (the portable kernel runs there)")
    layer = LUTLayer(70, 64, 6, grad="efd", seed=4)
    x = torch.randint(0, 2, (batch, 70)).float()
    up = torch.randn(64, batch)
    monkeypatch.setattr(kern_mod, "PARALLEL_MIN_WORK", 0 if parallel else 1 << 60)
    res = []
    for use in (True, False):
        monkeypatch.setattr(lut_mod, "USE_AVX512", use)
        res.append(_fused_step(layer, x, up))
    for a, b in zip(*res, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_full_learnable_mapping_finds_the_informative_inputs() -> None:
    """candidates=0 (DWN's learnable mapping): a 2-LUT among 40 inputs finds y = x5 AND x17."""
    torch.manual_seed(0)
    layer = LUTLayer(40, 1, 2, connectivity="learned", candidates=0, seed=3)
    assert layer.mapping.shape == (2, 40)
    opt = torch.optim.Adam(layer.parameters(), lr=0.05)
    for _ in range(300):
        x = torch.randint(0, 2, (64, 40)).float()
        y = x[:, 5] * x[:, 17]
        out = layer(x)[:, 0]
        loss = ((out - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        layer.clamp_()
    layer.freeze_connectivity()
    assert sorted(layer.connections()[0].tolist()) == [5, 17]
    x = torch.randint(0, 2, (256, 40)).float()
    torch.testing.assert_close(layer.eval()(x)[:, 0], x[:, 5] * x[:, 17])


def test_learned_connectivity_rejects_one_candidate() -> None:
    with pytest.raises(LutnnError, match="candidates=1"):
        LUTLayer(16, 8, 3, connectivity="learned", candidates=1)


def test_mapping_init_start_or_uniform() -> None:
    """mapping_init "start" begins on the evenly dealt random map, "uniform" (DWN) on argmax of U[0, 1) scores."""
    start = LUTLayer(300, 40, 6, connectivity="learned", candidates=0, seed=2)
    np.testing.assert_array_equal(start.connections(), random_connectivity(300, 40, 6, seed=2))
    assert float(start.mapping.max()) < 2.1e-3
    uni = LUTLayer(300, 40, 6, connectivity="learned", candidates=0, seed=2, mapping_init="uniform")
    assert 0.9 < float(uni.mapping.max()) < 1.0 and float(uni.mapping.min()) >= 0.0
    np.testing.assert_array_equal(uni.connections(), uni.mapping.detach().argmax(1).view(40, 6).numpy())
    with pytest.raises(LutnnError, match="mapping_init='dwn'"):
        LUTLayer(300, 40, 6, connectivity="learned", candidates=0, mapping_init="dwn")
