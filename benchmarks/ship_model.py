"""Copy a finished run folder into ``models/<name>/``: the files a user needs to check a published point.

    python benchmarks/ship_model.py runs/bench/digits_s0 models/digits

Kept: ``design.v`` (the hardware), ``netlist.blif`` and ``core.blif`` (what ``lutnn predict`` runs),
``report.json`` (accuracy, LUTs, timing, the raw-feature interface, class names) and ``config.toml``
(the exact config that trained it). Not kept: the PyTorch checkpoint and plots.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

FILES = ("design.v", "netlist.blif", "core.blif", "report.json", "config.toml")


def ship(run: Path, dest: Path) -> None:
    """Copy :data:`FILES` from ``run`` to ``dest`` (replacing it), dropping the checkpoint from report.json."""
    missing = [f for f in FILES if not (run / f).is_file()]
    if missing:
        raise SystemExit(f"{run}: missing {', '.join(missing)}; finish the run (lutnn train … --resume) first")
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for f in FILES:
        if f != "report.json":  # rewritten below
            shutil.copy2(run / f, dest / f)
    rep = json.loads((run / "report.json").read_text())
    rep["files"] = {k: v for k, v in rep["files"].items() if v in FILES}
    rep.pop("history", None)  # per-epoch curves: in the benchmark JSON, not needed to check the design
    (dest / "report.json").write_text(json.dumps(rep, indent=2) + "\n")
    size = sum(p.stat().st_size for p in dest.iterdir())
    print(
        f"{dest}: {len(FILES)} files, {size / 1e6:.2f} MB; accuracy {rep['accuracy']['netlist']:.4f}, "
        f"{rep['luts'].get('design_lut6')} LUT6 whole"
    )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("dest", type=Path)
    a = ap.parse_args()
    ship(a.run, a.dest)
