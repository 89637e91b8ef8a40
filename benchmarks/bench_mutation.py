"""Mutation campaign against ``lutnn verify``: single-table mutants must all be NOT EQUIVALENT.

Netlists: random LUT networks (k = 2..6, with constant and all-zero LUTs), the EPFL circuits
in ../shared/circuits/epfl (ctrl, dec; multiplier with a few mutants), a trained digits LUT
network core, a compiled quantized net (truth-table route). For each: single-bit flips and
all-zero / all-one tables on output and internal nodes; mutants whose function really changes
(exhaustive simulation up to 20 inputs, else random) are verified with the default checker
(Yosys SAT + simulation + ABC judges). Then each netlist is re-synthesised (ABC, LUT6) and the
result must verify EQUIVALENT. Writes benchmarks/results/mutation.json.

    .venv/bin/python benchmarks/bench_mutation.py              # the full campaign (~30-60 min on 2 busy cores)
    .venv/bin/python benchmarks/bench_mutation.py --mutants 5  # a quick pass
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from lutnn.errors import LutnnError
from lutnn.fileio import atomic_write
from lutnn.formats.aiger import read_aiger
from lutnn.netlist import Netlist, NetlistBuilder, random_netlist
from lutnn.synth import synthesize
from lutnn.verify import check_equivalence
from lutnn.verify.mutation import run_campaign

ROOT = Path(__file__).resolve().parent
EPFL = Path(os.environ.get("LUTNN_SHARED") or ROOT.parents[1] / "shared") / "circuits" / "epfl"


def with_constants(base: Netlist, name: str) -> Netlist:
    """``base`` plus constant outputs and an all-zero LUT with inputs."""
    b = NetlistBuilder(name, k=max(base.k, 2))
    x = b.add_input("x", base.n_inputs)
    out = b.instantiate(base, {"x": x})["y"]
    zero = b.add_lut([int(x[0]), int(x[-1])], 0)
    one = b.add_lut([], 1)
    b.add_output("y", out)
    b.add_output("c", [zero, one, b.add_lut([], 0), b.and_(int(out[0]), zero)])
    return b.build()


def designs(which: set[str] | None) -> list[tuple[str, Netlist, int]]:
    """(name, netlist, mutants scale) for every campaign design that is available."""
    out: list[tuple[str, Netlist, int]] = []
    for k, n_in, n_nodes, seed in [(2, 8, 30, 0), (3, 12, 60, 1), (4, 16, 120, 2), (6, 20, 200, 3), (6, 40, 300, 4)]:
        base = random_netlist(n_in, n_nodes, k=k, seed=seed, n_outputs=6, min_arity=1)
        out.append((f"random_k{k}_{n_in}in", with_constants(base, f"random_k{k}"), 1))
    for c in ("ctrl", "dec", "multiplier"):
        p = EPFL / f"{c}.aig"
        if p.exists():
            out.append((f"epfl_{c}", read_aiger(p), 1 if c != "multiplier" else 0))
    from lutnn.quantnet.intmodel import example_model
    from lutnn.quantnet.neurons import compile_neurons

    out.append(("quant_example", compile_neurons(example_model(), max_lut=6), 1))
    if which is None or "digits" in which:
        out.append(("digits_lut_core", trained_digits_core(), 1))
    return [d for d in out if which is None or d[0] in which or d[0].split("_")[0] in which]


def trained_digits_core() -> Netlist:
    """The core of a small LUT network trained on digits (3 epochs, layers [150, 50])."""
    from lutnn.lutnet.compile import compile_core
    from lutnn.lutnet.config import EncoderConfig, ModelConfig, RunConfig, TrainConfig
    from lutnn.lutnet.train import train

    cfg = RunConfig(
        encoder=EncoderConfig(kind="thermometer", levels=3),
        model=ModelConfig(layers=[150, 50], k=6, tau=2.0, smooth=0.3),
        train=TrainConfig(epochs=3, lr=0.02, threads=1),
    )
    res = train(cfg, progress=False)
    model = getattr(res, "model", res)
    return compile_core(model)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mutants", type=int, default=40, help="mutants per design (multiplier: 3)")
    ap.add_argument("--designs", nargs="*", help="subset of design names (random, epfl, quant, digits, ...)")
    ap.add_argument("--no-resynth", action="store_true", help="skip the re-synthesised equivalents")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "mutation.json")
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows = []
    for name, nl, scale in designs(set(args.designs) if args.designs else None):
        n = args.mutants if scale else 3
        res = run_campaign(nl, n, seed=0).as_dict()
        res["netlist"] = name
        if not args.no_resynth:
            t = time.perf_counter()
            try:
                mapped = synthesize(nl, "lut", 6, fmax=False).netlist
                v = check_equivalence(nl, mapped)
                res["resynth"] = {"equivalent": v.equivalent, "judges": v.judges, "luts": int(mapped.n_nodes)}
            except LutnnError as e:
                res["resynth"] = {"equivalent": False, "error": str(e)[:300]}
            res["resynth"]["seconds"] = round(time.perf_counter() - t, 1)
        rows.append(res)
        print(
            json.dumps(
                {
                    k: res[k]
                    for k in (
                        "netlist",
                        "n_inputs",
                        "tried",
                        "kept",
                        "not_equivalent",
                        "false_equivalent",
                        "errors",
                        "seconds",
                    )
                }
                | {"resynth": res.get("resynth", {}).get("equivalent")}
            ),
            flush=True,
        )
    total = {k: sum(r[k] for r in rows) for k in ("tried", "kept", "not_equivalent", "false_equivalent", "errors")}
    total["resynth_equivalent"] = sum(1 for r in rows if r.get("resynth", {}).get("equivalent"))
    total["resynth_checked"] = sum(1 for r in rows if "resynth" in r)
    total["seconds"] = round(time.perf_counter() - t0, 1)
    atomic_write(args.out, json.dumps({"total": total, "designs": rows}, indent=2) + "\n")
    print(json.dumps(total))


if __name__ == "__main__":
    main()
