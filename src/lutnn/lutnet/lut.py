"""Differentiable K-input lookup tables: the trainable node of a LUT network.

Two ways to differentiate a table lookup, both vectorised over every node of a layer at once:

* :func:`lut_forward` — the multilinear (Lagrange) interpolation of the ``2**K`` table entries
  over soft inputs in ``[0, 1]`` (LUTNet's parameterisation). At 0/1 corners it *is* the table
  lookup, so hard inference is exact; it is differentiable in the inputs and in the entries.
* :func:`lut_lookup` — DWN-style: a hard table lookup in the forward pass (binary inputs, one
  gather per node and sample) with a gradient for the entries (the addressed entry gets the
  upstream gradient) and for the inputs by finite differences (``fd``: the table's change when
  one address bit flips) or DWN's extended finite differences (``efd``: every entry
  contributes, weighted by ``1/(hamming distance + 1)``). The input gradient of every address
  is precomputed once per backward pass as a ``[n, 2**K, K]`` table, so each sample costs one
  gather — this is what makes CPU training fast.

:class:`LUTLayer` holds ``out_features`` nodes, their connectivity (which K inputs each reads,
see :mod:`lutnn.lutnet.connectivity`) and their tables. In inference (``model.eval()``) it takes 0/1
inputs and thresholds the entries at 0, which is exactly what the exported netlist computes.
"""

from __future__ import annotations

import functools

import numba
import numpy as np
import torch
from torch import nn

from lutnn.errors import LutnnError
from lutnn.lutnet._lut_kernels import HAS_AVX512, _avx512_kernel, _kernels, _parallel

__all__ = [
    "MAX_TRAIN_K",
    "MIN_K",
    "LUTLayer",
    "binarize_ste",
    "efd_weights",
    "lut_forward",
    "lut_lookup",
    "tables_to_bits",
]

MIN_K = 2
MAX_TRAIN_K = 8  # 2**8 entries per node; wider nodes make tables (and gradients) impractical

GRAD_MODES = ("efd", "fd", "multilinear")
USE_AVX512 = HAS_AVX512  # set False to run the portable scalar K=6 input-gradient kernel


def _use_numba(*ts: torch.Tensor) -> bool:
    return all(t.device.type == "cpu" for t in ts)


def _check_k(k: int, what: str = "LUT") -> None:
    if not isinstance(k, int) or not MIN_K <= k <= MAX_TRAIN_K:
        raise LutnnError(
            f"{what}: k={k!r} is not supported; choose an integer K in {MIN_K}..{MAX_TRAIN_K} (6 fits a LUT6)"
        )


def lut_forward(x: torch.Tensor, tables: torch.Tensor) -> torch.Tensor:
    """Multilinear interpolation of ``tables [n, 2**K]`` at ``x [batch, n, K]`` → ``[batch, n]``.

    Entry ``m`` of a table is the output when input ``j`` equals bit ``j`` of ``m`` (input 0 is
    the least-significant address bit, as in :mod:`lutnn.netlist`). With 0/1 inputs the result
    is exactly ``tables[i, address]``; with soft inputs it is the expectation of the table under
    independent Bernoulli inputs. Differentiable in both arguments (63 lerps for K=6).
    """
    if x.dim() != 3 or tables.dim() != 2:
        raise LutnnError(
            f"lut_forward: expected x [batch, n, K] and tables [n, 2**K], got {tuple(x.shape)} and {tuple(tables.shape)}"
        )
    _b, n, k = x.shape
    if tables.shape[0] != n or tables.shape[1] != 1 << k:
        raise LutnnError(
            f"lut_forward: {n} nodes with K={k} inputs need tables of shape [{n}, {1 << k}], got {tuple(tables.shape)}"
        )
    x = x.to(tables.dtype)
    # reduce the most-significant address bit first: a table viewed as [.., 2, 2**(K-1)] holds
    # the entries with input K-1 = 0 in the first half and = 1 in the second half
    half = 1 << (k - 1)
    v = torch.lerp(tables[None, :, :half], tables[None, :, half:], x[:, :, k - 1 : k])
    for j in range(k - 2, -1, -1):
        half = 1 << j
        v = torch.lerp(v[..., :half], v[..., half:], x[:, :, j : j + 1])
    return v[..., 0]


@functools.lru_cache(maxsize=16)
def _address_tables(k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every address a and input j: a with bit j cleared, a with bit j set, and a's other bits packed."""
    a = np.arange(1 << k)[:, None]
    j = np.arange(k)[None, :]
    lo = a & ~(1 << j)
    hi = a | (1 << j)
    low_mask = (1 << j) - 1
    other = (a & low_mask) | ((a >> (j + 1)) << j)  # the K-1 remaining bits, in order
    return lo, hi, other


@functools.lru_cache(maxsize=16)
def efd_weights(k: int) -> torch.Tensor:
    """``[2**(K-1), 2**(K-1)]`` matrix ``1 / (hamming(p, q) + 1)`` used by extended finite differences."""
    m = np.arange(1 << (k - 1))
    h = np.array([bin(int(v)).count("1") for v in range(1 << (k - 1))])
    ham = h[(m[:, None] ^ m[None, :])]
    return torch.from_numpy(1.0 / (ham + 1.0)).float()


def _input_grad_table(tables: torch.Tensor, k: int, mode: str) -> torch.Tensor:
    """``[n, 2**K, K]``: d(output)/d(input j) at every address, by FD or EFD."""
    lo, hi, other = _address_tables(k)
    n = tables.shape[0]
    t = tables.detach().clamp(-1.0, 1.0)
    if mode == "fd":
        return t[:, torch.from_numpy(hi)] - t[:, torch.from_numpy(lo)]
    # EFD: difference vectors over the other K-1 bits, smoothed by the hamming kernel
    half = 1 << (k - 1)
    # address with bit j = v and other bits = p
    p = np.arange(half)[:, None]
    j = np.arange(k)[None, :]
    addr0 = (p & ((1 << j) - 1)) | ((p >> j) << (j + 1))  # [half, K]
    addr1 = addr0 | (1 << j)
    a1 = torch.from_numpy(addr1.T.copy()).to(t.device)  # [K, half]
    a0 = torch.from_numpy(addr0.T.copy()).to(t.device)
    d = (t[:, a1] - t[:, a0]).reshape(n * k, half)  # [n*K, half]: differences along input j
    e = (d @ efd_weights(k).to(t.device, t.dtype)).view(n, k, half)  # W is symmetric
    jj = torch.arange(k, device=t.device)[None, :]
    return e[:, jj, torch.from_numpy(other).to(t.device)]  # [n, 2**K, K]


class _HardLookup(torch.autograd.Function):
    """Forward: ``tables[i, address(bits)]``; backward: scatter to entries, FD/EFD to inputs."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, tables: torch.Tensor, mode: str) -> torch.Tensor:  # type: ignore[override]
        _b, n, k = x.shape
        weights = 1 << torch.arange(k, device=x.device, dtype=torch.int64)
        addr = ((x > 0.5).to(torch.int64) * weights).sum(-1)  # [B, n]
        flat = addr + (torch.arange(n, device=x.device, dtype=torch.int64) << k)[None, :]
        out = tables.reshape(-1).take(flat)
        ctx.save_for_backward(flat, tables)
        ctx.mode = mode
        ctx.k = k
        return out

    @staticmethod
    def backward(ctx, g: torch.Tensor):  # type: ignore[override]
        flat, tables = ctx.saved_tensors
        k = ctx.k
        n = tables.shape[0]
        gx = gt = None
        g = g.contiguous()
        if ctx.needs_input_grad[1]:
            gt = torch.zeros(n << k, dtype=g.dtype, device=g.device)
            gt.index_add_(0, flat.reshape(-1), g.reshape(-1))
            gt = gt.view(n, 1 << k)
        if ctx.needs_input_grad[0]:
            gtab = _input_grad_table(tables, k, ctx.mode).reshape(n << k, k)
            gx = gtab[flat] * g[..., None]
        return gx, gt, None


def lut_lookup(x: torch.Tensor, tables: torch.Tensor, grad: str = "efd") -> torch.Tensor:
    """Hard lookup of ``tables [n, 2**K]`` at binary ``x [batch, n, K]`` (entries > 0.5 are 1).

    ``grad`` picks the input gradient: ``"efd"`` (DWN's extended finite differences) or ``"fd"``.
    """
    if grad not in ("efd", "fd"):
        raise LutnnError(f"lut_lookup: grad={grad!r} is not one of 'efd', 'fd'")
    if x.dim() != 3:
        raise LutnnError(f"lut_lookup: expected x [batch, n, K], got {tuple(x.shape)}")
    _b, n, k = x.shape
    if tables.shape != (n, 1 << k):
        raise LutnnError(f"lut_lookup: {n} nodes with K={k} need tables [{n}, {1 << k}], got {tuple(tables.shape)}")
    return _HardLookup.apply(x, tables, grad)


@functools.lru_cache(maxsize=64)
def _hamming_kernel(k: int, smooth: float) -> torch.Tensor:
    """``[2**K, 2**K]`` matrix ``smooth ** hamming(a, b)``."""
    m = np.arange(1 << k)
    pc = np.array([bin(int(v)).count("1") for v in range(1 << k)])
    return torch.from_numpy(smooth ** pc[m[:, None] ^ m[None, :]]).float()


def _smooth_table_grad(gt: torch.Tensor, k: int, smooth: float) -> torch.Tensor:
    """Spread each entry's gradient to its Hamming neighbours (weight ``smooth ** distance``).

    Entries that no training sample addresses would otherwise keep their random initial value
    and decide unseen inputs at random; smoothing lets them follow their neighbours.
    """
    if smooth <= 0:
        return gt
    return gt @ _hamming_kernel(k, float(smooth)).to(gt.device, gt.dtype)


@functools.lru_cache(maxsize=16)
def _diff_index(k: int) -> tuple[np.ndarray, np.ndarray]:
    """``int64 [K * 2**(K-1)]`` pairs (bit j set, bit j clear) for row j, column p of a node's differences."""
    p = np.arange(1 << (k - 1))[None, :]
    j = np.arange(k)[:, None]
    lo = (p & ((1 << j) - 1)) | ((p >> j) << (j + 1))
    return (lo | (1 << j)).reshape(-1).astype(np.int64), lo.reshape(-1).astype(np.int64)


def _nb_input_grad_table(t32: np.ndarray, k: int, mode: str, compact: bool = False) -> np.ndarray:
    """``float32 [n, 2**K, K]`` input-gradient table (same values as :func:`_input_grad_table`), compiled.

    ``compact=True`` returns ``[n*K, 2**(K-1)]`` instead: input j's derivative for each value of
    the other K-1 address bits (row ``i*K + j``), from which the full table is gathered.
    """
    n = t32.shape[0]
    kern = _kernels(n << k)
    d = np.empty((n * k, 1 << (k - 1)), np.float32)
    kern[2](t32, *_diff_index(k), d)
    if mode == "efd":  # smooth the differences along input j over the other bits (one matmul)
        d = torch.from_numpy(d).mm(efd_weights(k)).numpy()
    if compact:
        return d
    gtab = np.empty((n, 1 << k, k), np.float32)
    kern[3](d, k, gtab)
    return gtab


class _FusedLayer(torch.autograd.Function):
    """A whole layer in feature-major layout: ``x [F, B]`` 0/1 → ``tables[i, address] > 0`` as ``[n, B]``.

    The output is binarised with a straight-through gradient (:func:`binarize_ste` fused in:
    the gradient passes where ``|tables[i, address]| <= 1``). Only the uint8 addresses are kept
    for the backward pass (one byte per node and sample). On CPU the loops are compiled numba
    kernels; elsewhere (GPU) the same steps run as torch ops.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx, x: torch.Tensor, conn: torch.Tensor, tables: torch.Tensor, mode: str, smooth: float = 0.0
    ) -> torch.Tensor:
        k = conn.shape[1]
        n, bsz = conn.shape[0], x.shape[1]
        if _use_numba(x, tables):
            xb = x if x.dtype in (torch.uint8, torch.float32) else (x > 0.5).to(torch.uint8)
            t = tables.detach().float().contiguous()
            addr = torch.empty(n, bsz, dtype=torch.uint8)
            out = torch.empty(n, bsz, dtype=torch.float32)
            _kernels(n * bsz)[0](xb.contiguous().numpy(), conn.numpy(), t.numpy(), addr.numpy(), out.numpy())
            out = out.to(tables.dtype)
        else:
            xb = x if x.dtype == torch.uint8 else (x > 0.5).to(torch.uint8)
            addr = xb.index_select(0, conn[:, 0]).clone()
            for j in range(1, k):
                addr |= xb.index_select(0, conn[:, j]) << j
            out = (torch.gather(tables, 1, addr.long()) > 0).to(tables.dtype)
        ctx.save_for_backward(addr, conn, tables)
        ctx.mode = mode
        ctx.smooth = smooth
        ctx.in_rows = x.shape[0]
        return out

    @staticmethod
    def backward(ctx, g: torch.Tensor):  # type: ignore[override]
        addr, conn, tables = ctx.saved_tensors
        k = conn.shape[1]
        need_x, need_t = ctx.needs_input_grad[0], ctx.needs_input_grad[2]
        gx = gt = None
        if _use_numba(g, tables):
            kern = _kernels(addr.numel())
            t32 = tables.detach().float().contiguous().numpy()
            g32 = g.float().contiguous().numpy()
            gt32 = np.empty(t32.shape, np.float32)
            gm = np.empty(g32.shape, np.float32) if need_x else np.empty((1, 1), np.float32)
            kern[1](addr.numpy(), t32, g32, gt32, gm, need_x)
            if need_t:
                gt = _smooth_table_grad(torch.from_numpy(gt32), k, ctx.smooth).to(tables.dtype)
            if need_x:
                gx32 = np.empty((ctx.in_rows, g32.shape[1]), np.float32)
                n_chunks = max(1, min(numba.get_num_threads(), g32.shape[1] // 16))
                if k == 6 and USE_AVX512:
                    gtab = _nb_input_grad_table(t32, k, ctx.mode, compact=True)
                    kern_gx = _avx512_kernel(_parallel(addr.numel()))
                else:
                    gtab = _nb_input_grad_table(t32, k, ctx.mode)
                    kern_gx = kern[5 if k == 6 else 4]
                kern_gx(addr.numpy(), conn.numpy(), gtab, gm, gx32, n_chunks)
                gx = torch.from_numpy(gx32).to(g.dtype)
            return gx, None, gt, None, None
        idx = addr.long()
        v = torch.gather(tables.detach(), 1, idx)
        gm_t = g * (v.abs() <= 1).to(g.dtype)  # the straight-through window of the binarised output
        if need_t:
            gt = _smooth_table_grad(torch.zeros_like(tables).scatter_add_(1, idx, gm_t), k, ctx.smooth)
        if need_x:
            gtab = _input_grad_table(tables, k, ctx.mode)  # [n, 2**K, K]
            gx = torch.zeros(ctx.in_rows, g.shape[1], dtype=g.dtype, device=g.device)
            for j in range(k):
                gj = torch.gather(gtab[:, :, j], 1, idx)
                gj.mul_(gm_t)
                gx.index_add_(0, conn[:, j], gj)
        return gx, None, gt, None, None


class _LearnedMapping(torch.autograd.Function):
    """DWN's learnable mapping: ``x [F, B]`` → ``x[argmax(W, 1)]`` as float ``[M, B]``.

    Each of the M fan-ins reads the input its row of ``W [M, F]`` scores highest. The gradient
    to ``W`` is ``g · (2x − 1)``: a fan-in's score for input j rises when reading j would have
    moved its value the way the loss wants. The input gradient goes to the chosen inputs only.
    """

    @staticmethod
    def forward(ctx, xt: torch.Tensor, w: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        idx = w.detach().max(1).indices  # argmax (first on ties), ~3x faster on CPU than .argmax(1)
        ctx.save_for_backward(xt, idx)
        return xt.index_select(0, idx).to(w.dtype)

    @staticmethod
    def backward(ctx, g: torch.Tensor):  # type: ignore[override]
        xt, idx = ctx.saved_tensors
        gx = gw = None
        if ctx.needs_input_grad[1]:
            gw = g @ (xt.to(g.dtype) * 2 - 1).t()
        if ctx.needs_input_grad[0]:
            gx = torch.zeros(xt.shape, dtype=g.dtype, device=g.device).index_add_(0, idx, g)
        return gx, gw


class _BinarizeSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, v: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(v)
        return (v > 0).to(v.dtype)

    @staticmethod
    def backward(ctx, g: torch.Tensor):  # type: ignore[override]
        (v,) = ctx.saved_tensors
        return g * (v.abs() <= 1).to(g.dtype)


def binarize_ste(v: torch.Tensor) -> torch.Tensor:
    """``v > 0`` as 0/1 in the forward pass; identity gradient (clipped to ``|v| <= 1``) backward."""
    return _BinarizeSTE.apply(v)


def tables_to_bits(tables: torch.Tensor) -> np.ndarray:
    """Thresholded truth tables: ``uint8 [n, 2**K]``, entry ``m`` is 1 when the real entry is > 0."""
    return (tables.detach().cpu() > 0).numpy().astype(np.uint8)


class LUTLayer(nn.Module):
    """``out_features`` K-input LUT nodes reading a fixed (or learned, then frozen) set of inputs.

    Args:
        in_features: width of the 0/1 input vector.
        out_features: number of LUT nodes (the output width).
        k: inputs per node (2..8; 6 maps one node to one LUT6).
        connectivity: ``int64 [out_features, k]`` input indices, or a name understood by
            :func:`lutnn.lutnet.connectivity.make_connectivity` (``"random"``; ``"local"`` needs the
            inputs' ``positions`` and a ``window``; ``"learned"`` trains a choice among
            ``candidates`` random inputs per fan-in, then :meth:`freeze_connectivity`;
            ``candidates=0`` makes every input a candidate: DWN's learnable mapping).
        grad: ``"efd"`` (default, DWN's extended finite differences through a hard lookup),
            ``"fd"`` (plain finite differences) or ``"multilinear"`` (soft inputs, LUTNet).
        seed: seeds the random connectivity and the table initialisation.
        smooth: in ``[0, 1)``; each table gradient also reaches the entries at Hamming distance
            d with weight ``smooth**d``, so entries no training sample addresses still learn.
        mapping_init: learnable mapping's starting scores: ``"start"`` (faint, ~1e-3, on an evenly
            dealt random map: the first gradients decide) or ``"uniform"`` (DWN's U[0, 1): the
            random map moves only as gradients accumulate).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        k: int = 6,
        connectivity: str | np.ndarray | torch.Tensor = "random",
        grad: str = "efd",
        seed: int = 0,
        positions: np.ndarray | None = None,
        window: float = 5.0,
        candidates: int = 4,
        smooth: float = 0.0,
        mapping_init: str = "start",
    ) -> None:
        super().__init__()
        _check_k(k, "LUTLayer")
        if mapping_init not in ("start", "uniform"):
            raise LutnnError(f"LUTLayer: mapping_init={mapping_init!r} is not 'start' or 'uniform'")
        if grad not in GRAD_MODES:
            raise LutnnError(f"LUTLayer: grad={grad!r} is not one of {GRAD_MODES}")
        if in_features < 1 or out_features < 1:
            raise LutnnError(f"LUTLayer: in_features={in_features} and out_features={out_features} must be >= 1")
        from lutnn.lutnet.connectivity import make_connectivity

        self.in_features = in_features
        self.out_features = out_features
        self.k = k
        self.grad = grad
        self.smooth = float(smooth)
        gen = torch.Generator().manual_seed(seed)
        self.learned = isinstance(connectivity, str) and connectivity == "learned"
        self.full_mapping = self.learned and (candidates == 0 or candidates >= in_features)
        if self.full_mapping:
            # scores [out*k, in]; "start": a faint bump makes an evenly dealt random map the first choice
            start = torch.from_numpy(make_connectivity("random", in_features, out_features, k, seed=seed)).long()
            w = torch.rand(out_features * k, in_features, generator=torch.Generator().manual_seed(seed + 7))
            if mapping_init == "start":
                w *= 1e-3
                w[torch.arange(out_features * k), start.reshape(-1)] += 1e-3
            else:
                start = w.max(1).indices.view(out_features, k)
            self.mapping = nn.Parameter(w)
            self.register_buffer("conn", start.clone())
            self.register_buffer("_ident", torch.arange(out_features * k).view(out_features, k), persistent=False)
            self.frozen = False
        elif self.learned:
            if candidates < 2:
                raise LutnnError(f"LUTLayer: candidates={candidates} must be >= 2 (or 0: every input is a candidate)")
            c = candidates
            cand = make_connectivity("random", in_features, out_features * c, k, seed=seed)
            self.register_buffer("candidates", torch.from_numpy(cand).long().view(out_features, c, k).transpose(1, 2))
            self.selection = nn.Parameter(torch.zeros(out_features, k, c))
            self.register_buffer("conn", self.candidates[:, :, 0].clone())
            self.frozen = False
        else:
            conn = make_connectivity(
                connectivity, in_features, out_features, k, seed=seed, positions=positions, window=window
            )
            self.register_buffer("conn", torch.as_tensor(np.asarray(conn), dtype=torch.long))
            self.frozen = True
        self.tables = nn.Parameter(torch.rand(out_features, 1 << k, generator=gen) * 2 - 1)

    def extra_repr(self) -> str:
        return f"in={self.in_features}, out={self.out_features}, k={self.k}, grad={self.grad}, learned={self.learned}"

    def freeze_connectivity(self) -> None:
        """End learned connectivity: keep each input's most likely candidate from now on."""
        if self.learned and not self.frozen:
            with torch.no_grad():
                self.conn.copy_(self._current_conn())
            self.frozen = True
            if self.full_mapping:
                del self.mapping  # [nodes·k, inputs] scores: not needed once frozen (MNIST large: 226 MB)

    @property
    def _choosing_candidates(self) -> bool:
        """Learned among a few candidates and not frozen yet: the (slower) soft-selection path."""
        return self.learned and not self.frozen and not self.full_mapping

    @property
    def _mapping_in_training(self) -> bool:
        """DWN's learnable mapping, not frozen yet, in training mode: scores get gradients."""
        return self.full_mapping and not self.frozen and self.training

    def _current_conn(self) -> torch.Tensor:
        """``[out, k]`` inputs read now: the fixed map, or the learned choice so far."""
        if not self.learned or self.frozen:
            return self.conn
        if self.full_mapping:
            return self.mapping.detach().max(1).indices.view(self.out_features, self.k)
        return torch.gather(self.candidates, 2, self.selection.detach().argmax(-1, keepdim=True))[..., 0]

    def gather_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, in_features]`` → ``[B, out_features, k]``: the inputs each node reads."""
        if self._mapping_in_training:
            return _LearnedMapping.apply(x.t(), self.mapping).t().reshape(x.shape[0], self.out_features, self.k)
        if self._choosing_candidates and self.training:
            cand = x[:, self.candidates.reshape(-1)].view(x.shape[0], self.out_features, self.k, -1)
            p = torch.softmax(self.selection, dim=-1)
            hard = torch.nn.functional.one_hot(p.argmax(-1), p.shape[-1]).to(p.dtype)
            w = hard + p - p.detach()  # straight-through choice of one candidate
            return (cand * w[None]).sum(-1)
        conn = self._current_conn()
        return x[:, conn.reshape(-1)].view(x.shape[0], self.out_features, self.k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """0/1 (or soft, for ``grad="multilinear"``) inputs ``[B, in]`` → node outputs ``[B, out]``."""
        if x.dim() != 2 or x.shape[1] != self.in_features:
            raise LutnnError(f"LUTLayer: expected input [batch, {self.in_features}], got {tuple(x.shape)}")
        if self.grad != "multilinear" and not self._choosing_candidates:
            return self.forward_t(x.t()).t()
        return self._forward_gathered(x)

    def forward_t(self, xt: torch.Tensor) -> torch.Tensor:
        """Feature-major fast path: ``[in, B]`` 0/1 → ``[out, B]`` (what :class:`LUTNetwork` chains)."""
        if self._mapping_in_training and self.grad != "multilinear":
            xk = _LearnedMapping.apply(xt, self.mapping)
            return _FusedLayer.apply(xk, self._ident, self.tables, self.grad, self.smooth)
        if self.grad == "multilinear" or self._choosing_candidates:
            return self._forward_gathered(xt.t()).t()
        if not self.training:
            hard = (self.tables > 0).to(torch.float32)
            return _FusedLayer.apply(xt, self._current_conn(), hard, "fd").to(
                xt.dtype if xt.is_floating_point() else torch.float32
            )
        return _FusedLayer.apply(xt, self.conn, self.tables, self.grad, self.smooth)

    def _forward_gathered(self, x: torch.Tensor) -> torch.Tensor:
        xk = self.gather_inputs(x)
        if not self.training:
            return lut_lookup(xk, (self.tables > 0).to(x.dtype) - 0.5, "fd").gt(0).to(x.dtype)
        if self.grad == "multilinear":
            return lut_forward(xk, torch.sigmoid(self.tables * 4))
        return binarize_ste(lut_lookup(xk, self.tables, self.grad))

    @torch.no_grad()
    def clamp_(self) -> None:
        """Keep entries in [-1, 1] (the STE window) after an optimiser step."""
        if self.grad != "multilinear":
            self.tables.clamp_(-1.0, 1.0)

    def truth_tables(self) -> np.ndarray:
        """Thresholded tables ``uint8 [out_features, 2**k]`` (what inference and the netlist use)."""
        return tables_to_bits(self.tables)

    def connections(self) -> np.ndarray:
        """``int64 [out_features, k]`` input indices in use (the learned choice when frozen)."""
        return self._current_conn().cpu().numpy()
