"""Truth-table compile route: every sparse neuron enumerated through the exact integer model.

A neuron reading ``F`` inputs of ``b`` bits is a Boolean function of ``F*b`` bits; when that is at
most ``limit`` (default 12) we evaluate :class:`~lutnn.quantnet.intmodel.IntegerMLP`'s neuron on all
``2**(F*b)`` input codes and emit one LUT per output bit (its support reduced, identical LUTs
shared). The result is one :class:`~lutnn.netlist.Netlist` for the whole network with input buses
``x0, x1, ...`` (the quantized input codes), output buses ``score0, ...`` (class scores, two's
complement when signed) and an optional ``class`` bus (argmax, first maximum on ties). LUTs wider
than 6 inputs are legal in the IR; ``lutnn.synth.synthesize(nl, flow="lut", k=6)`` maps them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from lutnn.errors import LutnnError, ToolError
from lutnn.netlist import MAX_K, Netlist, NetlistBuilder, table_from_function
from lutnn.quantnet.intmodel import IntegerMLP, QuantError, as_integer_model, code_range

if TYPE_CHECKING:
    from lutnn.quantnet.qat import QuantMLP

__all__ = [
    "DEFAULT_LIMIT",
    "CompileInfo",
    "as_integer_model",
    "build_argmax",
    "compile_neurons",
    "count_disagreements",
    "input_values",
    "neuron_netlist",
]

DEFAULT_LIMIT = 12

_GT_TABLE = table_from_function(3, lambda v: (v[0] + (1 - v[1]) + v[2]) >= 2)  # fan-ins (b, a, borrow): maj(b, ~a, c)
_GT_TABLE_MSB_SIGNED = table_from_function(3, lambda v: ((1 - v[0]) + v[1] + v[2]) >= 2)
# fan-ins (a, b, s): s ? b : a.  (netlist.TABLE_MUX in the skeleton encodes fan-in order (s, a, b), so
# NetlistBuilder.mux is not used here.)
_MUX_TABLE = table_from_function(3, lambda v: v[1] if v[2] else v[0])


@dataclass
class CompileInfo:
    """Where each neuron's output bits ended up (for drawing and per-neuron checks)."""

    layer_signals: list[np.ndarray] = field(default_factory=list)  # [n_units, bits] per layer (inputs first)
    score_width: int = 0
    score_signed: bool = False


def _support_reduce(t: np.ndarray, fan: list[int]) -> tuple[np.ndarray, list[int]]:
    """Drop fan-ins the table ``t`` (0/1 array of length ``2**len(fan)``) does not depend on."""
    fan = list(fan)
    j = len(fan) - 1
    while j >= 0:
        r = t.reshape(-1, 2, 1 << j)
        if np.array_equal(r[:, 0, :], r[:, 1, :]):
            t = np.ascontiguousarray(r[:, 0, :]).reshape(-1)
            del fan[j]
        j -= 1
    return t, fan


def _table_words(t: np.ndarray, words: int) -> np.ndarray:
    packed = np.packbits(t.astype(np.uint8), bitorder="little")
    buf = np.zeros(words * 8, dtype=np.uint8)
    buf[: len(packed)] = packed
    return buf.view("<u8").astype(np.uint64)


class _Emitter:
    """Adds LUTs from 0/1 tables with support reduction and structural sharing."""

    def __init__(self, b: NetlistBuilder, split_above: int | None = None) -> None:
        self.b = b
        self.words = max(1, (1 << b.k) // 64)
        self.cache: dict[tuple, int] = {}
        self.split_above = split_above

    def emit(self, t: np.ndarray, fan: list[int]) -> int:
        t, fan = _support_reduce(t, fan)
        if not fan:
            return self.b.const(int(t[0]))
        if len(fan) == 1 and t[0] == 0 and t[1] == 1:
            return fan[0]
        if self.split_above is not None and len(fan) > self.split_above:
            # Shannon expansion on the last fan-in; identical cofactors are shared through the cache
            r = t.reshape(2, -1)
            f0 = self.emit(np.ascontiguousarray(r[0]), fan[:-1])
            f1 = self.emit(np.ascontiguousarray(r[1]), fan[:-1])
            if f0 == f1:
                return f0
            key = ("mux", f0, f1, fan[-1])
            s = self.cache.get(key)
            if s is None:
                s = self.cache[key] = self.b.add_lut([f0, f1, fan[-1]], _MUX_TABLE)
            return s
        words = _table_words(t, self.words)
        key = (tuple(fan), words.tobytes())
        s = self.cache.get(key)
        if s is None:
            f = np.array([fan], dtype=np.int64)
            s = int(self.b.add_luts(f, words[None, :], arity=np.array([len(fan)]))[0])
            self.cache[key] = s
        return s


def _bound_set_classes(t: np.ndarray, n: int, bset: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Distinct rows of ``t`` (over ``n`` address bits) seen as a [bound assignment, free assignment] matrix."""
    free = [i for i in range(n) if i not in bset]
    axes = [n - 1 - i for i in reversed(bset)] + [n - 1 - i for i in reversed(free)]  # axis a is bit n-1-a
    m = np.ascontiguousarray(t.reshape([2] * n).transpose(axes).reshape(1 << len(bset), -1))
    _, first, inv = np.unique(m.view(np.dtype((np.void, m.itemsize * m.shape[1]))).ravel(), True, True)
    return m[first], inv.ravel(), free


def _decompose_emit(
    em: _Emitter, y: np.ndarray, fan: list[int], ow: int, max_lut: int, tries: int = 256
) -> list[int] | None:
    """Emit a wide table by recursive Ashenhurst–Curtis decomposition, or return None when it does not narrow.

    ``y`` holds the (integer, multi-bit) output for every assignment of ``fan``. Each step picks the
    bound set of ``max_lut`` address bits with the fewest distinct rows ("classes": assignments that
    behave the same for every assignment of the other bits; up to ``tries`` sets, deterministic),
    emits a LUT bank computing the class index (``ceil(log2 #classes)`` bits; classes ranked by mean
    output, so a linear neuron's index follows its partial sum) and continues on the narrower table
    over (index bits, free bits) until it fits one LUT per output bit. Exact by construction; on
    12-bit linear neurons it roughly halves the LUT count ABC reaches from a Shannon split.
    """
    t = np.asarray(y, dtype=np.int64)
    fan = list(fan)
    narrowed = False
    addr = np.arange(len(t), dtype=np.int64)  # where each original assignment lands in the current table
    while len(fan) > max_lut:
        n = len(fan)
        cands = list(itertools.combinations(range(n), max_lut))
        if len(cands) > tries:
            pick = np.random.default_rng(n).choice(len(cands), tries, replace=False)
            cands = [cands[i] for i in sorted(pick)]
        best = None
        for bset in cands:
            rows, inv, free = _bound_set_classes(t, n, bset)
            key = (max(1, (len(rows) - 1).bit_length()), len(rows))
            if best is None or key < best[0]:
                best = (key, bset, rows, inv, free)
        (c, mu), bset, rows, inv, free = best
        if c >= max_lut:  # no bound set narrows the table: Shannon expansion from here
            break
        order = np.argsort(rows.mean(axis=1), kind="stable")  # order[r] = the class ranked r
        rank = np.argsort(order, kind="stable")[inv]  # class index of every bound assignment
        bank = [em.emit(((rank >> k) & 1).astype(np.uint8), [fan[i] for i in bset]) for k in range(c)]
        ranked = rows[order][np.minimum(np.arange(1 << c), mu - 1)]  # unused indices repeat the last class
        t = np.ascontiguousarray(ranked.T).reshape(-1)  # address = index + free assignment * 2**c
        b_idx = sum(((addr >> int(i)) & 1) << j for j, i in enumerate(bset))
        f_idx = sum(((addr >> int(i)) & 1) << j for j, i in enumerate(free))
        addr = rank[b_idx] + (f_idx << c)
        fan = bank + [fan[i] for i in free]
        narrowed = True
    if not narrowed:
        return None
    if not np.array_equal(t[addr], y):  # exhaustive self-check of the decomposition (every input assignment)
        raise ToolError("Curtis decomposition does not reproduce a neuron's truth table (a compiler bug)")
    return [em.emit(((t >> k) & 1).astype(np.uint8), fan) for k in range(ow)]


def _nearest_reachable(reach: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Map every code in ``lo..hi`` to itself if reachable, else to the reachable code nearest in Hamming distance."""
    allc = np.arange(lo, hi + 1)
    w = max(1, (hi - lo).bit_length())
    mask = (1 << w) - 1
    r = np.asarray(reach)
    out = allc.copy()
    for i, c in enumerate(allc):
        if c in r:
            continue
        d = np.array([bin((int(c) ^ int(v)) & mask).count("1") for v in r])
        out[i] = r[int(np.argmin(d))]  # ties: the smallest reachable code
    return out


def _enumerate_codes(n_inputs: int, bits: int, signed: bool) -> np.ndarray:
    """All ``2**(n_inputs*bits)`` code vectors; address bit ``j*bits + k`` is bit k of input j."""
    m = np.arange(1 << (n_inputs * bits), dtype=np.int64)
    mask = (1 << bits) - 1
    codes = (
        np.stack([(m >> (j * bits)) & mask for j in range(n_inputs)], axis=1)
        if n_inputs
        else np.zeros((len(m), 0), np.int64)
    )
    if signed:
        codes = np.where(codes >= (1 << (bits - 1)), codes - (1 << bits), codes)
    return codes


def _check_limit(im: IntegerMLP, limit: int) -> int:
    if not 1 <= limit <= MAX_K:
        raise LutnnError(f"limit={limit} is out of range 1..{MAX_K}")
    widest = 0
    for li, L in enumerate(im.layers):
        fan = int(L.fan_in().max())
        n = fan * L.in_bits
        if n > limit:
            raise QuantError(
                f"layer {li}: a neuron reads {fan} inputs x {L.in_bits} bits = {n} address bits > the truth-table "
                f"limit {limit}; lower its fan-in or bit-width, raise --limit (max {MAX_K}), or use the arithmetic route"
            )
        widest = max(widest, n)
    return widest


def build_argmax(b: NetlistBuilder, scores: list[np.ndarray], signed: bool) -> np.ndarray:
    """Argmax over score buses (lists of signals, LSB first): tournament of comparators, first max wins."""
    n = len(scores)
    iw = max(1, (n - 1).bit_length())
    # index bits as ('c', v) constants or signal ints, folded where possible
    entries = [(list(map(int, s)), [("c", (i >> k) & 1) for k in range(iw)]) for i, s in enumerate(scores)]

    def sig(x):
        return b.const(x[1]) if isinstance(x, tuple) else x

    def mux(s, x, y):  # s ? y : x
        if isinstance(x, tuple) and isinstance(y, tuple):
            if x[1] == y[1]:
                return x
            return s if y[1] == 1 else b.not_(s)
        return b.add_lut([sig(x), sig(y), s], _MUX_TABLE)

    while len(entries) > 1:
        nxt = []
        for i in range(0, len(entries) - 1, 2):
            (va, ia), (vb, ib) = entries[i], entries[i + 1]
            w = len(va)
            borrow = None
            for k in range(w):
                top = signed and k == w - 1
                if borrow is None:
                    tbl = 0b0010 if not top else 0b0100  # b & ~a  (signed MSB: ~b & a)
                    borrow = b.add_lut([vb[k], va[k]], tbl)
                else:
                    borrow = b.add_lut([vb[k], va[k], borrow], _GT_TABLE_MSB_SIGNED if top else _GT_TABLE)
            s = borrow  # 1 when score b > score a (strict: ties keep the lower index)
            v = [b.add_lut([va[k], vb[k], s], _MUX_TABLE) for k in range(w)]
            idx = [mux(s, ia[k], ib[k]) for k in range(iw)]
            nxt.append((v, idx))
        if len(entries) % 2:
            nxt.append(entries[-1])
        entries = nxt
    return np.array([sig(x) for x in entries[0][1]], dtype=np.int64)


def _shannon_outputs(
    em: _Emitter, y: np.ndarray, fan: list[int], ow: int, max_lut: int | None, L, o: int, idx: np.ndarray
) -> list[int]:
    """One table per output bit; wider than ``max_lut``: Shannon-split, most significant address bits first."""
    perm = None
    if max_lut is not None and len(fan) > max_lut:
        # split the most significant address bits first (|w| * 2**bit): BDD-like sharing of cofactors
        sig = np.array([abs(int(L.weight[o, j])) * (1 << kb) for j in idx for kb in range(L.in_bits)])
        perm = np.argsort(sig, kind="stable")
        fan = [fan[p] for p in perm]
    outs = []
    for k in range(ow):
        bits = ((y >> k) & 1).astype(np.uint8)
        if perm is not None:
            n = len(perm)
            bits = np.ascontiguousarray(
                bits.reshape([2] * n).transpose([n - 1 - int(perm[n - 1 - a]) for a in range(n)])
            ).reshape(-1)
        outs.append(em.emit(bits, fan))
    return outs


def compile_neurons(
    model: QuantMLP | IntegerMLP,
    limit: int = DEFAULT_LIMIT,
    argmax: bool = True,
    scores: bool = True,
    name: str = "qnn",
    return_info: bool = False,
    max_lut: int | None = None,
    dont_cares: bool = True,
    decompose: bool = True,
) -> Netlist | tuple[Netlist, CompileInfo]:
    """Compile a quantized network by enumerating each neuron's truth table (exact).

    Raises :class:`QuantError` naming the layer when a neuron's ``fan_in * in_bits`` exceeds
    ``limit``. ``scores``/``argmax`` choose the output buses (at least one is required).
    ``max_lut`` splits wider neuron tables by Shannon expansion (shared cofactors, 2:1 muxes) into
    LUTs of at most that many inputs: the form to hand to Yosys/ABC (wide ``.names`` explode there).
    ``dont_cares``: a hidden neuron's output codes that no input can produce are don't-cares of
    the next layer's tables (filled from the nearest reachable code, so tables shrink); the
    netlist still equals the integer model on every primary input. ``decompose`` (with
    ``max_lut``): emit wide neurons by recursive Curtis decomposition (:func:`_decompose_emit`)
    where that narrows their tables, else by Shannon expansion.
    """
    im = as_integer_model(model)
    if not (scores or argmax):
        raise LutnnError("nothing to output: keep the score buses or the argmax class bus")
    widest = _check_limit(im, limit)
    if max_lut is not None and not 3 <= max_lut <= MAX_K:
        raise LutnnError(f"max_lut={max_lut} is out of range 3..{MAX_K}")
    b = NetlistBuilder(name, k=max(3, widest if max_lut is None else min(widest, max_lut)))
    info = CompileInfo()
    prev = np.stack([b.add_input(f"x{i}", im.in_bits) for i in range(im.n_features)])
    info.layer_signals.append(prev)
    em = _Emitter(b, split_above=max_lut)
    cache: dict[tuple, np.ndarray] = {}
    sw, ssg = im.score_format()
    info.score_width, info.score_signed = sw, ssg
    # reachable codes of every unit (inputs: all codes); unreachable hidden codes are don't-cares
    lo_in, hi_in = code_range(im.in_bits, im.in_signed)
    reach = [np.arange(lo_in, hi_in + 1)] * im.n_features
    from lutnn.progress import begin

    st = begin(f"truth tables of {name}", total=sum(int(L.n_out) for L in im.layers), unit="neurons")
    for li, L in enumerate(im.layers):
        last = li == len(im.layers) - 1
        ow = sw if last else int(L.out_bits)
        codes_cache = cache.setdefault((L.in_bits, L.in_signed), {})
        clo, chi = code_range(L.in_bits, L.in_signed)
        out = np.empty((L.n_out, ow), dtype=np.int64)
        new_reach = []
        for o in range(L.n_out):
            idx = L.inputs_of(o)
            key = len(idx)
            if key not in codes_cache:
                codes_cache[key] = _enumerate_codes(key, L.in_bits, L.in_signed)
            codes = codes_cache[key]
            if dont_cares and any(len(reach[j]) < chi - clo + 1 for j in idx):
                codes = codes.copy()
                for c, j in enumerate(idx):
                    if len(reach[j]) < chi - clo + 1:
                        codes[:, c] = _nearest_reachable(reach[j], clo, chi)[codes[:, c] - clo]
            y = L.neuron_function(o, codes)
            new_reach.append(np.unique(y))
            fan = [int(s) for j in idx for s in prev[j]]
            outs = None
            if max_lut is not None and len(fan) > max_lut and decompose:
                outs = _decompose_emit(em, y, fan, ow, max_lut)
            if outs is None:
                outs = _shannon_outputs(em, y, fan, ow, max_lut, L, o, idx)
            for k in range(ow):
                out[o, k] = outs[k]
                b.signal_names.setdefault(int(out[o, k]), f"L{li}_n{o}[{k}]")
            st.advance(info=f"layer {li + 1}/{len(im.layers)}")
        reach = new_reach
        prev = out
        info.layer_signals.append(out)
    st.end()
    if scores:
        for c in range(prev.shape[0]):
            b.add_output(f"score{c}", prev[c])
    if argmax:
        b.add_output("class", build_argmax(b, [prev[c] for c in range(prev.shape[0])], ssg))
    nl = b.build()
    return (nl, info) if return_info else nl


def neuron_netlist(model: QuantMLP | IntegerMLP, layer: int, neuron: int, limit: int = MAX_K) -> Netlist:
    """The truth-table netlist of one neuron (inputs ``i0..``, output ``y``): the oracle for per-neuron checks."""
    im = as_integer_model(model)
    L = im.layers[layer]
    idx = L.inputs_of(neuron)
    n = len(idx) * L.in_bits
    if n > limit:
        raise QuantError(f"layer {layer} neuron {neuron}: {n} input bits exceeds the enumeration limit {limit}")
    last = layer == len(im.layers) - 1
    ow = im.score_format()[0] if last else int(L.out_bits)
    b = NetlistBuilder(f"L{layer}_n{neuron}", k=max(1, n))
    ins = [b.add_input(f"i{j}", L.in_bits) for j in range(len(idx))]
    y = L.neuron_function(neuron, _enumerate_codes(len(idx), L.in_bits, L.in_signed))
    em = _Emitter(b)
    fan = [int(s) for bus in ins for s in bus]
    b.add_output("y", [em.emit(((y >> k) & 1).astype(np.uint8), fan) for k in range(ow)])
    return b.build()


def input_values(im: IntegerMLP, codes: np.ndarray) -> dict[str, np.ndarray]:
    """Input codes ``[N, features]`` → the ``{"x0": ..., ...}`` bus values the compiled netlist takes."""
    c = np.asarray(codes, dtype=np.int64)
    lo, hi = code_range(im.in_bits, im.in_signed)
    if c.ndim != 2 or c.shape[1] != im.n_features:
        raise QuantError(f"expected input codes [N, {im.n_features}], got shape {c.shape}")
    if c.size and (c.min() < lo or c.max() > hi):
        raise QuantError(f"input codes must lie in [{lo}, {hi}]; quantize features with model.quantize_input first")
    return {f"x{i}": c[:, i] for i in range(c.shape[1])}


def count_disagreements(model: QuantMLP | IntegerMLP, nl: Netlist, codes: np.ndarray) -> dict:
    """Simulate ``nl`` on input codes and compare scores / class with the integer model.

    Returns ``{"samples", "score_disagreements", "class_disagreements"}`` (both must be 0).
    """
    from lutnn.sim import simulate_buses

    im = as_integer_model(model)
    _, signed = im.score_format()
    out = simulate_buses(
        nl, input_values(im, codes), signed={b.name: signed and b.name.startswith("score") for b in nl.outputs}
    )
    ref = im.forward(np.asarray(codes))
    res = {"samples": len(codes), "score_disagreements": None, "class_disagreements": None}
    names = [b.name for b in nl.outputs]
    if "score0" in names:
        got = np.stack([out[f"score{c}"] for c in range(ref.shape[1])], axis=1)
        res["score_disagreements"] = int((got != ref).any(axis=1).sum())
    if "class" in names:
        res["class_disagreements"] = int((out["class"] != np.argmax(ref, axis=1)).sum())
    return res
