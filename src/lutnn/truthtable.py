"""Truth-table algebra on Python integers: projections, cofactors, support, shrinking, ISOP.

A ``k``-variable table is an int whose bit ``m`` is the function's value when variable ``j``
carries bit ``j`` of ``m`` (the same convention as :mod:`lutnn.netlist`). Cofactors are
returned as ``k``-variable tables that no longer depend on the cofactored variable, which keeps
every operation a few shifts and masks. AIG decomposition (:mod:`lutnn.aig`) is built on these.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

__all__ = [
    "cofactor0",
    "cofactor1",
    "cover_table",
    "cube_table",
    "depends_on",
    "flip_var",
    "full_mask",
    "int_to_table",
    "isop",
    "shrink",
    "substitute",
    "support",
    "table_to_int",
    "var_mask",
]

Cube = tuple[int, int]  # (bit mask of positive literals, bit mask of negative literals)


def full_mask(k: int) -> int:
    """All ``2**k`` bits set: the constant-1 function of ``k`` variables."""
    return (1 << (1 << k)) - 1


@lru_cache(maxsize=512)
def var_mask(j: int, k: int) -> int:
    """Projection onto variable ``j`` of ``k``: bit ``m`` set iff bit ``j`` of ``m`` is 1."""
    if j >= k:
        raise ValueError(f"variable {j} out of range for a {k}-variable table")
    half = 1 << j
    block = ((1 << half) - 1) << half  # 2^j zeros then 2^j ones
    # doubling: replicate the 2^(j+1)-bit block across 2^k bits
    m, width = block, 2 * half
    total = 1 << k
    while width < total:
        m |= m << width
        width *= 2
    return m


def cofactor0(t: int, j: int, k: int) -> int:
    """``t`` with variable ``j`` fixed to 0, as a ``k``-variable table independent of ``j``."""
    m = var_mask(j, k)
    lo = t & (full_mask(k) ^ m)
    return lo | (lo << (1 << j))


def cofactor1(t: int, j: int, k: int) -> int:
    """``t`` with variable ``j`` fixed to 1, as a ``k``-variable table independent of ``j``."""
    hi = t & var_mask(j, k)
    return hi | (hi >> (1 << j))


def depends_on(t: int, j: int, k: int) -> bool:
    """True when the function's value changes with variable ``j`` for some input."""
    return bool(((t >> (1 << j)) ^ t) & (full_mask(k) ^ var_mask(j, k)))


def support(t: int, k: int) -> list[int]:
    """Indices of the variables the function depends on, ascending."""
    return [j for j in range(k) if depends_on(t, j, k)]


def flip_var(t: int, j: int, k: int) -> int:
    """``t`` with variable ``j`` complemented (``f(.., ~x_j, ..)``)."""
    m = var_mask(j, k)
    s = 1 << j
    return ((t & m) >> s) | ((t << s) & m)


def substitute(t: int, j: int, i: int, k: int, negate: bool = False) -> int:
    """Replace variable ``j`` by variable ``i`` (or its complement); the result is independent of ``j``."""
    mi = var_mask(i, k)
    c0, c1 = cofactor0(t, j, k), cofactor1(t, j, k)
    if negate:
        c0, c1 = c1, c0
    return (c1 & mi) | (c0 & (full_mask(k) ^ mi))


def shrink(t: int, k: int, keep: Sequence[int]) -> int:
    """Table over the variables ``keep`` (new variable ``p`` = old ``keep[p]``); ``t`` must not
    depend on the dropped ones (they are read as 0)."""
    keep = list(keep)
    if keep == list(range(len(keep))):
        return t & full_mask(len(keep))
    r = 0
    for m2 in range(1 << len(keep)):
        m = 0
        for p, j in enumerate(keep):
            if (m2 >> p) & 1:
                m |= 1 << j
        if (t >> m) & 1:
            r |= 1 << m2
    return r


def cube_table(cube: Cube, k: int) -> int:
    """Truth table of a cube (AND of literals) over ``k`` variables."""
    pos, neg = cube
    t = full_mask(k)
    for j in range(k):
        if (pos >> j) & 1:
            t &= var_mask(j, k)
        elif (neg >> j) & 1:
            t &= full_mask(k) ^ var_mask(j, k)
    return t


def cover_table(cubes: Sequence[Cube], k: int) -> int:
    """Truth table of a sum of products."""
    t = 0
    for c in cubes:
        t |= cube_table(c, k)
    return t


class _TooManyCubes(Exception):
    pass


def isop(on: int, k: int, upper: int | None = None, max_cubes: int | None = None) -> list[Cube] | None:
    """Irredundant sum of products (Minato–Morreale) of any function between ``on`` and ``upper``.

    With ``upper`` omitted the cover is exact for ``on``. Returns cubes as (positive, negative)
    literal masks; an empty list is constant 0 and ``[(0, 0)]`` is constant 1. With
    ``max_cubes`` the search gives up (returns None) once the cover would need more cubes.
    """
    if upper is None:
        upper = on
    if on & ~upper:
        raise ValueError("isop: the on-set must lie inside the upper bound")
    budget = [max_cubes if max_cubes is not None else -1]
    try:
        cubes, _ = _isop(on, upper, k, k, budget)
    except _TooManyCubes:
        return None
    return cubes


def _isop(lo: int, up: int, k: int, top: int, budget: list[int]) -> tuple[list[Cube], int]:
    if lo == 0:
        return [], 0
    full = full_mask(k)
    if up == full:
        if budget[0] >= 0:
            budget[0] -= 1
            if budget[0] < 0:
                raise _TooManyCubes
        return [(0, 0)], full
    x = top - 1
    while x >= 0 and not (depends_on(lo, x, k) or depends_on(up, x, k)):
        x -= 1
    # x >= 0 here: lo != 0 and up != full with no support would mean lo == up == const
    l0, l1 = cofactor0(lo, x, k), cofactor1(lo, x, k)
    u0, u1 = cofactor0(up, x, k), cofactor1(up, x, k)
    c0, f0 = _isop(l0 & ~u1 & full, u0, k, x, budget)
    c1, f1 = _isop(l1 & ~u0 & full, u1, k, x, budget)
    lstar = ((l0 & ~f0) | (l1 & ~f1)) & full
    cs, fs = _isop(lstar, u0 & u1, k, x, budget)
    mx = var_mask(x, k)
    bit = 1 << x
    cubes = [(p, n | bit) for p, n in c0] + [(p | bit, n) for p, n in c1] + cs
    f = (f0 & (full ^ mx)) | (f1 & mx) | fs
    return cubes, f


def table_to_int(words: np.ndarray) -> int:
    """uint64 words (word 0 = bits 0..63) → Python int."""
    t = 0
    for w, v in enumerate(np.asarray(words, dtype=np.uint64).tolist()):
        t |= int(v) << (64 * w)
    return t


def int_to_table(t: int, n_words: int) -> np.ndarray:
    """Python int → ``uint64 [n_words]`` (the netlist's table row layout)."""
    return np.array([(t >> (64 * w)) & 0xFFFFFFFFFFFFFFFF for w in range(n_words)], dtype=np.uint64)
