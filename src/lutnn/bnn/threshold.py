"""Threshold packing: cover an AIG with binarized neurons, each computing a ±1-weight threshold function.

A neuron with ±1 weights over distinct inputs computes ``[number of true literals >= t]`` —
a *symmetric* function of literals. A cone of the AIG whose function over its cut leaves has
that form (checked exhaustively on the cut's truth table: every variable unate, the value a
step function of the literal count) is packed into one neuron. Covering uses priority cuts
ranked by area flow, as LUT mappers do, with "is a ±1 threshold function" as the
implementability test; a node's fan-in cut (one AND with complements) is always implementable,
so the cover never has more neurons than the AIG has AND nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from math import comb

import numpy as np

from lutnn.aig import AND_TABLES
from lutnn.errors import NetlistError
from lutnn.netlist import Netlist

__all__ = ["NeuronSpec", "ThresholdFn", "analyze_threshold", "map_threshold"]

MAX_CUT = 12  # largest cut the mapper accepts (tables of 4096 entries)


@dataclass(frozen=True)
class ThresholdFn:
    """``f = [sum_j (x_j xor neg_j) >= t]`` over the variables ``vars`` (a subset of the table's)."""

    vars: tuple[int, ...]
    neg: tuple[bool, ...]
    t: int


@lru_cache(maxsize=64)
def _popcounts(n: int) -> np.ndarray:
    m = np.arange(1 << n, dtype=np.int64)
    c = np.zeros(1 << n, dtype=np.int64)
    for j in range(n):
        c += (m >> j) & 1
    return c


@lru_cache(maxsize=64)
def _threshold_weights(n: int) -> frozenset[int]:
    """Numbers of true minterms a ±1 threshold function with full support on n vars can have."""
    return frozenset(sum(comb(n, c) for c in range(t, n + 1)) for t in range(1, n + 1))


@lru_cache(maxsize=64)
def _any_support_weights(n: int) -> frozenset[int]:
    """True-minterm counts over ``2**n`` entries of ±1 threshold functions of any support size."""
    out = {0, 1 << n}
    for m in range(1, n + 1):
        out |= {w << (n - m) for w in _threshold_weights(m)}
    return frozenset(out)


def analyze_threshold(table: np.ndarray, n: int) -> ThresholdFn | None:
    """Exact test: is the ``2**n``-entry bool ``table`` a threshold function with ±1 weights?

    Returns the function over its support (variables it does not depend on are dropped) or
    ``None``. Constants come back with empty ``vars`` and ``t = 0`` (true) or ``t = 1`` (false).
    """
    t = np.asarray(table, dtype=bool)
    if t.shape != (1 << n,):
        raise NetlistError(f"analyze_threshold: table of {t.shape} entries does not match n={n}")
    if int(np.count_nonzero(t)) not in _any_support_weights(n):
        return None  # quick reject: no threshold function has this many true minterms
    keep: list[int] = []
    neg: list[bool] = []
    for j in range(n - 1, -1, -1):  # drop from the top so lower indices stay valid
        v = t.reshape(-1, 2, 1 << j)
        c0, c1 = v[:, 0, :], v[:, 1, :]
        if np.array_equal(c0, c1):
            t = c0.reshape(-1)
            continue
        if not (c0 & ~c1).any():
            neg.append(False)
        elif not (c1 & ~c0).any():
            neg.append(True)
        else:
            return None  # binate: no threshold function at all
        keep.append(j)
    keep.reverse()
    neg.reverse()
    m = len(keep)
    ones = int(t.sum())
    if m == 0:
        return ThresholdFn((), (), 0 if ones else 1)
    if ones not in _threshold_weights(m):
        return None
    pmask = sum(1 << j for j in range(m) if neg[j])
    c = _popcounts(m)[np.arange(1 << m) ^ pmask]
    thr = int(c[t].min())
    if not np.array_equal(t, c >= thr):
        return None
    return ThresholdFn(tuple(keep), tuple(neg), thr)


@lru_cache(maxsize=65536)
def _stretch_idx(n: int, pos: tuple[int, ...]) -> np.ndarray:
    m = np.arange(1 << n, dtype=np.int64)
    idx = np.zeros(1 << n, dtype=np.int64)
    for j, p in enumerate(pos):
        idx |= ((m >> p) & 1) << j
    return idx


@dataclass
class _Cut:
    leaves: tuple[int, ...]
    table: np.ndarray | None
    fn: ThresholdFn | None
    area: float


@dataclass(frozen=True)
class NeuronSpec:
    """A neuron of the cover: reads ``leaves`` (signals of the AIG), fires when at least ``t`` of
    the literals ``leaf xor neg`` are true."""

    node: int
    leaves: tuple[int, ...]
    neg: tuple[bool, ...]
    t: int


def _and_parts(nl: Netlist) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kinds of AIG nodes: 0 const, 1 AND, 2 NOT (output only); plus fan-ins and complements."""
    kind = np.zeros(nl.n_nodes, dtype=np.int8)
    comp = np.zeros((nl.n_nodes, 2), dtype=bool)
    tab = nl.tables[:, 0].astype(np.int64)
    for i in range(nl.n_nodes):
        a = int(nl.arity[i])
        if a == 0:
            kind[i] = 0
        elif a == 1:
            kind[i] = 2 if tab[i] == 1 else 3
        else:
            kind[i] = 1
            c = AND_TABLES.index(int(tab[i]))
            comp[i] = (c & 1, c >> 1)
    return kind, nl.fanins[:, :2].astype(np.int64), comp


def map_threshold(
    aig: Netlist, pack: bool = True, max_cut: int = 8, cuts_per_node: int = 8
) -> tuple[list[NeuronSpec], list[tuple[int, bool]]]:
    """Cover the AIG ``aig`` with threshold neurons.

    Returns the neurons (in topological order; ``node`` is the AIG signal each drives) and,
    per primary output, ``(signal, complemented)``. With ``pack=False`` every AND is one neuron.
    """
    if not 2 <= max_cut <= MAX_CUT:
        raise NetlistError(f"max_cut={max_cut} is out of range 2..{MAX_CUT}")
    n_pi = aig.n_inputs
    kind, fan, comp = _and_parts(aig)
    if (kind == 3).any():
        raise NetlistError(f"{aig.name}: a buffer node in an AIG; convert the netlist with lutnn.aig.to_aig first")
    # primary outputs as (signal, complemented), looking through output NOT nodes
    outs: list[tuple[int, bool]] = []
    for s in aig.output_signals.tolist():
        if s >= n_pi and kind[s - n_pi] == 2:
            outs.append((int(fan[s - n_pi, 0]), True))
        else:
            outs.append((int(s), False))
    fo = np.zeros(aig.n_signals, dtype=np.int64)
    and_nodes = np.flatnonzero(kind == 1)
    np.add.at(fo, fan[and_nodes, 0], 1)
    np.add.at(fo, fan[and_nodes, 1], 1)
    for s, _ in outs:
        fo[s] += 1
    fo = np.maximum(fo, 1)
    af = np.zeros(aig.n_signals, dtype=np.float64)  # area flow of the best cover of each signal
    best: dict[int, _Cut] = {}
    cuts: dict[int, list[_Cut]] = {}
    cost = [0.0] * aig.n_signals  # af / fanout, the share of a signal a cut pays for
    triv_tab = np.array([False, True])
    for s in range(n_pi):
        cuts[s] = [_Cut((s,), triv_tab, None, 0.0)]
    from lutnn.progress import begin

    st = begin("threshold cones (BNN neurons)", total=aig.n_nodes, unit="AIG nodes")
    for i in range(aig.n_nodes):
        if i % 2048 == 2047:
            st.advance(2048)
        s = n_pi + i
        k = int(kind[i])
        if k == 0:
            best[s] = _Cut((), None, ThresholdFn((), (), 0 if int(aig.tables[i, 0]) else 1), 1.0)
            af[s] = 1.0
            cost[s] = 1.0 / fo[s]
            cuts[s] = [_Cut((s,), triv_tab, None, af[s] / fo[s])]
            continue
        if k == 2:
            continue
        a, b = int(fan[i, 0]), int(fan[i, 1])
        ca, cb = bool(comp[i, 0]), bool(comp[i, 1])
        base_leaves = (a, b) if a < b else (b, a)
        base_fn = ThresholdFn(base_leaves, (ca, cb) if a < b else (cb, ca), 2)
        base = _Cut(base_leaves, None, base_fn, 1.0 + af[a] / fo[a] + af[b] / fo[b])
        chosen = base
        kept: list[_Cut] = []
        if pack:
            cand: dict[tuple[int, ...], tuple[_Cut, _Cut]] = {}
            for A in cuts.get(a, ()):
                sa = set(A.leaves)
                for B in cuts.get(b, ()):
                    u = sa.union(B.leaves)
                    if len(u) > max_cut:
                        continue
                    L = tuple(sorted(u))
                    if L not in cand:
                        cand[L] = (A, B)
            ranked = sorted(cand.items(), key=lambda kv: (sum(map(cost.__getitem__, kv[0])), len(kv[0])))
            seen: list[frozenset[int]] = []
            for L, (A, B) in ranked:
                fs = frozenset(L)
                if any(o <= fs for o in seen):
                    continue  # dominated: a subset is already a cut of this node
                n = len(L)
                pos = {x: j for j, x in enumerate(L)}
                ta = A.table[_stretch_idx(n, tuple(pos[x] for x in A.leaves))]
                tb = B.table[_stretch_idx(n, tuple(pos[x] for x in B.leaves))]
                tab = (ta ^ ca) & (tb ^ cb)
                fn = analyze_threshold(tab, n)
                if fn is not None and len(fn.vars) < n:  # support shrank: re-express over the smaller cut
                    L2 = tuple(L[j] for j in fn.vars)
                    fs = frozenset(L2)
                    if any(o <= fs for o in seen):
                        continue
                    tab = tab.reshape([2] * n)  # drop unused vars by slicing at 0
                    sl = tuple(slice(None) if (n - 1 - ax) in fn.vars else 0 for ax in range(n))
                    tab = tab[sl].reshape(-1)
                    L = L2
                    fn = ThresholdFn(tuple(range(len(L2))), fn.neg, fn.t)
                area = 1.0 + sum(map(cost.__getitem__, L))
                c = _Cut(L, tab, fn, area)
                seen.append(fs)
                kept.append(c)
                if fn is not None and (area < chosen.area - 1e-9 or (abs(area - chosen.area) <= 1e-9 and len(L) > 2)):
                    chosen = _Cut(L, None, ThresholdFn(L, fn.neg, fn.t), area)
                if len(kept) >= cuts_per_node:
                    break
        best[s] = chosen
        af[s] = chosen.area
        cost[s] = chosen.area / fo[s]
        kept.append(_Cut((s,), triv_tab, None, af[s] / fo[s]))
        cuts[s] = kept
        # free cut lists nobody will read again is not worth the bookkeeping here
    st.advance(st.total - st.done)
    st.end()
    # cover from the outputs
    required = np.zeros(aig.n_signals, dtype=bool)
    for s, _ in outs:
        if s >= n_pi:
            required[s] = True
    for s in range(aig.n_signals - 1, n_pi - 1, -1):
        if required[s]:
            for leaf in best[s].leaves:
                if leaf >= n_pi:
                    required[leaf] = True
    neurons = []
    for s in np.flatnonzero(required[n_pi:]) + n_pi:
        c = best[int(s)]
        fn = c.fn
        assert fn is not None
        neurons.append(NeuronSpec(int(s), fn.vars, fn.neg, fn.t))
    return neurons, outs
