"""Mutation testing of the equivalence checker: single truth-table changes must never verify EQUIVALENT.

A mutant is a copy of a netlist with one node's table changed: one bit flipped, or the whole
table made all-zero or all-one (the constant LUTs that once slipped through as undefined cells),
on nodes that drive outputs and on internal ones. Only mutants whose function really changed are
kept (every input pattern up to :data:`EXHAUSTIVE_LIMIT` inputs, else random simulation finds a
difference); :func:`check_equivalence` must call each of them NOT EQUIVALENT. Used by
``tests/test_mutation.py`` (seconds) and ``benchmarks/bench_mutation.py`` (the full campaign).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from lutnn.errors import LutnnError
from lutnn.netlist import Netlist
from lutnn.sim import exhaustive_words, simulate, simulate_packed

__all__ = ["EXHAUSTIVE_LIMIT", "CampaignResult", "Mutant", "function_changed", "mutants", "run_campaign"]

#: inputs up to which a mutant's change is judged on every input pattern
EXHAUSTIVE_LIMIT = 20


@dataclass(frozen=True)
class Mutant:
    """Node ``node`` of the original gets ``table``; ``kind`` is ``flip``, ``zero`` or ``one``."""

    node: int
    table: int
    kind: str
    drives_output: bool

    def apply(self, nl: Netlist) -> Netlist:
        m = nl.with_table(self.node, self.table)
        m.name = nl.name
        return m


def mutants(nl: Netlist, n: int, seed: int = 0) -> Iterator[Mutant]:
    """Up to ``n`` distinct single-node mutants: bit flips, all-zero and all-one tables, on output and internal nodes."""
    rng = np.random.default_rng(seed)
    if nl.n_nodes == 0:
        return
    out_nodes = sorted({int(s) - nl.n_inputs for s in nl.output_signals.tolist() if s >= nl.n_inputs})
    live = np.flatnonzero(nl.fanout()[nl.n_inputs :] > 0).tolist() if nl.n_nodes else []
    internal = sorted(set(live) - set(out_nodes)) or list(range(nl.n_nodes))
    seen: set[tuple[int, int]] = set()
    tries = 0
    while len(seen) < n and tries < 20 * n:
        tries += 1
        pool = out_nodes if (out_nodes and rng.random() < 0.5) else internal
        i = int(pool[int(rng.integers(len(pool)))])
        a = int(nl.arity[i])
        full = (1 << (1 << a)) - 1
        t = nl.truth_table(i)
        r = rng.random()
        if r < 0.2:
            new, kind = 0, "zero"
        elif r < 0.4:
            new, kind = full, "one"
        else:
            new, kind = t ^ (1 << int(rng.integers(1 << a))), "flip"
        if new == t or (i, new) in seen:
            continue
        seen.add((i, new))
        yield Mutant(i, new, kind, i in out_nodes)


def function_changed(a: Netlist, b: Netlist, n_random: int = 1 << 14, seed: int = 0) -> bool | None:
    """True when simulation shows ``a`` and ``b`` (same port order) differ; ``None`` when random vectors found nothing."""
    if a.n_inputs <= EXHAUSTIVE_LIMIT:
        w = exhaustive_words(a.n_inputs)
        return bool((simulate_packed(a, w) != simulate_packed(b, w)).any())
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, (n_random, a.n_inputs), dtype=np.uint8)
    x[0] = 0
    x[1] = 1
    return True if (simulate(a, x) != simulate(b, x)).any() else None


@dataclass
class CampaignResult:
    """Counts of one campaign; ``false_equivalent`` must be 0."""

    netlist: str
    n_inputs: int
    n_nodes: int
    tried: int = 0
    kept: int = 0
    not_equivalent: int = 0
    false_equivalent: int = 0
    errors: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def run_campaign(nl: Netlist, n: int, *, seed: int = 0, timeout: float | None = 600) -> CampaignResult:
    """Verify up to ``n`` function-changing mutants of ``nl`` (of at most ``5 n`` tried) against ``nl``; count false EQUIVALENTs."""
    from lutnn.verify.sat import check_equivalence

    t0 = time.perf_counter()
    res = CampaignResult(nl.name, nl.n_inputs, nl.n_nodes)
    for m in mutants(nl, 5 * n, seed):
        if res.kept >= n:
            break
        res.tried += 1
        mut = m.apply(nl)
        if not function_changed(nl, mut, seed=seed):
            continue  # the flip is masked (or unobservable by random vectors): not a real mutant
        res.kept += 1
        res.by_kind[m.kind] = res.by_kind.get(m.kind, 0) + 1
        try:
            v = check_equivalence(nl, mut, timeout=timeout)
        except LutnnError as e:  # judges disagreeing is an error, never an EQUIVALENT
            res.errors += 1
            res.failures.append(f"node {m.node} {m.kind}: error {str(e)[:200]}")
            continue
        if v.equivalent:
            res.false_equivalent += 1
            res.failures.append(f"node {m.node} {m.kind} table {m.table:x}: EQUIVALENT")
        else:
            res.not_equivalent += 1
    res.seconds = round(time.perf_counter() - t0, 2)
    return res
