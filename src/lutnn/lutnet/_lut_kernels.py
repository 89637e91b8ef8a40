"""Compiled CPU kernels of the LUT layer (numba, with an AVX-512 intrinsic for K = 6 input gradients).

Kept apart from :mod:`lutnn.lutnet.lut` (the torch autograd functions and the layer) so the
layer reads in one sitting; nothing here knows about torch.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


# ---------------------------------------------------------------- compiled CPU kernels
# Layout: feature-major ``[rows, batch]`` float32/uint8 arrays, one uint8 address per node and
# sample. Forward, table gradient and input-gradient tables run in parallel over nodes; the
# input gradient scatters into ``gx`` rows, so it runs in parallel over batch slices (each
# thread owns a column range: no write races, no atomics, no per-thread copies to reduce).
# The straight-through binarisation of a node's output (``v > 0`` forward, gradient masked to
# ``|v| <= 1``) is fused in, so the backward pass keeps only the addresses.
def _nb_forward_py(x, conn, tables, addr, out):  # pragma: no cover - compiled
    n, k = conn.shape
    bsz = x.shape[1]
    for i in numba.prange(n):
        a = addr[i]
        row = x[conn[i, 0]]
        for b in range(bsz):
            a[b] = np.uint8(row[b] > 0.5)
        for j in range(1, k):
            row = x[conn[i, j]]
            s = np.uint8(j)
            for b in range(bsz):
                a[b] |= np.uint8(row[b] > 0.5) << s
        t = tables[i]
        o = out[i]
        if t.shape[0] <= 64:  # K <= 6: the thresholded table as one word, a shift per sample
            bits = np.uint64(0)
            for m in range(t.shape[0]):
                if t[m] > 0:
                    bits |= np.uint64(1) << np.uint64(m)
            for b in range(bsz):
                o[b] = np.float32((bits >> np.uint64(a[b])) & np.uint64(1))
        else:
            for b in range(bsz):
                o[b] = np.float32(1.0) if t[a[b]] > 0 else np.float32(0.0)


def _nb_grad_tables_py(addr, tables, g, gt, gm, keep):  # pragma: no cover - compiled
    n, bsz = addr.shape
    for i in numba.prange(n):
        t = tables[i]
        r = gt[i]
        for m in range(r.shape[0]):
            r[m] = 0.0
        a = addr[i]
        gi = g[i]
        for b in range(bsz):
            ab = a[b]
            w = gi[b] * (np.float32(1.0) if abs(t[ab]) <= 1 else np.float32(0.0))  # STE window
            r[ab] += w
            if keep:
                gm[i, b] = w


def _nb_diffs_py(tables, hi_idx, lo_idx, d):  # pragma: no cover - compiled
    # d[i*K + j, p] = clamp(t[i, hi]) - clamp(t[i, lo]) with hi/lo the addresses with bit j set/clear
    n, m = tables.shape
    q_per_node = hi_idx.shape[0]
    df = d.reshape(-1)
    one = np.float32(1.0)
    for i in numba.prange(n):
        t = tables[i]
        tc = np.empty(m, np.float32)
        for a in range(m):
            tc[a] = min(max(t[a], -one), one)
        base = i * q_per_node
        for q in range(q_per_node):
            df[base + q] = tc[hi_idx[q]] - tc[lo_idx[q]]


def _nb_expand_py(e, k, gtab):  # pragma: no cover - compiled
    # gtab [n, 2**K, K] from e [n*K, 2**(K-1)]
    n = e.shape[0] // k
    half = e.shape[1]
    m = 2 * half
    # src[a*k + j]: where gtab[i, a, j] sits among node i's k*half difference entries
    src = np.empty(m * k, np.int64)
    for a in range(m):
        for j in range(k):
            src[a * k + j] = j * half + ((a & ((1 << j) - 1)) | ((a >> (j + 1)) << j))
    ef = e.reshape(-1)
    gf = gtab.reshape(-1)
    for i in numba.prange(n):
        base_e = i * k * half
        base_g = i * m * k
        for q in range(m * k):
            gf[base_g + q] = ef[base_e + src[q]]


def _nb_grad_inputs_py(addr, conn, gtab, gm, gx, n_chunks):  # pragma: no cover - compiled
    n, k = conn.shape
    bsz = addr.shape[1]
    chunk = (bsz + n_chunks - 1) // n_chunks
    flat = gx.reshape(-1)
    for c in numba.prange(n_chunks):
        b0 = c * chunk
        b1 = min(bsz, b0 + chunk)
        off = np.empty(k, np.int64)
        for f in range(gx.shape[0]):
            for b in range(b0, b1):
                gx[f, b] = 0.0
        for i in range(n):
            a = addr[i]
            w = gm[i]
            gi = gtab[i]
            for j in range(k):
                off[j] = conn[i, j] * bsz
            for b in range(b0, b1):
                row = gi[a[b]]
                wb = w[b]
                for j in range(k):
                    flat[off[j] + b] += row[j] * wb


def _nb_grad_inputs6_py(addr, conn, gtab, gm, gx, n_chunks):  # pragma: no cover - compiled
    # K = 6 unrolled: six gx rows updated per sample with the address's gradient row
    n = conn.shape[0]
    bsz = addr.shape[1]
    chunk = (bsz + n_chunks - 1) // n_chunks
    for c in numba.prange(n_chunks):
        b0 = c * chunk
        b1 = min(bsz, b0 + chunk)
        for f in range(gx.shape[0]):
            for b in range(b0, b1):
                gx[f, b] = 0.0
        for i in range(n):
            a = addr[i]
            w = gm[i]
            gi = gtab[i]
            r0, r1, r2 = gx[conn[i, 0]], gx[conn[i, 1]], gx[conn[i, 2]]
            r3, r4, r5 = gx[conn[i, 3]], gx[conn[i, 4]], gx[conn[i, 5]]
            for b in range(b0, b1):
                row = gi[a[b]]
                wb = w[b]
                r0[b] += row[0] * wb
                r1[b] += row[1] * wb
                r2[b] += row[2] * wb
                r3[b] += row[3] * wb
                r4[b] += row[4] * wb
                r5[b] += row[5] * wb


def _host_has_avx512() -> bool:
    """True when numba compiles for this host and the host has AVX-512F (for the permute kernel)."""
    try:
        import llvmlite.binding as llvm

        return numba.config.CPU_NAME is None and "+avx512f" in llvm.get_host_cpu_features().flatten()
    except Exception:  # pragma: no cover - exotic llvmlite builds
        return False


HAS_AVX512 = _host_has_avx512()


@intrinsic
def _lookup_fma16(typingctx, r, rb, tab, toff, a, w, b, j):  # pragma: no cover - compiled
    """``r[rb:rb+16] += tab[toff + other(a[b:b+16], j)] * w[b:b+16]`` with one ``vpermi2ps`` (AVX-512).

    ``tab[toff:toff+32]`` holds input j's derivative for each value of the other 5 address bits;
    ``other(a, j)`` drops bit j of the address ``a``.
    """
    sig = types.void(r, rb, tab, toff, a, w, b, j)
    lanes = 16

    def codegen(context, builder, signature, args):
        arrs = [context.make_array(signature.args[q])(context, builder, args[q]) for q in (0, 2, 4, 5)]
        ra, ta, aa, wa = (x.data for x in arrs)
        rb_, toff_, b_ = args[1], args[3], args[6]
        f32, i32 = ir.FloatType(), ir.IntType(32)
        vf, vi32 = ir.VectorType(f32, lanes), ir.VectorType(i32, lanes)
        vfp = vf.as_pointer()

        def splat(v):
            v = builder.insert_element(ir.Constant(vi32, ir.Undefined), v, ir.Constant(i32, 0))
            return builder.shuffle_vector(v, ir.Constant(vi32, ir.Undefined), ir.Constant(vi32, [0] * lanes))

        tp = builder.gep(ta, [toff_])
        lo = builder.load(builder.bitcast(tp, vfp), align=4)
        hi = builder.load(builder.bitcast(builder.gep(tp, [ir.Constant(ir.IntType(64), lanes)]), vfp), align=4)
        vi8p = ir.VectorType(ir.IntType(8), lanes).as_pointer()
        idx = builder.zext(builder.load(builder.bitcast(builder.gep(aa, [b_]), vi8p), align=1), vi32)
        jj = builder.trunc(args[7], i32)
        low = builder.sub(builder.shl(ir.Constant(i32, 1), jj), ir.Constant(i32, 1))
        upper = builder.shl(builder.lshr(idx, splat(builder.add(jj, ir.Constant(i32, 1)))), splat(jj))
        other = builder.or_(builder.and_(idx, splat(low)), upper)
        perm = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(vf, [vf, vi32, vf]), "llvm.x86.avx512.vpermi2var.ps.512"
        )
        val = builder.call(perm, [lo, other, hi])  # 32-entry lookup: bit 4 of the index picks hi
        vw = builder.load(builder.bitcast(builder.gep(wa, [b_]), vfp), align=4)
        rp = builder.bitcast(builder.gep(ra, [rb_]), vfp)
        prod = builder.fmul(val, vw, flags=("fast",))
        builder.store(builder.fadd(builder.load(rp, align=4), prod, flags=("fast",)), rp, align=4)
        return context.get_dummy_value()

    return sig, codegen


def _nb_grad_inputs6_avx512_py(addr, conn, e, gm, gx, n_chunks):  # pragma: no cover - compiled
    # K = 6 with 16-lane lookups in the compact per-input tables e [n*K, 32] (no [n, 64, K]
    # expansion): the same sums in the same order as _nb_grad_inputs6_py, so bit-identical
    n, k = conn.shape
    bsz = addr.shape[1]
    half = e.shape[1]
    chunk = ((bsz + n_chunks - 1) // n_chunks + 15) // 16 * 16  # slices start on a lane boundary
    flat = gx.reshape(-1)
    ef = e.reshape(-1)
    for c in numba.prange(n_chunks):
        b0 = min(bsz, c * chunk)
        b1 = min(bsz, b0 + chunk)
        for f in range(gx.shape[0]):
            for b in range(b0, b1):
                gx[f, b] = 0.0
        bv = b0 + (b1 - b0) // 16 * 16
        for i in range(n):
            a = addr[i]
            w = gm[i]
            for j in range(k):
                ro = conn[i, j] * bsz
                to = (i * k + j) * half
                low = (1 << j) - 1
                for b in range(b0, bv, 16):
                    _lookup_fma16(flat, ro + b, ef, to, a, w, b, j)
                for b in range(bv, b1):
                    ab = a[b]
                    flat[ro + b] += ef[to + ((ab & low) | ((ab >> (j + 1)) << j))] * w[b]


_AVX512_KERNELS: dict = {}


def _avx512_kernel(parallel: bool):
    """The AVX-512 K=6 input-gradient kernel, compiled on first use (only ever on AVX-512 hosts)."""
    if parallel not in _AVX512_KERNELS:
        _AVX512_KERNELS[parallel] = numba.njit(**(_PAR if parallel else _SER))(_nb_grad_inputs6_avx512_py)
    return _AVX512_KERNELS[parallel]


_PAR = {"parallel": True, "cache": True, "fastmath": True}
_SER = {"cache": True, "fastmath": True}
_KERNEL_FUNCS = (
    _nb_forward_py,
    _nb_grad_tables_py,
    _nb_diffs_py,
    _nb_expand_py,
    _nb_grad_inputs_py,
    _nb_grad_inputs6_py,
)
# parallel kernels for big layers; serial ones where thread start-up and synchronisation would
# cost more than the work (small layers or batches)
_KERNELS = {
    True: tuple(numba.njit(**_PAR)(f) for f in _KERNEL_FUNCS),
    False: tuple(numba.njit(**_SER)(f) for f in _KERNEL_FUNCS),
}
PARALLEL_MIN_WORK = 1 << 18  # node-samples per call below which the serial kernels run


def _parallel(work: int) -> bool:
    return work >= PARALLEL_MIN_WORK and numba.get_num_threads() > 1


def _kernels(work: int) -> tuple:
    return _KERNELS[_parallel(work)]
