"""Equivalence of a BNN (torch and onnxruntime) against its source circuit.

Up to ``exhaustive_limit`` inputs (20) every input pattern is checked; above, ``n_random``
random vectors (≥ 10^5) plus corner vectors, and — because simulation is not a proof — a SAT
check (Yosys miter + ABC) of the circuit against the BNN turned back into a circuit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from lutnn.bnn.model import BNN, BNNModule
from lutnn.errors import LutnnError, ToolError
from lutnn.netlist import Netlist
from lutnn.sim import exhaustive_words, simulate, unpack_bits

__all__ = ["BNNVerdict", "verify_bnn"]

EXHAUSTIVE_LIMIT = 20


@dataclass
class BNNVerdict:
    """Outcome of :func:`verify_bnn`: per-backend mismatch counts and an overall verdict."""

    equivalent: bool
    method: str  # "exhaustive" or "random+sat" / "random" (when SAT was skipped)
    vectors: int
    mismatches: dict[str, int] = field(default_factory=dict)
    sat: bool | None = None  # None: not run (or timed out, see notes)
    counterexample: list[int] | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def proved(self) -> bool:
        """True when equivalence holds for every input (exhaustive or SAT), not just sampled vectors."""
        return self.equivalent and (self.method == "exhaustive" or self.sat is True)

    @property
    def verdict(self) -> str:
        if not self.equivalent:
            return "NOT EQUIVALENT"
        return "EQUIVALENT" if self.proved else "NO DIFFERENCE FOUND (simulation only, not a proof)"

    def as_dict(self) -> dict:
        return dict(self.__dict__) | {"verdict": self.verdict, "proved": self.proved}


def _vectors(n: int, n_random: int, exhaustive_limit: int, seed: int) -> tuple[np.ndarray, str]:
    if n <= exhaustive_limit:
        return unpack_bits(exhaustive_words(n), 1 << n), "exhaustive"
    rng = np.random.default_rng(seed)
    corners = np.concatenate([np.zeros((1, n), np.uint8), np.ones((1, n), np.uint8), np.eye(n, dtype=np.uint8)])
    return np.concatenate([corners, rng.integers(0, 2, (n_random, n), dtype=np.uint8)]), "random"


def verify_bnn(
    nl: Netlist,
    bnn: BNN,
    *,
    onnx_model=None,
    n_random: int = 100_000,
    exhaustive_limit: int = EXHAUSTIVE_LIMIT,
    sat: bool = True,
    sat_timeout: float | None = 600,
    seed: int = 0,
    device: str = "cpu",
) -> BNNVerdict:
    """Compare ``bnn`` (torch module; and ``onnx_model`` under onnxruntime when given) with ``nl``.

    Exhaustive up to ``exhaustive_limit`` inputs; otherwise random vectors plus, when ``sat``,
    a SAT proof on the BNN turned back into a circuit (:func:`lutnn.bnn.to_circuit.bnn_to_circuit`).
    """
    if nl.n_inputs != bnn.n_inputs or nl.n_outputs != bnn.n_outputs:
        raise LutnnError(
            f"BNN has {bnn.n_inputs} inputs/{bnn.n_outputs} outputs but the circuit {nl.name} has "
            f"{nl.n_inputs}/{nl.n_outputs}; convert this circuit again"
        )
    if exhaustive_limit > 24:
        raise LutnnError("exhaustive_limit above 24 inputs is impractical; use random vectors + SAT")
    t0 = time.perf_counter()
    x, method = _vectors(nl.n_inputs, n_random, exhaustive_limit, seed)
    ref = simulate(nl, x)
    notes: list[str] = []
    if method == "random":
        notes.append(
            f"{nl.n_inputs} inputs > {exhaustive_limit}: exhaustive check impossible, "
            f"used {len(x)} random/corner vectors" + (" plus a SAT proof" if sat else " (no SAT proof requested)")
        )
    mism: dict[str, int] = {}
    first_bad: int | None = None
    ys = {"torch": BNNModule(bnn).to(device).predict_bits(x)}
    if onnx_model is not None:
        from lutnn.bnn.onnx_export import run_onnx

        ys["onnxruntime"] = run_onnx(onnx_model, x)
    for name, y in ys.items():
        bad = np.flatnonzero((y != ref).any(axis=1))
        mism[name] = len(bad)
        if len(bad) and first_bad is None:
            first_bad = int(bad[0])
    sat_ok: bool | None = None
    if method == "random" and sat:
        from lutnn.bnn.to_circuit import bnn_to_circuit
        from lutnn.verify import check_equivalence

        back = bnn_to_circuit(bnn)
        try:
            v = check_equivalence(nl, back, method="sat", timeout=sat_timeout)
        except ToolError as e:
            notes.append(f"SAT proof not obtained ({str(e).splitlines()[0]}); the verdict rests on simulation only")
        else:
            sat_ok = bool(v.equivalent)
            if not sat_ok:
                notes.append(f"SAT counterexample: {v.counterexample}")
    ok = all(m == 0 for m in mism.values()) and sat_ok is not False
    return BNNVerdict(
        equivalent=ok,
        method=method + ("+sat" if sat_ok is not None else ""),
        vectors=len(x),
        mismatches=mism,
        sat=sat_ok,
        counterexample=x[first_bad].tolist() if first_bad is not None else None,
        notes=notes,
        seconds=time.perf_counter() - t0,
    )
