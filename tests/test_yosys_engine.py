"""The Yosys adapter: native engine (pyosys in a child process) reported, time-outs kill the child, logs kept."""

from __future__ import annotations

import os
import time

import pytest

from lutnn.errors import LutnnError, ToolError
from lutnn.tools.yosys import _have_pyosys, run_yosys, yosys_engine, yosys_tool

needs_pyosys = pytest.mark.skipif(not _have_pyosys(), reason="pyosys not installed")


@needs_pyosys
def test_native_engine_is_default_and_reported(monkeypatch):
    monkeypatch.delenv("LUTNN_YOSYS_ENGINE", raising=False)
    monkeypatch.delenv("LUTNN_YOSYS", raising=False)
    assert yosys_engine() == "pyosys"
    tool = yosys_tool()
    assert tool.startswith("yosys 0.") and tool.endswith("(pyosys, native)")


def test_bad_engine_name_is_refused(monkeypatch):
    monkeypatch.setenv("LUTNN_YOSYS_ENGINE", "verific")
    with pytest.raises(LutnnError, match="LUTNN_YOSYS_ENGINE"):
        yosys_engine()


@needs_pyosys
def test_native_run_maps_with_abc_and_keeps_log(tmp_path, monkeypatch):
    monkeypatch.delenv("LUTNN_YOSYS_ENGINE", raising=False)
    (tmp_path / "t.v").write_text("module t(input [3:0] a, b, output [4:0] y); assign y = a + b; endmodule\n")
    log = run_yosys("read_verilog t.v\nsynth -top t\nabc -lut 4\ntee -q -o stat.txt stat", tmp_path)
    assert "ABC" in log and (tmp_path / "yosys.log").exists()
    assert "$lut" in (tmp_path / "stat.txt").read_text()


@needs_pyosys
def test_native_failure_raises_with_log_tail(tmp_path, monkeypatch):
    monkeypatch.delenv("LUTNN_YOSYS_ENGINE", raising=False)
    (tmp_path / "bad.v").write_text("module t(input a, output y); assign y = a &; endmodule\n")
    with pytest.raises(ToolError, match=r"syntax error|failed"):
        run_yosys("read_verilog bad.v", tmp_path)
    assert (tmp_path / "yosys.log").read_text().strip()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@needs_pyosys
def test_timeout_kills_the_child(tmp_path, monkeypatch):
    """A Yosys run past its time-out is stopped: ToolError, and no Yosys child left behind."""
    monkeypatch.delenv("LUTNN_YOSYS_ENGINE", raising=False)
    # a 64x64 multiplier mapped three times takes far longer than 2 s, even on an idle machine
    (tmp_path / "m.v").write_text("module m(input [63:0] a, b, output [127:0] y); assign y = a * b; endmodule\n")
    before = set(os.listdir("/proc"))
    t0 = time.perf_counter()
    with pytest.raises(ToolError, match="did not finish within 2 s"):
        run_yosys("read_verilog m.v\nsynth -top m\nabc -lut 6\nabc -lut 4\nabc -lut 6", tmp_path, timeout=2)
    assert time.perf_counter() - t0 < 15
    new = [int(p) for p in set(os.listdir("/proc")) - before if p.isdigit()]
    time.sleep(0.2)
    stray = []
    for pid in new:
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read()
        except OSError:
            continue
        if (b"pyosys" in cmd or b"yosys-abc" in cmd) and _alive(pid):
            stray.append(pid)
    assert not stray, f"Yosys children still running after the time-out: {stray}"
    assert (tmp_path / "yosys.log").exists()


@needs_pyosys
def test_child_and_abc_die_with_their_parent(tmp_path):
    """A lutnn process killed with SIGKILL mid-synthesis leaves no Yosys or ABC process behind."""
    import signal
    import subprocess
    import sys

    (tmp_path / "m.v").write_text("module m(input [23:0] a, b, output [47:0] y); assign y = a * b; endmodule\n")
    code = (
        "from lutnn.tools.yosys import run_yosys; "
        f"run_yosys('read_verilog m.v\\nsynth -top m\\nabc -lut 6\\nabc -lut 6', {str(tmp_path)!r})"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], env={**os.environ})
    deadline = time.time() + 60
    group: set[int] = set()
    while time.time() < deadline and not group:
        time.sleep(0.5)
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    stat = open(f"/proc/{p}/stat").read().split(")")[-1].split()
                except OSError:
                    continue
                if int(stat[1]) == parent.pid:  # ppid: the pyosys child; its pgid is its pid
                    group.add(int(p))
    assert group, "no Yosys child started"
    pgid = next(iter(group))

    def in_group() -> list[tuple[int, bytes]]:
        out = []
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    stat = open(f"/proc/{p}/stat").read().split(")")[-1].split()
                    cmd = open(f"/proc/{p}/cmdline", "rb").read()
                except OSError:
                    continue
                if int(stat[3]) == pgid and stat[0] != "Z":
                    out.append((int(p), cmd))
        return out

    while time.time() < deadline + 120 and not any(b"yosys-abc" in c for _, c in in_group()):
        time.sleep(0.3)  # wait until ABC runs: it must die too
    assert any(b"yosys-abc" in c for _, c in in_group()), "ABC never started"
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    time.sleep(2.5)
    left = in_group()
    assert not left, f"processes left after lutnn died: {left}"
