"""The circuit as a trainable network: every node of a netlist becomes a learnable LUT.

:class:`CircuitNet` keeps the netlist's topology (fan-ins never change) and turns each node's
truth table into trainable logits initialised to the current table (±``init_logit``). The
forward pass is the multilinear relaxation of :func:`lutnn.lutnet.lut.lut_forward` (the LUT-network
issue's differentiable LUT), so soft bits flow through the circuit; :meth:`CircuitNet.to_netlist`
thresholds the tables back into an ordinary netlist with the same structure.

:func:`retrain_demo` shows the point on the embedded digits data: a LUT-network circuit,
deliberately damaged by flipping truth-table bits, regains its accuracy by retraining only its
truth tables.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from lutnn.errors import LutnnError
from lutnn.lutnet.lut import lut_forward
from lutnn.netlist import Netlist, table_words
from lutnn.sim import simulate

__all__ = ["CircuitNet", "RetrainReport", "damage_tables", "group_sum_logits", "retrain_circuit", "retrain_demo"]

MAX_RETRAIN_K = 10


def _table_bits(nl: Netlist, i: int, a: int) -> np.ndarray:
    t = nl.truth_table(i)
    return np.array([(t >> m) & 1 for m in range(1 << a)], dtype=np.float32)


class CircuitNet(nn.Module):
    """A netlist whose node tables are trainable: ``[B, n_inputs]`` soft bits → ``[B, n_outputs]``.

    Nodes are evaluated level by level, grouped by arity; constants (0-input nodes) stay fixed.
    """

    def __init__(self, nl: Netlist, init_logit: float = 3.0) -> None:
        super().__init__()
        nl.validate()
        if nl.max_arity > MAX_RETRAIN_K:
            raise LutnnError(
                f"{nl.name}: nodes with {nl.max_arity} inputs are too wide to retrain (limit {MAX_RETRAIN_K}); "
                f"re-map the circuit to smaller LUTs first (lutnn synth --lut 6)"
            )
        self.nl = nl
        self.n_inputs = nl.n_inputs
        self.init_logit = float(init_logit)
        lv = nl.levels()[nl.n_inputs :]
        ar = nl.arity.astype(np.int64)
        self.groups: list[tuple[int, int]] = []  # (level, arity) per parameter group
        self._nodes: list[np.ndarray] = []
        const_nodes = np.flatnonzero(ar == 0)
        self.register_buffer("const_sig", torch.from_numpy(nl.n_inputs + const_nodes))
        self.register_buffer(
            "const_val", torch.tensor([float(nl.truth_table(int(i)) & 1) for i in const_nodes], dtype=torch.float32)
        )
        self.tables = nn.ParameterList()
        g = 0
        for level in range(1, int(lv.max()) + 1 if len(lv) else 1):
            for a in range(1, int(ar.max()) + 1 if len(ar) else 1):
                nodes = np.flatnonzero((lv == level) & (ar == a))
                if not len(nodes):
                    continue
                bits = np.stack([_table_bits(nl, int(i), a) for i in nodes])
                self.tables.append(nn.Parameter(torch.from_numpy((2 * bits - 1) * self.init_logit)))
                self.register_buffer(f"fan{g}", torch.from_numpy(nl.fanins[nodes, :a].astype(np.int64)))
                self.register_buffer(f"sig{g}", torch.from_numpy(nl.n_inputs + nodes))
                self.groups.append((level, a))
                self._nodes.append(nodes)
                g += 1
        # column of every signal in the concatenation [inputs, constants, group 0, group 1, ...]
        pos = np.full(nl.n_signals, -1, dtype=np.int64)
        pos[: nl.n_inputs] = np.arange(nl.n_inputs)
        off = nl.n_inputs
        pos[nl.n_inputs + const_nodes] = off + np.arange(len(const_nodes))
        off += len(const_nodes)
        for g, nodes in enumerate(self._nodes):
            self.register_buffer(f"pos{g}", torch.from_numpy(pos[nl.fanins[nodes, : self.groups[g][1]].reshape(-1)]))
            pos[nl.n_inputs + nodes] = off + np.arange(len(nodes))
            off += len(nodes)
        self.register_buffer("out_pos", torch.from_numpy(pos[nl.output_signals.astype(np.int64)]))

    def forward(self, x: torch.Tensor, hard: bool = False) -> torch.Tensor:
        """Soft (multilinear) evaluation; ``hard=True`` thresholds tables and inputs (the exact circuit)."""
        if x.dim() != 2 or x.shape[1] != self.n_inputs:
            raise LutnnError(f"CircuitNet expects [B, {self.n_inputs}] bits, got {tuple(x.shape)}")
        x = x.float()
        if hard:
            x = (x > 0.5).float()
        parts = [x, self.const_val.to(x.device)[None, :].expand(x.shape[0], -1)]
        for g, p in enumerate(self.tables):
            fan = getattr(self, f"fan{g}")
            tab = (p > 0).float() if hard else torch.sigmoid(p)
            s = torch.cat(parts, 1)
            xin = s.index_select(1, getattr(self, f"pos{g}")).view(x.shape[0], fan.shape[0], fan.shape[1])
            parts.append(lut_forward(xin, tab))
        return torch.cat(parts, 1).index_select(1, self.out_pos)

    @torch.no_grad()
    def to_netlist(self) -> Netlist:
        """The netlist with every table thresholded (logit > 0 → 1): same fan-ins, new functions."""
        nl = self.nl.copy()
        tw = table_words(nl.k)
        for nodes, p in zip(self._nodes, self.tables, strict=True):
            bits = (p > 0).cpu().numpy()
            for row, i in enumerate(nodes.tolist()):
                t = 0
                for m in np.flatnonzero(bits[row]).tolist():
                    t |= 1 << m
                nl.tables[i] = [(t >> (64 * w)) & 0xFFFFFFFFFFFFFFFF for w in range(tw)]
        return nl.validate()


def damage_tables(nl: Netlist, fraction: float, flip_prob: float = 0.5, seed: int = 0) -> Netlist:
    """A copy of ``nl`` where a ``fraction`` of the nodes have each table bit flipped with ``flip_prob``."""
    if not 0 <= fraction <= 1 or not 0 <= flip_prob <= 1:
        raise LutnnError("damage fraction and flip probability must lie in [0, 1]")
    rng = np.random.default_rng(seed)
    out = nl.copy()
    tw = table_words(nl.k)
    for i in np.flatnonzero(rng.random(nl.n_nodes) < fraction).tolist():
        a = int(nl.arity[i])
        if a == 0:
            continue
        flips = rng.random(1 << a) < flip_prob
        t = nl.truth_table(i) ^ sum(1 << int(m) for m in np.flatnonzero(flips))
        out.tables[i] = [(t >> (64 * w)) & 0xFFFFFFFFFFFFFFFF for w in range(tw)]
    return out.validate()


def group_sum_logits(h: torch.Tensor, n_classes: int, tau: float) -> torch.Tensor:
    """The LUT-network head: output bits in ``n_classes`` equal groups, class score = group sum / tau."""
    return h.reshape(h.shape[0], n_classes, -1).sum(-1) / tau


@dataclass
class RetrainReport:
    """Accuracy of a circuit before damage, after damage, and after retraining its truth tables."""

    original: float
    damaged: float
    retrained: float
    nodes: int
    damaged_nodes: int
    changed_entries: int
    epochs: int
    seconds: float
    topology_unchanged: bool
    netlist_matches_module: bool

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def retrain_circuit(
    nl: Netlist,
    x: np.ndarray,
    y: np.ndarray,
    head: Callable[[torch.Tensor], torch.Tensor],
    epochs: int = 20,
    lr: float = 0.05,
    batch_size: int = 64,
    seed: int = 0,
    progress: bool = False,
) -> CircuitNet:
    """Fine-tune the truth tables of ``nl`` on bits ``x`` and labels ``y`` with cross-entropy on ``head(outputs)``."""
    if len(x) != len(y) or len(x) == 0:
        raise LutnnError(f"retrain needs as many labels as samples, got {len(x)} samples and {len(y)} labels")
    torch.manual_seed(seed)
    net = CircuitNet(nl)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32))
    yt = torch.as_tensor(np.asarray(y, dtype=np.int64))
    gen = torch.Generator().manual_seed(seed)
    it = range(epochs)
    if progress:
        from rich.progress import track

        it = track(it, description="retrain tables")
    for _ in it:
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), batch_size):
            idx = perm[i : i + batch_size]
            loss = nn.functional.cross_entropy(head(net(xt[idx])), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net


def group_sum_accuracy(nl: Netlist, x: np.ndarray, y: np.ndarray, n_classes: int) -> float:
    """Accuracy of a circuit whose outputs are class groups: class = argmax of the group popcounts."""
    h = simulate(nl, x).astype(np.int64)
    counts = h.reshape(len(h), n_classes, -1).sum(-1)
    return float((counts.argmax(1) == y).mean())  # argmax: ties to the lowest class, as the circuit head


def retrain_demo(
    damage: float = 0.3, flip_prob: float = 0.5, epochs: int = 15, lut_epochs: int = 10, seed: int = 0
) -> RetrainReport:
    """Digits: train a LUT network, compile its LUT layers, damage the tables, retrain them (topology fixed)."""
    from lutnn.lutnet.compile import compile_core
    from lutnn.lutnet.config import ModelConfig, RunConfig, TrainConfig
    from lutnn.lutnet.train import train

    t0 = time.perf_counter()
    cfg = RunConfig(
        model=ModelConfig(layers=[400, 100], k=6),
        train=TrainConfig(epochs=lut_epochs, device="cpu", seed=seed, checkpoint_every=10**6),
    )
    res = train(cfg)
    model, prep = res.model, res.prepared
    with torch.no_grad():
        xb_tr = model.encoder(torch.as_tensor(prep.q_train)).numpy().astype(np.uint8)
        xb_te = model.encoder(torch.as_tensor(prep.q_test)).numpy().astype(np.uint8)
    ytr, yte = prep.dataset.y_train, prep.dataset.y_test
    nc = prep.dataset.n_classes
    nl = compile_core(model)
    a0 = group_sum_accuracy(nl, xb_te, yte, nc)
    bad = damage_tables(nl, damage, flip_prob, seed=seed + 1)
    a1 = group_sum_accuracy(bad, xb_te, yte, nc)
    tau = math.sqrt(nl.n_outputs // nc)
    net = retrain_circuit(bad, xb_tr, ytr, lambda h: group_sum_logits(h, nc, tau), epochs=epochs, seed=seed)
    fixed = net.to_netlist()
    a2 = group_sum_accuracy(fixed, xb_te, yte, nc)
    with torch.no_grad():
        hard = net(torch.as_tensor(xb_te, dtype=torch.float32), hard=True).numpy().astype(np.uint8)
    return RetrainReport(
        original=a0,
        damaged=a1,
        retrained=a2,
        nodes=nl.n_nodes,
        damaged_nodes=int((bad.tables != nl.tables).any(axis=1).sum()),
        changed_entries=int(sum(bin(fixed.truth_table(i) ^ bad.truth_table(i)).count("1") for i in range(nl.n_nodes))),
        epochs=epochs,
        seconds=time.perf_counter() - t0,
        topology_unchanged=bool(np.array_equal(fixed.fanins, bad.fanins) and np.array_equal(fixed.arity, bad.arity)),
        netlist_matches_module=bool((simulate(fixed, xb_te) == hard).all()),
    )
