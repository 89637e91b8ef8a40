"""Netlist builders for arithmetic blocks: comparators, adders, popcount, argmax, multiplexers.

Every function takes a :class:`lutnn.netlist.NetlistBuilder` and signal ids (buses are sequences
of signals, bit 0 = LSB first) and returns the new signal(s). Blocks are packed into the
builder's K-input LUTs (K = ``b.k``, 6 by default): a comparator against a constant reads up
to K bits per LUT, a two-bus comparator ``(K-1)//2`` bits of each, and multi-operand addition
(popcount included) is a compressor tree of K:⌈log2(K+1)⌉ counters followed by one ripple adder.
They are the encoder and head circuits of exported LUT networks and are tested exhaustively
against integer arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from lutnn.errors import NetlistError
from lutnn.netlist import NetlistBuilder

__all__ = [
    "add",
    "add_many",
    "argmax",
    "bus_width",
    "compare_ge",
    "compare_gt",
    "const_bus",
    "eq_const",
    "ge_const",
    "gt_const",
    "le_const",
    "lt_const",
    "mux",
    "mux_bus",
    "popcount",
]

Signals = Sequence[int] | np.ndarray

_TABLE_SEL_C = 0b11001010  # fan-ins (a, c, sel): sel ? c : a


def bus_width(max_value: int) -> int:
    """Bits needed for unsigned values ``0..max_value`` (at least 1)."""
    return max(1, int(max_value).bit_length())


def _const_of(b: NetlistBuilder, s: int) -> int | None:
    """0/1 if signal ``s`` is one of the builder's constants, else None (no node is created)."""
    for v, sig in getattr(b, "_consts", {}).items():
        if sig == s:
            return v
    return None


def _lut(b: NetlistBuilder, fanins: Sequence[int], fn) -> int:
    """One LUT computing ``fn(address)`` where address bit j is fan-in j; constants folded."""
    fanins = [int(f) for f in fanins]
    n = len(fanins)
    table = 0
    for m in range(1 << n):
        if fn(m):
            table |= 1 << m
    if table == 0:
        return b.const(0)
    if table == (1 << (1 << n)) - 1:
        return b.const(1)
    return b.add_lut(fanins, table)


def const_bus(b: NetlistBuilder, value: int, width: int) -> list[int]:
    """A ``width``-bit bus tied to the unsigned constant ``value``."""
    if value < 0 or value >= 1 << width:
        raise NetlistError(f"constant {value} does not fit in {width} unsigned bits")
    return [b.const((value >> i) & 1) for i in range(width)]


# ---------------------------------------------------------------- comparisons with constants
def _chunk_chain(b: NetlistBuilder, x: list[int], c: int, first: Callable, link: Callable) -> int:
    """Compare bus ``x`` with constant ``c`` chunk by chunk from the LSB, one LUT per chunk.

    The lowest ``K`` bits give ``first(value, const_chunk)``; each next chunk of ``K-1`` bits and the
    running result ``r`` give ``link(value, const_chunk, r)`` (K = the builder's LUT size).
    """
    k = max(2, b.k)
    w = len(x)
    width = min(w, k)
    lo_c = c & ((1 << width) - 1)
    r = _lut(b, x[:width], lambda m: first(m, lo_c))
    pos = width
    while pos < w:
        step = min(k - 1, w - pos)
        mask = (1 << step) - 1
        cc = (c >> pos) & mask
        r = _lut(
            b,
            [*x[pos : pos + step], r],
            lambda m, cc=cc, mask=mask, step=step: link(m & mask, cc, (m >> step) & 1),
        )
        pos += step
    return r


def ge_const(b: NetlistBuilder, x: Signals, c: int) -> int:
    """``x >= c`` for the unsigned bus ``x`` and integer constant ``c``.

    LSB-first chain: the lowest K bits in one LUT, then K-1 new bits plus the running result per
    LUT — ``1 + ceil((w-K)/(K-1))`` LUTs for a w-bit bus. Bits below ``c``'s lowest set bit cannot
    change the answer and are not read (``x >= 2**(w-1)`` is the top bit itself: a wire).
    """
    x = [int(s) for s in x]
    w = len(x)
    if c <= 0:
        return b.const(1)
    if c >= 1 << w:
        return b.const(0)
    tz = (c & -c).bit_length() - 1
    x, c = x[tz:], c >> tz
    if len(x) == 1:
        return x[0]
    return _chunk_chain(b, x, c, lambda v, cc: v >= cc, lambda v, cc, r: v > cc or (v == cc and r))


def gt_const(b: NetlistBuilder, x: Signals, c: int) -> int:
    """``x > c`` (unsigned)."""
    return ge_const(b, x, c + 1)


def lt_const(b: NetlistBuilder, x: Signals, c: int) -> int:
    """``x < c`` (unsigned)."""
    r = ge_const(b, x, c)
    cv = _const_of(b, r)
    return b.const(1 - cv) if cv is not None else b.not_(r)


def le_const(b: NetlistBuilder, x: Signals, c: int) -> int:
    """``x <= c`` (unsigned)."""
    return lt_const(b, x, c + 1)


def eq_const(b: NetlistBuilder, x: Signals, c: int) -> int:
    """``x == c`` (unsigned): chunks of K bits compared in LUTs, AND-ed by a chain."""
    x = [int(s) for s in x]
    w = len(x)
    if c < 0 or c >= 1 << w:
        return b.const(0)
    return _chunk_chain(b, x, c, lambda v, cc: v == cc, lambda v, cc, r: v == cc and r)


# ---------------------------------------------------------------- two-bus comparisons
def _pad(b: NetlistBuilder, x: Signals, w: int) -> list[int]:
    x = [int(s) for s in x]
    return x + [b.const(0)] * (w - len(x))


def _compare(b: NetlistBuilder, x: Signals, y: Signals, strict: bool) -> int:
    w = max(len(x), len(y))
    xs, ys = _pad(b, x, w), _pad(b, y, w)
    k = max(3, b.k)
    first = min(w, k // 2)
    m1 = (1 << first) - 1

    def base(m: int) -> bool:
        a, c = m & m1, (m >> first) & m1
        return a > c if strict else a >= c

    r = _lut(b, xs[:first] + ys[:first], base)
    pos = first
    while pos < w:
        step = min((k - 1) // 2, w - pos)
        mask = (1 << step) - 1

        def fn(m: int, step=step, mask=mask) -> bool:
            a, c, prev = m & mask, (m >> step) & mask, (m >> (2 * step)) & 1
            return a > c or (a == c and bool(prev))

        r = _lut(b, xs[pos : pos + step] + ys[pos : pos + step] + [r], fn)
        pos += step
    return r


def compare_ge(b: NetlistBuilder, x: Signals, y: Signals) -> int:
    """``x >= y`` for unsigned buses (the shorter one zero-extended)."""
    return _compare(b, x, y, strict=False)


def compare_gt(b: NetlistBuilder, x: Signals, y: Signals) -> int:
    """``x > y`` for unsigned buses (the shorter one zero-extended)."""
    return _compare(b, x, y, strict=True)


# ---------------------------------------------------------------- multiplexers
def mux(b: NetlistBuilder, sel: int, a: int, c: int) -> int:
    """``sel ? c : a`` with constants folded (equal inputs, 0/1 patterns)."""
    if a == c:
        return int(a)
    ka, kc, ks = _const_of(b, a), _const_of(b, c), _const_of(b, sel)
    if ks is not None:
        return int(c if ks else a)
    if ka is not None and kc is not None:
        if ka == kc:
            return int(a)
        return int(sel) if kc == 1 else b.not_(sel)
    # own table (not NetlistBuilder.mux): address bit 0 = a, bit 1 = c, bit 2 = sel
    return b.add_lut([int(a), int(c), int(sel)], _TABLE_SEL_C)


def mux_bus(b: NetlistBuilder, sel: int, a: Signals, c: Signals) -> list[int]:
    """Bitwise ``sel ? c : a`` over two buses (the shorter one zero-extended)."""
    w = max(len(a), len(c))
    return [mux(b, sel, x, y) for x, y in zip(_pad(b, a, w), _pad(b, c, w), strict=True)]


# ---------------------------------------------------------------- addition
def _gpc(b: NetlistBuilder, bits: list[int], weights: list[int], cols: list[list[int]], i: int) -> list[int]:
    """A generalised parallel counter: the weighted sum of ``bits`` (``2**weights``) as LUT outputs.

    Output bit ``o`` (weight ``2**(i + o)``) is appended to ``cols[i + o]`` for ``o >= 1`` and returned
    for ``o = 0``; outputs at or above ``len(cols)`` are provably 0 (the whole sum fits) and are not built.
    """
    nout = bus_width(sum(1 << w for w in weights))
    low = []
    for o in range(nout):
        if i + o >= len(cols):
            break
        sig = _lut(b, bits, lambda m, o=o: (sum(((m >> j) & 1) << w for j, w in enumerate(weights)) >> o) & 1)
        if o == 0:
            low.append(sig)
        else:
            cols[i + o].append(sig)
    return low


def _compress(b: NetlistBuilder, columns: list[list[int]], max_value: int) -> list[int]:
    """Sum weighted bits (``columns[i]`` has weight 2**i) into a bus of ``bus_width(max_value)`` bits.

    A bit heap reduced with generalised parallel counters: first in parallel rounds with the counters
    that remove one bit per LUT (K:ceil(log2(K+1)) and, for K >= 4, (1, K-1) counters that also take one
    bit of the next column), then column by column from the LSB, two columns per LUT group where the
    sum fits in three bits. Bits of weight >= 2**width are provably 0 and never built.
    """
    k = max(3, b.k)
    width = bus_width(max_value)
    cols = [[int(s) for s in c if _const_of(b, int(s)) != 0] for c in columns[:width]]
    cols += [[] for _ in range(width - len(cols))]
    # constant-one bits become a constant to add at the end
    const = 0
    for i, c in enumerate(cols):
        const += sum(1 for s in c if _const_of(b, s) == 1) << i
        cols[i] = [s for s in c if _const_of(b, s) != 1]
    for i in range(width):
        if (const >> i) & 1:
            cols[i].append(b.const(1))
    pair = k >= 4  # a (1, K-1) counter has the same output count as a K-input one
    # phase 1: parallel rounds of counters that remove as many bits as they build
    while True:
        new: list[list[int]] = [[] for _ in range(width)]
        used = False
        for i in range(width):
            c = cols[i]
            while len(c) >= k:
                new[i] += _gpc(b, c[:k], [0] * k, new, i)
                c = c[k:]
                used = True
            if pair and len(c) == k - 1 and i + 1 < width and cols[i + 1]:
                new[i] += _gpc(b, [*c, cols[i + 1].pop()], [0] * (k - 1) + [1], new, i)
                c = []
                used = True
            new[i] += c
        cols = new
        if not used:
            break
    # phase 2: finish column by column from the LSB
    out: list[int] = []
    for i in range(width):
        a = cols[i]
        while len(a) > 1:
            nxt = cols[i + 1] if i + 1 < width else None
            if nxt and len(a) + len(nxt) <= k and len(a) + 2 * len(nxt) <= 7:
                bits, weights = [*a, *nxt], [0] * len(a) + [1] * len(nxt)
                cols[i + 1] = []
                a = _gpc(b, bits, weights, cols, i)
            else:
                g = min(k, len(a))
                a = a[g:] + _gpc(b, a[:g], [0] * g, cols, i)
        out.append(a[0] if a else b.const(0))
    return out


def add(b: NetlistBuilder, x: Signals, y: Signals) -> list[int]:
    """``x + y`` (unsigned) as a bus one bit wider than the wider operand."""
    return add_many(b, [x, y])


def add_many(b: NetlistBuilder, buses: Sequence[Signals]) -> list[int]:
    """Sum of several unsigned buses (compressor tree + ripple adder); exact width of the maximum sum."""
    if not buses:
        raise NetlistError("add_many needs at least one bus")
    w = max(len(x) for x in buses)
    cols: list[list[int]] = [[] for _ in range(w)]
    for x in buses:
        for i, s in enumerate(x):
            cols[i].append(int(s))
    max_value = sum((1 << len(x)) - 1 for x in buses)
    return _compress(b, cols, max_value)


def popcount(b: NetlistBuilder, signals: Signals) -> list[int]:
    """Number of 1s among ``signals`` as an unsigned bus of ``bus_width(len(signals))`` bits."""
    s = [int(v) for v in signals]
    if not s:
        return [b.const(0)]
    return _compress(b, [s], len(s))


# ---------------------------------------------------------------- argmax
def argmax(b: NetlistBuilder, buses: Sequence[Signals]) -> list[int]:
    """Index of the largest unsigned bus (ties → the lowest index), ``bus_width(n-1)`` bits.

    A balanced tournament: each match keeps the left (lower-index) player unless the right one
    is strictly greater, so ties resolve to the lowest index; depth grows with log2(n).
    """
    n = len(buses)
    if n == 0:
        raise NetlistError("argmax needs at least one bus")
    iw = bus_width(n - 1)
    players = [([int(s) for s in v], const_bus(b, i, iw)) for i, v in enumerate(buses)]
    while len(players) > 1:
        nxt = []
        for p in range(0, len(players) - 1, 2):
            (va, ia), (vc, ic) = players[p], players[p + 1]
            take = compare_gt(b, vc, va)
            nxt.append((mux_bus(b, take, va, vc), mux_bus(b, take, ia, ic)))
        if len(players) % 2:
            nxt.append(players[-1])
        players = nxt
    return players[0][1]
