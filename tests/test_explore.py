"""``lutnn explore`` end to end on tiny digits nets: outputs, kill-and-resume, two workers on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

SRC = Path(__file__).resolve().parents[1] / "src"

SPACE = """
[search]
trials = 3
objectives = ["accuracy", "lut6"]
sampler = "random"
prune = {prune}
seed = 0

[fixed]
"data.name" = "digits"
"data.train_subset" = {subset}
"train.epochs" = {epochs}
"encoder.kind" = "quantile"
"model.connectivity" = "random"
"export.hdl_sim" = "icarus"
"export.hdl_vectors" = 50

[params]
"model.layers" = {{ choices = {layers} }}
"train.lr" = {{ low = 0.005, high = 0.03, log = true }}
"encoder.levels" = {{ low = 1, high = 3 }}
"""


def _space(tmp: Path, epochs: int = 3, subset: int = 400, layers: str = "[[20], [40]]", prune: str = "false") -> Path:
    p = tmp / "space.toml"
    p.write_text(SPACE.format(epochs=epochs, subset=subset, layers=layers, prune=prune))
    return p


def _cmd(*args: str) -> list[str]:
    return [sys.executable, "-c", "from lutnn.cli import main; main()", "explore", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "COLUMNS": "200"}


def _run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    r = subprocess.run(_cmd(*args), env=_env(), capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r


def _trials(storage: str, name: str = "space"):
    return optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)


def _counted(trials) -> list:
    retried = {t.user_attrs.get("retry_of") for t in trials}
    return [t for t in trials if t.number not in retried and not t.user_attrs.get("surplus")]


def test_tiny_explore_writes_front_trials_and_plots(tmp_path):
    space, out = _space(tmp_path), tmp_path / "run"
    r = _run(str(space), "--out", str(out), "--trials", "3", "--jobs", "2")  # the front is exported 2 at a time
    assert "trial 2" in r.stdout  # one line per trial when not on a terminal
    front = json.loads((out / "front.json").read_text())
    rows = list(csv.DictReader((out / "trials.csv").open()))
    assert len(rows) == 3 and all(r["counted"] == "True" for r in rows)
    assert front and (out / "front.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (out / "report.html").read_text()
    assert "Front" in html and "Parameter importances" in html
    done = [r for r in rows if r["state"] == "complete"]
    for p in front:
        for key in ("val_accuracy", "test_accuracy", "design_lut6", "depth_lut", "dir"):
            assert p[key] is not None, key
        rep = json.loads((out / p["dir"] / "report.json").read_text())
        assert (out / p["dir"] / "design.v").exists() and "interface" in rep
        assert rep["accuracy"]["netlist"] == p["test_accuracy"]  # measured from the netlist on the test split
        assert rep["netlist_vs_pytorch"]["disagreements"] == 0 and rep["hdl"]["mismatches_vs_netlist"] == 0
        # the validation split is 20% of digits' 1,347 training images; data.train_subset limits the rest
        assert (rep["dataset"]["test"], rep["dataset"]["validation"], rep["dataset"]["train"]) == (450, 270, 400)
        assert rep["luts"]["design_lut6"] == p["design_lut6"] > 0
        # a front point is dominated by no trial in the search's objectives
        me = next(r for r in done if int(r["number"]) == p["trial"])
        for o in done:
            better = float(o["val_accuracy"]) >= float(me["val_accuracy"]) and float(o["search_cost"]) <= float(
                me["search_cost"]
            )
            strictly = float(o["val_accuracy"]) > float(me["val_accuracy"]) or float(o["search_cost"]) < float(
                me["search_cost"]
            )
            assert not (better and strictly), (o, me)
    # re-running the same command resumes: the study is full, nothing new is trained, the front is reused
    stamp = (out / front[0]["dir"] / "report.json").stat().st_mtime
    _run(str(space), "--out", str(out), "--trials", "3")
    assert len(_trials(f"sqlite:///{out / 'study.db'}")) == 3
    assert (out / front[0]["dir"] / "report.json").stat().st_mtime == stamp
    # another space in the same folder is refused
    other = tmp_path / "other" / "space.toml"
    other.parent.mkdir()
    other.write_text(space.read_text().replace("0.005", "0.004"))
    r = subprocess.run(_cmd(str(other), "--out", str(out)), env=_env(), capture_output=True, text=True)
    assert r.returncode == 1 and "another space" in r.stderr


QUANT_SPACE = """
[search]
family = "quantnet"
trials = 3
objectives = ["accuracy", "lut6"]
sampler = "random"
prune = false
seed = 0

[fixed]
"data.name" = "digits"
"data.scale" = 16.0
"model.in_bits" = 2
"model.in_scale" = 0.3333333
"model.act_bits" = 2
"model.w_bits" = 2
"model.mask" = "learned"
"train.epochs" = 4
"export.hdl_vectors" = 60

[params]
"model.hidden" = { choices = [[8], [12]] }
"model.fan_in" = { low = 2, high = 3 }
"""


def test_quantnet_trials_compile_exact_circuits_and_export_a_front(tmp_path):
    """The other family: QAT trials scored from their compiled netlist; front points tested, exported, synthesised."""
    space, out = tmp_path / "q.toml", tmp_path / "run"
    space.write_text(QUANT_SPACE)
    _run(str(space), "--out", str(out), "--trials", "3")
    rows = list(csv.DictReader((out / "trials.csv").open()))
    assert len(rows) == 3 and all(r["state"] == "complete" for r in rows)
    front = json.loads((out / "front.json").read_text())
    assert front
    for p in front:
        d = out / p["dir"]
        rep = json.loads((d / "report.json").read_text())
        assert rep["family"] == "quantnet" and (d / "design.v").exists() and (d / "config.toml").exists()
        # the netlist is the integer model, bit for bit, so the two accuracies on the 450 test images agree
        assert rep["accuracy"]["netlist"] == rep["accuracy"]["integer_model"] == p["test_accuracy"]
        assert rep["luts"]["design_lut6"] == p["design_lut6"] > 0 and rep["luts"]["scope"] == "whole"
        assert rep["interface"]["bits"] == 2 and len(rep["interface"]["inputs"]) == 64
        if rep["hdl"]:
            assert rep["hdl"]["vectors"] == 60 and rep["hdl"]["mismatches_vs_netlist"] == 0
        trial = next(r for r in rows if int(r["number"]) == p["trial"])
        assert float(trial["val_accuracy"]) == p["val_accuracy"]
        assert int(float(trial["search_cost"])) == p["design_nodes"]  # cost = "nodes": the compiled circuit's LUTs


def test_kill_and_resume(tmp_path):
    space, out = _space(tmp_path, epochs=30, subset=1000, layers="[[200]]"), tmp_path / "run"
    storage = f"sqlite:///{out / 'study.db'}"
    args = (str(space), "--out", str(out), "--trials", "2", "--no-front")
    p = subprocess.Popen(
        _cmd(*args), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    killed = None
    try:
        deadline = time.time() + 300
        while time.time() < deadline and killed is None:
            time.sleep(0.3)
            if not (out / "study.db").exists():
                continue
            try:
                trials = _trials(storage)
            except Exception:  # the study is being created
                continue
            running = [t for t in trials if t.state.name == "RUNNING" and len(t.user_attrs.get("curve", [])) >= 3]
            if running:
                os.killpg(p.pid, signal.SIGKILL)
                killed = running[0].number
        assert killed is not None, "no trial got to epoch 3 in time"
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    time.sleep(0.5)
    assert next(t for t in _trials(storage) if t.number == killed).state.name == "RUNNING"  # left behind by the kill
    _run(*args)
    trials = _trials(storage)
    dead = next(t for t in trials if t.number == killed)
    retry = next(t for t in trials if t.user_attrs.get("retry_of") == killed)
    assert dead.state.name == "FAIL" and retry.state.name == "COMPLETE"
    assert retry.user_attrs["dir"] == dead.user_attrs["dir"] and retry.params == dead.params
    assert retry.user_attrs["resumed_at_epoch"] >= 3  # went on from the dead trial's checkpoint
    rep = json.loads((out / retry.user_attrs["dir"] / "report.json").read_text())
    assert [h["epoch"] for h in rep["history"]] == list(range(1, 31))
    counted = _counted(trials)
    assert len(counted) == 2 and all(t.state.name == "COMPLETE" for t in counted)


def _two_workers(tmp_path: Path, storage: str) -> None:
    space, out = _space(tmp_path, epochs=12, subset=800, layers="[[50], [100]]"), tmp_path / "run"
    args = (str(space), "--out", str(out), "--trials", "5", "--storage", storage, "--no-front")
    procs = [
        subprocess.Popen(_cmd(*args), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    logs = [p.communicate(timeout=600)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), logs
    trials = _trials(storage)
    counted = _counted(trials)
    assert len(counted) == 5, [(t.number, t.state.name, t.user_attrs) for t in trials]  # none lost, none extra
    assert all(t.state.name == "COMPLETE" for t in counted)
    assert not [t for t in trials if t.state.name in ("RUNNING", "WAITING")]
    assert len({t.number for t in trials}) == len(trials)  # no trial number twice
    dirs = [t.user_attrs["dir"] for t in counted]
    assert len(set(dirs)) == 5 and all((out / d / "report.json").exists() for d in dirs)
    assert len({t.user_attrs["pid"] for t in counted}) == 2  # both workers ran trials of the one study


def test_two_workers_share_an_sqlite_study(tmp_path):
    _two_workers(tmp_path, f"sqlite:///{tmp_path / 'shared.db'}")


def _pg_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / "initdb").exists():
            return d
    return None


@pytest.fixture
def postgres_url():
    """A private PostgreSQL cluster on a loopback port in a temp folder (as user postgres when run by root)."""
    pytest.importorskip("psycopg2", reason="psycopg2 not installed: pip install psycopg2-binary")
    bin_ = _pg_bin()
    if bin_ is None:
        pytest.skip("PostgreSQL server not installed (Debian: apt-get install postgresql; dev.sh does it as root)")
    pre: list[str] = []
    if os.geteuid() == 0:
        if not shutil.which("runuser"):
            pytest.skip("running as root without runuser: PostgreSQL refuses to run as root")
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and no 'postgres' user to run the server as")
        pre = ["runuser", "-u", "postgres", "--"]
    d = Path(tempfile.mkdtemp(prefix="lutnn-pg-"))
    d.chmod(0o777)
    data = d / "data"
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    try:
        subprocess.run(
            [*pre, str(bin_ / "initdb"), "-D", str(data), "-U", "lutnn", "--auth=trust", "-E", "UTF8"],
            check=True,
            capture_output=True,
        )
        opts = f"-p {port} -k {d} -c listen_addresses=127.0.0.1"
        start = [str(bin_ / "pg_ctl"), "-D", str(data), "-l", str(d / "log"), "-w", "-o", opts, "start"]
        subprocess.run([*pre, *start], check=True, capture_output=True)
    except (subprocess.CalledProcessError, OSError) as e:
        shutil.rmtree(d, ignore_errors=True)
        pytest.skip(f"could not start a PostgreSQL cluster: {getattr(e, 'stderr', e)!r}")
    try:
        subprocess.run(
            [*pre, str(bin_ / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "lutnn", "study"],
            check=True,
            capture_output=True,
        )
        yield f"postgresql+psycopg2://lutnn@127.0.0.1:{port}/study"
    finally:
        subprocess.run([*pre, str(bin_ / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(d, ignore_errors=True)


def test_two_workers_share_a_postgresql_study(tmp_path, postgres_url):
    _two_workers(tmp_path, postgres_url)
