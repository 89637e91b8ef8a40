"""LUT netlist → AIG: an exact decomposition of every K-LUT into 2-input ANDs with complements.

An AIG in lutnn is a LUT netlist whose nodes are only constants (0-input LUTs), 2-input
AND-type LUTs (tables ``0b1000``, ``0b0100``, ``0b0010``, ``0b0001``: AND with optional input
complements) and 1-input NOT nodes that only primary outputs read. It is what AIGER files
hold and what the BNN flow binarizes.

Canonical layout (what :func:`to_aig` and :func:`lutnn.formats.aiger.read_aiger` produce):
a constant-0 node first if needed, then a constant-1 node if needed, then the AND nodes in
topological order with fan-in 0 the smaller signal, then one NOT node per complemented output
signal in order of first use. Each LUT is decomposed by whichever of Shannon expansion (two
variable orders) or an irredundant SOP of the function or of its complement needs fewer ANDs;
structural hashing shares identical ANDs across the whole netlist.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from lutnn.errors import NetlistError
from lutnn.netlist import Netlist
from lutnn.truthtable import (
    cofactor0,
    cofactor1,
    depends_on,
    flip_var,
    full_mask,
    isop,
    shrink,
    substitute,
)

__all__ = ["AND_TABLES", "AigBuilder", "aig_and_count", "and_table", "is_aig", "to_aig"]

# AND-type tables indexed by (complement of fan-in 0) + 2 * (complement of fan-in 1)
AND_TABLES = (0b1000, 0b0100, 0b0010, 0b0001)


def and_table(c0: int, c1: int) -> int:
    """Table of ``(x0 ^ c0) & (x1 ^ c1)``: the AND-type LUT with the given input complements."""
    return AND_TABLES[c0 + 2 * c1]


class AigBuilder:
    """An and-inverter graph under construction, with structural hashing.

    Literals are ``2 * var + complement``; variable 0 is constant false (literals 0 and 1),
    variables ``1 .. n_inputs`` are the inputs and later ones are AND gates.
    """

    def __init__(self, n_inputs: int) -> None:
        self.n_inputs = n_inputs
        self.left: list[int] = []
        self.right: list[int] = []
        self._hash: dict[tuple[int, int], int] = {}

    def input(self, j: int) -> int:
        return 2 * (j + 1)

    @property
    def n_ands(self) -> int:
        return len(self.left)

    def and_(self, a: int, b: int) -> int:
        """Literal of ``a & b`` (simplified and hashed)."""
        if a > b:
            a, b = b, a
        if a == 0:
            return 0
        if a == 1 or a == b:
            return b
        if a ^ 1 == b:
            return 0
        key = (a, b)
        v = self._hash.get(key)
        if v is None:
            v = self.n_inputs + 1 + len(self.left)
            self.left.append(a)
            self.right.append(b)
            self._hash[key] = v
        return 2 * v

    def or_(self, a: int, b: int) -> int:
        return self.and_(a ^ 1, b ^ 1) ^ 1

    def mux(self, s: int, hi: int, lo: int) -> int:
        """``s ? hi : lo`` with the cheap special cases."""
        if hi == lo:
            return hi
        return self.or_(self.and_(s, hi), self.and_(s ^ 1, lo))

    def and_many(self, lits: list[int]) -> int:
        """Balanced AND of many literals (depth ⌈log2 n⌉)."""
        if not lits:
            return 1
        while len(lits) > 1:
            nxt = [self.and_(lits[i], lits[i + 1]) for i in range(0, len(lits) - 1, 2)]
            if len(lits) % 2:
                nxt.append(lits[-1])
            lits = nxt
        return lits[0]


# --------------------------------------------------------------------- per-table programs
def _shannon(t: int, k: int, order: tuple[int, ...]) -> AigBuilder | int:
    g = AigBuilder(k)
    memo: dict[int, int] = {}
    full = full_mask(k)

    def rec(f: int, depth: int) -> int:
        if f == 0:
            return 0
        if f == full:
            return 1
        r = memo.get(f)
        if r is not None:
            return r
        # split on the first variable of `order` that f depends on
        while not depends_on(f, order[depth], k):
            depth += 1
        x = order[depth]
        f0, f1 = cofactor0(f, x, k), cofactor1(f, x, k)
        lo = rec(f0, depth + 1)
        hi = rec(f1, depth + 1)
        xl = g.input(x)
        if f0 & ~f1 == 0:  # positive unate in x: f = f0 | (x & f1), two ANDs instead of three
            r = g.or_(lo, g.and_(xl, hi))
        elif f1 & ~f0 == 0:  # negative unate: f = f1 | (~x & f0)
            r = g.or_(hi, g.and_(xl ^ 1, lo))
        else:
            r = g.mux(xl, hi, lo)
        memo[f] = r
        return r

    out = rec(t, 0)
    return g, out


def _sop(t: int, k: int, negate: bool, max_cubes: int | None = None) -> tuple[AigBuilder, int] | None:
    f = (full_mask(k) ^ t) if negate else t
    cubes = isop(f, k, max_cubes=max_cubes)
    if cubes is None:
        return None
    g = AigBuilder(k)
    terms = []
    for pos, neg in cubes:
        lits = [g.input(j) for j in range(k) if (pos >> j) & 1] + [g.input(j) ^ 1 for j in range(k) if (neg >> j) & 1]
        terms.append(g.and_many(lits))
    out = g.and_many([x ^ 1 for x in terms]) ^ 1 if terms else 0  # OR via De Morgan
    return g, out ^ (1 if negate else 0)


@lru_cache(maxsize=1 << 16)
def _program(t: int, k: int) -> tuple[tuple[tuple[int, int], ...], int]:
    """Smallest local AND program for a table that depends on all its ``k`` variables.

    Returns ``(ands, out)``: AND ``i`` is local variable ``k + 1 + i`` and reads two local
    literals; ``out`` is the output literal.
    """
    cands = []
    if k <= 12:
        cands.append(_shannon(t, k, tuple(range(k - 1, -1, -1))))
        cands.append(_shannon(t, k, tuple(range(k))))
    # SOPs win on (nearly) unate functions; on binate ones (random tables, XORs) Shannon always
    # did in our measurements, and ISOP is the slow part, so it is tried only where it may win.
    full = full_mask(k)
    binate = sum(
        1 for j in range(k) if (c0 := cofactor0(t, j, k)) & ~(c1 := cofactor1(t, j, k)) & full and c1 & ~c0 & full
    )
    bound = min((c[0].n_ands for c in cands), default=None)
    for negate in (False, True) if (k <= 4 or binate <= 3 or bound is None) else ():
        # c cubes (at most k of them single literals) cost at least 2c - 1 - k ANDs
        c = _sop(t, k, negate, None if bound is None else (bound + 1 + k) // 2)
        if c is not None:
            cands.append(c)
            bound = min(bound, c[0].n_ands) if bound is not None else c[0].n_ands
    best = min(cands, key=lambda c: c[0].n_ands)
    g, out = best
    # drop ANDs the output does not reach (a candidate may have built dead logic)
    live = [False] * g.n_ands
    stack = [out >> 1]
    while stack:
        v = stack.pop()
        i = v - k - 1
        if i >= 0 and not live[i]:
            live[i] = True
            stack.append(g.left[i] >> 1)
            stack.append(g.right[i] >> 1)
    remap = list(range(k + 1)) + [0] * g.n_ands
    ands = []
    for i in range(g.n_ands):
        if live[i]:
            remap[k + 1 + i] = k + 1 + len(ands)
            a, b = g.left[i], g.right[i]
            ands.append((2 * remap[a >> 1] + (a & 1), 2 * remap[b >> 1] + (b & 1)))
    return tuple(ands), 2 * remap[out >> 1] + (out & 1)


def _node_literal(g: AigBuilder, t: int, lits: list[int]) -> int:
    """Global literal of a LUT with table ``t`` over fan-in literals ``lits``."""
    k = len(lits)
    lits = list(lits)
    alive = [True] * k
    for j in range(k):
        lj = lits[j]
        if lj < 2:  # constant fan-in: cofactor it away
            t = cofactor1(t, j, k) if lj else cofactor0(t, j, k)
            alive[j] = False
            continue
        if lj & 1:  # push the complement into the table
            t = flip_var(t, j, k)
            lits[j] = lj = lj ^ 1
        for i in range(j):
            if alive[i] and lits[i] == lj:  # same signal twice: x_j := x_i
                t = substitute(t, j, i, k)
                alive[j] = False
                break
    keep = [j for j in range(k) if alive[j] and depends_on(t, j, k)]
    if not keep:
        return 1 if t & 1 else 0
    t2 = shrink(t, k, keep)
    m = len(keep)
    if m == 1:
        return lits[keep[0]] ^ (0 if t2 == 0b10 else 1)
    ands, out = _program(t2, m)
    loc = [0] + [lits[j] for j in keep] + [0] * len(ands)
    for i, (a, b) in enumerate(ands):
        loc[m + 1 + i] = g.and_(loc[a >> 1] ^ (a & 1), loc[b >> 1] ^ (b & 1))
    return loc[out >> 1] ^ (out & 1)


# --------------------------------------------------------------------- netlist-level API
def _build_netlist(nl: Netlist, g: AigBuilder, out_lits: list[int], names: dict[int, str]) -> Netlist:
    """Canonical AIG netlist from a builder, with the buses of ``nl``; dead ANDs are swept."""
    n_pi = nl.n_inputs
    n_and = g.n_ands
    left = np.asarray(g.left, dtype=np.int64)
    right = np.asarray(g.right, dtype=np.int64)
    live = np.zeros(n_pi + 1 + n_and, dtype=bool)
    for lit in out_lits:
        live[lit >> 1] = True
    for i in range(n_and - 1, -1, -1):
        if live[n_pi + 1 + i]:
            live[left[i] >> 1] = True
            live[right[i] >> 1] = True
    keep = np.flatnonzero(live[n_pi + 1 :])
    need0 = any(lit == 0 for lit in out_lits)
    need1 = any(lit == 1 for lit in out_lits)
    n_const = int(need0) + int(need1)
    # signal of every AIG variable
    var_sig = np.full(n_pi + 1 + n_and, -1, dtype=np.int64)
    var_sig[1 : n_pi + 1] = np.arange(n_pi)
    var_sig[n_pi + 1 + keep] = n_pi + n_const + np.arange(len(keep))
    la, lb = left[keep], right[keep]
    sa, sb = var_sig[la >> 1], var_sig[lb >> 1]
    swap = sa > sb
    f0 = np.where(swap, sb, sa)
    f1 = np.where(swap, sa, sb)
    c0 = np.where(swap, lb & 1, la & 1)
    c1 = np.where(swap, la & 1, lb & 1)
    and_tabs = np.asarray(AND_TABLES, dtype=np.uint64)[c0 + 2 * c1]
    fanins = [np.zeros((n_const, 2), np.int64) - 1, np.stack([f0, f1], axis=1)]
    tables = [np.asarray(([0] if need0 else []) + ([1] if need1 else []), np.uint64), and_tabs]
    arity = [np.zeros(n_const, np.uint8), np.full(len(keep), 2, np.uint8)]
    base_not = n_pi + n_const + len(keep)
    not_of: dict[int, int] = {}
    not_src: list[int] = []
    outs = []
    for lit in out_lits:
        if lit == 0:
            outs.append(n_pi)
        elif lit == 1:
            outs.append(n_pi + int(need0))
        elif lit & 1:
            s = int(var_sig[lit >> 1])
            if s not in not_of:
                not_of[s] = base_not + len(not_src)
                not_src.append(s)
            outs.append(not_of[s])
        else:
            outs.append(int(var_sig[lit >> 1]))
    fanins.append(np.stack([np.asarray(not_src, np.int64), np.full(len(not_src), -1, np.int64)], axis=1))
    tables.append(np.full(len(not_src), 0b01, np.uint64))
    arity.append(np.ones(len(not_src), np.uint8))
    sig_names = {}
    for s, nm in names.items():
        lit = s
        if lit >= 2 and not lit & 1 and var_sig[lit >> 1] >= n_pi:
            sig_names.setdefault(int(var_sig[lit >> 1]), nm)
    return Netlist(
        inputs=list(nl.inputs),
        outputs=list(nl.outputs),
        fanins=np.concatenate(fanins).astype(np.int32),
        arity=np.concatenate(arity),
        tables=np.concatenate(tables)[:, None].astype(np.uint64),
        output_signals=np.asarray(outs, dtype=np.int32),
        name=nl.name,
        signal_names=sig_names,
    ).validate()


def aig_literals(nl: Netlist) -> tuple[AigBuilder, np.ndarray]:
    """Decompose ``nl`` into an :class:`AigBuilder`; returns it and the literal of every signal."""
    g = AigBuilder(nl.n_inputs)
    n_pi = nl.n_inputs
    lit = np.zeros(nl.n_signals, dtype=np.int64)
    lit[:n_pi] = 2 * (np.arange(n_pi) + 1)
    lit_l = lit.tolist()
    fan = nl.fanins.tolist()
    ar = nl.arity.tolist()
    tw = nl.tables.shape[1]
    tabs = nl.tables.tolist() if tw > 1 else nl.tables[:, 0].tolist()
    for i in range(nl.n_nodes):
        a = ar[i]
        if tw > 1:
            t = 0
            for w, v in enumerate(tabs[i]):
                t |= int(v) << (64 * w)
        else:
            t = int(tabs[i])
        lit_l[n_pi + i] = _node_literal(g, t, [lit_l[s] for s in fan[i][:a]])
    return g, np.asarray(lit_l, dtype=np.int64)


def to_aig(nl: Netlist) -> Netlist:
    """Exact AIG form of ``nl`` (same buses and function) in the canonical layout.

    Every LUT is decomposed (constants propagated, repeated and complemented fan-ins folded,
    the smaller of Shannon and ISOP kept) and identical ANDs are shared across the netlist.
    Applying it to its own result returns the same structure.
    """
    g, lit = aig_literals(nl)
    out_lits = lit[nl.output_signals.astype(np.int64)].tolist() if nl.n_outputs else []
    names = {int(lit[s]): v for s, v in nl.signal_names.items() if 0 <= s < nl.n_signals}
    return _build_netlist(nl, g, out_lits, names)


def is_aig(nl: Netlist) -> bool:
    """True when ``nl`` has only constants, AND-type 2-input LUTs and output-only NOT nodes."""
    if nl.n_nodes == 0:
        return True
    ar = nl.arity
    t = nl.tables[:, 0]
    if (nl.tables[:, 1:] != 0).any():
        return False
    const = ar == 0
    ands = (ar == 2) & np.isin(t, np.asarray(AND_TABLES, np.uint64))
    nots = (ar == 1) & (t == 1)
    if not (const | ands | nots).all():
        return False
    if nots.any():
        f = nl.fanins[:, : min(2, nl.k)]
        read = f[f >= 0].astype(np.int64)
        if nots[read[read >= nl.n_inputs] - nl.n_inputs].any():
            return False
    return True


def aig_and_count(nl: Netlist) -> int:
    """Number of AND gates: counted directly for an AIG, else after :func:`to_aig`."""
    if not is_aig(nl):
        nl = to_aig(nl)
    return int((nl.arity == 2).sum())


def check_aig(nl: Netlist) -> Netlist:
    """Return ``nl`` if it is an AIG, else raise a :class:`NetlistError` saying how to get one."""
    if not is_aig(nl):
        raise NetlistError(f"{nl.name} is not in AIG form; convert it with lutnn.aig.to_aig first")
    return nl
