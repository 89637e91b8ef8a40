"""The files a Verilog design may pull in: only plain-named neighbours, never any other path.

Yosys resolves `` `include "f" `` and ``$readmemh("f", mem)`` / ``$readmemb`` against the file
system, so reading an untrusted design could pull in any readable file on the machine. lutnn
hands Yosys a private folder holding copies of the design and of the files it names, and only
when each name is a plain file name (letters, digits, ``_ . + -``; no folder, no ``..``) that
exists beside the design. Every other form is refused with a clear error: another path, an
include whose name comes from a macro, token pasting (``````, which could build such a name),
and system tasks that open files (``$fopen``, ``$fread``, ``$fscanf``, ...). Included files
are checked by the same rule, recursively.
"""

from __future__ import annotations

import re
from pathlib import Path

from lutnn.errors import FormatError

__all__ = ["MAX_SOURCE_BYTES", "collect_sources"]

#: all files of one design together
MAX_SOURCE_BYTES = 256 << 20
_PLAIN = re.compile(r"^[A-Za-z0-9_.+\-]+$")
_INCLUDE = re.compile(r"`include\b(\s*)(\"([^\"\n]*)\"|<[^>\n]*>|\S*)")
_READMEM = re.compile(r"\$readmem[hb]\s*\(\s*(\"([^\"\n]*)\"|[^,)]*)")
_FILE_TASKS = re.compile(
    r"\$(fopen|fread|fgets|fgetc|fscanf|sscanf|ungetc|frewind|fseek|sdf_annotate|dumpfile|writemem[hb]|system)\b"
)


def _plain(name: str) -> bool:
    return bool(_PLAIN.match(name)) and name not in (".", "..")


def _beside(where: Path | str, base: Path, name: str | None, refused: str, missing: str) -> Path:
    """The file ``name`` in the design's folder, or a one-line error: not a plain name, or not there."""
    if name is None or not _plain(name):
        raise FormatError(where, refused)
    q = base / name
    if not q.is_file():
        raise FormatError(where, missing)
    return q


def collect_sources(path: Path, local_name: str) -> dict[str, bytes]:
    """``{name in the private folder: bytes}`` for the design at ``path`` and every file it may read."""
    base = path.parent
    out: dict[str, bytes] = {}
    total = 0
    # (name, file, include depth, Verilog to scan for more files; $readmem data files are not scanned)
    todo: list[tuple[str, Path, int, bool]] = [(local_name, path, 0, True)]
    while todo:
        name, p, depth, verilog = todo.pop()
        if name in out:
            continue
        if depth > 16:
            raise FormatError(path, f"`include nesting deeper than 16 levels at {name}")
        data = p.read_bytes()
        total += len(data)
        if total > MAX_SOURCE_BYTES:
            raise FormatError(path, f"the design and the files it reads exceed {MAX_SOURCE_BYTES >> 20} MiB")
        out[name] = data
        if not verilog:
            continue
        text = data.decode("utf-8", "replace")
        where = path if depth == 0 else f"{path} (via {name})"
        if "``" in text:
            raise FormatError(where, "macro token pasting (``) is not accepted in designs lutnn reads; expand it")
        m = _FILE_TASKS.search(text)
        if m:
            raise FormatError(where, f"${m.group(1)} opens files; lutnn reads synthesizable combinational logic only")
        for m in _INCLUDE.finditer(text):
            inc = m.group(3)
            q = _beside(
                where,
                base,
                inc,
                f"`include {m.group(2)[:80]!r} refused: only a plain file name beside the design may be "
                "included (no folders, no macros)",
                f'`include "{inc}": no such file beside the design',
            )
            todo.append((inc, q, depth + 1, True))
        for m in _READMEM.finditer(text):
            f = m.group(2)
            q = _beside(
                where,
                base,
                f,
                f"$readmem of {m.group(1).strip()[:80]!r} refused: only a plain file name beside the design "
                "may be read (a string literal, no folders)",
                f'$readmem file "{f}": no such file beside the design',
            )
            todo.append((f, q, depth, False))
    return out
