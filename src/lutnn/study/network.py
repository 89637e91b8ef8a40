"""A trained LUT network as a Boolean function of its encoded inputs: f(bits) = predicted class.

:func:`classifier_netlist` compiles the LUT layers and the group-sum head + argmax without the
encoder (input bus ``bits``: every encoder output bit, output bus ``class_index``), so the
measures of :mod:`lutnn.study.measure` can flip encoded bits one at a time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lutnn.errors import LutnnError
from lutnn.netlist import Netlist
from lutnn.study.measure import Measures, measure_netlist, measure_on_data

__all__ = ["classifier_netlist", "encode_bits", "encoder_distortion", "load_run", "measure_network", "measure_run"]


def classifier_netlist(model: Any, name: str = "lut_classifier") -> Netlist:
    """LUT layers + head + argmax of a :class:`~lutnn.lutnet.network.LUTNetwork`: encoder bits in, class out."""
    from lutnn.lutnet.compile import pack_tables
    from lutnn.netlist import NetlistBuilder

    b = NetlistBuilder(name, k=max(6, model.k))
    sig = np.asarray(b.add_input("bits", model.encoder.n_bits), dtype=np.int64)
    for layer in model.layers:
        sig = b.add_luts(sig[layer.connections()], pack_tables(layer.truth_tables()))
    _cnt, idx = model.head.build(b, sig)
    b.add_output("class_index", idx)
    return b.build()


def encode_bits(model: Any, q: np.ndarray) -> np.ndarray:
    """Encoder output bits ``uint8 [N, n_bits]`` of integer features ``q`` (inference mode)."""
    import torch

    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            bits = model.encoder(torch.as_tensor(np.asarray(q), dtype=torch.long))
    finally:
        model.train(was)
    return (bits.cpu().numpy() > 0.5).astype(np.uint8)


def load_run(path: str | Path):
    """A trained run folder (``checkpoint.pt`` from ``lutnn train`` or ``lutnn study``) as a TrainResult."""
    from lutnn.lutnet.train import CHECKPOINT, load_checkpoint

    p = Path(path)
    if not (p / CHECKPOINT).exists():
        raise LutnnError(
            f"{p}: a run folder needs {CHECKPOINT} (written by lutnn train); give a circuit file or a run folder"
        )
    return load_checkpoint(p)


def encoder_distortion(model: Any, prep: Any, n_pairs: int = 4000, seed: int = 0) -> dict[str, Any]:
    """Distortion (:func:`lutnn.study.distortion.distortion`) of a trained network's own encoder on test pairs."""
    from lutnn.study.distortion import distortion

    return distortion(prep.q_test, encode_bits(model, prep.q_test), n_pairs, seed)


def _subset(x: np.ndarray, limit: int | None, seed: int) -> np.ndarray:
    if limit is None or len(x) <= limit:
        return x
    return x[np.sort(np.random.default_rng(seed).permutation(len(x))[:limit])]


def measure_run(
    res: Any, data: str = "test", flip_rates=None, seed: int = 0, limit: int | None = None
) -> tuple[Measures, Netlist]:
    """Measures of f = predicted class on the encoded ``data`` split (``test`` or ``train``) of a trained run."""
    if data not in ("test", "train"):
        raise LutnnError(f"--data {data!r} must be test or train")
    model, prep = res.model, res.prepared
    q = prep.q_test if data == "test" else prep.q_train
    q = _subset(q, limit, seed)
    nl = classifier_netlist(model)
    m = measure_on_data(nl, encode_bits(model, q), flip_rates, seed, distribution=f"data:{data}")
    return m, nl


def _summary(m: Measures) -> dict[str, Any]:
    d = m.as_dict()
    inf = np.asarray(d.pop("influences"))
    d["live_inputs"] = int((inf > 0).sum())
    d["max_influence"] = float(inf.max()) if inf.size else 0.0
    return d


def measure_network(
    model: Any,
    prep: Any,
    samples: int = 4096,
    flip_rates=None,
    data_limit: int | None = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """Every study measure of a trained network: data-distribution (test, train) and uniform Boolean
    measures of f = class(bits), encoder distortion and topology (influence vectors left out)."""
    from lutnn.study.topology import network_topology

    nl = classifier_netlist(model)
    out: dict[str, Any] = {}
    for split, q in (("test", prep.q_test), ("train", prep.q_train)):
        qs = _subset(q, data_limit, seed)
        out[f"data_{split}"] = _summary(
            measure_on_data(nl, encode_bits(model, qs), flip_rates, seed, distribution=f"data:{split}")
        )
    out["uniform"] = _summary(measure_netlist(nl, samples=samples, flip_rates=flip_rates, seed=seed))
    out["distortion"] = encoder_distortion(model, prep, seed=seed)
    out["topology"] = network_topology(model, image_shape=prep.dataset.image_shape)
    return out
