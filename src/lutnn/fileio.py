"""Output files are written to a temporary name and renamed, so a failure never leaves half a file.

* Outputs get the permissions a plain ``open()`` would give: the umask's for a new file, the old
  file's when one is replaced (``mkstemp`` alone would make every output 0600).
* Temporary names carry the writer's process id (``.NAME.<pid>.<random>.tmp``); a writer killed
  with ``kill -9`` leaves one behind, and the next write of the same output removes it.
* :func:`all_or_nothing` groups the outputs of one command: they appear together when the block
  succeeds and none appears when it fails (no complete-looking ``.v`` beside a failed testbench).
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from lutnn.errors import LutnnError

__all__ = [
    "all_or_nothing",
    "atomic_open",
    "atomic_write",
    "check_readable",
    "check_writable",
    "clean_stale_temps",
    "folder_lock",
    "json_default",
    "pid_alive",
    "temp_dir",
]

_group: contextvars.ContextVar[list[tuple[str, Path]] | None] = contextvars.ContextVar("lutnn_out_group", default=None)


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (``/proc/self/status``)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    old = os.umask(0o022)
    os.umask(old)
    return old


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (one we may not signal counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_temps(path: str | os.PathLike, prefix: str | None = None, suffix: str = ".tmp") -> int:
    """Remove temporaries ``<prefix><pid>.*<suffix>`` beside ``path`` whose writer process is gone; return how many."""
    p = Path(path)
    prefix = prefix if prefix is not None else f".{p.name}."
    removed = 0
    with contextlib.suppress(OSError):
        for q in (p.parent if str(p.parent) else Path(".")).iterdir():
            name = q.name
            if not (name.startswith(prefix) and name.endswith(suffix)):
                continue
            pid = name[len(prefix) :].split(".", 1)[0].split("_", 1)[0]
            if pid.isdigit() and not pid_alive(int(pid)):
                with contextlib.suppress(OSError):
                    if q.is_dir() and not q.is_symlink():
                        import shutil

                        shutil.rmtree(q, ignore_errors=True)
                    else:
                        q.unlink()
                    removed += 1
    return removed


@contextlib.contextmanager
def temp_dir(prefix: str) -> Iterator[str]:
    """A scratch folder ``<tmp>/<prefix><pid>_*``, removed on exit; folders of killed processes go on the next call."""
    clean_stale_temps(Path(tempfile.gettempdir()) / prefix, prefix=prefix, suffix="")
    with tempfile.TemporaryDirectory(prefix=f"{prefix}{os.getpid()}_") as td:
        yield td


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike, fix: str = "wait for it or choose another --out folder") -> Iterator[None]:
    """Hold an exclusive lock on ``folder/.lock`` (fcntl) for the block; a second holder is refused at once."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    lock = Path(folder) / ".lock"
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
    except OSError as e:
        raise LutnnError(f"cannot lock {folder}: {e.strerror} ({lock}); choose another folder") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise LutnnError(f"{folder} is in use by another lutnn process (lock {lock}); {fix}") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)


def check_writable(path: str | os.PathLike) -> Path:
    """Refuse an output path that is a folder or lies in a missing or unwritable folder (before any work)."""
    p = Path(path)
    if p.is_dir():
        raise LutnnError(f"cannot write {p}: it is a directory; give a file name (e.g. {p / 'out'}...)")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        raise LutnnError(f"cannot write {p}: directory {parent} does not exist (create it first)")
    if not parent.is_dir():
        raise LutnnError(f"cannot write {p}: {parent} is a file, not a directory; choose another path")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise LutnnError(
            f"cannot write {p}: directory {parent} is not writable; choose another path or fix its permissions"
        )
    return p


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file beside ``path``; rename it over ``path`` only if the block succeeds."""
    p = check_writable(path)
    clean_stale_temps(p)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.{os.getpid()}.", suffix=".tmp", dir=p.parent or ".")
    except OSError as e:
        raise LutnnError(f"cannot write {p}: {e.strerror}; choose another path or fix the folder") from None
    try:
        try:
            mode_bits = stat.S_IMODE(os.stat(p).st_mode)  # replacing a file keeps its permissions
        except OSError:
            mode_bits = 0o666 & ~_umask()
        os.fchmod(fd, mode_bits)
        with os.fdopen(fd, mode) as fh:
            yield fh
        pending = _group.get()
        if pending is not None:
            pending.append((tmp, p))  # renamed when the all_or_nothing block succeeds
        else:
            _replace(tmp, p)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _replace(tmp: str, p: Path) -> None:
    try:
        os.replace(tmp, p)
    except OSError as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if e.errno == errno.EISDIR or p.is_dir():
            raise LutnnError(f"cannot write {p}: it is a directory; give a file name") from None
        raise LutnnError(f"cannot write {p}: {e.strerror}; choose another path or fix the folder") from None


@contextlib.contextmanager
def all_or_nothing() -> Iterator[None]:
    """Outputs written in this block appear together at its end, or not at all when it raises."""
    if _group.get() is not None:  # nested: the outer block decides
        yield
        return
    pending: list[tuple[str, Path]] = []
    token = _group.set(pending)
    try:
        yield
    except BaseException:
        for tmp, _ in pending:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        raise
    finally:
        _group.reset(token)
    for i, (tmp, p) in enumerate(pending):
        try:
            _replace(tmp, p)
        except BaseException:
            for t, _ in pending[i + 1 :]:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(t)
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


def json_default(o: object) -> object:
    """``json.dumps(default=…)`` for numpy values: scalars and arrays as Python numbers and lists, else ``str``."""
    return o.tolist() if hasattr(o, "tolist") else str(o)
