"""``lutnn explore SPACE.toml``: multi-objective design-space search (Optuna), resumable, scaling out on a database."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from lutnn.cli.app import app, console

__all__ = ["explore_cmd"]


@app.command("explore")
def explore_cmd(
    space: Path = typer.Argument(..., help="search space (TOML; see configs/explore/ and docs/explore.md)"),
    out: Path = typer.Option(..., "--out", "-o", help="run folder: study.db, trials/, front/, front.json, plots"),
    trials: int = typer.Option(None, "--trials", "-n", help="trials of the whole study (default [search] trials)"),
    jobs: int = typer.Option(1, "--jobs", "-j", help="trials at once on this machine (processes)"),
    storage: str = typer.Option(
        None,
        "--storage",
        help="Optuna RDB URL shared by many workers (postgresql://user@host/db); default DIR/study.db",
    ),
    no_front: bool = typer.Option(False, "--no-front", help="only run trials; leave the front to another worker"),
) -> None:
    """Search a space for the Pareto front of validation accuracy vs whole-design LUT6; re-run to resume."""
    from lutnn.explore.progress import ProgressDisplay
    from lutnn.explore.space import load_space
    from lutnn.explore.study import explore

    sp = load_space(space)
    n = trials or sp.options.trials
    console.print(
        f"exploring {space} ({sp.options.family}, {len(sp.params)} parameters, objectives "
        f"{', '.join(sp.options.objectives)}, cost estimate: {sp.options.cost}) → {out}, {n} trials, {jobs} job(s)",
        highlight=False,
    )
    res = explore(
        sp, out, n, jobs, storage, progress=ProgressDisplay(console, n, jobs, sp.options.cost), front=not no_front
    )
    c = res["counts"]
    console.print(f"study: {c.line()} (storage {res['storage']})", highlight=False)
    front = res["front"]
    if front is None:
        console.print("front not written (trials still running elsewhere, or --no-front); re-run to write it")
        return
    tab = Table(title=f"front: test accuracy from the netlist, whole design synthesised ({len(front)} points)")
    for col in ("trial", "validation", "test", "LUT6 whole", "depth", "netlist LUTs", "folder"):
        tab.add_column(col)
    for p in front:
        tab.add_row(
            str(p["trial"]),
            f"{100 * p['val_accuracy']:.2f}%",
            f"{100 * p['test_accuracy']:.2f}%",
            str(p["design_lut6"]),
            str(p["depth_lut"]),
            str(p["design_nodes"]),
            p["dir"],
        )
    console.print(tab)
    console.print(f"wrote {out}/front.json, trials.csv, front.png, report.html")
