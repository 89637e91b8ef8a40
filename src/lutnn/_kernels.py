"""Compiled (numba) inner loops over netlist arrays: levels, liveness, topological sort, simulation.

Kept in one private module so the rest of lutnn stays plain numpy. Each kernel is compiled on
first use and cached on disk (``cache=True``), so later runs start fast.
"""

from __future__ import annotations

import numpy as np
from numba import njit

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


@njit(cache=True)
def simulate_words(fanins, arity, tables, n_pi, sig):  # pragma: no cover - compiled
    """Evaluate every node on ``sig`` (uint64 [n_signals, W]; rows < n_pi hold the inputs).

    Each node is a mux tree over its truth table (Shannon expansion, fan-in 0 first): the
    first level turns table-bit pairs into {0, x0, ~x0, 1}, every later level is one 3-op
    mux ``a ^ ((a ^ b) & x)`` per word. The inner loops run over words so they vectorise.
    """
    n = fanins.shape[0]
    W = sig.shape[1]
    kmax = 0
    for i in range(n):
        if arity[i] > kmax:
            kmax = arity[i]
    half = 1 << max(kmax - 1, 0)
    v = np.empty((half, W), np.uint64)
    ones = ALL_ONES
    for i in range(n):
        a = arity[i]
        out = sig[n_pi + i]
        if a == 0:
            c = ones if (tables[i, 0] & np.uint64(1)) else np.uint64(0)
            for w in range(W):
                out[w] = c
            continue
        x0 = sig[fanins[i, 0]]
        npair = 1 << (a - 1)
        for p in range(npair):
            m = 2 * p
            b = (tables[i, m >> 6] >> np.uint64(m & 63)) & np.uint64(3)
            vp = v[p]
            if b == 0:
                for w in range(W):
                    vp[w] = 0
            elif b == 3:
                for w in range(W):
                    vp[w] = ones
            elif b == 2:
                for w in range(W):
                    vp[w] = x0[w]
            else:
                for w in range(W):
                    vp[w] = ~x0[w]
        for j in range(1, a):
            x = sig[fanins[i, j]]
            npair >>= 1
            for p in range(npair):
                lo = v[2 * p]
                hi = v[2 * p + 1]
                dst = v[p]
                for w in range(W):
                    dst[w] = lo[w] ^ ((lo[w] ^ hi[w]) & x[w])
        v0 = v[0]
        for w in range(W):
            out[w] = v0[w]


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
