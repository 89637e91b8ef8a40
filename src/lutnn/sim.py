"""Bit-parallel simulation of LUT netlists: 64 samples per uint64 word, one pass in topological order.

The work is done by a compiled kernel (:mod:`lutnn._kernels`); this module packs and unpacks
bits, splits long runs into chunks that fit in memory, and offers bus-level helpers that take
and return integers, which is how the training and compile flows compare a model with its
circuit.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from lutnn import _kernels
from lutnn.errors import LutnnError
from lutnn.netlist import Netlist

__all__ = [
    "MAX_EXHAUSTIVE_INPUTS",
    "check_input_bits",
    "chunk_words_for",
    "decode_buses",
    "encode_buses",
    "exhaustive_words",
    "pack_bits",
    "simulate",
    "simulate_buses",
    "simulate_exhaustive",
    "simulate_naive",
    "simulate_packed",
    "unpack_bits",
]

MAX_EXHAUSTIVE_INPUTS = 24
_MEMORY_BUDGET = 1 << 30  # bytes of signal storage per pass (all threads together)
_MAX_CHUNK_WORDS = 256  # 16384 samples per pass: long rows amortise per-node work (docs/simulator.md)
_MIN_CHUNK_WORDS = 8  # one 512-bit vector


def chunk_words_for(nl: Netlist, threads: int = 1, rows: int | None = None) -> int:
    """Words per pass: as long as possible (≤ 256) while the signal rows fit the memory budget."""
    rows = nl.n_signals if rows is None else rows
    per = _MEMORY_BUDGET // (8 * max(1, rows) * max(1, threads))
    return int(max(_MIN_CHUNK_WORDS, min(_MAX_CHUNK_WORDS, per // 8 * 8)))


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """``[N, n]`` 0/1 array → ``uint64 [n, ceil(N/64)]`` (sample s is bit s%64 of word s//64)."""
    b = np.asarray(bits)
    if b.ndim != 2:
        raise LutnnError(f"expected a 2-D [samples, bits] array, got shape {b.shape}")
    n_samples, n = b.shape
    w = max(1, -(-n_samples // 64))
    t = np.zeros((n, w * 64), dtype=np.uint8)
    t[:, :n_samples] = b.T != 0
    return np.packbits(t, axis=1, bitorder="little").view("<u8").astype(np.uint64, copy=False).reshape(n, w)


def unpack_bits(words: np.ndarray, n_samples: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`: ``uint64 [n, W]`` → ``uint8 [n_samples, n]``."""
    w = np.ascontiguousarray(words, dtype="<u8")
    if n_samples == 0 or w.shape[0] == 0:
        return np.zeros((n_samples, w.shape[0]), np.uint8)
    bits = np.unpackbits(w.view(np.uint8).reshape(w.shape[0], -1), axis=1, bitorder="little")
    return np.ascontiguousarray(bits[:, :n_samples].T)


def simulate_packed(
    nl: Netlist, in_words: np.ndarray, chunk_words: int | None = None, threads: bool | int = False
) -> np.ndarray:
    """Evaluate on packed inputs ``uint64 [n_inputs, W]``; returns ``uint64 [n_outputs, W]``.

    ``chunk_words`` sets the words per pass and thread (default :func:`chunk_words_for`).
    ``threads=True`` (or a thread count) splits the words across numba's threads; the default
    runs on one core. Results are identical either way.
    """
    in_words = np.asarray(in_words, dtype=np.uint64)
    if in_words.ndim != 2 or in_words.shape[0] != nl.n_inputs:
        raise LutnnError(f"{nl.name}: expected packed inputs of shape [{nl.n_inputs}, W], got {in_words.shape}")
    total = in_words.shape[1]
    n_threads = 1
    if threads:
        import numba

        n_threads = (
            numba.get_num_threads() if threads is True else max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS))
        )
    fanins = nl.fanins.astype(np.int64, copy=False)
    arity = nl.arity.astype(np.int64)
    tables = np.ascontiguousarray(nl.tables)
    # rows of signals nobody reads any more are reused, so layered netlists stay in cache
    rfan, orow, out_rows, n_rows = _kernels.assign_rows(fanins, arity, nl.n_inputs, nl.output_signals.astype(np.int64))
    if chunk_words is None:
        chunk_words = chunk_words_for(nl, n_threads, rows=n_rows)
    chunk_words = max(1, int(chunk_words))
    out = np.empty((nl.n_outputs, total), dtype=np.uint64)
    if total == 0:
        return out
    if n_threads > 1:
        import numba

        bufs = np.empty((numba.config.NUMBA_NUM_THREADS, n_rows, min(chunk_words, total)), dtype=np.uint64)
        prev = numba.get_num_threads()
        numba.set_num_threads(n_threads)
        prev_chunk = numba.set_parallel_chunksize(1)  # dynamic: a slow thread takes fewer blocks
        try:
            _kernels.simulate_blocks_parallel(
                rfan, arity, tables, orow, np.ascontiguousarray(in_words), out_rows, out, bufs
            )
        finally:
            numba.set_parallel_chunksize(prev_chunk)
            numba.set_num_threads(prev)
        return out
    sig = np.empty((n_rows, min(chunk_words, total)), dtype=np.uint64)
    for start in range(0, total, chunk_words):
        stop = min(total, start + chunk_words)
        s = sig if stop - start == sig.shape[1] else np.empty((n_rows, stop - start), dtype=np.uint64)
        s[: nl.n_inputs] = in_words[:, start:stop]
        _kernels.simulate_rows(rfan, arity, tables, orow, s)
        out[:, start:stop] = s[out_rows]
    return out


def check_input_bits(name: str, n_inputs: int, inputs: np.ndarray, error: type[LutnnError] = LutnnError) -> np.ndarray:
    """``inputs`` as an array of shape ``[N, n_inputs]`` holding only 0/1, else ``error`` naming ``name``."""
    x = np.asarray(inputs)
    if x.ndim != 2 or x.shape[1] != n_inputs:
        raise error(f"{name}: expected input bits of shape [N, {n_inputs}], got {x.shape}")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise error(f"{name}: input bits contain NaN or inf")
    if x.size and not np.isin(x, (0, 1)).all():
        raise error(f"{name}: input bits must be 0 or 1")
    return x


def _check_bits(nl: Netlist, inputs: np.ndarray) -> np.ndarray:
    return check_input_bits(nl.name, nl.n_inputs, inputs)


def simulate(nl: Netlist, inputs: np.ndarray) -> np.ndarray:
    """Evaluate on ``[N, n_inputs]`` 0/1 samples; returns ``uint8 [N, n_outputs]``."""
    x = _check_bits(nl, inputs)
    return unpack_bits(simulate_packed(nl, pack_bits(x)), x.shape[0])


def simulate_naive(nl: Netlist, inputs: np.ndarray) -> np.ndarray:
    """Per-sample reference evaluation (a table lookup per node per sample); for tests and benchmarks."""
    x = _check_bits(nl, inputs).astype(np.uint8)
    return _kernels.simulate_naive(
        nl.fanins.astype(np.int64),
        nl.arity.astype(np.int64),
        nl.tables,
        nl.n_inputs,
        x,
        nl.output_signals.astype(np.int64),
    )


def exhaustive_words(n: int) -> np.ndarray:
    """Packed inputs enumerating all ``2**n`` patterns: sample m has input j = bit j of m."""
    if n > MAX_EXHAUSTIVE_INPUTS:
        raise LutnnError(
            f"exhaustive simulation of {n} inputs needs 2**{n} vectors; the limit is {MAX_EXHAUSTIVE_INPUTS} "
            "(use random vectors or SAT equivalence instead)"
        )
    total = 1 << n
    w = max(1, total // 64)
    words = np.zeros((n, w), dtype=np.uint64)
    idx = np.arange(w, dtype=np.uint64)
    for j in range(n):
        if j < 6:
            pat = 0
            for b in range(64):
                if (b >> j) & 1:
                    pat |= 1 << b
            words[j] = np.uint64(pat)
        else:
            words[j] = np.where((idx >> np.uint64(j - 6)) & np.uint64(1), np.uint64(0xFFFFFFFFFFFFFFFF), np.uint64(0))
    if total < 64:
        words &= np.uint64((1 << total) - 1)
    return words


def simulate_exhaustive(nl: Netlist) -> np.ndarray:
    """Outputs for all input patterns, packed: bit m of row o is output o under input pattern m."""
    return simulate_packed(nl, exhaustive_words(nl.n_inputs))


def encode_buses(nl: Netlist, values: Mapping[str, np.ndarray]) -> np.ndarray:
    """Integers per input bus → ``uint8 [N, n_inputs]`` bits (bit 0 of each bus first).

    Values are taken modulo ``2**width`` after a range check: unsigned values must be in
    ``[0, 2**width)`` and signed ones in ``[-2**(width-1), 2**(width-1))`` (two's complement).
    """
    missing = [b.name for b in nl.inputs if b.name not in values]
    if missing:
        raise LutnnError(f"{nl.name}: no values given for input bus(es) {missing}")
    cols = []
    n = None
    for b in nl.inputs:
        v = np.asarray(values[b.name])
        if v.dtype.kind == "f":
            raise LutnnError(f"{nl.name}: bus {b.name!r} needs integer values, got {v.dtype}")
        v = v.astype(np.int64).reshape(-1)
        if n is None:
            n = len(v)
        elif len(v) != n:
            raise LutnnError(f"{nl.name}: bus {b.name!r} has {len(v)} samples, expected {n}")
        if b.width < 63 and v.size and (v.min() < -(1 << (b.width - 1)) or v.max() >= (1 << b.width)):
            raise LutnnError(f"{nl.name}: values of bus {b.name!r} do not fit in {b.width} bits")
        u = v.astype(np.uint64)
        cols.append(((u[:, None] >> np.arange(b.width, dtype=np.uint64)[None, :]) & np.uint64(1)).astype(np.uint8))
    return np.concatenate(cols, axis=1) if cols else np.zeros((n or 0, 0), np.uint8)


def decode_buses(nl: Netlist, bits: np.ndarray, signed: bool | Mapping[str, bool] = False) -> dict[str, np.ndarray]:
    """``[N, n_outputs]`` bits → integers per output bus (unsigned unless ``signed``)."""
    out: dict[str, np.ndarray] = {}
    for b in nl.outputs:
        sl = nl.output_bus(b.name)
        chunk = bits[:, sl].astype(np.uint64)
        if b.width > 64:
            raise LutnnError(f"{nl.name}: bus {b.name!r} is {b.width} bits; decode_buses handles up to 64")
        v = (chunk << np.arange(b.width, dtype=np.uint64)[None, :]).sum(axis=1, dtype=np.uint64)
        sg = signed.get(b.name, False) if isinstance(signed, Mapping) else signed
        if sg and b.width < 64:
            v = v.astype(np.int64)
            v = np.where(v >= (1 << (b.width - 1)), v - (1 << b.width), v)
        out[b.name] = v.astype(np.int64) if b.width < 64 else v
    return out


def simulate_buses(
    nl: Netlist, values: Mapping[str, np.ndarray], signed: bool | Mapping[str, bool] = False
) -> dict[str, np.ndarray]:
    """Evaluate on integers per input bus and return integers per output bus."""
    return decode_buses(nl, simulate(nl, encode_buses(nl, values)), signed=signed)
