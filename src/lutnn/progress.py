"""Progress of long steps: rich bars (stage, count, elapsed, ETA) on a terminal, plain lines elsewhere.

Library code marks its stages and stays silent unless a caller turned reporting on::

    from lutnn.progress import reporting, stage

    with reporting(console):                     # the CLI does this; None or no call: silent
        with stage("compile layers", total=3, unit="layers") as s:
            for layer in layers:
                ...
                s.advance(info="layer 2: 120 neurons")

On a terminal every stage is one bar of a single live display. When the output is not a terminal
(CI logs, pipes) a stage prints a line at every ~10% of its count and one when it ends — never a
bar as well. Stages without a count show a spinner and their time.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

__all__ = ["Stage", "begin", "reporting", "stage"]

_active: ContextVar[_Reporter | None] = ContextVar("lutnn_progress", default=None)


def _fmt_s(s: float) -> str:
    return f"{s:.1f} s" if s < 120 else f"{s / 60:.1f} min"


class Stage:
    """One stage's handle: :meth:`advance` by a count (and optionally update the info text)."""

    def __init__(self, rep: _Reporter | None, name: str, total: int | None, unit: str) -> None:
        self._rep, self.name, self.total, self.unit = rep, name, total, unit
        self.done = 0
        self.info = ""
        self.t0 = time.perf_counter()
        self._next_pct = 10
        self._task: Any = None
        self._ended = False

    def advance(self, n: int = 1, info: str | None = None) -> None:
        """Count ``n`` more units done; ``info`` replaces the text shown beside the bar."""
        self.done += n
        if info is not None:
            self.info = info
        if self._rep is not None:
            self._rep.update(self)

    def set_info(self, info: str) -> None:
        self.advance(0, info)

    def end(self, ok: bool = True) -> None:
        """Close a stage opened with :func:`begin` (a ``with stage(...)`` block closes itself)."""
        if self._rep is not None and not self._ended:
            self._rep.finish(self, ok)
        self._ended = True


class _Reporter:
    def __init__(self, console: Any) -> None:
        self.console = console
        self.live = bool(getattr(console, "is_terminal", False))
        self.bar: Any = None

    def start(self, s: Stage) -> None:
        if self.live:
            from rich.progress import (
                BarColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            if self.bar is None:
                self.bar = Progress(
                    SpinnerColumn(finished_text="[green]✓"),
                    TextColumn("[bold]{task.description}"),
                    BarColumn(),
                    TextColumn("{task.fields[count]}"),
                    TimeElapsedColumn(),
                    TextColumn("ETA"),
                    TimeRemainingColumn(),
                    TextColumn("{task.fields[info]}"),
                    console=self.console,
                    transient=False,
                )
                self.bar.start()
            s._task = self.bar.add_task(s.name, total=s.total, count=self._count(s), info=s.info)

    @staticmethod
    def _count(s: Stage) -> str:
        return f"{s.done}/{s.total} {s.unit}" if s.total else ""

    def update(self, s: Stage) -> None:
        if self.live:
            self.bar.update(s._task, completed=s.done, count=self._count(s), info=s.info)
            return
        if not s.total:
            return
        pct = 100 * s.done / s.total
        if pct >= s._next_pct and s.done < s.total:
            el = time.perf_counter() - s.t0
            eta = el * (s.total - s.done) / max(s.done, 1)
            self.console.print(
                f"{s.name}: {int(pct)}% ({s.done}/{s.total} {s.unit}), {_fmt_s(el)}, ~{_fmt_s(eta)} left"
                + (f"  {s.info}" if s.info else ""),
                highlight=False,
                soft_wrap=True,
            )
            while s._next_pct <= pct:
                s._next_pct += 10

    def finish(self, s: Stage, ok: bool) -> None:
        el = time.perf_counter() - s.t0
        if self.live:
            total = s.total or 1
            self.bar.update(s._task, total=total, completed=total if ok else s.done, count=self._count(s), info=s.info)
            return
        count = f" ({s.done}/{s.total} {s.unit})" if s.total else ""
        word = "done" if ok else "stopped"
        self.console.print(
            f"{s.name}: {word}{count} in {_fmt_s(el)}" + (f"  {s.info}" if s.info else ""),
            highlight=False,
            soft_wrap=True,
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


@contextlib.contextmanager
def reporting(console: Any) -> Iterator[None]:
    """Show the stages run inside this block on ``console`` (None: stay silent). Nested calls reuse the outer one."""
    if console is None or _active.get() is not None:
        yield
        return
    rep = _Reporter(console)
    token = _active.set(rep)
    try:
        yield
    finally:
        _active.reset(token)
        rep.close()


@contextlib.contextmanager
def stage(name: str, total: int | None = None, unit: str = "") -> Iterator[Stage]:
    """A named stage of ``total`` units (None: no count); reported only inside :func:`reporting`."""
    rep = _active.get()
    s = Stage(rep, name, total, unit)
    if rep is not None:
        rep.start(s)
    ok = False
    try:
        yield s
        ok = True
    finally:
        s.end(ok)


def begin(name: str, total: int | None = None, unit: str = "") -> Stage:
    """Like :func:`stage` for loops too long to re-indent: call ``.end()`` when done."""
    rep = _active.get()
    s = Stage(rep, name, total, unit)
    if rep is not None:
        rep.start(s)
    return s
