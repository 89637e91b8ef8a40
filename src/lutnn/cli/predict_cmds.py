"""``lutnn predict RUN_DIR DATA``: a trained run's exact netlist on new data, one class label per row."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import typer
from rich.table import Table

from lutnn.cli.app import app, console, parent_dir

__all__ = ["predict"]


@app.command("predict")
def predict(
    run_dir: Path = typer.Argument(
        ..., help="run folder written by lutnn train / lutnn demo (report.json, netlist.blif)"
    ),
    data: Path = typer.Argument(..., help="new data: CSV with a header row, or NPZ with x (and optionally y)"),
    out: Path = typer.Option(
        None, "--out", "-o", help="write predictions here (CSV, one row per sample)", callback=parent_dir
    ),
    proba: bool = typer.Option(False, "--proba", help="add the head's per-class counts, normalised (p_<class>)"),
    label: str = typer.Option(None, "--label", help="label column of the CSV (default: the training label's column)"),
) -> None:
    """Predict classes for new data with the run's exact netlist; prints the accuracy when labels are present."""
    from lutnn.fileio import atomic_write
    from lutnn.predict import load, read_features

    m = load(run_dir)
    x, y = read_features(data, m, label=label)
    pred = m.predict(x)
    p = m.predict_proba(x) if proba else None
    if out is not None:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["prediction"] + ([f"p_{c}" for c in m.classes_] if p is not None else []))
        for i, c in enumerate(pred):
            w.writerow([c] + ([f"{v:.6g}" for v in p[i]] if p is not None else []))
        atomic_write(out, buf.getvalue())
    else:
        tab = Table(title=f"predictions of {run_dir} on {data} (first 10 of {len(pred)})")
        tab.add_column("row", justify="right")
        tab.add_column("prediction")
        if p is not None:
            for c in m.classes_:
                tab.add_column(f"p_{c}", justify="right")
        for i in range(min(10, len(pred))):
            tab.add_row(str(i + 1), str(pred[i]), *([f"{v:.3f}" for v in p[i]] if p is not None else []))
        console.print(tab)
    msg = f"{len(pred)} samples predicted by {m.netlist.n_nodes} LUTs ({run_dir / 'netlist.blif'})"
    if out is not None:
        msg += f" → {out}"
    console.print(msg, highlight=False)
    if y is not None and len(y):
        right = int((pred.astype(str) == y.astype(str)).sum())
        acc = right / len(y)
        console.print(f"accuracy {acc:.2%} ({right}/{len(y)} labels in {data})", highlight=False)
