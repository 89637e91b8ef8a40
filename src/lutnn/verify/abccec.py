"""A second, independent equivalence judge: ABC's ``miter`` + ``iprove`` on AIGs that lutnn writes itself.

The Yosys SAT check reads both designs as BLIF; this judge never does. lutnn converts each
netlist to an and-inverter graph (:func:`lutnn.aig.to_aig`), writes it as binary AIGER
(:mod:`lutnn.formats.aiger`, ports in the same order, no symbol table) and lets ABC build the
miter and prove it (``iprove``: SAT sweeping, rewriting and SAT). ABC's verdict is read from
``write_status`` (``snl_UNSAT`` = equivalent, ``snl_SAT`` + a counterexample = different).
ABC runs inside Yosys (``abc -script``, through :func:`lutnn.tools.yosys.run_yosys`) on a
one-gate stub design, because that is where lutnn's ABC lives.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lutnn.errors import ToolError
from lutnn.formats.aiger import format_aiger
from lutnn.netlist import Netlist

__all__ = ["AbcVerdict", "abc_cec", "align_ports"]

# the stub design ABC is handed by Yosys, and the same one-gate network restored at the end
# of the script so that Yosys's ``abc`` pass finds the netlist it expects
_STUB_V = "module lutnn_abc_stub(input a, input b, output y);\n  assign y = a & b;\nendmodule\n"
_STUB_BLIF = ".model netlist\n.inputs ys__n0 ys__n1\n.outputs ys__n2\n.names ys__n0 ys__n1 ys__n2\n11 1\n.end\n"


@dataclass
class AbcVerdict:
    """ABC's answer: ``equivalent`` (``None``: undecided), and on a difference an input vector in ``a``'s bit order."""

    equivalent: bool | None
    counterexample: np.ndarray | None
    status: str


def align_ports(b: Netlist, a: Netlist, pin: np.ndarray, pout: np.ndarray) -> Netlist:
    """``b`` with its input and output bits re-ordered into ``a``'s bus order (same function).

    ``pin``/``pout`` come from :func:`lutnn.verify.sat.check_interfaces`: ``b``'s input bit
    ``pin[j]`` is ``a``'s input bit ``j``.
    """
    n_in = b.n_inputs
    inv = np.empty(n_in, np.int64)
    inv[np.asarray(pin, np.int64)] = np.arange(n_in)
    remap = np.concatenate([inv, n_in + np.arange(b.n_nodes)])
    f = b.fanins.astype(np.int64)
    f = np.where(f >= 0, remap[np.where(f >= 0, f, 0)], -1)
    outs = remap[b.output_signals.astype(np.int64)[np.asarray(pout, np.int64)]]
    return Netlist(
        inputs=list(a.inputs),
        outputs=list(a.outputs),
        fanins=f.astype(b.fanins.dtype),
        arity=b.arity.copy(),
        tables=b.tables.copy(),
        output_signals=outs.astype(b.output_signals.dtype),
        name=b.name,
    ).validate()


def abc_cec(a: Netlist, b_aligned: Netlist, *, timeout: float | None = None) -> AbcVerdict:
    """Prove or refute ``a ≡ b_aligned`` with ABC (``b_aligned`` has ``a``'s port order: :func:`align_ports`)."""
    from lutnn.tools.yosys import run_yosys

    if a.n_outputs == 0:
        return AbcVerdict(True, None, "no outputs")
    with tempfile.TemporaryDirectory(prefix="lutnn_abccec_") as td:
        wd = Path(td)
        (wd / "gold.aig").write_bytes(format_aiger(a, symbols=False))
        (wd / "gate.aig").write_bytes(format_aiger(b_aligned, symbols=False))
        (wd / "stub.v").write_text(_STUB_V)
        (wd / "stub.blif").write_text(_STUB_BLIF)
        abc = "+miter,gold.aig,gate.aig;iprove;write_status,status.txt;read_blif,stub.blif"
        script = ["read_verilog stub.v", "techmap", f'abc -script "{abc}"']
        try:
            run_yosys("\n".join(script), wd, timeout=timeout, what="ABC equivalence check (miter + iprove)")
        except ToolError:
            if not (wd / "status.txt").exists():
                raise
        st = wd / "status.txt"
        if not st.exists():
            raise ToolError("ABC wrote no verdict (status file missing); see the Yosys log")
        lines = st.read_text(errors="replace").splitlines()
    status = lines[0].split()[0] if lines and lines[0].split() else ""
    if status == "snl_UNSAT":
        return AbcVerdict(True, None, status)
    if status == "snl_SAT":
        bits = next((ln.strip() for ln in lines[1:] if ln.strip() and set(ln.strip()) <= set("01")), "")
        cex = None
        if len(bits) == a.n_inputs:
            cex = np.frombuffer(bits.encode(), np.uint8) - ord("0")
        return AbcVerdict(False, cex, status)
    return AbcVerdict(None, None, status or "no status")  # undecided (resource limits): no disagreement
