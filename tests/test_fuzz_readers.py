"""Fuzzing the readers: every input either reads into a netlist that round-trips through every
writer with the same interface and function, or raises a LutnnError (never another exception, never a hang).

By default each property runs a few dozen hypothesis examples (seconds). The long campaign:

    LUTNN_FUZZ_CASES=20000 pytest tests/test_fuzz_readers.py -k campaign --runslow

runs that many mutated / generated inputs per reader without stopping at the first failure,
with a 10 s limit per case, and writes cases, crashes and hangs to benchmarks/results/fuzz.json.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
import traceback
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lutnn.errors import LutnnError
from lutnn.formats.aiger import format_aiger, parse_aiger
from lutnn.formats.blif import format_blif, parse_blif
from lutnn.formats.jsonfmt import parse_json, to_json_dict
from lutnn.formats.verilog import format_testbench, format_verilog
from lutnn.netlist import Netlist, NetlistBuilder, random_netlist
from lutnn.sim import simulate
from lutnn.verify.sat import check_interfaces

EXAMPLES = int(os.environ.get("LUTNN_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=10_000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)

WRITERS = {
    "blif": (format_blif, parse_blif),
    "aiger": (lambda nl: format_aiger(nl, binary=True), parse_aiger),
    "aag": (lambda nl: format_aiger(nl, binary=False), parse_aiger),
    "json": (lambda nl: json.dumps(to_json_dict(nl)), parse_json),
}


def same_function(a: Netlist, b: Netlist, seed: int = 0) -> bool:
    """Same buses (names, widths, order) and the same outputs on every / 512 random input vectors."""
    if [(x.name, x.width) for x in a.inputs] != [(x.name, x.width) for x in b.inputs]:
        return False
    if [(x.name, x.width) for x in a.outputs] != [(x.name, x.width) for x in b.outputs]:
        return False
    pin, pout = check_interfaces(a, b)
    n = a.n_inputs
    if n <= 10:
        x = ((np.arange(1 << n)[:, None] >> np.arange(n)[None, :]) & 1).astype(np.uint8)
    else:
        x = np.random.default_rng(seed).integers(0, 2, (512, n), dtype=np.uint8)
    xb = np.empty_like(x)
    xb[:, pin] = x
    return bool((simulate(a, x) == simulate(b, xb)[:, pout]).all())


def check_roundtrip(nl: Netlist) -> None:
    """The property's second half: every writer's output reads back to the same interface and function."""
    for name, (write, read) in WRITERS.items():
        back = read(write(nl))
        assert same_function(nl, back), f"{name} round trip changed the design"
    v = format_verilog(nl)  # the Verilog writer accepts every netlist a reader returns
    assert v.rstrip().endswith("endmodule")
    format_testbench(nl, 2, "t.in.hex", "t.exp.hex")


def read_or_error(reader, data) -> Netlist | None:
    try:
        return reader(data)
    except LutnnError:
        return None


# ----------------------------------------------------------------------------------------- inputs
def seed_netlist(seed: int) -> Netlist:
    """A small netlist with constants, buffers, wide and narrow LUTs and odd (legal) names."""
    r = random.Random(seed)
    k = r.choice([1, 2, 3, 4, 6, 7])
    base = random_netlist(r.randint(1, 9), r.randint(0, 12), k=k, seed=seed, n_outputs=r.randint(1, 4), min_arity=0)
    b = NetlistBuilder(r.choice(["top", "module", "x y", "a\\b"]), k=max(k, 2))
    x = b.add_input(r.choice(["x", "in.put", "priority", "a$b"]), base.n_inputs)
    y = b.instantiate(base, {"x": x})["y"]
    b.add_output(r.choice(["y", "class", "o[1]", "out!"]), y)
    if r.random() < 0.5:
        b.add_output("c", [b.add_lut([], r.randint(0, 1)), int(x[0])])
    return b.build()


SEEDS = [seed_netlist(s) for s in range(6)]
SEED_FILES = {name: [w(nl) for nl in SEEDS] for name, (w, _) in WRITERS.items()}


def mutate(data: bytes | str, r: random.Random, n_ops: int) -> bytes | str:
    """Byte/character-level mutations: flip, delete, duplicate, insert interesting tokens, splice lines."""
    is_text = isinstance(data, str)
    buf = bytearray(data.encode() if is_text else data)
    tokens = [
        b"0", b"1", b"-", b" ", b"\n", b"#", b"\\", b"[", b"]", b"99999999999999999999", b"4294967296",
        b"-1", b"\x00", b"\xff", b"\x80", "\u00b2".encode(), b".names", b".end", b".model", b".inputs",
        b"c\n", b"i0 ", b"o0 ", b"aig ", b"aag ", b'"', b"{", b"}", b"[[[[", b"1e400", b"null", b"true",
        b'"width": 1000000000000', b'"k": 16', b"\r\n", b"\t", b"\x1c", "\u2028".encode(), "\x85".encode(),
    ]  # fmt: skip
    for _ in range(n_ops):
        op = r.random()
        p = r.randrange(len(buf) + 1)
        if op < 0.25 and buf:
            buf[min(p, len(buf) - 1)] ^= 1 << r.randrange(8)
        elif op < 0.45 and buf:
            del buf[p : p + r.randint(1, 8)]
        elif op < 0.75:
            buf[p:p] = r.choice(tokens)
        elif op < 0.9 and buf:
            q = r.randrange(len(buf))
            buf[p:p] = buf[q : q + r.randint(1, 40)]
        else:
            lines = bytes(buf).split(b"\n")
            r.shuffle(lines)
            buf = bytearray(b"\n".join(lines))
    out = bytes(buf)
    return out.decode("utf-8", "replace") if is_text else out


def fuzz_input(fmt: str, r: random.Random) -> bytes | str:
    base = r.choice(SEED_FILES[fmt])
    return mutate(base, r, min(6, 1 + int(r.expovariate(1.0))))


def check_case(fmt: str, data) -> None:
    """One fuzz case: the reader errors cleanly, or its result round-trips through every writer."""
    nl = read_or_error(WRITERS[fmt][1], data)
    if nl is not None:
        check_roundtrip(nl)


# ------------------------------------------------------------------------------------ properties
@pytest.mark.parametrize("seed", range(len(SEEDS)))
def test_seed_netlists_round_trip(seed):
    check_roundtrip(SEEDS[seed])


@pytest.mark.parametrize("fmt", list(WRITERS))
@FUZZ
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_mutated_files(fmt, s):
    check_case(fmt, fuzz_input(fmt, random.Random(s)))


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_aiger(data):
    check_case("aiger", b"aig " + data)
    check_case("aag", b"aag " + data)


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("01- \n.#\\[]abnmesoutpild")), max_size=400))
def test_random_text_blif(text):
    check_case("blif", text)


_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.text(max_size=12))
_json_any = st.recursive(
    _json_leaf, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4)
)


@FUZZ
@given(
    st.fixed_dictionaries(
        {"format": st.just("lutnn-netlist"), "version": st.just(1)},
        optional={
            "name": _json_any,
            "k": _json_any,
            "inputs": st.lists(st.fixed_dictionaries({"name": st.text(max_size=6), "width": _json_any}), max_size=3),
            "outputs": st.lists(st.fixed_dictionaries({"name": st.text(max_size=6), "width": _json_any}), max_size=3),
            "nodes": st.lists(
                st.fixed_dictionaries(
                    {"fanins": st.lists(st.integers(min_value=-2, max_value=2**33), max_size=4), "table": _json_any}
                ),
                max_size=5,
            ),
            "output_signals": st.lists(st.integers(min_value=-2, max_value=2**33), max_size=4),
            "signal_names": st.dictionaries(st.text(max_size=4), _json_any, max_size=3),
        },
    )
)
def test_structured_json(d):
    check_case("json", json.dumps(d))


# ---------------------------------------------------------------------------------- the campaign
class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang


@pytest.mark.slow
def test_fuzz_campaign():
    """The long campaign (``LUTNN_FUZZ_CASES`` per format, default 2000); every failure is counted, not just the first."""
    cases = int(os.environ.get("LUTNN_FUZZ_CASES", "2000"))
    r = random.Random(int(os.environ.get("LUTNN_FUZZ_SEED", "0")))
    stats: dict[str, dict] = {}
    old = signal.signal(signal.SIGALRM, _alarm)
    t0 = time.perf_counter()
    try:
        for fmt in WRITERS:
            st_ = stats[fmt] = {"cases": 0, "read_ok": 0, "clean_errors": 0, "crashes": 0, "hangs": 0, "examples": []}
            for _ in range(cases):
                data = fuzz_input(fmt, r)
                st_["cases"] += 1
                signal.alarm(10)
                try:
                    nl = read_or_error(WRITERS[fmt][1], data)
                    if nl is None:
                        st_["clean_errors"] += 1
                    else:
                        st_["read_ok"] += 1
                        check_roundtrip(nl)
                except _Hang:
                    st_["hangs"] += 1
                    st_["examples"].append({"kind": "hang", "input": repr(data[:300])})
                except Exception as e:  # a crash: anything but LutnnError, or a failed round trip
                    st_["crashes"] += 1
                    if len(st_["examples"]) < 10:
                        tb = traceback.format_exception_only(type(e), e)[-1].strip()
                        st_["examples"].append({"kind": "crash", "error": tb[:300], "input": repr(data[:300])})
                finally:
                    signal.alarm(0)
    finally:
        signal.signal(signal.SIGALRM, old)
    total = {k: sum(s[k] for s in stats.values()) for k in ("cases", "read_ok", "clean_errors", "crashes", "hangs")}
    total["seconds"] = round(time.perf_counter() - t0, 1)
    out = Path(
        os.environ.get("LUTNN_FUZZ_OUT") or Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "fuzz.json"
    )
    seed = int(os.environ.get("LUTNN_FUZZ_SEED", "0"))
    out.write_text(json.dumps({"seed": seed, "total": total, "formats": stats}, indent=2) + "\n")
    assert total["crashes"] == 0 and total["hangs"] == 0, json.dumps(stats, indent=1)[:3000]
