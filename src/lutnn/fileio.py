"""Output files are written to a temporary name and renamed, so a failure never leaves half a file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from lutnn.errors import LutnnError

__all__ = ["atomic_open", "atomic_write", "check_readable"]


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file beside ``path``; rename it over ``path`` only if the block succeeds."""
    p = Path(path)
    if p.parent and not p.parent.exists():
        raise LutnnError(f"cannot write {p}: directory {p.parent} does not exist (create it first)")
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent or ".")
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_open(path, "wb" if isinstance(data, bytes) else "w") as fh:
        fh.write(data)
    return Path(path)


def check_readable(path: str | os.PathLike, what: str = "file") -> Path:
    """Return ``Path(path)`` or raise a clear error when it is missing or a directory."""
    p = Path(path)
    if not p.exists():
        raise LutnnError(f"{what} not found: {p} (check the path)")
    if p.is_dir():
        raise LutnnError(f"{what} {p} is a directory; give a file")
    return p
