"""Command-line interface (``lutnn ...``): thin wrappers that parse, call the library, print rich tables.

Each command group lives in its own module and registers on :data:`lutnn.cli.app.app`.
"""

from __future__ import annotations

import sys

from rich.markup import escape

# command modules (importing registers their commands)
from lutnn.cli import (
    bnn_cmds,  # noqa: F401  bnn
    compile_cmds,  # noqa: F401  qat, compile, draw
    explore_cmds,  # noqa: F401  explore
    netlist_cmds,  # noqa: F401  stats, simulate, export, synth, verify
    train_cmds,  # noqa: F401  train, demo
)
from lutnn.cli.app import app, console, err_console
from lutnn.errors import LutnnError

__all__ = ["app", "main"]


def main() -> None:
    """Entry point: run the app; a :class:`LutnnError` becomes one red line and exit code 1."""
    try:
        app()
    except LutnnError as e:
        err_console.print(f"[bold red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        sys.exit(130)
