"""The integer datapath built directly as a LUT netlist (no Yosys): dense neurons compile in seconds.

Each neuron is ``sum_j w_j * x_j`` as canonical-signed-digit shift-adds in a balanced tree of ripple-carry
adders (3-input sum and majority LUTs), exact two's-complement widths from the value ranges; hidden
neurons compare the accumulator with their thresholds (one carry chain per live threshold) and encode the
thermometer into the output code; the last layer adds its bias and feeds the first-maximum argmax. Constant
bits are folded while building, so shifted terms cost nothing. The result is what route ``"datapath"`` of
:func:`lutnn.quantnet.arith.compile_and_report` verifies and hands to ABC.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from lutnn.netlist import Netlist, NetlistBuilder
from lutnn.quantnet.intmodel import IntegerMLP, code_range

__all__ = ["compile_datapath"]

_Z, _O = -1, -2  # constant 0 / 1 bits
_XOR3, _MAJ3 = 0x96, 0xE8


def _signed_width(lo: int, hi: int) -> int:
    w = 1
    while not (-(1 << (w - 1)) <= lo and hi <= (1 << (w - 1)) - 1):
        w += 1
    return w


class _DP:
    """Bit-level arithmetic on ``(bits LSB first, lo, hi)`` numbers with constant folding."""

    def __init__(self, b: NetlistBuilder) -> None:
        self.b = b
        self._fanins: list[list[int]] = []  # LUTs not yet handed to the builder (one add_luts call: fast)
        self._tables: list[int] = []
        self._arity: list[int] = []
        self._base = -1

    def flush(self) -> None:
        """Hand the pending LUTs to the builder (before any direct builder call)."""
        if self._tables:
            self.b.add_luts(np.array(self._fanins, dtype=np.int64), np.array(self._tables, dtype=np.uint64),
                            arity=np.array(self._arity))  # fmt: skip
        self._fanins, self._tables, self._arity, self._base = [], [], [], -1

    def lut(self, ins: list[int], table: int) -> int:
        ins = list(ins)
        j = 0
        while j < len(ins):  # fold constants and repeated inputs
            if ins[j] < 0:
                table = _cofactor(table, len(ins), j, 1 if ins[j] == _O else 0)
                ins.pop(j)
                continue
            j += 1
        n = len(ins)
        for j in range(n - 1, -1, -1):  # drop inputs the function ignores
            if _cofactor(table, n, j, 0) == _cofactor(table, n, j, 1):
                table = _cofactor(table, n, j, 0)
                ins.pop(j)
                n -= 1
        if n == 0:
            return _O if table & 1 else _Z
        if n == 1 and table == 0b10:
            return ins[0]
        if self._base < 0:
            self._base = self.b.n_signals
        self._fanins.append(ins + [-1] * (6 - n))
        self._tables.append(table)
        self._arity.append(n)
        return self._base + len(self._tables) - 1

    def sig(self, x: int) -> int:
        return self.b.const(1 if x == _O else 0) if x < 0 else x

    @staticmethod
    def sext(bits: list[int], w: int) -> list[int]:
        return bits[:w] if len(bits) >= w else bits + [bits[-1]] * (w - len(bits))

    def add(self, a: tuple, b: tuple, sub: bool = False) -> tuple:
        """``a + b`` (or ``a - b``) with a width that holds the exact result range."""
        lo, hi = (a[1] - b[2], a[2] - b[1]) if sub else (a[1] + b[1], a[2] + b[2])
        w = _signed_width(lo, hi)
        x, y = self.sext(a[0], w), self.sext(b[0], w)
        if sub:
            y = [_O if v == _Z else _Z if v == _O else self.lut([v], 0b01) for v in y]
        c = _O if sub else _Z
        out = []
        for k in range(w):
            out.append(self.lut([x[k], y[k], c], _XOR3))
            if k < w - 1:
                c = self.lut([x[k], y[k], c], _MAJ3)
        return out, lo, hi

    def add_const(self, a: tuple, v: int) -> tuple:
        bits = _const_bits(v, _signed_width(min(v, 0), max(v, 0)))
        return self.add(a, (bits, v, v))

    def sum(self, terms: list[tuple]) -> tuple | None:
        while len(terms) > 1:
            terms = [self.add(terms[i], terms[i + 1]) if i + 1 < len(terms) else terms[i]
                     for i in range(0, len(terms), 2)]  # fmt: skip
        return terms[0] if terms else None

    def ge(self, a: tuple, t: int) -> int:
        """One bit: ``a >= t`` (the sign of ``a - t`` from a carry chain)."""
        lo, hi = a[1] - t, a[2] - t
        w = _signed_width(lo, hi)
        x, y = self.sext(a[0], w), _const_bits(-t, w)
        c = _Z
        for k in range(w - 1):
            c = self.lut([x[k], y[k], c], _MAJ3)
        return self.lut([x[w - 1], y[w - 1], c], 0xFF ^ _XOR3)


def _const_bits(v: int, w: int) -> list[int]:
    return [_O if (v >> k) & 1 else _Z for k in range(w)]


@functools.lru_cache(maxsize=1 << 16)
def _cofactor(table: int, n: int, j: int, v: int) -> int:
    out = 0
    for a in range(1 << (n - 1)):
        lo = a & ((1 << j) - 1)
        full = lo | (v << j) | ((a >> j) << (j + 1))
        out |= ((table >> full) & 1) << a
    return out


def _csd(w: int) -> list[tuple[int, int]]:
    out, k = [], 0
    while w != 0:
        if w & 1:
            d = 2 - (w & 3)
            out.append((k, d))
            w -= d
        w >>= 1
        k += 1
    return out


def _codes_from_flags(dp: _DP, flags: list[int], base: int, ow: int) -> list[int]:
    """Bits of ``(base + #flags set) mod 2**ow`` for thermometer ``flags``."""
    m = len(flags)
    if m <= 6:
        out = []
        for j in range(ow):
            table = 0
            for a in range(1 << m):
                if ((base + bin(a).count("1")) >> j) & 1:
                    table |= 1 << a
            out.append(dp.lut(flags, table))
        return out
    cnt = dp.sum([([f, _Z], 0, 1) for f in flags])
    assert cnt is not None
    return dp.sext(dp.add_const(cnt, base)[0], ow)[:ow]


def _shift_add(dp: _DP, terms: list[tuple[tuple, int]]) -> tuple:
    """``sum c * x`` over ``(x, c)`` pairs as CSD shift-adds: positive and negative trees, one subtraction."""
    pos, neg = [], []
    for x, c in terms:
        for k, d in _csd(c):
            t = ([_Z] * k + x[0], x[1] << k, x[2] << k)
            (pos if d > 0 else neg).append(t)
    p, n = dp.sum(pos), dp.sum(neg)
    if n is None:
        return p if p is not None else ([_Z], 0, 0)
    return dp.add(p if p is not None else ([_Z], 0, 0), n, sub=True)


def compile_datapath(im: IntegerMLP, name: str = "qnn", argmax: bool = True) -> Netlist:
    """Exact netlist (3-input adder LUTs; up to 6 for output codes) of the integer model's datapath; inputs ``x{i}``, ``score{c}``, ``class``."""
    b = NetlistBuilder(name, k=6)
    dp = _DP(b)
    ilo, ihi = code_range(im.in_bits, im.in_signed)
    cur = []
    for i in range(im.n_features):
        bits = [int(s) for s in b.add_input(f"x{i}", im.in_bits)]
        cur.append((bits if im.in_signed else [*bits, _Z], ilo, ihi))
    sw, ssg = im.score_format()
    for L in im.layers:
        nxt = []
        for o in range(L.n_out):
            idx = L.inputs_of(o)
            w = [int(L.weight[o, j]) for j in idx]
            g = math.gcd(*w) if w else 1
            # a common factor (exact per-class score scales) multiplies the sum once, not every weight
            acc = _shift_add(dp, [(cur[j], wj // g) for j, wj in zip(idx, w, strict=True)])
            if g > 1:
                acc = _shift_add(dp, [(acc, g)])
            if L.thresholds is not None:
                ow = int(L.out_bits or 1)
                qmin, qmax = code_range(ow, L.out_signed)
                ts = [int(v) for v in L.thresholds[o]]
                base = qmin + sum(1 for v in ts if v <= acc[1])
                flags = [dp.ge(acc, v) for v in ts if acc[1] < v <= acc[2]]
                bits = _codes_from_flags(dp, flags, base & ((1 << ow) - 1), ow)
                nxt.append((bits if L.out_signed else [*bits, _Z], qmin, qmax))
            else:
                bias = int(L.bias[o]) if L.bias is not None else 0
                nxt.append(dp.add_const(acc, bias) if bias else acc)
        cur = nxt
    dp.flush()
    scores = []
    for c, s in enumerate(cur):
        bits = dp.sext(s[0], sw)[:sw]
        sig = np.array([dp.sig(v) for v in bits], dtype=np.int64)
        b.add_output(f"score{c}", sig)
        scores.append(sig)
    if argmax:
        from lutnn.quantnet.neurons import build_argmax

        b.add_output("class", build_argmax(b, scores, ssg))
    return b.build()
