"""Boolean-function measures of a circuit f: {0,1}^n → {0,1}^m (definitions in docs/measures.md).

A flip of input i *changes f* at x when any output bit of f(x ⊕ e_i) differs from f(x).

* ``influences[i]`` = Inf_i = P_x[f(x) ≠ f(x ⊕ e_i)];
* ``total_influence`` = Σ_i Inf_i = E_x[s(x)] with s(x) = #{i : f(x) ≠ f(x ⊕ e_i)} (the average
  sensitivity of Boolean analysis), ``total_influence_stderr`` = std(s) / √samples (0 when exact);
* ``avg_sensitivity`` = total_influence / n;
* ``noise_stability[p]`` = P[f(x) = f(y)], y = x with each bit flipped independently with probability p.

x is uniform over {0,1}^n (:func:`measure_netlist`: every x when n ≤ 20, else ``samples`` seeded
draws; noise stability exact over all x and all flip patterns when n ≤ 12) or the given samples
(:func:`measure_on_data`: a data distribution). Everything runs on the bit-parallel simulator:
64 samples per word, and one simulator pass evaluates a block of words under many single-bit
flips at once (flip i inverts row i of its copy of the block).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lutnn.errors import LutnnError
from lutnn.netlist import Netlist
from lutnn.sim import exhaustive_words, pack_bits, simulate_packed

__all__ = [
    "DEFAULT_FLIP_RATES",
    "DEFAULT_SAMPLES",
    "MAX_EXACT_INPUTS",
    "MAX_EXACT_NOISE_INPUTS",
    "Measures",
    "measure_netlist",
    "measure_on_data",
    "parse_flip_rates",
]

DEFAULT_SAMPLES = 65536
DEFAULT_FLIP_RATES = ("0.01", "0.05", "0.1")
MAX_EXACT_INPUTS = 20  # influences: every x enumerated up to here
MAX_EXACT_NOISE_INPUTS = 12  # noise stability: every (x, flip pattern) pair up to here
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
_WORD_BUDGET = 1 << 22  # input words per simulator call (32 MiB of inputs)


@dataclass
class Measures:
    """The measures of one function on one input distribution (see the module docstring)."""

    n_inputs: int
    n_outputs: int
    distribution: str
    exact: bool
    samples: int
    seed: int
    influences: list[float]
    total_influence: float
    total_influence_stderr: float
    noise_stability: dict[str, float] = field(default_factory=dict)
    noise_stability_stderr: dict[str, float] = field(default_factory=dict)
    noise_stability_exact: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def avg_sensitivity(self) -> float:
        return self.total_influence / self.n_inputs

    def as_dict(self) -> dict[str, Any]:
        """The JSON object ``lutnn measure --json`` prints."""
        d = {
            "n_inputs": self.n_inputs,
            "n_outputs": self.n_outputs,
            "distribution": self.distribution,
            "exact": self.exact,
            "samples": self.samples,
            "seed": self.seed,
            "total_influence": self.total_influence,
            "total_influence_stderr": self.total_influence_stderr,
            "avg_sensitivity": self.avg_sensitivity,
            "noise_stability": dict(self.noise_stability),
            "noise_stability_stderr": dict(self.noise_stability_stderr),
            "noise_stability_exact": self.noise_stability_exact,
            "influences": list(self.influences),
        }
        d.update(self.extra)
        return d


def parse_flip_rates(rates: Iterable[str | float] | None) -> list[tuple[str, float]]:
    """``(key, p)`` pairs; the key is the string as given (floats: ``repr``). p must be in (0, 0.5]."""
    out: list[tuple[str, float]] = []
    for r in DEFAULT_FLIP_RATES if rates is None else rates:
        key = r.strip() if isinstance(r, str) else repr(float(r))
        try:
            p = float(key)
        except ValueError:
            raise LutnnError(
                f"flip rate {r!r} is not a number; give rates in (0, 0.5], e.g. --flip-rate 0.05"
            ) from None
        if not (0.0 < p <= 0.5) or math.isnan(p):
            raise LutnnError(f"flip rate {key} is outside (0, 0.5]; give rates like 0.01, 0.05, 0.1")
        if key not in (k for k, _ in out):
            out.append((key, p))
    if not out:
        raise LutnnError("no flip rates given; give rates in (0, 0.5], e.g. --flip-rate 0.05")
    return out


def _check_common(nl: Netlist, seed: int) -> None:
    if nl.n_inputs == 0:
        raise LutnnError(
            f"{nl.name}: the circuit has no inputs (n = 0), so no input can be flipped; measures need n >= 1"
        )
    if nl.n_outputs == 0:
        raise LutnnError(f"{nl.name}: the circuit has no outputs; measures need at least one output bit")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise LutnnError(f"seed {seed!r} must be a non-negative integer")


def _valid_mask(n_valid: int, w: int) -> np.ndarray:
    """uint64 [w]: all-ones words, the last cut to the ``n_valid`` samples it holds."""
    m = np.full(w, _ALL, dtype=np.uint64)
    rem = n_valid - 64 * (w - 1)
    if rem < 64:
        m[-1] = np.uint64((1 << rem) - 1)
    return m


def _popcount(words: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.bitwise_count(words).sum(axis=axis, dtype=np.int64)


def _any_diff(y: np.ndarray, base: np.ndarray) -> np.ndarray:
    """OR over output rows of ``y ^ base``: uint64 [W] where a sample's output vector differs."""
    return np.bitwise_or.reduce(y ^ base, axis=0) if y.shape[0] > 1 else (y[0] ^ base[0])


def _flip_block(nl: Netlist, xw: np.ndarray, mask: np.ndarray, threads) -> tuple[np.ndarray, np.ndarray]:
    """Single-bit flips of a block ``uint64 [n, W]``: per-input change counts and per-sample sensitivities.

    Returns ``(counts int64 [n], sens int32 [64 W])``. Flips go in groups: one simulator call
    evaluates the block under g flips side by side (g copies of the block, row i of copy j inverted).
    """
    n, w = xw.shape
    base = simulate_packed(nl, xw, threads=threads)
    counts = np.zeros(n, dtype=np.int64)
    sens = np.zeros(64 * w, dtype=np.int32)
    g = max(1, min(n, _WORD_BUDGET // max(1, n * w)))
    for start in range(0, n, g):
        idx = np.arange(start, min(n, start + g))
        x = np.tile(xw, (1, len(idx)))
        for j, i in enumerate(idx):
            x[i, j * w : (j + 1) * w] ^= _ALL
        y = simulate_packed(nl, x, threads=threads)
        d = _any_diff(y, np.tile(base, (1, len(idx)))).reshape(len(idx), w) & mask[None, :]
        counts[idx] = _popcount(d)
        bits = np.unpackbits(np.ascontiguousarray(d).view(np.uint8).reshape(len(idx), -1), axis=1, bitorder="little")
        sens += bits.sum(axis=0, dtype=np.int32)
    return counts, sens


def _bernoulli_words(rng: np.random.Generator, n: int, w: int, p: float) -> np.ndarray:
    """uint64 [n, w]: each bit 1 with probability p, independently."""
    bits = rng.random((n, 64 * w)) < p
    return np.packbits(bits, axis=1, bitorder="little").view("<u8").astype(np.uint64, copy=False).reshape(n, w)


def _noise_mc(nl, blocks, rates, rng_for, threads) -> tuple[dict, dict]:
    """Monte-Carlo noise stability: for each block of x, one random flip pattern per sample and rate."""
    agree = {k: 0 for k, _ in rates}
    total = 0
    for bi, (xw, mask, n_valid) in enumerate(blocks()):
        base = simulate_packed(nl, xw, threads=threads)
        total += n_valid
        for ri, (key, p) in enumerate(rates):
            z = _bernoulli_words(rng_for(ri, bi), xw.shape[0], xw.shape[1], p)
            d = _any_diff(simulate_packed(nl, xw ^ z, threads=threads), base) & mask
            agree[key] += n_valid - int(_popcount(d))
    ns, se = {}, {}
    for key, _ in rates:
        q = agree[key] / total
        ns[key] = q
        se[key] = math.sqrt(q * (1 - q) / (total - 1)) if total > 1 else 0.0  # sample std / sqrt(N)
    return ns, se


def _noise_exact(nl: Netlist, rates) -> dict[str, float]:
    """Exact noise stability over all 2^n x and all 2^n flip patterns z (n ≤ 12)."""
    n = nl.n_inputs
    from lutnn.sim import unpack_bits

    y = unpack_bits(simulate_packed(nl, exhaustive_words(n)), 1 << n)  # [2^n, m]
    _, cls = np.unique(y, axis=0, return_inverse=True)
    cls = cls.reshape(-1)
    idx = np.arange(1 << n)
    same = np.array([(cls == cls[idx ^ z]).sum() for z in range(1 << n)], dtype=np.float64)  # A(z)
    weight = np.bitwise_count(idx.astype(np.uint64)).astype(np.int64)
    by_w = np.bincount(weight, weights=same, minlength=n + 1) / (1 << n)  # Σ_{|z|=w} A(z) / 2^n
    out = {}
    for key, p in rates:
        w = np.arange(n + 1)
        out[key] = float(np.sum(by_w * p**w * (1 - p) ** (n - w)))
    return out


def _rngs(seed: int):
    ss = np.random.SeedSequence(int(seed))
    x_ss, z_ss = ss.spawn(2)
    return x_ss, z_ss


def _block_words(n: int, total_words: int) -> int:
    return max(1, min(total_words, _WORD_BUDGET // (4 * max(1, n)), 4096))


def measure_netlist(
    nl: Netlist,
    samples: int = DEFAULT_SAMPLES,
    flip_rates: Sequence[str | float] | None = None,
    seed: int = 0,
    threads: bool | int = False,
) -> Measures:
    """Measures of ``nl`` with x uniform over {0,1}^n: exact when n ≤ 20 (``samples`` ignored), else seeded Monte Carlo."""
    _check_common(nl, seed)
    rates = parse_flip_rates(flip_rates)
    n = nl.n_inputs
    exact = n <= MAX_EXACT_INPUTS
    if not isinstance(samples, (int, np.integer)) or isinstance(samples, bool) or samples < 2:
        raise LutnnError(f"--samples {samples!r} must be an integer >= 2 (Monte Carlo needs a spread)")
    n_samples = (1 << n) if exact else int(samples)
    total_words = -(-n_samples // 64)
    bw = _block_words(n, total_words)
    x_ss, z_ss = _rngs(seed)
    x_rng = np.random.default_rng(x_ss)
    z_seeds = z_ss.spawn(len(rates))

    def blocks():
        full = exhaustive_words(n) if exact else None
        gen = np.random.default_rng(x_ss)
        for start in range(0, total_words, bw):
            stop = min(total_words, start + bw)
            nv = min(n_samples, 64 * stop) - 64 * start
            if full is not None:
                xw = np.ascontiguousarray(full[:, start:stop])
            else:
                xw = gen.integers(0, np.iinfo(np.uint64).max, size=(n, stop - start), dtype=np.uint64, endpoint=True)
            yield xw & _valid_mask(nv, stop - start)[None, :], _valid_mask(nv, stop - start), nv

    del x_rng
    counts = np.zeros(n, dtype=np.int64)
    s_sum = 0.0
    s_sq = 0.0
    for xw, mask, nv in blocks():
        c, sens = _flip_block(nl, xw, mask, threads)
        counts += c
        s = sens[:nv].astype(np.float64)
        s_sum += s.sum()
        s_sq += (s * s).sum()
    tot = s_sum / n_samples
    se = 0.0 if exact else math.sqrt(max(0.0, (s_sq - n_samples * tot * tot) / (n_samples - 1)) / n_samples)
    m = Measures(
        n_inputs=n,
        n_outputs=nl.n_outputs,
        distribution="uniform",
        exact=exact,
        samples=n_samples,
        seed=int(seed),
        influences=(counts / n_samples).tolist(),
        total_influence=float(tot),
        total_influence_stderr=float(se),
    )
    if n <= MAX_EXACT_NOISE_INPUTS:
        m.noise_stability = _noise_exact(nl, rates)
        m.noise_stability_stderr = {k: 0.0 for k, _ in rates}
        m.noise_stability_exact = True
    else:
        per_rate = [list(zs.spawn(-(-total_words // bw))) for zs in z_seeds]
        m.noise_stability, m.noise_stability_stderr = _noise_mc(
            nl, blocks, rates, lambda ri, bi: np.random.default_rng(per_rate[ri][bi]), threads
        )
    return m


def measure_on_data(
    nl: Netlist,
    bits: np.ndarray,
    flip_rates: Sequence[str | float] | None = None,
    seed: int = 0,
    distribution: str = "data",
    threads: bool | int = False,
) -> Measures:
    """Measures with x drawn from the rows of ``bits [N, n]`` (every row once, every single-bit flip).

    Influences and total influence are exact over the given rows (``exact`` is true; the stderr
    is the sampling error of the rows as a sample of their distribution); noise stability draws one
    seeded flip pattern per row and rate (Monte Carlo).
    """
    _check_common(nl, seed)
    rates = parse_flip_rates(flip_rates)
    x = np.asarray(bits)
    n = nl.n_inputs
    if x.ndim != 2 or x.shape[1] != n:
        raise LutnnError(f"{nl.name}: data bits must have shape [N, {n}], got {x.shape}")
    if len(x) < 2:
        raise LutnnError(f"{nl.name}: data measures need at least 2 samples, got {len(x)}")
    if x.size and not np.isin(x, (0, 1)).all():
        raise LutnnError(f"{nl.name}: data bits must be 0 or 1")
    n_samples = len(x)
    packed = pack_bits(x.astype(np.uint8))
    total_words = packed.shape[1]
    bw = _block_words(n, total_words)

    def blocks():
        for start in range(0, total_words, bw):
            stop = min(total_words, start + bw)
            nv = min(n_samples, 64 * stop) - 64 * start
            yield np.ascontiguousarray(packed[:, start:stop]), _valid_mask(nv, stop - start), nv

    counts = np.zeros(n, dtype=np.int64)
    s_all = []
    for xw, mask, nv in blocks():
        c, sens = _flip_block(nl, xw, mask, threads)
        counts += c
        s_all.append(sens[:nv])
    s = np.concatenate(s_all).astype(np.float64)
    _, z_ss = _rngs(seed)
    per_rate = [list(zs.spawn(-(-total_words // bw))) for zs in z_ss.spawn(len(rates))]
    ns, ns_se = _noise_mc(nl, blocks, rates, lambda ri, bi: np.random.default_rng(per_rate[ri][bi]), threads)
    return Measures(
        n_inputs=n,
        n_outputs=nl.n_outputs,
        distribution=distribution,
        exact=True,
        samples=n_samples,
        seed=int(seed),
        influences=(counts / n_samples).tolist(),
        total_influence=float(s.mean()),
        total_influence_stderr=float(s.std(ddof=1) / math.sqrt(n_samples)),
        noise_stability=ns,
        noise_stability_stderr=ns_se,
        noise_stability_exact=False,
        extra={"sensitivity_max": int(s.max()), "sensitivity_zero_frac": float((s == 0).mean())},
    )
