"""Command-line interface (``lutnn ...``): thin wrappers that parse, call the library, print rich tables.

Each command group lives in its own module and registers on :data:`lutnn.cli.app.app`.
"""

from __future__ import annotations

import errno
import os
import sys
import traceback
from pathlib import Path
from typing import NoReturn

from rich.markup import escape

# command modules (importing registers their commands)
from lutnn.cli import (
    bnn_cmds,  # noqa: F401  bnn
    compile_cmds,  # noqa: F401  qat, compile, draw
    explore_cmds,  # noqa: F401  explore
    netlist_cmds,  # noqa: F401  stats, simulate, export, synth, verify
    predict_cmds,  # noqa: F401  predict
    study_cmds,  # noqa: F401  measure, study
    train_cmds,  # noqa: F401  train, demo
)
from lutnn.cli.app import app, console, err_console
from lutnn.errors import LutnnError

__all__ = ["app", "main"]


def _oserror_line(e: OSError) -> str:
    """One line for a failed file operation: the file, the problem, the fix."""
    fixes = {
        errno.EACCES: "check its permissions or choose another path",
        errno.EPERM: "check its permissions or choose another path",
        errno.EISDIR: "it is a directory; give a file name",
        errno.ENOTDIR: "a part of the path is a file, not a directory; check the path",
        errno.ENOENT: "check the path",
        errno.ENOSPC: "the disk is full; free space or choose another disk",
        errno.EROFS: "the file system is read-only; choose another path",
        errno.EEXIST: "it already exists; remove it or choose another path",
    }
    where = " -> ".join(str(f) for f in (e.filename, e.filename2) if f is not None) or "a file"
    return f"{where}: {e.strerror or type(e).__name__}; {fixes.get(e.errno, 'check the path and try again')}"


def _fail(msg: str, code: int = 1) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {escape(msg)}", highlight=False, soft_wrap=True)
    sys.exit(code)


def main() -> None:
    """Entry point: every failure becomes one red line on stderr and a non-zero exit code, never a traceback.

    :class:`LutnnError` exits 1, Ctrl-C 130. Other exceptions are bugs or unchecked inputs: they are
    printed as one line too; ``LUTNN_TRACEBACK=1`` shows the traceback for a bug report.
    """
    import typer

    debug = os.environ.get("LUTNN_TRACEBACK", "") not in ("", "0")
    try:
        try:
            code = app(standalone_mode=False)  # standalone mode would turn EOFError into a bare "Aborted!"
        except typer.Abort as e:
            raise (e.__cause__ or KeyboardInterrupt()) from None
        if code == 130:  # typer's answer to Ctrl-C
            raise KeyboardInterrupt
        if isinstance(code, int) and code:
            sys.exit(code)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.exceptions.TyperException as e:  # usage errors: the parser's own message, exit code 2
        show = getattr(e, "show", None)
        if show is None:
            raise
        show()
        sys.exit(getattr(e, "exit_code", 2))
    except LutnnError as e:
        _fail(str(e))
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        sys.exit(130)
    except SystemExit:
        raise
    except OSError as e:
        if debug:
            raise
        _fail(_oserror_line(e))
    except EOFError as e:
        if debug:
            raise
        _fail(f"an input ended early ({e or 'EOFError'}); the file is truncated or stdin was closed: check the input")
    except MemoryError:
        if debug:
            raise
        _fail("out of memory; use a smaller input or model, or a machine with more memory")
    except Exception as e:
        if debug:
            raise
        where = traceback.extract_tb(e.__traceback__)[-1]
        _fail(
            f"internal error {type(e).__name__}: {str(e)[:200]} (at {Path(where.filename).name}:{where.lineno}); "
            "please report it with the command you ran (LUTNN_TRACEBACK=1 shows the traceback)"
        )
