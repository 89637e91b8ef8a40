"""Progress of a running search: a rich bar (trial n/N, best so far, ETA) on a terminal, one line per trial otherwise."""

from __future__ import annotations

import time
from typing import Any

__all__ = ["ProgressDisplay"]


class ProgressDisplay:
    """Fed the study's trials every few seconds by :func:`lutnn.explore.study.explore`."""

    def __init__(self, console: Any, n_trials: int, jobs: int, cost: str = "nodes") -> None:
        self.console, self.n, self.jobs, self.cost = console, n_trials, jobs, cost
        self.seen: set[int] = set()
        self.t0 = time.monotonic()
        self.done_at_start: int | None = None
        self.bar = None
        if console.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("[bold]trials"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[best]}  ETA {task.fields[eta]}"),
                TimeElapsedColumn(),
                console=console,
            )
            self.task = self.bar.add_task("explore", total=n_trials, best="", eta="?")
            self.bar.start()

    def _best(self, trials: list) -> str:
        done = [t for t in trials if t.state.name == "COMPLETE" and t.values and not t.user_attrs.get("surplus")]
        if not done:
            return "best: —"
        b = max(done, key=lambda t: (t.values[0], -t.values[1]))
        small = min(done, key=lambda t: (t.values[1], -t.values[0]))
        return (
            f"best {100 * b.values[0]:.2f}% @ {b.values[1]:.0f} {self.cost}; "
            f"smallest {small.values[1]:.0f} @ {100 * small.values[0]:.2f}%"
        )

    def update(self, trials: list, counts: Any) -> None:
        """Show the study's state; print one line per newly finished trial when not on a terminal."""
        if self.done_at_start is None:
            self.done_at_start = counts.finished
            self.seen = {t.number for t in trials if t.state.is_finished()}
        new_done = counts.finished - self.done_at_start
        el = time.monotonic() - self.t0
        left = max(0, self.n - counts.finished)
        eta = "?" if new_done <= 0 else (f"{el / new_done * left / 60:.1f} min" if left else "0")
        best = self._best(trials)
        if self.bar is not None:
            self.bar.update(self.task, completed=min(self.n, counts.finished), best=best, eta=eta)
            return
        for t in sorted(trials, key=lambda t: t.number):
            if t.number in self.seen or not t.state.is_finished():
                continue
            self.seen.add(t.number)
            a = t.user_attrs
            if t.state.name == "COMPLETE" and t.values:
                what = f"val {100 * t.values[0]:.2f}%  {t.values[1]:.0f} {self.cost}  depth {a.get('depth_lut')}"
            elif t.state.name == "PRUNED":
                what = f"pruned ({a.get('pruned', '')})"
            else:
                what = (
                    "surplus (the study was full)"
                    if a.get("surplus")
                    else f"failed: {t.system_attrs.get('fail_reason', '')[:120]}"
                )
            dur = (
                f"{(t.datetime_complete - t.datetime_start).total_seconds():.0f} s"
                if t.datetime_complete and t.datetime_start
                else ""
            )
            self.console.print(
                f"trial {t.number} ({min(self.n, counts.finished)}/{self.n}) {what} {dur} · {best} · ETA {eta}",
                highlight=False,
                soft_wrap=True,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
