"""No traceback, nothing lost, nothing left behind: CLI failures are one line, outputs are whole and tidy."""

from __future__ import annotations

import gzip
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lutnn.errors import LutnnError
from lutnn.fileio import atomic_write
from lutnn.formats import write_netlist
from lutnn.netlist import random_netlist

SRC = str(Path(__file__).resolve().parents[1] / "src")


def cli(capsys, monkeypatch, *args: str) -> tuple[int, str, str]:
    """Run ``lutnn ARGS`` through :func:`lutnn.cli.main` in-process → (exit code, stdout, stderr)."""
    from lutnn.cli import main

    monkeypatch.setattr(sys, "argv", ["lutnn", *map(str, args)])
    try:
        main()
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def one_line_error(code: int, err: str) -> str:
    assert code != 0, err
    assert "Traceback" not in err and "Aborted!" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    return lines[0]


@pytest.fixture
def netlist_file(tmp_path) -> Path:
    p = tmp_path / "n.json"
    write_netlist(random_netlist(8, 20, 4), p)
    return p


def test_output_path_that_is_a_directory(tmp_path, netlist_file, capsys, monkeypatch) -> None:
    d = tmp_path / "adir"
    d.mkdir()
    for args in (
        ("stats", netlist_file, "--json", d),
        ("verify", netlist_file, netlist_file, "--method", "exhaustive", "--json", d),
    ):
        line = one_line_error(*cli(capsys, monkeypatch, *args)[::2])
        assert "is a directory" in line and str(d) in line
    assert not [p for p in d.iterdir()] and not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_failed_export_leaves_no_complete_looking_output(tmp_path, netlist_file, capsys, monkeypatch) -> None:
    """``export --testbench`` into a folder fails: neither the .v nor the vector files appear."""
    d = tmp_path / "tb_is_a_dir"
    d.mkdir()
    code, _, err = cli(capsys, monkeypatch, "export", netlist_file, "-o", tmp_path / "a.v", "--testbench", d)
    assert "is a directory" in one_line_error(code, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n.json", "tb_is_a_dir"]


def test_damaged_vector_files(tmp_path, netlist_file, capsys, monkeypatch) -> None:
    np.savez(tmp_path / "v.npz", x=np.zeros((4, 8), np.uint8))
    (tmp_path / "trunc.npz").write_bytes((tmp_path / "v.npz").read_bytes()[:100])
    np.save(tmp_path / "v.npy", np.zeros((4, 8), np.uint8))
    b = (tmp_path / "v.npy").read_bytes()
    (tmp_path / "huge.npy").write_bytes(b.replace(b"(4, 8)", b"(10**9, 8)".replace(b"10**9", b"1000000000"), 1))
    for name, msg in (("trunc.npz", "damaged or truncated zip"), ("huge.npy", "header claims shape")):
        line = one_line_error(*cli(capsys, monkeypatch, "simulate", netlist_file, "-x", tmp_path / name)[::2])
        assert msg in line and name in line, line


def test_truncated_gzip_is_not_a_bare_aborted(tmp_path, capsys, monkeypatch) -> None:
    """A truncated MNIST .gz raised EOFError, which click printed as a bare "Aborted!"."""
    raw = gzip.compress(bytes([0, 0, 8, 1]) + (20).to_bytes(4, "big") + bytes(20))
    for f in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):  # fmt: skip
        (tmp_path / f).write_bytes(raw[: len(raw) - 12])
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[data]\nname = "mnist"\npath = "{tmp_path}"\n[train]\nepochs = 1\n')
    line = one_line_error(*cli(capsys, monkeypatch, "train", cfg, "--out", tmp_path / "run", "--no-synth")[::2])
    assert "cannot read MNIST file" in line and "EOFError" in line
    assert not (tmp_path / "run").exists()


def test_unexpected_exceptions_are_one_line(capsys, monkeypatch) -> None:
    import lutnn.cli.netlist_cmds as nc

    def boom(*a, **k):
        raise EOFError("stdin closed")

    monkeypatch.setattr(nc, "read_cli_netlist", boom)
    line = one_line_error(*cli(capsys, monkeypatch, "stats", "x.json")[::2])
    assert "ended early" in line

    def boom2(*a, **k):
        raise PermissionError(13, "Permission denied", "/some/file")

    monkeypatch.setattr(nc, "read_cli_netlist", boom2)
    line = one_line_error(*cli(capsys, monkeypatch, "stats", "x.json")[::2])
    assert "/some/file: Permission denied; check its permissions" in line


def test_outputs_follow_the_umask_and_keep_permissions(tmp_path) -> None:
    old = os.umask(0o022)
    try:
        new = atomic_write(tmp_path / "new.txt", "x")
        assert stat.S_IMODE(new.stat().st_mode) == 0o644
        os.umask(0o027)
        assert stat.S_IMODE(atomic_write(tmp_path / "new2.txt", "x").stat().st_mode) == 0o640
        os.chmod(new, 0o664)
        atomic_write(new, "y")  # replacing keeps the file's permissions
        assert stat.S_IMODE(new.stat().st_mode) == 0o664 and new.read_text() == "y"
    finally:
        os.umask(old)


def test_kill_9_leaves_no_temp_file_after_the_next_write(tmp_path) -> None:
    """A writer killed mid-write leaves ``.NAME.<pid>.*.tmp``; the next write of that output removes it."""
    out = tmp_path / "out.json"
    code = (
        "import time\nfrom lutnn.fileio import atomic_open\n"
        f"with atomic_open({str(out)!r}) as fh:\n    fh.write('half'); fh.flush(); print('ready', flush=True); time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": SRC})
    assert proc.stdout.readline().strip() == b"ready"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # the orphan exists ...
    atomic_write(out, "whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"] and out.read_text() == "whole"  # ... and is gone


def test_scratch_folders_of_killed_processes_are_removed(tmp_path) -> None:
    import tempfile

    from lutnn.fileio import temp_dir

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    stale = Path(tempfile.gettempdir()) / f"lutnn_synth_{proc.pid}_test"
    stale.mkdir(exist_ok=True)
    (stale / "design.blif").write_text("x")
    with temp_dir("lutnn_synth_") as td:
        assert Path(td).name.startswith(f"lutnn_synth_{os.getpid()}_")
    assert not stale.exists() and not Path(td).exists()


def test_all_or_nothing_writes_no_file_when_the_block_fails(tmp_path) -> None:
    from lutnn.fileio import all_or_nothing

    (tmp_path / "a.v").write_text("old")
    with pytest.raises(RuntimeError):
        with all_or_nothing():
            atomic_write(tmp_path / "a.v", "new")
            atomic_write(tmp_path / "b.hex", "new")
            raise RuntimeError
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.v"] and (tmp_path / "a.v").read_text() == "old"


def test_two_runs_into_one_folder(tmp_path) -> None:
    """A locked run folder refuses a second run; a non-empty folder needs --resume or --force."""
    from lutnn.fileio import folder_lock
    from lutnn.lutnet.config import RunConfig
    from lutnn.pipeline import run_pipeline

    out = tmp_path / "run"
    out.mkdir()
    with folder_lock(out):
        code = f"from lutnn.fileio import folder_lock\nwith folder_lock({str(out)!r}): pass\n"
        r = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": SRC}
        )
        assert r.returncode != 0 and "in use by another lutnn process" in r.stderr
    (out / "report.json").write_text("{}")
    with pytest.raises(LutnnError, match=r"already holds report\.json.*--resume.*--force"):
        run_pipeline(RunConfig(), out)
    assert (out / "report.json").read_text() == "{}"


def test_cli_train_refuses_a_used_folder_without_force(tmp_path, capsys, monkeypatch) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "checkpoint.pt").write_text("old")
    cfg = tmp_path / "c.toml"
    cfg.write_text("[model]\nlayers = [50, 10]\n[train]\nepochs = 1\n[export]\nsynth = false\nhdl_sim = false\n")
    line = one_line_error(*cli(capsys, monkeypatch, "train", cfg, "--out", out)[::2])
    assert "--force" in line and (out / "checkpoint.pt").read_text() == "old"
