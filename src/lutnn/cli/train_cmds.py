"""``lutnn train CONFIG`` and ``lutnn demo``: train a LUT network, export it, verify it, synthesise it."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from lutnn.cli.app import app, console
from lutnn.lutnet.config import RunConfig, load_config
from lutnn.pipeline import run_pipeline

__all__ = ["demo", "train"]


def _pct(v) -> str:
    return "—" if v is None else f"{100 * v:.2f}%"


def _summary(rep: dict, out: Path) -> None:
    acc, luts, tm = rep["accuracy"], rep["luts"], rep["timings"]
    tab = Table(title=f"LUT network on {rep['dataset']['name']} ({rep['dataset']['test']} test samples)")
    tab.add_column("stage")
    tab.add_column("result", justify="right")
    tab.add_column("time", justify="right")
    tab.add_row(
        "train (PyTorch, inference mode)", f"test accuracy {_pct(acc['pytorch'])}", f"{tm.get('train_s', 0):.1f} s"
    )
    nv = rep["netlist_vs_pytorch"]
    tab.add_row(
        "compile → LUT netlist",
        f"{luts['design_nodes']} LUTs (core {luts['core_nodes']}), depth {luts['design_depth']}",
        f"{tm.get('compile_s', 0):.2f} s",
    )
    tab.add_row(
        "netlist vs PyTorch (whole test set)",
        f"{_pct(acc['netlist'])}, {nv['disagreements']} disagreements / {nv['samples']}",
        f"{tm.get('netlist_check_s', 0):.2f} s",
    )
    if "hdl" in rep:
        h = rep["hdl"]
        tab.add_row(
            f"Verilog in {h['simulator']} vs netlist",
            f"{_pct(acc['verilog'])}, {h['mismatches_vs_netlist']} mismatches / {h['vectors']}",
            f"{tm.get('verilog_s', 0) + tm.get('hdl_sim_s', 0):.1f} s",
        )
    if luts.get("design_lut6") is not None:
        timing = rep.get("timing") or {}
        d = timing.get("depth_lut")
        parts = luts.get("design_lut6_parts") or {}
        tab.add_row(
            f"synthesis ({luts['tool']})",
            f"whole {luts['design_lut6']} LUT6"
            + (" (" + " + ".join(f"{k} {v}" for k, v in parts.items()) + ")" if parts else "")
            + (f", depth {d}" if d else ""),
            f"{tm.get('synth_design_s', 0) + tm.get('synth_core_s', 0):.1f} s",
        )
        if timing.get("latency_cycles") or timing.get("fmax_mhz"):
            fm = timing.get("fmax_mhz")
            tab.add_row(
                "timing",
                (f"Fmax {fm} MHz ({timing.get('fmax_device')}), " if fm else "")
                + f"latency {timing['latency_cycles']} cycles, {timing['ff']} FFs",
                "",
            )
    tab.add_row("[bold]total", "", f"[bold]{sum(v for v in tm.values()):.1f} s")
    console.print(tab)
    files = ["checkpoint.pt", *(rep["files"][k] for k in ("netlist", "core", "verilog") if k in rep["files"])]
    console.print(f"outputs in {out}: {', '.join(files)}, report.json, accuracy.png")
    if rep.get("classes"):
        meaning = ", ".join(f"{i} = {c}" for i, c in enumerate(rep["classes"]))
        console.print(f"class_index: {meaning}", highlight=False, soft_wrap=True)


@app.command("train")
def train(
    config: Path = typer.Argument(..., help="run configuration (TOML or YAML; see configs/)"),
    out: Path = typer.Option(None, "--out", "-o", help="output folder (default runs/<config name>)"),
    resume: bool = typer.Option(False, "--resume", help="continue from the folder's checkpoint.pt"),
    force: bool = typer.Option(False, "--force", help="write into an --out folder that already holds a run"),
    epochs: int = typer.Option(None, "--epochs", help="override train.epochs"),
    device: str = typer.Option(None, "--device", help="override train.device (auto, cpu, cuda)"),
    data_path: str = typer.Option(None, "--data-path", help="override data.path (dataset file or folder)"),
    no_synth: bool = typer.Option(False, "--no-synth", help="skip Yosys synthesis"),
    no_hdl: bool = typer.Option(False, "--no-hdl", help="skip the HDL simulation of design.v"),
) -> None:
    """Train a LUT network from a config, export netlist + Verilog, verify both, synthesise, report."""
    cfg = load_config(config)
    if epochs is not None:
        cfg.train.epochs = epochs
        cfg.unset.discard("train.epochs")
    if device is not None:
        cfg.train.device = device
    if data_path is not None:
        cfg.data.path = data_path
    if no_synth:
        cfg.export.synth = None
    if no_hdl:
        cfg.export.hdl_sim = None
    cfg.check(str(config))
    out = out or Path("runs") / config.stem
    _summary(run_pipeline(cfg, out, resume=resume, title=config.stem, console=console, force=force), out)


def demo_config() -> RunConfig:
    """The README's main run: digits, a small thermometer-encoded LUT6 network (see configs/digits.toml)."""
    here = Path(__file__).resolve().parents[3] / "configs" / "digits.toml"
    if here.exists():
        return load_config(here)
    from lutnn.lutnet.config import EncoderConfig, ExportConfig, ModelConfig, TrainConfig

    return RunConfig(  # configs/digits.toml, for an installed package without the repository's configs/
        encoder=EncoderConfig(kind="quantile", levels=4),
        model=ModelConfig(layers=[350], k=6, connectivity="learned", candidates=8, tau=2.5053059499027364, smooth=0.0),
        train=TrainConfig(epochs=40, batch_size=32, lr=0.018892081869380906),
        export=ExportConfig(hdl_vectors=450),
    )


@app.command("demo")
def demo(
    out: Path = typer.Option(Path("runs/demo"), "--out", "-o", help="output folder"),
    epochs: int = typer.Option(None, "--epochs", help="override the number of epochs"),
    no_synth: bool = typer.Option(False, "--no-synth", help="skip Yosys synthesis"),
) -> None:
    """Train a LUT network on the embedded digits data, export + verify + synthesise it, print one table."""
    cfg = demo_config()
    if epochs is not None:
        cfg.train.epochs = epochs
    if no_synth:
        cfg.export.synth = None
    _summary(run_pipeline(cfg, out, title="lutnn demo", console=console, force=True), out)  # demo: rewritten
