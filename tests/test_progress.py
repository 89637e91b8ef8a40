"""Progress: a bar per stage on a terminal; elsewhere a line every ~10% and one at the end, never both."""

from __future__ import annotations

import io

from rich.console import Console

from lutnn.progress import begin, reporting, stage


def _run(console, n=50):
    with reporting(console):
        with stage("work", total=n, unit="items") as s:
            for i in range(n):
                s.advance(info=f"item {i}")
        with stage("opaque step"):
            pass
        b = begin("loop", total=4, unit="steps")
        for _ in range(4):
            b.advance()
        b.end()


def test_plain_lines_when_not_a_terminal() -> None:
    buf = io.StringIO()
    _run(Console(file=buf, force_terminal=False, width=200))
    lines = buf.getvalue().splitlines()
    work = [ln for ln in lines if ln.startswith("work:")]
    assert len(work) == 10  # 10%, 20%, … 90% and the final line
    assert work[0].startswith("work: 10% (5/50 items)") and "left" in work[0]
    assert work[-1].startswith("work: done (50/50 items) in")
    assert any(ln.startswith("opaque step: done in") for ln in lines)
    assert any(ln.startswith("loop: done (4/4 steps)") for ln in lines)
    assert "━" not in buf.getvalue()  # no bar


def test_bars_on_a_terminal() -> None:
    buf = io.StringIO()
    _run(Console(file=buf, force_terminal=True, width=200))
    out = buf.getvalue()
    assert "━" in out and "50/50 items" in out and "ETA" in out
    assert "work: 10%" not in out  # no plain lines beside the bar


def test_silent_without_reporting(capsys) -> None:
    with stage("x", total=3) as s:
        s.advance(3)
    assert capsys.readouterr().out == ""


def test_training_prints_a_line_every_tenth_not_every_epoch() -> None:
    from lutnn.lutnet.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from lutnn.lutnet.train import train

    cfg = RunConfig(
        data=DataConfig(train_subset=300, test_subset=100),
        model=ModelConfig(layers=[40, 20], k=4),
        train=TrainConfig(epochs=20, batch_size=100),
    )
    buf = io.StringIO()
    train(cfg, console=Console(file=buf, force_terminal=False, width=200))
    lines = [ln for ln in buf.getvalue().splitlines() if ln.startswith("train:")]
    assert 9 <= len(lines) <= 11 and lines[-1].startswith("train: done (60/60 batches)")
    assert "epoch 20/20" in lines[-1] and "━" not in buf.getvalue()
