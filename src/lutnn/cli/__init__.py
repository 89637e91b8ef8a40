"""Command-line interface (``lutnn ...``): thin wrappers that parse, call the library, print rich tables.

Each command group lives in its own module and registers on :data:`lutnn.cli.app.app`.
"""

from __future__ import annotations

import sys

from lutnn.cli.app import app, console
from lutnn.errors import LutnnError

# command modules (importing registers their commands)
from lutnn.cli import netlist_cmds  # noqa: E402,F401  stats, simulate, export, synth, verify
from lutnn.cli import train_cmds  # noqa: E402,F401  train, demo
from lutnn.cli import compile_cmds  # noqa: E402,F401  qat, compile, draw
from lutnn.cli import bnn_cmds  # noqa: E402,F401  bnn

__all__ = ["app", "main"]


def main() -> None:
    """Entry point: run the app; a :class:`LutnnError` becomes one red line and exit code 1."""
    try:
        app()
    except LutnnError as e:
        console.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        sys.exit(130)
