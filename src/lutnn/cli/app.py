"""The typer application object and the shared rich console; command modules register on ``app``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from lutnn.errors import LutnnError

__all__ = ["app", "console", "err_console", "parent_dir"]

app = typer.Typer(
    name="lutnn",
    help="Circuits are neural networks: train LUT networks, compile to gates, binarize exactly, ship verified Verilog.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts mention TOML tables like [data]: print them literally
)
console = Console()
err_console = Console(stderr=True)  # errors go to stderr, results to stdout


def parent_dir(value: Path | list[Path] | None) -> Path | list[Path] | None:
    """Option callback for output files: create their parent folders while parsing, before any work."""
    for p in value if isinstance(value, list) else [value]:
        if p is None or p.parent == Path():
            continue
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise LutnnError(
                f"cannot create the folder {p.parent} for {p}: {e.strerror}; choose another path"
            ) from None
    return value


def _version(value: bool) -> None:
    if value:
        from lutnn import __version__

        console.print(f"lutnn {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="print the version and exit"
    ),
) -> None:
    """Circuits are neural networks: train LUT networks, compile to gates, binarize exactly, ship verified Verilog."""
