"""Training: accuracy floor on digits, determinism, checkpoint + resume, config validation, the CLI."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from lutnn.errors import LutnnError
from lutnn.lutnet.config import EncoderConfig, ExportConfig, ModelConfig, RunConfig, TrainConfig, load_config
from lutnn.lutnet.train import load_checkpoint, train


def small_config(epochs: int = 6, **model) -> RunConfig:
    m = {"layers": [300, 100], "k": 6, "tau": 2.0, "smooth": 0.3}
    m.update(model)
    return RunConfig(
        encoder=EncoderConfig(kind="thermometer", levels=3),
        model=ModelConfig(**m),
        train=TrainConfig(epochs=epochs, batch_size=64, lr=0.02, seed=0, threads=1),
        export=ExportConfig(synth=None, hdl_sim=None),
    )


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory):
    """One small digits training shared by the training and compile tests."""
    out = tmp_path_factory.mktemp("digits_run")
    return train(small_config(), out, progress=False), out


def test_accuracy_floor_and_history(digits_run) -> None:
    res, out = digits_run
    assert res.test_accuracy > 0.70
    assert [h["epoch"] for h in res.history] == list(range(1, 7))
    pred = res.model.predict(res.q_test)
    assert abs((pred == res.prepared.dataset.y_test).mean() - res.test_accuracy) < 1e-12
    assert (out / "checkpoint.pt").exists()


def test_deterministic_with_seed() -> None:
    cfg = small_config(epochs=2, layers=[120, 50])
    a, b = train(cfg, progress=False), train(cfg, progress=False)
    for la, lb in zip(a.model.layers, b.model.layers, strict=True):
        assert torch.equal(la.tables, lb.tables)
    cfg.train.seed = 1
    c = train(cfg, progress=False)
    assert not torch.equal(a.model.layers[0].tables, c.model.layers[0].tables)


def test_resume_continues_from_the_checkpoint(tmp_path) -> None:
    """Resuming keeps the finished epochs' history, trains only the missing ones, and saves what it trained."""
    cfg = small_config(epochs=2, layers=[120, 50])
    first = train(cfg, tmp_path, progress=False)
    cfg.train.epochs = 4
    resumed = train(cfg, tmp_path, resume=True, progress=False)
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3, 4]
    assert resumed.history[:2] == first.history[:2]  # epochs 1-2 were not re-trained
    assert resumed.history[3]["loss"] < resumed.history[0]["loss"] and resumed.test_accuracy > 0.3
    loaded = load_checkpoint(tmp_path)
    np.testing.assert_array_equal(loaded.model.predict(loaded.q_test), resumed.model.predict(resumed.q_test))


def test_resume_with_a_different_model_is_refused(tmp_path) -> None:
    train(small_config(epochs=1, layers=[120, 50]), tmp_path, progress=False)
    with pytest.raises(LutnnError, match="different model"):
        train(small_config(epochs=2, layers=[130, 50]), tmp_path, resume=True, progress=False)


def test_config_files_and_errors(tmp_path) -> None:
    p = tmp_path / "c.toml"
    p.write_text('[data]\nname = "digits"\n[model]\nlayers = [100, 50]\nk = 4\n[train]\nepochs = 1\n')
    cfg = load_config(p)
    assert cfg.model.layers == [100, 50] and cfg.model.k == 4 and cfg.train.epochs == 1
    y = tmp_path / "c.yaml"
    y.write_text("model:\n  layers: [100, 50]\n  k: 5\n")
    assert load_config(y).model.k == 5
    p.write_text("[model]\nlayrs = [10]\n")
    with pytest.raises(LutnnError, match="unknown key"):
        load_config(p)
    p.write_text("[model]\nk = 12\n")
    with pytest.raises(LutnnError, match=r"2\.\.8"):
        load_config(p)
    p.write_text("[modle]\n")
    with pytest.raises(LutnnError, match="unknown section"):
        load_config(p)
    p.write_text("[model\n")
    with pytest.raises(LutnnError, match="invalid TOML"):
        load_config(p)
    with pytest.raises(LutnnError, match="not found"):
        load_config(tmp_path / "missing.toml")
    for bad, msg in (
        ("[encoder]\nmin_frac = 0.6\n", "min_frac"),
        ("[encoder]\nkind = 'pooled'\nmin_frac = -0.1\n", "min_frac"),
        ("[encoder]\nkind = 'quantil'\n", "pooled"),
    ):
        p.write_text(bad)
        with pytest.raises(LutnnError, match=msg):
            load_config(p)
    with pytest.raises(LutnnError, match="multiple of the 10 classes"):
        train(small_config(epochs=1, layers=[100, 55]), progress=False)
    with pytest.raises(LutnnError, match="at least 6 inputs"):
        train(small_config(epochs=1, layers=[100, 4, 10]), progress=False)


def test_every_shipped_config_loads() -> None:
    """configs/*.toml: LUT-network configs pass load_config's checks, quantized-MLP ones load_quant_config's."""
    from pathlib import Path

    from lutnn.quantnet.config import load_quant_config

    files = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.toml"))
    assert len(files) >= 10
    for f in files:
        if f.name.startswith("quant_"):
            assert load_quant_config(f)["model"], f
        else:
            cfg = load_config(f)
            assert cfg.model.layers[-1] % {"jsc": 5, "jsc_cernbox": 5, "unsw": 2}.get(cfg.data.name, 10) == 0, f


def test_cli_train_writes_run_folder(tmp_path) -> None:
    from typer.testing import CliRunner

    from lutnn.cli import app

    cfg = tmp_path / "tiny.toml"
    cfg.write_text(
        '[data]\nname = "digits"\n[model]\nlayers = [120, 50]\ntau = 2.0\n[train]\nepochs = 2\nthreads = 1\n'
        "[export]\nsynth = false\n"
    )
    r = CliRunner().invoke(app, ["train", str(cfg), "--out", str(tmp_path / "run"), "--no-hdl"])
    assert r.exit_code == 0, r.output
    for f in ("checkpoint.pt", "netlist.blif", "core.blif", "report.json", "accuracy.png", "design.v"):
        assert (tmp_path / "run" / f).exists(), f
    import json

    rep = json.loads((tmp_path / "run" / "report.json").read_text())
    assert rep["netlist_vs_pytorch"]["disagreements"] == 0
    assert rep["accuracy"]["pytorch"] == rep["accuracy"]["netlist"]
    assert rep["interface"]["inputs"][0]["width"] == 5


def test_config_value_types_are_checked(tmp_path) -> None:
    """A value of the wrong type is one clear error naming section.key, not a TypeError from inside training."""
    p = tmp_path / "c.toml"
    p.write_text('[train]\nepochs = "ten"\n')
    with pytest.raises(LutnnError, match=r"train.epochs = 'ten' must be int"):
        load_config(p)
    p.write_text("[model]\ntau = true\n")
    with pytest.raises(LutnnError, match=r"model.tau = True must be float"):
        load_config(p)
    p.write_text("[model]\ntau = 2\n[export]\nsynth = false\n[train]\nlr = 1\n")
    cfg = load_config(p)  # ints are fine where floats are expected; false switches synthesis off
    assert cfg.model.tau == 2 and cfg.export.synth is None and cfg.train.lr == 1


def test_config_ranges_and_api_types_are_checked(tmp_path) -> None:
    """Out-of-range values and wrong types set from Python are refused with the key named."""
    bad = {
        ("model", "connectivity"): (3, "model.connectivity"),
        ("model", "freeze_epoch"): (-2, "model.freeze_epoch"),
        ("model", "window"): (-1.0, "model.window"),
        ("train", "threads"): (-1, "train.threads"),
        ("train", "schedule"): ("linear", "train.schedule"),
        ("train", "teacher_epochs"): (0, "train.teacher_epochs"),
        ("train", "jitter"): (-5.0, "train.jitter"),
        ("train", "epochs"): ("5", "train.epochs = '5' must be int"),
        ("encoder", "lr"): (-1.0, "encoder.lr"),
        ("encoder", "width"): (40, "encoder.width=40 must be in 1..24"),
        ("encoder", "levels"): ("3", "encoder.levels = '3' must be int"),
        ("data", "train_subset"): (-5, "data.train_subset"),
        ("export", "hdl_vectors"): (-3, "export.hdl_vectors"),
    }
    for (sec, key), (val, msg) in bad.items():
        cfg = small_config()
        setattr(getattr(cfg, sec), key, val)
        with pytest.raises(LutnnError, match=re.escape(msg)):
            cfg.check()
    cfg = small_config()
    cfg.data = {"name": "digits"}
    with pytest.raises(LutnnError, match=r"\[data\] must be a DataConfig"):
        cfg.check()
    with pytest.raises(LutnnError, match="train needs a RunConfig"):
        train({"data": {"name": "digits"}}, progress=False)
    with pytest.raises(LutnnError, match="is a folder"):
        load_config(tmp_path)
    (tmp_path / "bin.toml").write_bytes(bytes(range(128, 256)))
    with pytest.raises(LutnnError, match="not a text file"):
        load_config(tmp_path / "bin.toml")


def test_bad_out_folders_and_checkpoints_leave_nothing_behind(tmp_path) -> None:
    """A file as --out, a corrupt checkpoint on --resume, or a data error: clear errors, no empty folder left."""
    from lutnn.pipeline import run_pipeline

    cfg = small_config(epochs=1)
    f = tmp_path / "file.txt"
    f.write_text("x")
    for out in (f, f / "sub"):
        with pytest.raises(LutnnError, match=r"is a file|which is a file"):
            run_pipeline(cfg, out)
    assert f.read_text() == "x"
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.pt").write_text("garbage")
    with pytest.raises(LutnnError, match="not a lutnn checkpoint"):
        train(cfg, run, resume=True, progress=False)
    cfg.data.name, cfg.data.path = "csv", str(tmp_path / "missing.csv")
    with pytest.raises(LutnnError, match="not found"):
        run_pipeline(cfg, tmp_path / "fresh")
    assert not (tmp_path / "fresh").exists()


def test_distillation_and_learnable_mapping_export_exactly() -> None:
    """A run with an MLP teacher and DWN's full learnable mapping trains and exports bit-exactly."""
    from lutnn.lutnet.compile import check_against_model, compile_design

    cfg = small_config(epochs=4, layers=[200, 50], connectivity=["learned", "random"], candidates=0)
    cfg.train.teacher = "mlp"
    cfg.train.teacher_epochs = 10
    res = train(cfg, progress=False)
    assert res.model.layers[0].frozen and res.test_accuracy > 0.75
    agree = check_against_model(res.model, compile_design(res.model), res.q_test)
    assert agree.exact, agree


def test_teacher_generalises_and_distill_loss_mixes_targets() -> None:
    from lutnn.data import load_dataset
    from lutnn.lutnet.teacher import distill_loss, train_teacher

    ds = load_dataset("digits")
    q, y = torch.as_tensor(ds.x_train).long(), torch.as_tensor(ds.y_train).long()
    teacher = train_teacher(q, y, 10, 16, epochs=15)
    with torch.no_grad():
        acc = (teacher(torch.as_tensor(ds.x_test).long()).argmax(1).numpy() == ds.y_test).mean()
    assert acc > 0.95
    logits, t_logits = torch.randn(8, 10), torch.randn(8, 10)
    yb = torch.randint(0, 10, (8,))
    ce = torch.nn.functional.cross_entropy(logits, yb)
    torch.testing.assert_close(distill_loss(logits, yb, t_logits, 0.0), ce)
    soft = -(torch.softmax(t_logits, 1) * torch.log_softmax(logits, 1)).sum(1).mean()
    torch.testing.assert_close(distill_loss(logits, yb, t_logits, 1.0), soft)


def test_teacher_config_is_checked() -> None:
    cfg = small_config()
    cfg.train.teacher = "svm"
    with pytest.raises(LutnnError, match=r"train\.teacher='svm' must be 'mlp'"):
        cfg.check()


def test_fused_adam_trains_a_learnable_mapping_and_is_checked() -> None:
    """train.fused runs Adam as one kernel (the fast path for a learnable mapping); SGD with it is refused."""
    from lutnn.lutnet.train import _optimizer

    cfg = small_config(epochs=4, layers=[200, 50], connectivity=["learned", "random"], candidates=0)
    cfg.train.fused = True
    res = train(cfg, progress=False)
    assert _optimizer(cfg, res.model).defaults["fused"] is True
    assert res.model.layers[0].frozen and res.test_accuracy > 0.75
    cfg.train.optimizer = "sgd"
    with pytest.raises(LutnnError, match=r"train\.fused needs optimizer adam or adamw"):
        cfg.check()


def test_frozen_learnable_mapping_is_dropped_and_resumes(tmp_path) -> None:
    """Once frozen, the [nodes·k, inputs] scores leave the model, the optimiser and the checkpoint; resume works."""
    cfg = small_config(epochs=2, layers=[120, 50], connectivity=["learned", "random"], candidates=0, freeze_epoch=1)
    first = train(cfg, tmp_path, progress=False)
    ck = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert not any("mapping" in key for key in ck["model"]) and ck["frozen"]
    assert sum(len(g["params"]) for g in ck["optimizer"]["param_groups"]) == len(list(first.model.parameters()))
    cfg.train.epochs = 3
    resumed = train(cfg, tmp_path, resume=True, progress=False)
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    np.testing.assert_array_equal(resumed.model.layers[0].connections(), first.model.layers[0].connections())
    loaded = load_checkpoint(tmp_path)
    np.testing.assert_array_equal(loaded.model.predict(loaded.q_test), resumed.model.predict(resumed.q_test))


def test_learned_encoder_thresholds_train_export_and_resume(tmp_path) -> None:
    """Learned thresholds move in training, the circuit matches the model on every test sample, resume keeps them."""
    from lutnn.lutnet.compile import check_against_model, compile_design

    cfg = small_config(epochs=3, layers=[150, 50])
    cfg.encoder = EncoderConfig(kind="quantile", levels=3, learn=True, lr=0.02)
    res = train(cfg, tmp_path, progress=False)
    enc = res.model.encoder
    assert res.test_accuracy > 0.6 and enc.describe()["moved"] > 0
    agree = check_against_model(res.model, compile_design(res.model), res.q_test)
    assert agree.exact, agree
    loaded = load_checkpoint(tmp_path)
    assert torch.equal(loaded.model.encoder.thresholds(), enc.thresholds())
    np.testing.assert_array_equal(loaded.model.predict(loaded.q_test), res.model.predict(res.q_test))
    bad = small_config()
    bad.encoder = EncoderConfig(kind="gray", learn=True)
    with pytest.raises(LutnnError, match=r"encoder\.learn needs a thermometer kind"):
        bad.check()
