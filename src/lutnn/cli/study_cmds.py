"""``lutnn measure FILE`` (Boolean-function measures of a circuit or a trained run) and ``lutnn study SPEC``."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from lutnn.cli.app import app, console, err_console
from lutnn.errors import LutnnError

__all__ = ["measure", "study"]


@app.command()
def measure(
    file: Path = typer.Argument(..., help="circuit (.blif/.aig/.aag/.json/.v) or a run folder (checkpoint.pt)"),
    samples: int = typer.Option(65536, "--samples", "-n", help="Monte-Carlo samples when n > 20 (exact below)"),
    flip_rate: list[str] = typer.Option(
        None, "--flip-rate", "-p", help="noise-stability flip rate in (0, 0.5]; repeat (default 0.01 0.05 0.1)"
    ),
    seed: int = typer.Option(0, "--seed", help="random seed (the same seed gives the same numbers)"),
    json_out: bool = typer.Option(False, "--json", help="print exactly one JSON object on stdout"),
    data: str = typer.Option("test", "--data", help="run folder: measure on the encoded test or train inputs"),
    latches: str = typer.Option("error", "--latches", help="AIGER latches: error, or cut"),
    top: str | None = typer.Option(None, "--top", help="Verilog input: the top module"),
) -> None:
    """Influences, total influence (average sensitivity) and noise stability of f: {0,1}^n → {0,1}^m.

    x is uniform over {0,1}^n (every x when n ≤ 20); for a run folder x is the encoded data and
    f the predicted class. Definitions: docs/measures.md.
    """
    from lutnn.study.measure import measure_netlist, parse_flip_rates

    rates = parse_flip_rates(flip_rate or None)  # bad rates fail before any reading
    if seed < 0:
        raise LutnnError(f"--seed {seed} must be a non-negative integer")
    if data not in ("test", "train"):
        raise LutnnError(f"--data {data!r} must be test or train")
    keys = [k for k, _ in rates]
    if file.is_dir():
        from lutnn.study.network import load_run, measure_run

        log = err_console if json_out else console
        log.print(f"loading {file} …")
        m, _nl = measure_run(load_run(file), data=data, flip_rates=keys, seed=seed)
        name = f"{file} ({data} data, f = predicted class)"
    else:
        from lutnn.cli.netlist_cmds import read_cli_netlist

        nl = read_cli_netlist(file, top, latches)
        m = measure_netlist(nl, samples=samples, flip_rates=keys, seed=seed)
        name = f"{file.name}: {nl.name}"
    d = m.as_dict()
    if json_out:
        typer.echo(json.dumps(d))
        return
    how = "every x" if m.distribution == "uniform" else "every data row"
    t = Table(title=f"{name}, {how if m.exact else f'{m.samples} samples (seed {seed})'}")
    t.add_column("measure")
    t.add_column("value", justify="right")
    t.add_row("inputs n / outputs m", f"{m.n_inputs} / {m.n_outputs}")
    t.add_row("distribution", f"{m.distribution}, {m.samples} samples" + (" (exact)" if m.exact else ""))
    t.add_row(
        "total influence (avg sensitivity)",
        f"{m.total_influence:.6g}" + (f" ± {m.total_influence_stderr:.2g}" if m.total_influence_stderr else ""),
    )
    t.add_row("total influence / n", f"{m.avg_sensitivity:.6g}")
    inf = m.influences
    top_i = sorted(range(len(inf)), key=lambda i: -inf[i])[:5]
    t.add_row("largest influences", ", ".join(f"x{i}: {inf[i]:.4g}" for i in top_i))
    t.add_row("inputs with influence 0", str(sum(v == 0 for v in inf)))
    for k in keys:
        se = m.noise_stability_stderr.get(k, 0.0)
        t.add_row(
            f"noise stability p={k}",
            f"{m.noise_stability[k]:.6g}" + (" (exact)" if m.noise_stability_exact else f" ± {se:.2g}"),
        )
    console.print(t)


@app.command()
def study(
    spec: Path = typer.Argument(..., help="study SPEC (TOML; see studies/ and lutnn.study.grid)"),
    out: Path = typer.Option(..., "--out", "-o", help="study folder (resumable: finished networks are kept)"),
    report_only: bool = typer.Option(False, "--report-only", help="write the report from finished networks only"),
    limit: int | None = typer.Option(None, "--limit", help="train at most this many new networks this time"),
    intro: Path | None = typer.Option(None, "--intro", help="markdown to put under the report's title (a summary)"),
    report: Path | None = typer.Option(None, "--report", help="where to write the report (default OUT/report.md)"),
    extra: list[Path] = typer.Option(
        None, "--with", help="another study folder to include in the report (repeat): one report over several"
    ),
) -> None:
    """Train the grid (encoding × connectivity × K × shape × seeds), measure every network, write report.md."""
    from lutnn.study.grid import load_results, load_spec, run_study
    from lutnn.study.report import write_report

    sp = load_spec(spec)
    if not report_only:
        run_study(sp, out, log=lambda s: console.print(s, highlight=False), limit=limit)
    folders = [out, *(extra or [])]
    for f in folders:
        if not load_results(f):
            raise LutnnError(f"{f}: no finished networks (runs/*/result.json); run lutnn study without --report-only")
    cmd = f"lutnn study {spec} --out {out}" + "".join(f" --with {f}" for f in extra or [])
    if intro is not None:
        from lutnn.fileio import check_readable

        check_readable(intro, "intro markdown")
        cmd += f" --intro {intro}"
    if report is not None:
        cmd += f" --report {report}"
    text = intro.read_text() if intro is not None else ""
    path = write_report(folders, report or out / "report.md", command=cmd, intro=text)
    console.print(f"wrote {path}")
