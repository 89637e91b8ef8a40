"""QONNX model-zoo MLPs imported unmodified, compiled by the datapath route, judged by QONNX's executor.

    .venv/bin/python benchmarks/bench_qonnx_zoo.py --zoo DIR [--synth] [--mnist DIR]
        # writes benchmarks/results/qonnx_zoo.json

``DIR`` holds the zoo's .onnx files (``lutnn.quantnet.zoo.fetch_zoo_model`` downloads them; the names
are those of ``lutnn.quantnet.zoo.ZOO``); missing ones are skipped (TFC layouts are then rebuilt with
Brevitas, random weights). Per model: import and compile seconds, netlist nodes, disagreements with
``qonnx.core.onnx_exec.execute_onnx`` on grid vectors (and on MNIST's 10,000 test images for TFC), and
with ``--synth`` the ABC 6-LUT count.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from lutnn.quantnet.datapath import compile_datapath
from lutnn.quantnet.qonnx import load_qonnx
from lutnn.quantnet.zoo import ZOO, tfc

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zoo", type=Path, default=Path("."), help="folder with the zoo's .onnx files")
    ap.add_argument("--mnist", type=Path, default=None, help="MNIST folder (idx files) for the TFC models")
    ap.add_argument("--vectors", type=int, default=10000, help="grid vectors per model")
    ap.add_argument("--synth", action="store_true", help="also map to 6-LUTs with ABC (minutes per model)")
    ap.add_argument("--only", nargs="*", default=None, help="model names to run")
    ap.add_argument("--out", type=Path, default=RESULTS / "qonnx_zoo.json")
    args = ap.parse_args()
    rows = []
    for name, (zpath, grid) in ZOO.items():
        if args.only and name not in args.only:
            continue
        f = args.zoo / Path(zpath).name
        src = "zoo file"
        if not f.exists():
            if not name.startswith("TFC_"):
                print(f"{name}: {f} missing, skipped")
                continue
            f = tfc(Path("/tmp") / f"{name}_rebuilt.onnx", int(name[4]), int(name[6]))
            src = "Brevitas rebuild (random weights)"
        t0 = time.time()
        qm = load_qonnx(f, input_grid=grid)
        t1 = time.time()
        nl = compile_datapath(qm.im, name=name.replace("-", "_"))
        t2 = time.time()
        row = {
            "model": name,
            "source": src,
            "input_grid": grid,
            "layers": [[L.n_in, L.n_out, L.in_bits, L.out_bits] for L in qm.im.layers],
            "import_s": round(t1 - t0, 1),
            "datapath_compile_s": round(t2 - t1, 1),
            "nodes": nl.n_nodes,
            "notes": qm.notes,
            "grid": qm.check(nl, n=args.vectors),
        }
        if args.mnist and name.startswith("TFC_"):
            from lutnn.data import load_dataset

            d = load_dataset("mnist", str(args.mnist))
            x = d.x_test / 255.0
            row["mnist"] = qm.check(nl, x=x)
            cls = qm.execute(x)[0].argmax(1)
            row["mnist"]["executor_accuracy"] = float((cls == d.y_test).mean())
        if args.synth:
            from lutnn.quantnet.arith import synth_netlist

            t3 = time.time()
            lut = synth_netlist(nl, flow="lut", k=6, fraig=False)
            row["lut6"] = lut.count
            row["lut_depth"] = lut.netlist.depth()
            row["lut_map_s"] = round(time.time() - t3, 1)
            row["lut_grid"] = qm.check(lut.netlist, n=min(args.vectors, 2000))
        print(json.dumps(row))
        rows.append(row)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
