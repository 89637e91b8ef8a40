"""Synthesis reports: the figures one Yosys/ABC (and nextpnr) run produced, as JSON and as a rich table."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from rich.table import Table

__all__ = ["SynthReport"]


@dataclass
class SynthReport:
    """What a synthesis flow produced.

    ``lut_count`` counts LUT cells of any size (``$lut``, ``LUT1..6``, ``SB_LUT4``, ``LUT4``);
    ``gate_count`` counts 2-input gate cells (AND/OR/XOR/MUX/… and their inversions, not NOT or
    buffers); ``depth`` is the longest input→output path in mapped cells (LUTs, gates, wide
    muxes), measured on the netlist read back; ``fmax_mhz`` comes from nextpnr (ice40/ecp5 flows
    with ``yowasp-nextpnr-*`` installed) on the design wrapped in input/output shift registers.
    """

    flow: str
    design: str
    tool: str
    version: str
    k: int
    lut_count: int = 0
    luts_by_size: dict[int, int] = field(default_factory=dict)
    gate_count: int = 0
    not_count: int = 0
    ff_count: int = 0
    cell_count: int = 0
    cells_by_type: dict[str, int] = field(default_factory=dict)
    depth: int | None = None
    fmax_mhz: float | None = None
    device: str | None = None
    router: str | None = None  # the nextpnr router that placed and routed it
    runtime_s: float = 0.0
    pnr_runtime_s: float | None = None
    input_nodes: int = 0
    engine: str = ""  # e.g. "yosys 0.70 (pyosys, native)"
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """JSON-ready dict (integer keys of ``luts_by_size`` become strings)."""
        d = asdict(self)
        d["luts_by_size"] = {str(k): v for k, v in sorted(self.luts_by_size.items())}
        return d

    def table(self, title: str | None = None) -> Table:
        """A two-column rich table of the report."""
        t = Table(title=title or f"synthesis: {self.design} ({self.flow})", show_header=True)
        t.add_column("figure")
        t.add_column("value", justify="right")
        rows: list[tuple[str, str]] = [
            ("flow", self.flow),
            ("tool", self.engine or f"{self.tool} {self.version}"),
            ("input LUT nodes", str(self.input_nodes)),
        ]
        if self.lut_count or self.flow in ("lut", "xilinx", "ice40", "ecp5"):
            by = ", ".join(f"{k}:{v}" for k, v in sorted(self.luts_by_size.items()))
            rows.append(("LUTs", f"{self.lut_count}" + (f"  ({by})" if by else "")))
        if self.gate_count or self.flow in ("gates", "aig"):
            rows.append(("2-input gates", str(self.gate_count)))
            rows.append(("inverters", str(self.not_count)))
        other = {k: v for k, v in self.cells_by_type.items() if v}
        rows.append(("cells", f"{self.cell_count}  ({', '.join(f'{k}:{v}' for k, v in sorted(other.items()))})"))
        if self.ff_count:
            rows.append(("flip-flops", str(self.ff_count)))
        rows.append(("depth", "-" if self.depth is None else str(self.depth)))
        if self.fmax_mhz is not None or self.device:
            rows.append(("Fmax", "-" if self.fmax_mhz is None else f"{self.fmax_mhz:.1f} MHz ({self.device})"))
        rows.append(
            (
                "runtime",
                f"{self.runtime_s:.1f} s" + (f" + P&R {self.pnr_runtime_s:.1f} s" if self.pnr_runtime_s else ""),
            )
        )
        for n in self.notes:
            rows.append(("note", n))
        for a, b in rows:
            t.add_row(a, b)
        return t
