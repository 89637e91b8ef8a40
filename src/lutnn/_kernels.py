"""Compiled (numba) inner loops over netlist arrays: levels, liveness, topological sort, simulation.

Kept in one private module so the rest of lutnn stays plain numpy. Each kernel is compiled on
first use and cached on disk (``cache=True``), so later runs start fast.
"""

from __future__ import annotations

import numpy as np
from numba import get_thread_id, njit, prange

ALL_ONES = np.uint64(0xFFFFFFFFFFFFFFFF)


@njit(cache=True)
def levels(fanins, arity, n_pi, lv):  # pragma: no cover - compiled
    for i in range(fanins.shape[0]):
        m = 0
        for j in range(arity[i]):
            x = lv[fanins[i, j]] + 1
            if x > m:
                m = x
        lv[n_pi + i] = m


@njit(cache=True)
def mark_live(fanins, n_pi, live):  # pragma: no cover - compiled
    for i in range(fanins.shape[0] - 1, -1, -1):
        if live[n_pi + i]:
            for j in range(fanins.shape[1]):
                f = fanins[i, j]
                if f >= 0:
                    live[f] = True


@njit(cache=True)
def toposort(fanins, arity, n_pi):  # pragma: no cover - compiled
    """Kahn's algorithm; returns node indices in a valid order (shorter than n on a cycle)."""
    n = fanins.shape[0]
    indeg = np.zeros(n, np.int64)
    cnt = np.zeros(n + 1, np.int64)
    for i in range(n):
        for j in range(arity[i]):
            f = fanins[i, j]
            if f >= n_pi:
                indeg[i] += 1
                cnt[f - n_pi + 1] += 1
    for i in range(n):
        cnt[i + 1] += cnt[i]
    fill = cnt[:-1].copy()
    readers = np.empty(cnt[n], np.int64)
    for i in range(n):
        for j in range(arity[i]):
            f = fanins[i, j]
            if f >= n_pi:
                readers[fill[f - n_pi]] = i
                fill[f - n_pi] += 1
    order = np.empty(n, np.int64)
    head = 0
    tail = 0
    for i in range(n):
        if indeg[i] == 0:
            order[tail] = i
            tail += 1
    while head < tail:
        u = order[head]
        head += 1
        for r in range(cnt[u], cnt[u + 1]):
            v = readers[r]
            indeg[v] -= 1
            if indeg[v] == 0:
                order[tail] = v
                tail += 1
    return order[:tail]


# ----------------------------------------------------------------------------- simulation
# Straight-line mux trees, one per arity (generated; see docs/simulator.md). Table bits become
# all-0/all-1 masks c*, the first tree level is one AND + XOR per pair (e* = c ^ c'), every later
# level one 3-op mux ``lo ^ ((lo ^ hi) & x)``. The word loop carries no branch, so LLVM
# vectorises it (AVX2/AVX-512) and the whole tree stays in registers.
Z = np.uint64(0)
ONE = np.uint64(1)


@njit(cache=True)
def _lut1(sig, o, f0, t, w0, w1):  # pragma: no cover - compiled
    """Arity-1 node: a straight-line mux tree per word (table bits hoisted as masks)."""
    c0 = Z - ((t >> np.uint64(0)) & ONE)
    c1 = Z - ((t >> np.uint64(1)) & ONE)
    e0 = c0 ^ c1
    for w in range(w0, w1):
        x0 = sig[f0, w]
        v0 = c0 ^ (e0 & x0)
        sig[o, w] = v0


@njit(cache=True)
def _lut2(sig, o, f0, f1, t, w0, w1):  # pragma: no cover - compiled
    """Arity-2 node: a straight-line mux tree per word (table bits hoisted as masks)."""
    c0 = Z - ((t >> np.uint64(0)) & ONE)
    c1 = Z - ((t >> np.uint64(1)) & ONE)
    c2 = Z - ((t >> np.uint64(2)) & ONE)
    c3 = Z - ((t >> np.uint64(3)) & ONE)
    e0 = c0 ^ c1
    e1 = c2 ^ c3
    for w in range(w0, w1):
        x0 = sig[f0, w]
        x1 = sig[f1, w]
        v0 = c0 ^ (e0 & x0)
        v1 = c2 ^ (e1 & x0)
        v2 = v0 ^ ((v0 ^ v1) & x1)
        sig[o, w] = v2


@njit(cache=True)
def _lut3(sig, o, f0, f1, f2, t, w0, w1):  # pragma: no cover - compiled
    """Arity-3 node: a straight-line mux tree per word (table bits hoisted as masks)."""
    c0 = Z - ((t >> np.uint64(0)) & ONE)
    c1 = Z - ((t >> np.uint64(1)) & ONE)
    c2 = Z - ((t >> np.uint64(2)) & ONE)
    c3 = Z - ((t >> np.uint64(3)) & ONE)
    c4 = Z - ((t >> np.uint64(4)) & ONE)
    c5 = Z - ((t >> np.uint64(5)) & ONE)
    c6 = Z - ((t >> np.uint64(6)) & ONE)
    c7 = Z - ((t >> np.uint64(7)) & ONE)
    e0 = c0 ^ c1
    e1 = c2 ^ c3
    e2 = c4 ^ c5
    e3 = c6 ^ c7
    for w in range(w0, w1):
        x0 = sig[f0, w]
        x1 = sig[f1, w]
        x2 = sig[f2, w]
        v0 = c0 ^ (e0 & x0)
        v1 = c2 ^ (e1 & x0)
        v2 = v0 ^ ((v0 ^ v1) & x1)
        v3 = c4 ^ (e2 & x0)
        v4 = c6 ^ (e3 & x0)
        v5 = v3 ^ ((v3 ^ v4) & x1)
        v6 = v2 ^ ((v2 ^ v5) & x2)
        sig[o, w] = v6


@njit(cache=True)
def _lut4(sig, o, f0, f1, f2, f3, t, w0, w1):  # pragma: no cover - compiled
    """Arity-4 node: a straight-line mux tree per word (table bits hoisted as masks)."""
    c0 = Z - ((t >> np.uint64(0)) & ONE)
    c1 = Z - ((t >> np.uint64(1)) & ONE)
    c2 = Z - ((t >> np.uint64(2)) & ONE)
    c3 = Z - ((t >> np.uint64(3)) & ONE)
    c4 = Z - ((t >> np.uint64(4)) & ONE)
    c5 = Z - ((t >> np.uint64(5)) & ONE)
    c6 = Z - ((t >> np.uint64(6)) & ONE)
    c7 = Z - ((t >> np.uint64(7)) & ONE)
    c8 = Z - ((t >> np.uint64(8)) & ONE)
    c9 = Z - ((t >> np.uint64(9)) & ONE)
    c10 = Z - ((t >> np.uint64(10)) & ONE)
    c11 = Z - ((t >> np.uint64(11)) & ONE)
    c12 = Z - ((t >> np.uint64(12)) & ONE)
    c13 = Z - ((t >> np.uint64(13)) & ONE)
    c14 = Z - ((t >> np.uint64(14)) & ONE)
    c15 = Z - ((t >> np.uint64(15)) & ONE)
    e0 = c0 ^ c1
    e1 = c2 ^ c3
    e2 = c4 ^ c5
    e3 = c6 ^ c7
    e4 = c8 ^ c9
    e5 = c10 ^ c11
    e6 = c12 ^ c13
    e7 = c14 ^ c15
    for w in range(w0, w1):
        x0 = sig[f0, w]
        x1 = sig[f1, w]
        x2 = sig[f2, w]
        x3 = sig[f3, w]
        v0 = c0 ^ (e0 & x0)
        v1 = c2 ^ (e1 & x0)
        v2 = v0 ^ ((v0 ^ v1) & x1)
        v3 = c4 ^ (e2 & x0)
        v4 = c6 ^ (e3 & x0)
        v5 = v3 ^ ((v3 ^ v4) & x1)
        v6 = v2 ^ ((v2 ^ v5) & x2)
        v7 = c8 ^ (e4 & x0)
        v8 = c10 ^ (e5 & x0)
        v9 = v7 ^ ((v7 ^ v8) & x1)
        v10 = c12 ^ (e6 & x0)
        v11 = c14 ^ (e7 & x0)
        v12 = v10 ^ ((v10 ^ v11) & x1)
        v13 = v9 ^ ((v9 ^ v12) & x2)
        v14 = v6 ^ ((v6 ^ v13) & x3)
        sig[o, w] = v14


@njit(cache=True)
def _lut5(sig, o, f0, f1, f2, f3, f4, t, w0, w1):  # pragma: no cover - compiled
    """Arity-5 node: a straight-line mux tree per word (table bits hoisted as masks)."""
    c0 = Z - ((t >> np.uint64(0)) & ONE)
    c1 = Z - ((t >> np.uint64(1)) & ONE)
    c2 = Z - ((t >> np.uint64(2)) & ONE)
    c3 = Z - ((t >> np.uint64(3)) & ONE)
    c4 = Z - ((t >> np.uint64(4)) & ONE)
    c5 = Z - ((t >> np.uint64(5)) & ONE)
    c6 = Z - ((t >> np.uint64(6)) & ONE)
    c7 = Z - ((t >> np.uint64(7)) & ONE)
    c8 = Z - ((t >> np.uint64(8)) & ONE)
    c9 = Z - ((t >> np.uint64(9)) & ONE)
    c10 = Z - ((t >> np.uint64(10)) & ONE)
    c11 = Z - ((t >> np.uint64(11)) & ONE)
    c12 = Z - ((t >> np.uint64(12)) & ONE)
    c13 = Z - ((t >> np.uint64(13)) & ONE)
    c14 = Z - ((t >> np.uint64(14)) & ONE)
    c15 = Z - ((t >> np.uint64(15)) & ONE)
    c16 = Z - ((t >> np.uint64(16)) & ONE)
    c17 = Z - ((t >> np.uint64(17)) & ONE)
    c18 = Z - ((t >> np.uint64(18)) & ONE)
    c19 = Z - ((t >> np.uint64(19)) & ONE)
    c20 = Z - ((t >> np.uint64(20)) & ONE)
    c21 = Z - ((t >> np.uint64(21)) & ONE)
    c22 = Z - ((t >> np.uint64(22)) & ONE)
    c23 = Z - ((t >> np.uint64(23)) & ONE)
    c24 = Z - ((t >> np.uint64(24)) & ONE)
    c25 = Z - ((t >> np.uint64(25)) & ONE)
    c26 = Z - ((t >> np.uint64(26)) & ONE)
    c27 = Z - ((t >> np.uint64(27)) & ONE)
    c28 = Z - ((t >> np.uint64(28)) & ONE)
    c29 = Z - ((t >> np.uint64(29)) & ONE)
    c30 = Z - ((t >> np.uint64(30)) & ONE)
    c31 = Z - ((t >> np.uint64(31)) & ONE)
    e0 = c0 ^ c1
    e1 = c2 ^ c3
    e2 = c4 ^ c5
    e3 = c6 ^ c7
    e4 = c8 ^ c9
    e5 = c10 ^ c11
    e6 = c12 ^ c13
    e7 = c14 ^ c15
    e8 = c16 ^ c17
    e9 = c18 ^ c19
    e10 = c20 ^ c21
    e11 = c22 ^ c23
    e12 = c24 ^ c25
    e13 = c26 ^ c27
    e14 = c28 ^ c29
    e15 = c30 ^ c31
    for w in range(w0, w1):
        x0 = sig[f0, w]
        x1 = sig[f1, w]
        x2 = sig[f2, w]
        x3 = sig[f3, w]
        x4 = sig[f4, w]
        v0 = c0 ^ (e0 & x0)
        v1 = c2 ^ (e1 & x0)
        v2 = v0 ^ ((v0 ^ v1) & x1)
        v3 = c4 ^ (e2 & x0)
        v4 = c6 ^ (e3 & x0)
        v5 = v3 ^ ((v3 ^ v4) & x1)
        v6 = v2 ^ ((v2 ^ v5) & x2)
        v7 = c8 ^ (e4 & x0)
        v8 = c10 ^ (e5 & x0)
        v9 = v7 ^ ((v7 ^ v8) & x1)
        v10 = c12 ^ (e6 & x0)
        v11 = c14 ^ (e7 & x0)
        v12 = v10 ^ ((v10 ^ v11) & x1)
        v13 = v9 ^ ((v9 ^ v12) & x2)
        v14 = v6 ^ ((v6 ^ v13) & x3)
        v15 = c16 ^ (e8 & x0)
        v16 = c18 ^ (e9 & x0)
        v17 = v15 ^ ((v15 ^ v16) & x1)
        v18 = c20 ^ (e10 & x0)
        v19 = c22 ^ (e11 & x0)
        v20 = v18 ^ ((v18 ^ v19) & x1)
        v21 = v17 ^ ((v17 ^ v20) & x2)
        v22 = c24 ^ (e12 & x0)
        v23 = c26 ^ (e13 & x0)
        v24 = v22 ^ ((v22 ^ v23) & x1)
        v25 = c28 ^ (e14 & x0)
        v26 = c30 ^ (e15 & x0)
        v27 = v25 ^ ((v25 ^ v26) & x1)
        v28 = v24 ^ ((v24 ^ v27) & x2)
        v29 = v21 ^ ((v21 ^ v28) & x3)
        v30 = v14 ^ ((v14 ^ v29) & x4)
        sig[o, w] = v30


@njit(cache=True)
def _lut6(sig, o, f0, f1, f2, f3, f4, f5, t, w0, w1):  # pragma: no cover - compiled
    """Arity-6 node: a straight-line mux tree per word (table bits hoisted as masks)."""
    c0 = Z - ((t >> np.uint64(0)) & ONE)
    c1 = Z - ((t >> np.uint64(1)) & ONE)
    c2 = Z - ((t >> np.uint64(2)) & ONE)
    c3 = Z - ((t >> np.uint64(3)) & ONE)
    c4 = Z - ((t >> np.uint64(4)) & ONE)
    c5 = Z - ((t >> np.uint64(5)) & ONE)
    c6 = Z - ((t >> np.uint64(6)) & ONE)
    c7 = Z - ((t >> np.uint64(7)) & ONE)
    c8 = Z - ((t >> np.uint64(8)) & ONE)
    c9 = Z - ((t >> np.uint64(9)) & ONE)
    c10 = Z - ((t >> np.uint64(10)) & ONE)
    c11 = Z - ((t >> np.uint64(11)) & ONE)
    c12 = Z - ((t >> np.uint64(12)) & ONE)
    c13 = Z - ((t >> np.uint64(13)) & ONE)
    c14 = Z - ((t >> np.uint64(14)) & ONE)
    c15 = Z - ((t >> np.uint64(15)) & ONE)
    c16 = Z - ((t >> np.uint64(16)) & ONE)
    c17 = Z - ((t >> np.uint64(17)) & ONE)
    c18 = Z - ((t >> np.uint64(18)) & ONE)
    c19 = Z - ((t >> np.uint64(19)) & ONE)
    c20 = Z - ((t >> np.uint64(20)) & ONE)
    c21 = Z - ((t >> np.uint64(21)) & ONE)
    c22 = Z - ((t >> np.uint64(22)) & ONE)
    c23 = Z - ((t >> np.uint64(23)) & ONE)
    c24 = Z - ((t >> np.uint64(24)) & ONE)
    c25 = Z - ((t >> np.uint64(25)) & ONE)
    c26 = Z - ((t >> np.uint64(26)) & ONE)
    c27 = Z - ((t >> np.uint64(27)) & ONE)
    c28 = Z - ((t >> np.uint64(28)) & ONE)
    c29 = Z - ((t >> np.uint64(29)) & ONE)
    c30 = Z - ((t >> np.uint64(30)) & ONE)
    c31 = Z - ((t >> np.uint64(31)) & ONE)
    c32 = Z - ((t >> np.uint64(32)) & ONE)
    c33 = Z - ((t >> np.uint64(33)) & ONE)
    c34 = Z - ((t >> np.uint64(34)) & ONE)
    c35 = Z - ((t >> np.uint64(35)) & ONE)
    c36 = Z - ((t >> np.uint64(36)) & ONE)
    c37 = Z - ((t >> np.uint64(37)) & ONE)
    c38 = Z - ((t >> np.uint64(38)) & ONE)
    c39 = Z - ((t >> np.uint64(39)) & ONE)
    c40 = Z - ((t >> np.uint64(40)) & ONE)
    c41 = Z - ((t >> np.uint64(41)) & ONE)
    c42 = Z - ((t >> np.uint64(42)) & ONE)
    c43 = Z - ((t >> np.uint64(43)) & ONE)
    c44 = Z - ((t >> np.uint64(44)) & ONE)
    c45 = Z - ((t >> np.uint64(45)) & ONE)
    c46 = Z - ((t >> np.uint64(46)) & ONE)
    c47 = Z - ((t >> np.uint64(47)) & ONE)
    c48 = Z - ((t >> np.uint64(48)) & ONE)
    c49 = Z - ((t >> np.uint64(49)) & ONE)
    c50 = Z - ((t >> np.uint64(50)) & ONE)
    c51 = Z - ((t >> np.uint64(51)) & ONE)
    c52 = Z - ((t >> np.uint64(52)) & ONE)
    c53 = Z - ((t >> np.uint64(53)) & ONE)
    c54 = Z - ((t >> np.uint64(54)) & ONE)
    c55 = Z - ((t >> np.uint64(55)) & ONE)
    c56 = Z - ((t >> np.uint64(56)) & ONE)
    c57 = Z - ((t >> np.uint64(57)) & ONE)
    c58 = Z - ((t >> np.uint64(58)) & ONE)
    c59 = Z - ((t >> np.uint64(59)) & ONE)
    c60 = Z - ((t >> np.uint64(60)) & ONE)
    c61 = Z - ((t >> np.uint64(61)) & ONE)
    c62 = Z - ((t >> np.uint64(62)) & ONE)
    c63 = Z - ((t >> np.uint64(63)) & ONE)
    e0 = c0 ^ c1
    e1 = c2 ^ c3
    e2 = c4 ^ c5
    e3 = c6 ^ c7
    e4 = c8 ^ c9
    e5 = c10 ^ c11
    e6 = c12 ^ c13
    e7 = c14 ^ c15
    e8 = c16 ^ c17
    e9 = c18 ^ c19
    e10 = c20 ^ c21
    e11 = c22 ^ c23
    e12 = c24 ^ c25
    e13 = c26 ^ c27
    e14 = c28 ^ c29
    e15 = c30 ^ c31
    e16 = c32 ^ c33
    e17 = c34 ^ c35
    e18 = c36 ^ c37
    e19 = c38 ^ c39
    e20 = c40 ^ c41
    e21 = c42 ^ c43
    e22 = c44 ^ c45
    e23 = c46 ^ c47
    e24 = c48 ^ c49
    e25 = c50 ^ c51
    e26 = c52 ^ c53
    e27 = c54 ^ c55
    e28 = c56 ^ c57
    e29 = c58 ^ c59
    e30 = c60 ^ c61
    e31 = c62 ^ c63
    for w in range(w0, w1):
        x0 = sig[f0, w]
        x1 = sig[f1, w]
        x2 = sig[f2, w]
        x3 = sig[f3, w]
        x4 = sig[f4, w]
        x5 = sig[f5, w]
        v0 = c0 ^ (e0 & x0)
        v1 = c2 ^ (e1 & x0)
        v2 = v0 ^ ((v0 ^ v1) & x1)
        v3 = c4 ^ (e2 & x0)
        v4 = c6 ^ (e3 & x0)
        v5 = v3 ^ ((v3 ^ v4) & x1)
        v6 = v2 ^ ((v2 ^ v5) & x2)
        v7 = c8 ^ (e4 & x0)
        v8 = c10 ^ (e5 & x0)
        v9 = v7 ^ ((v7 ^ v8) & x1)
        v10 = c12 ^ (e6 & x0)
        v11 = c14 ^ (e7 & x0)
        v12 = v10 ^ ((v10 ^ v11) & x1)
        v13 = v9 ^ ((v9 ^ v12) & x2)
        v14 = v6 ^ ((v6 ^ v13) & x3)
        v15 = c16 ^ (e8 & x0)
        v16 = c18 ^ (e9 & x0)
        v17 = v15 ^ ((v15 ^ v16) & x1)
        v18 = c20 ^ (e10 & x0)
        v19 = c22 ^ (e11 & x0)
        v20 = v18 ^ ((v18 ^ v19) & x1)
        v21 = v17 ^ ((v17 ^ v20) & x2)
        v22 = c24 ^ (e12 & x0)
        v23 = c26 ^ (e13 & x0)
        v24 = v22 ^ ((v22 ^ v23) & x1)
        v25 = c28 ^ (e14 & x0)
        v26 = c30 ^ (e15 & x0)
        v27 = v25 ^ ((v25 ^ v26) & x1)
        v28 = v24 ^ ((v24 ^ v27) & x2)
        v29 = v21 ^ ((v21 ^ v28) & x3)
        v30 = v14 ^ ((v14 ^ v29) & x4)
        v31 = c32 ^ (e16 & x0)
        v32 = c34 ^ (e17 & x0)
        v33 = v31 ^ ((v31 ^ v32) & x1)
        v34 = c36 ^ (e18 & x0)
        v35 = c38 ^ (e19 & x0)
        v36 = v34 ^ ((v34 ^ v35) & x1)
        v37 = v33 ^ ((v33 ^ v36) & x2)
        v38 = c40 ^ (e20 & x0)
        v39 = c42 ^ (e21 & x0)
        v40 = v38 ^ ((v38 ^ v39) & x1)
        v41 = c44 ^ (e22 & x0)
        v42 = c46 ^ (e23 & x0)
        v43 = v41 ^ ((v41 ^ v42) & x1)
        v44 = v40 ^ ((v40 ^ v43) & x2)
        v45 = v37 ^ ((v37 ^ v44) & x3)
        v46 = c48 ^ (e24 & x0)
        v47 = c50 ^ (e25 & x0)
        v48 = v46 ^ ((v46 ^ v47) & x1)
        v49 = c52 ^ (e26 & x0)
        v50 = c54 ^ (e27 & x0)
        v51 = v49 ^ ((v49 ^ v50) & x1)
        v52 = v48 ^ ((v48 ^ v51) & x2)
        v53 = c56 ^ (e28 & x0)
        v54 = c58 ^ (e29 & x0)
        v55 = v53 ^ ((v53 ^ v54) & x1)
        v56 = c60 ^ (e30 & x0)
        v57 = c62 ^ (e31 & x0)
        v58 = v56 ^ ((v56 ^ v57) & x1)
        v59 = v55 ^ ((v55 ^ v58) & x2)
        v60 = v52 ^ ((v52 ^ v59) & x3)
        v61 = v45 ^ ((v45 ^ v60) & x4)
        v62 = v30 ^ ((v30 ^ v61) & x5)
        sig[o, w] = v62


@njit(cache=True)
def _lut_wide(sig, o, fan, a, tab, w0, w1, v):  # pragma: no cover - compiled
    """Any arity (used above 6): table pairs → {0, x0, ~x0, 1} rows, then one mux level per fan-in."""
    ones = ALL_ONES
    x0 = fan[0]
    npair = 1 << (a - 1)
    for p in range(npair):
        m = 2 * p
        b = (tab[m >> 6] >> np.uint64(m & 63)) & np.uint64(3)
        if b == 0:
            for w in range(w0, w1):
                v[p, w - w0] = 0
        elif b == 3:
            for w in range(w0, w1):
                v[p, w - w0] = ones
        elif b == 2:
            for w in range(w0, w1):
                v[p, w - w0] = sig[x0, w]
        else:
            for w in range(w0, w1):
                v[p, w - w0] = ~sig[x0, w]
    for j in range(1, a):
        x = fan[j]
        npair >>= 1
        for p in range(npair):
            for w in range(w0, w1):
                lo = v[2 * p, w - w0]
                v[p, w - w0] = lo ^ ((lo ^ v[2 * p + 1, w - w0]) & sig[x, w])
    for w in range(w0, w1):
        sig[o, w] = v[0, w - w0]


@njit(cache=True)
def _simulate_cols(rfan, arity, tables, orow, sig, w0, w1):  # pragma: no cover - compiled
    """Evaluate every node on words ``w0:w1`` of ``sig`` (uint64 [rows, W]).

    Node ``i`` reads rows ``rfan[i, :arity[i]]`` and writes row ``orow[i]`` (see
    :func:`assign_rows`: rows of signals nobody reads any more are reused).
    """
    n = rfan.shape[0]
    kmax = 0
    for i in range(n):
        if arity[i] > kmax:
            kmax = arity[i]
    v = np.empty((1 << max(kmax - 1, 0), w1 - w0), np.uint64) if kmax > 6 else np.empty((1, 1), np.uint64)
    for i in range(n):
        a = arity[i]
        o = orow[i]
        t = tables[i, 0]
        if a == 6:
            _lut6(sig, o, rfan[i, 0], rfan[i, 1], rfan[i, 2], rfan[i, 3], rfan[i, 4], rfan[i, 5], t, w0, w1)
        elif a == 2:
            _lut2(sig, o, rfan[i, 0], rfan[i, 1], t, w0, w1)
        elif a == 4:
            _lut4(sig, o, rfan[i, 0], rfan[i, 1], rfan[i, 2], rfan[i, 3], t, w0, w1)
        elif a == 3:
            _lut3(sig, o, rfan[i, 0], rfan[i, 1], rfan[i, 2], t, w0, w1)
        elif a == 5:
            _lut5(sig, o, rfan[i, 0], rfan[i, 1], rfan[i, 2], rfan[i, 3], rfan[i, 4], t, w0, w1)
        elif a == 1:
            _lut1(sig, o, rfan[i, 0], t, w0, w1)
        elif a == 0:
            c = ALL_ONES if (t & ONE) else Z
            for w in range(w0, w1):
                sig[o, w] = c
        else:
            _lut_wide(sig, o, rfan[i], a, tables[i], w0, w1, v)


@njit(cache=True)
def assign_rows(fanins, arity, n_pi, outputs):  # pragma: no cover - compiled
    """Register allocation for simulation rows: a node's row is freed after its last reader.

    Inputs keep rows ``0..n_pi-1`` and primary outputs are never freed. Returns ``(rfan, orow,
    out_rows, n_rows)``: fan-in rows per node, output row per node, the row of every primary
    output bit and the number of rows needed (the peak number of live signals).
    """
    n = fanins.shape[0]
    k = fanins.shape[1]
    last = np.full(n_pi + n, -1, np.int64)
    for i in range(n):
        for j in range(arity[i]):
            last[fanins[i, j]] = i
    for p in range(outputs.shape[0]):
        last[outputs[p]] = n  # live to the end
    slot = np.empty(n_pi + n, np.int64)
    for p in range(n_pi):
        slot[p] = p
    free = np.empty(n + 1, np.int64)
    n_free = 0
    n_rows = n_pi
    rfan = np.full((n, k), -1, np.int64)
    orow = np.empty(n, np.int64)
    for i in range(n):
        for j in range(arity[i]):
            rfan[i, j] = slot[fanins[i, j]]
        if n_free > 0:
            n_free -= 1
            r = free[n_free]
        else:
            r = n_rows
            n_rows += 1
        slot[n_pi + i] = r
        orow[i] = r
        # release fan-ins read for the last time (after allocating: a node never writes a row it reads)
        for j in range(arity[i]):
            f = fanins[i, j]
            if f >= n_pi and last[f] == i:
                free[n_free] = slot[f]
                n_free += 1
                last[f] = -2  # released once even when read twice
        if last[n_pi + i] == -1:  # nobody reads it: its row is free again at once
            free[n_free] = r
            n_free += 1
    out_rows = np.empty(outputs.shape[0], np.int64)
    for p in range(outputs.shape[0]):
        out_rows[p] = slot[outputs[p]]
    return rfan, orow, out_rows, n_rows


@njit(cache=True)
def simulate_rows(rfan, arity, tables, orow, sig):  # pragma: no cover - compiled
    """Evaluate every node on all words of ``sig`` (one core)."""
    _simulate_cols(rfan, arity, tables, orow, sig, 0, sig.shape[1])


@njit(cache=True, parallel=True)
def simulate_blocks_parallel(rfan, arity, tables, orow, in_words, out_rows, out, bufs):  # pragma: no cover
    """Multi-core mode: blocks of ``bufs.shape[2]`` words are independent; each thread evaluates
    whole blocks in its own row buffer ``bufs[thread]``, inside one parallel region."""
    n_pi = in_words.shape[0]
    total = in_words.shape[1]
    chunk = bufs.shape[2]
    nb = (total + chunk - 1) // chunk
    for b in prange(nb):
        sig = bufs[get_thread_id()]
        w0 = b * chunk
        w1 = min(total, w0 + chunk)
        for p in range(n_pi):
            for w in range(w0, w1):
                sig[p, w - w0] = in_words[p, w]
        _simulate_cols(rfan, arity, tables, orow, sig, 0, w1 - w0)
        for q in range(out_rows.shape[0]):
            r = out_rows[q]
            for w in range(w0, w1):
                out[q, w] = sig[r, w - w0]


def simulate_words(fanins, arity, tables, n_pi, sig):
    """Evaluate every node in place on ``sig`` (uint64 [n_signals, W]; rows < n_pi hold the inputs)."""
    orow = n_pi + np.arange(fanins.shape[0], dtype=np.int64)
    simulate_rows(fanins.astype(np.int64, copy=False), arity.astype(np.int64, copy=False), tables, orow, sig)


@njit(cache=True)
def simulate_naive(fanins, arity, tables, n_pi, inputs, outputs):  # pragma: no cover - compiled
    """Reference evaluator, one sample at a time: address = fan-in bits, output = table bit."""
    N = inputs.shape[0]
    n = fanins.shape[0]
    vals = np.empty(n_pi + n, np.uint8)
    out = np.empty((N, outputs.shape[0]), np.uint8)
    for s in range(N):
        for p in range(n_pi):
            vals[p] = inputs[s, p]
        for i in range(n):
            m = 0
            for j in range(arity[i]):
                m |= np.int64(vals[fanins[i, j]]) << j
            vals[n_pi + i] = np.uint8((tables[i, m >> 6] >> np.uint64(m & 63)) & np.uint64(1))
        for p in range(outputs.shape[0]):
            out[s, p] = vals[outputs[p]]
    return out
