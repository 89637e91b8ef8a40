"""The typer application object and the shared rich console; command modules register on ``app``."""

from __future__ import annotations

import typer
from rich.console import Console

__all__ = ["app", "console", "err_console"]

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
