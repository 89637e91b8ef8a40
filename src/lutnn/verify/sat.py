"""Combinational equivalence of two netlists: formal (SAT through Yosys), exhaustive, or random simulation.

Ports are matched by bus name, so the two designs may list their buses in different orders;
different bus names or widths raise a clear error. The SAT method builds a miter in Yosys
(``miter -equiv``), simplifies it with ABC (``fraig``: equivalent nodes merge, so an
equivalent miter collapses to a constant) and proves the miter output 0 with ``sat -prove``.
Every counterexample is re-checked with :mod:`lutnn.sim` before it is reported.
"""

from __future__ import annotations

import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lutnn.errors import LutnnError, ToolError
from lutnn.formats.blif import format_blif
from lutnn.netlist import Netlist
from lutnn.sim import MAX_EXHAUSTIVE_INPUTS, exhaustive_words, simulate, simulate_packed
from lutnn.verify.hdlsim import bits_to_buses

__all__ = ["METHODS", "Verdict", "check_equivalence", "check_interfaces"]

METHODS = ("sat", "exhaustive", "random")


@dataclass
class Verdict:
    """Result of an equivalence check; ``counterexample`` maps input bus → value on a mismatch."""

    equivalent: bool
    method: str
    counterexample: dict[str, int] | None
    runtime_s: float
    outputs_a: dict[str, int] | None = None
    outputs_b: dict[str, int] | None = None
    vectors: int | None = None
    note: str = ""
    judges: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.equivalent

    def as_dict(self) -> dict:
        return {
            "equivalent": self.equivalent,
            "method": self.method,
            "counterexample": self.counterexample,
            "outputs_a": self.outputs_a,
            "outputs_b": self.outputs_b,
            "vectors": self.vectors,
            "runtime_s": self.runtime_s,
            "note": self.note,
            "judges": list(self.judges),
        }


def check_interfaces(a: Netlist, b: Netlist) -> tuple[np.ndarray, np.ndarray]:
    """Check that ``a`` and ``b`` have the same buses by name and width.

    Returns index arrays ``pin`` and ``pout``: ``b``'s input bit ``pin[j]`` is ``a``'s input
    bit ``j``, and ``b``'s output bit ``pout[j]`` is ``a``'s output bit ``j``.
    """

    def sig(buses):
        return {x.name: x.width for x in buses}

    for what, xa, xb in (("input", a.inputs, b.inputs), ("output", a.outputs, b.outputs)):
        da, db = sig(xa), sig(xb)
        if da != db:
            only_a = sorted(f"{k}[{v}]" for k, v in da.items() if db.get(k) != v)
            only_b = sorted(f"{k}[{v}]" for k, v in db.items() if da.get(k) != v)
            raise LutnnError(
                f"{a.name} and {b.name} have different {what} buses: {only_a or '-'} vs {only_b or '-'} "
                "(equivalence needs the same bus names and widths)"
            )

    def perm(xa, xb, n):
        off_b: dict[str, int] = {}
        off = 0
        for x in xb:
            off_b[x.name] = off
            off += x.width
        p = np.empty(n, dtype=np.int64)
        off = 0
        for x in xa:
            p[off : off + x.width] = off_b[x.name] + np.arange(x.width)
            off += x.width
        return p

    return perm(a.inputs, b.inputs, a.n_inputs), perm(a.outputs, b.outputs, a.n_outputs)


def _first_mismatch(a: Netlist, b: Netlist, x: np.ndarray, pin: np.ndarray, pout: np.ndarray) -> int | None:
    ya = simulate(a, x)
    xb = np.empty_like(x)
    xb[:, pin] = x
    yb = simulate(b, xb)[:, pout]
    bad = np.flatnonzero((ya != yb).any(axis=1))
    return int(bad[0]) if len(bad) else None


def _verdict_from_vector(a, b, x_row, pin, pout, method, t0, vectors=None, note="") -> Verdict:
    x = x_row[None, :]
    xb = np.empty_like(x)
    xb[:, pin] = x
    ya, yb = simulate(a, x)[0], simulate(b, xb)[0][pout]
    return Verdict(
        False,
        method,
        bits_to_buses(a.inputs, x[0]),
        time.perf_counter() - t0,
        bits_to_buses(a.outputs, ya),
        bits_to_buses(a.outputs, yb),
        vectors,
        note,
    )


def check_equivalence(
    a: Netlist,
    b: Netlist,
    *,
    method: str = "sat",
    n_random: int = 100_000,
    seed: int = 0,
    timeout: float | None = None,
    cross_check: bool = True,
) -> Verdict:
    """Are ``a`` and ``b`` the same combinational function (ports matched by bus name)?

    ``sat`` is a proof (Yosys miter + ABC fraiging + SAT); ``exhaustive`` simulates all
    ``2**n`` input patterns (n ≤ 24); ``random`` simulates ``n_random`` random vectors plus
    corner vectors and can only find differences, never prove their absence.

    After a ``sat`` proof, ``cross_check`` (default) asks two independent judges as well: lutnn's
    simulator (every input pattern up to 20 inputs, else 65,536 random + corner vectors) and ABC
    (``miter`` + ``iprove`` on AIGER files lutnn writes, never the BLIF Yosys read). Judges that
    disagree raise :class:`ToolError`; ``Verdict.judges`` names the judges that ran.
    """
    if method not in METHODS:
        raise LutnnError(f"unknown equivalence method {method!r}; choose one of {', '.join(METHODS)}")
    pin, pout = check_interfaces(a, b)
    t0 = time.perf_counter()
    if method != "sat":
        v = _check_sim(a, b, pin, pout, method, n_random, seed, t0)
        v.judges = [f"simulation-{method}({v.vectors})"]
        return v
    v = _check_sat(a, b, pin, pout, t0, timeout)
    return _after_sat(a, b, pin, pout, v, t0, cross_check=cross_check, seed=seed, timeout=timeout)


def _check_sim(a, b, pin, pout, method: str, n_random: int, seed: int, t0: float) -> Verdict:
    """Simulation methods: every input pattern, or random + corner vectors."""
    if method == "exhaustive":
        n = a.n_inputs
        if n > MAX_EXHAUSTIVE_INPUTS:
            raise LutnnError(
                f"{a.name} has {n} inputs; exhaustive checking stops at {MAX_EXHAUSTIVE_INPUTS} (use method='sat')"
            )
        wa = exhaustive_words(n)
        ya = simulate_packed(a, wa)
        yb = simulate_packed(b, wa[np.argsort(pin)])[pout]
        diff = (ya ^ yb).any(axis=0) if a.n_outputs else np.zeros(wa.shape[1], bool)
        total = 1 << n
        if not diff.any():
            return Verdict(True, method, None, time.perf_counter() - t0, vectors=total)
        w = int(np.flatnonzero(diff)[0])
        word = np.bitwise_or.reduce(ya[:, w] ^ yb[:, w])
        bit = (int(word) & -int(word)).bit_length() - 1
        m = 64 * w + bit
        x = np.array([(m >> j) & 1 for j in range(n)], dtype=np.uint8)
        return _verdict_from_vector(a, b, x, pin, pout, method, t0, total)
    if method == "random":
        from lutnn.verify.hdlsim import corner_vectors

        rng = np.random.default_rng(seed)
        x = np.concatenate([corner_vectors(a.n_inputs), rng.integers(0, 2, (n_random, a.n_inputs), dtype=np.uint8)])
        i = _first_mismatch(a, b, x, pin, pout)
        if i is None:
            return Verdict(
                True,
                method,
                None,
                time.perf_counter() - t0,
                vectors=len(x),
                note="no difference found (random simulation is not a proof)",
            )
        return _verdict_from_vector(a, b, x[i], pin, pout, method, t0, len(x))
    raise AssertionError(method)


def _after_sat(a, b, pin, pout, v, t0, *, cross_check, seed, timeout) -> Verdict:
    v.judges = ["yosys-sat"]
    if v.equivalent and cross_check:
        _cross_check(a, b, pin, pout, v, seed=seed, timeout=timeout)
    v.runtime_s = time.perf_counter() - t0
    return v


#: inputs up to which the simulation judge tries every input pattern (2**20 vectors)
CROSS_CHECK_EXHAUSTIVE = 20
#: random vectors of the simulation judge above that
CROSS_CHECK_RANDOM = 1 << 16


def _cross_check(a: Netlist, b: Netlist, pin, pout, v: Verdict, *, seed: int, timeout: float | None) -> None:
    """After Yosys SAT said EQUIVALENT: ask lutnn's simulator and ABC (on lutnn's own AIGs).

    Any judge that finds a difference makes this an error (a sound checker never answers
    EQUIVALENT when its judges disagree); ``v.judges`` lists every judge that ran.
    """
    from lutnn.verify.abccec import abc_cec, align_ports

    if a.n_inputs <= CROSS_CHECK_EXHAUSTIVE:
        s = _check_sim(a, b, pin, pout, "exhaustive", 0, seed, time.perf_counter())
        name = f"simulation-exhaustive({s.vectors})"
    else:
        s = _check_sim(a, b, pin, pout, "random", CROSS_CHECK_RANDOM, seed, time.perf_counter())
        name = f"simulation-random({s.vectors})"
    v.judges.append(name)
    if not s.equivalent:
        raise ToolError(
            f"judges disagree on {a.name} vs {b.name}: Yosys SAT proved them equivalent but lutnn's simulator "
            f"finds a difference at {s.counterexample}; the answer is not EQUIVALENT (please report this)"
        )
    r = abc_cec(a, align_ports(b, a, pin, pout), timeout=timeout)
    v.judges.append("abc-iprove" if r.equivalent is not None else f"abc-iprove(undecided: {r.status})")
    if r.equivalent is False:
        raise ToolError(
            f"judges disagree on {a.name} vs {b.name}: Yosys SAT proved them equivalent but ABC (miter + iprove "
            "on lutnn's AIGER) finds a difference; the answer is not EQUIVALENT (please report this)"
        )
    v.note = (v.note + "; " if v.note else "") + "judges: " + ", ".join(v.judges)


_ROW = re.compile(r"^\s*\\?in_(\S+)\s+(?:\S+\s+)?(?:\S+\s+)?([01xX-]+)\s*$")


def _check_sat(a: Netlist, b: Netlist, pin, pout, t0: float, timeout: float | None) -> Verdict:
    from lutnn.tools.yosys import run_yosys

    ga, gb = a.copy(), b.copy()
    ga.name, gb.name = "lutnn_gold", "lutnn_gate"
    with tempfile.TemporaryDirectory(prefix="lutnn_cec_") as td:
        wd = Path(td)
        (wd / "a.blif").write_text(format_blif(ga))
        (wd / "b.blif").write_text(format_blif(gb))
        script = [
            "read_blif -wideports a.blif",
            "read_blif -wideports b.blif",
            "miter -equiv -flatten lutnn_gold lutnn_gate lutnn_miter",
            "hierarchy -top lutnn_miter",
            "flatten",
            "techmap",  # $lut/$sop cells → gates, so that ABC sees the whole miter
            # soundness: any undefined (x) constant or undriven wire becomes a free variable, so that a
            # design that depends on it can never be proved equal (fraig would take x as a don't-care)
            "setundef -undriven -anyseq",
            "opt -fast",
            'abc -script "+strash;fraig"',  # SAT sweeping: an equivalent miter collapses to 0
            "opt_clean",
            "tee -q -o sat.txt sat -enable_undef -set-def-inputs -prove trigger 0 -show-inputs lutnn_miter",
        ]
        log = run_yosys("\n".join(script), wd, timeout=timeout, what="Yosys SAT equivalence check")
        sat_text = (wd / "sat.txt").read_text() if (wd / "sat.txt").exists() else log
    if "SUCCESS!" in sat_text and "no model found" in sat_text:
        return Verdict(True, "sat", None, time.perf_counter() - t0)
    if "model found: FAIL" not in sat_text:
        raise ToolError("Yosys sat gave neither a proof nor a counterexample; see its log:\n" + sat_text[-1200:])
    # counterexample: the input table after "Signal Name"
    values: dict[str, str] = {}
    table = sat_text.split("Signal Name", 1)[-1]
    for line in table.splitlines()[2:]:
        m = _ROW.match(line)
        if m:
            values[m.group(1)] = m.group(2)
        elif line.strip() == "" and values:
            break
    x = np.zeros(a.n_inputs, dtype=np.uint8)
    off = 0
    for bus in a.inputs:
        bits = values.get(bus.name, "0").replace("x", "0").replace("X", "0").replace("-", "0")
        v = int(bits, 2) if bits else 0
        x[off : off + bus.width] = [(v >> j) & 1 for j in range(bus.width)]
        off += bus.width
    i = _first_mismatch(a, b, x[None, :], pin, pout)
    if i is None:
        # the reported model must distinguish a and b; fall back on a search if parsing failed
        v = check_equivalence(a, b, method="random", n_random=100_000)
        if v.equivalent:
            raise ToolError("Yosys sat reported a difference that lutnn's simulator cannot reproduce")
        v.method, v.note = "sat", "counterexample re-found by simulation"
        return v
    return _verdict_from_vector(a, b, x, pin, pout, "sat", t0)
