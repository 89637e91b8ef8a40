"""The LUT netlist: lutnn's one core representation, which every flow lowers into.

A netlist is a DAG of K-input lookup tables stored as arrays (no Python object per node), so
that million-node circuits are cheap to build, simulate and write.

Signals are integers. Primary-input bits come first (``0 .. n_inputs-1``, in bus order, bit 0
of each bus first); node ``i`` drives signal ``n_inputs + i``. Nodes are stored in topological
order: every fan-in of node ``i`` is a signal smaller than its own, so a netlist is acyclic by
construction and simulating it is one pass in storage order.

Truth tables: bit ``m`` of node ``i``'s table is the output when fan-in ``j`` carries bit ``j``
of ``m`` (fan-in 0 is the least-significant address bit). Tables are ``uint64`` words, ``tables
[i, w]`` holding bits ``64w .. 64w+63``; a K-input table has ``2**K`` meaningful bits and every
bit above them must be 0. Constants are 0-input LUTs (table 0 or 1), buffers and inverters are
1-input LUTs (tables ``0b10`` and ``0b01``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from lutnn.errors import NetlistError

__all__ = [
    "MAX_K",
    "TABLE_AND2",
    "TABLE_BUF",
    "TABLE_MAJ3",
    "TABLE_MUX",
    "TABLE_NOT",
    "TABLE_OR2",
    "TABLE_XOR2",
    "Bus",
    "Netlist",
    "NetlistBuilder",
    "NetlistStats",
    "random_netlist",
    "table_from_function",
    "table_words",
]

MAX_K = 16  # 2**16-bit tables (1024 words) are the largest a node may hold

TABLE_BUF = 0b10
TABLE_NOT = 0b01
TABLE_AND2 = 0b1000
TABLE_OR2 = 0b1110
TABLE_XOR2 = 0b0110
TABLE_MUX = 0b11001010  # fan-ins (a, b, s): s ? b : a  (bit m: a = bit 0, b = bit 1, s = bit 2)
TABLE_MAJ3 = 0b11101000


def table_words(k: int) -> int:
    """Number of uint64 words needed for a ``k``-input truth table."""
    return max(1, (1 << k) // 64)


def table_from_function(k: int, fn) -> int:
    """Truth table (as a Python int) of ``fn(bits) -> bool`` over all ``2**k`` input patterns.

    ``bits`` is a tuple with fan-in 0 first. Handy for building small gates in tests and flows.
    """
    t = 0
    for m in range(1 << k):
        if fn(tuple((m >> j) & 1 for j in range(k))):
            t |= 1 << m
    return t


def _int_to_words(t: int, n_words: int) -> np.ndarray:
    return np.array([(t >> (64 * w)) & 0xFFFFFFFFFFFFFFFF for w in range(n_words)], dtype=np.uint64)


def _words_to_int(words: np.ndarray) -> int:
    t = 0
    for w, v in enumerate(words.tolist()):
        t |= int(v) << (64 * w)
    return t


@dataclass(frozen=True)
class Bus:
    """A named group of primary-input or primary-output bits (bit 0 first = LSB)."""

    name: str
    width: int

    def bit_names(self) -> list[str]:
        """Per-bit names: ``name`` for a 1-bit bus, ``name[i]`` otherwise."""
        if self.width == 1:
            return [self.name]
        return [f"{self.name}[{i}]" for i in range(self.width)]


@dataclass(frozen=True)
class NetlistStats:
    """Summary figures of a netlist (what ``lutnn stats`` prints)."""

    name: str
    inputs: int
    outputs: int
    nodes: int
    nodes_by_arity: dict[int, int]
    depth: int
    max_fanout: int
    mean_fanout: float
    k: int

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "nodes": self.nodes,
            "nodes_by_arity": {str(k): v for k, v in self.nodes_by_arity.items()},
            "depth": self.depth,
            "max_fanout": self.max_fanout,
            "mean_fanout": self.mean_fanout,
            "k": self.k,
        }


@dataclass(eq=False)
class Netlist:
    """A combinational network of K-input LUTs with named input and output buses.

    Attributes:
        inputs: primary-input buses, in signal order.
        outputs: primary-output buses; ``output_signals`` lists their bits in the same order.
        fanins: ``int32 [n_nodes, k]``, the signals each node reads, ``-1`` past its arity.
        arity: ``uint8 [n_nodes]``, how many fan-ins each node uses.
        tables: ``uint64 [n_nodes, table_words(k)]``, truth tables (see module docstring).
        output_signals: ``int32 [n_outputs]``, the signal driving each primary-output bit.
        name: the design name (Verilog module name on export).
        signal_names: optional names of some internal signals (kept by readers and writers).
    """

    inputs: list[Bus]
    outputs: list[Bus]
    fanins: np.ndarray
    arity: np.ndarray
    tables: np.ndarray
    output_signals: np.ndarray
    name: str = "top"
    signal_names: dict[int, str] = field(default_factory=dict)

    # ------------------------------------------------------------------ sizes
    @property
    def n_inputs(self) -> int:
        return sum(b.width for b in self.inputs)

    @property
    def n_outputs(self) -> int:
        return len(self.output_signals)

    @property
    def n_nodes(self) -> int:
        return len(self.arity)

    @property
    def n_signals(self) -> int:
        return self.n_inputs + self.n_nodes

    @property
    def k(self) -> int:
        """Width of the fan-in array (the largest arity the storage allows)."""
        return int(self.fanins.shape[1])

    @property
    def max_arity(self) -> int:
        return int(self.arity.max()) if self.n_nodes else 0

    # ------------------------------------------------------------------ buses
    def input_bus(self, name: str) -> np.ndarray:
        """Signal ids of the bits of input bus ``name`` (bit 0 first)."""
        off = 0
        for b in self.inputs:
            if b.name == name:
                return np.arange(off, off + b.width, dtype=np.int64)
            off += b.width
        raise NetlistError(f"no input bus named {name!r}; inputs are {[b.name for b in self.inputs]}")

    def output_bus(self, name: str) -> slice:
        """Slice of ``output_signals`` (and of simulated outputs) holding bus ``name``."""
        off = 0
        for b in self.outputs:
            if b.name == name:
                return slice(off, off + b.width)
            off += b.width
        raise NetlistError(f"no output bus named {name!r}; outputs are {[b.name for b in self.outputs]}")

    def input_bit_names(self) -> list[str]:
        return [n for b in self.inputs for n in b.bit_names()]

    def output_bit_names(self) -> list[str]:
        return [n for b in self.outputs for n in b.bit_names()]

    def node_signal(self, i: int | np.ndarray) -> int | np.ndarray:
        return self.n_inputs + i

    # ------------------------------------------------------------------ tables
    def truth_table(self, i: int) -> int:
        """Truth table of node ``i`` as a Python int (bit m = output for address m)."""
        return _words_to_int(self.tables[i])

    def node_fanins(self, i: int) -> list[int]:
        return self.fanins[i, : int(self.arity[i])].tolist()

    # ------------------------------------------------------------------ checks
    def validate(self) -> Netlist:
        """Check every invariant and raise :class:`NetlistError` naming the first violation."""
        n, n_pi = self.n_nodes, self.n_inputs
        if self.fanins.ndim != 2 or self.fanins.shape[0] != n:
            raise NetlistError(f"fanins must have shape [n_nodes, k], got {self.fanins.shape} for {n} nodes")
        if self.tables.ndim != 2 or self.tables.shape[0] != n:
            raise NetlistError(f"tables must have shape [n_nodes, words], got {self.tables.shape} for {n} nodes")
        if self.k > MAX_K:
            raise NetlistError(f"k={self.k} exceeds the maximum LUT size {MAX_K}; decompose wider functions first")
        if self.tables.shape[1] != table_words(self.k):
            raise NetlistError(
                f"tables have {self.tables.shape[1]} words per node; k={self.k} needs {table_words(self.k)}"
            )
        if n and int(self.arity.max()) > self.k:
            bad = int(np.argmax(self.arity > self.k))
            raise NetlistError(f"node {bad} has arity {self.arity[bad]} > fan-in storage width {self.k}")
        if len({b.name for b in self.inputs} | {b.name for b in self.outputs}) != len(self.inputs) + len(self.outputs):
            raise NetlistError("bus names must be unique across inputs and outputs")
        if any(b.width < 1 for b in self.inputs + self.outputs):
            raise NetlistError("every bus must be at least 1 bit wide")
        if sum(b.width for b in self.outputs) != self.n_outputs:
            raise NetlistError(
                f"output buses total {sum(b.width for b in self.outputs)} bits but {self.n_outputs} output signals given"
            )
        if n:
            cols = np.arange(self.k)[None, :]
            used = cols < self.arity[:, None].astype(np.int64)
            own = (n_pi + np.arange(n))[:, None]
            f = self.fanins.astype(np.int64)
            bad_used = used & ((f < 0) | (f >= own))
            if bad_used.any():
                i, j = np.argwhere(bad_used)[0]
                sig = int(f[i, j])
                if sig < 0:
                    raise NetlistError(f"node {i} (signal {n_pi + i}): fan-in {j} is undriven (-1)")
                if sig >= self.n_signals:
                    raise NetlistError(
                        f"node {i} (signal {n_pi + i}): fan-in {j} refers to signal {sig}, which does not exist"
                    )
                raise NetlistError(
                    f"node {i} (signal {n_pi + i}): fan-in {j} is signal {sig}, not earlier in topological order "
                    "(a cycle or unsorted nodes; build through NetlistBuilder or Netlist.from_unordered)"
                )
            if (~used & (f != -1)).any():
                i, j = np.argwhere(~used & (f != -1))[0]
                raise NetlistError(f"node {i}: fan-in slot {j} beyond its arity must be -1")
            # bits above 2**arity must be zero
            for a in np.unique(self.arity):
                a = int(a)
                sel = self.arity == a
                nbits = 1 << a
                w_full = nbits // 64
                t = self.tables[sel]
                if nbits < 64:
                    extra = t[:, 0] >> np.uint64(nbits)
                    if (extra != 0).any() or (t[:, 1:] != 0).any():
                        i = int(np.flatnonzero(sel)[np.argmax((extra != 0) | (t[:, 1:] != 0).any(axis=1))])
                        raise NetlistError(f"node {i}: truth table has bits set above 2**{a} (its arity)")
                elif (t[:, w_full:] != 0).any():
                    i = int(np.flatnonzero(sel)[np.argmax((t[:, w_full:] != 0).any(axis=1))])
                    raise NetlistError(f"node {i}: truth table has bits set above 2**{a} (its arity)")
        if self.n_outputs:
            o = self.output_signals
            if (o < 0).any() or (o >= self.n_signals).any():
                bad = int(np.argmax((o < 0) | (o >= self.n_signals)))
                raise NetlistError(
                    f"output bit {self.output_bit_names()[bad]} is undriven or refers to a missing signal"
                )
        return self

    # ------------------------------------------------------------------ structure
    def levels(self) -> np.ndarray:
        """Logic level of every signal: inputs and constants 0, a node 1 + its deepest fan-in."""
        lv = np.zeros(self.n_signals, dtype=np.int32)
        if self.n_nodes:
            _levels_kernel(self.fanins, self.arity, self.n_inputs, lv)
        return lv

    def depth(self) -> int:
        """Longest path in LUTs from any input to any output."""
        if not self.n_outputs:
            return 0
        return int(self.levels()[self.output_signals].max())

    def fanout(self) -> np.ndarray:
        """Number of readers (node fan-ins plus primary outputs) of every signal."""
        f = self.fanins[self.fanins >= 0]
        counts = np.bincount(f, minlength=self.n_signals)
        counts += np.bincount(self.output_signals, minlength=self.n_signals)
        return counts

    def stats(self) -> NetlistStats:
        fo = self.fanout()
        node_fo = fo[self.n_inputs :]
        by_arity = {int(a): int(c) for a, c in zip(*np.unique(self.arity, return_counts=True), strict=True)}
        return NetlistStats(
            name=self.name,
            inputs=self.n_inputs,
            outputs=self.n_outputs,
            nodes=self.n_nodes,
            nodes_by_arity=by_arity,
            depth=self.depth(),
            max_fanout=int(fo.max()) if len(fo) else 0,
            mean_fanout=float(node_fo.mean()) if len(node_fo) else 0.0,
            k=self.max_arity,
        )

    def sweep(self) -> Netlist:
        """Remove nodes that no primary output depends on (dangling logic)."""
        live = np.zeros(self.n_signals, dtype=bool)
        live[self.output_signals] = True
        _mark_live(self.fanins, self.n_inputs, live)
        keep = np.flatnonzero(live[self.n_inputs :])
        return self.subset(keep)

    def subset(self, keep: np.ndarray) -> Netlist:
        """Netlist of the nodes ``keep`` (ascending); fails if a kept node reads a dropped one."""
        remap = np.full(self.n_signals + 1, -1, dtype=np.int64)
        remap[: self.n_inputs] = np.arange(self.n_inputs)
        remap[self.n_inputs + keep] = self.n_inputs + np.arange(len(keep))
        f = self.fanins[keep].astype(np.int64)
        nf = np.where(f >= 0, remap[f], -1)
        if ((f >= 0) & (nf < 0)).any():
            raise NetlistError("subset drops a node that a kept node reads")
        outs = remap[self.output_signals]
        if (outs < 0).any():
            raise NetlistError("subset drops a node that drives a primary output")
        names = {int(remap[s]): v for s, v in self.signal_names.items() if remap[s] >= 0}
        return Netlist(
            inputs=list(self.inputs),
            outputs=list(self.outputs),
            fanins=nf.astype(np.int32),
            arity=self.arity[keep].copy(),
            tables=self.tables[keep].copy(),
            output_signals=outs.astype(np.int32),
            name=self.name,
            signal_names=names,
        )

    def copy(self) -> Netlist:
        return Netlist(
            inputs=list(self.inputs),
            outputs=list(self.outputs),
            fanins=self.fanins.copy(),
            arity=self.arity.copy(),
            tables=self.tables.copy(),
            output_signals=self.output_signals.copy(),
            name=self.name,
            signal_names=dict(self.signal_names),
        )

    def with_table(self, i: int, table: int) -> Netlist:
        """A copy with node ``i``'s truth table replaced (used to inject faults in tests)."""
        nl = self.copy()
        nl.tables[i] = _int_to_words(table, nl.tables.shape[1])
        return nl.validate()

    def same_structure(self, other: Netlist) -> bool:
        """True when both netlists have identical buses, nodes, tables and outputs."""
        if self.inputs != other.inputs or self.outputs != other.outputs or self.n_nodes != other.n_nodes:
            return False
        if not np.array_equal(self.output_signals, other.output_signals) or not np.array_equal(self.arity, other.arity):
            return False
        k = max(self.k, other.k)
        a, b = _pad_fanins(self.fanins, k), _pad_fanins(other.fanins, k)
        tw = table_words(k)
        return bool(
            np.array_equal(a, b) and np.array_equal(_pad_tables(self.tables, tw), _pad_tables(other.tables, tw))
        )

    # ------------------------------------------------------------------ construction
    @staticmethod
    def from_unordered(
        inputs: Sequence[Bus],
        outputs: Sequence[Bus],
        fanins: np.ndarray,
        arity: np.ndarray,
        tables: np.ndarray,
        output_signals: np.ndarray,
        name: str = "top",
        signal_names: Mapping[int, str] | None = None,
        node_labels: Sequence[str] | None = None,
    ) -> Netlist:
        """Build a netlist whose nodes may reference each other in any order.

        Signals ``>= n_inputs`` name nodes by their position in the given arrays. Nodes are
        topologically sorted; a cycle raises :class:`NetlistError` naming a node on it
        (``node_labels`` gives readable names for that message).
        """
        n_pi = sum(b.width for b in inputs)
        n = len(arity)
        fanins = np.asarray(fanins, dtype=np.int64)
        if fanins.ndim != 2:
            fanins = fanins.reshape(n, -1) if n else np.zeros((0, 1), np.int64)
        order = _toposort(fanins, np.asarray(arity), n_pi, node_labels)
        pos = np.empty(n, dtype=np.int64)
        pos[order] = np.arange(n)
        remap = np.concatenate([np.arange(n_pi), n_pi + pos, [-1]])
        f = fanins[order]
        nf = np.where(f >= 0, remap[np.where(f >= 0, f, -1)], -1)
        outs = remap[np.asarray(output_signals, dtype=np.int64)]
        names = {int(remap[s]): v for s, v in (signal_names or {}).items()}
        return Netlist(
            inputs=list(inputs),
            outputs=list(outputs),
            fanins=nf.astype(np.int32),
            arity=np.asarray(arity, dtype=np.uint8)[order],
            tables=np.asarray(tables, dtype=np.uint64)[order],
            output_signals=outs.astype(np.int32),
            name=name,
            signal_names=names,
        ).validate()


def _pad_fanins(f: np.ndarray, k: int) -> np.ndarray:
    if f.shape[1] == k:
        return f
    return np.concatenate([f, np.full((f.shape[0], k - f.shape[1]), -1, f.dtype)], axis=1)


def _pad_tables(t: np.ndarray, w: int) -> np.ndarray:
    if t.shape[1] == w:
        return t
    return np.concatenate([t, np.zeros((t.shape[0], w - t.shape[1]), t.dtype)], axis=1)


def _levels_kernel(fanins: np.ndarray, arity: np.ndarray, n_pi: int, lv: np.ndarray) -> None:
    """Levels by logic wave: vectorised per pass; the fast numba version is used when present."""
    from lutnn._kernels import levels

    levels(fanins, arity, n_pi, lv)


def _mark_live(fanins: np.ndarray, n_pi: int, live: np.ndarray) -> None:
    from lutnn._kernels import mark_live

    mark_live(fanins, n_pi, live)


def _toposort(fanins: np.ndarray, arity: np.ndarray, n_pi: int, labels: Sequence[str] | None) -> np.ndarray:
    """Kahn's algorithm over node indices; raises on cycles or references to missing signals."""
    n = len(arity)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    cols = np.arange(fanins.shape[1])[None, :]
    used = cols < arity[:, None].astype(np.int64)
    bad = used & ((fanins < 0) | (fanins >= n_pi + n))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        lab = labels[i] if labels is not None else f"node {i}"
        raise NetlistError(f"{lab}: fan-in {j} is undriven or refers to a signal that does not exist")
    own = (n_pi + np.arange(n))[:, None]
    if not (used & (fanins >= own)).any():
        return np.arange(n, dtype=np.int64)  # already in topological order: keep it
    from lutnn._kernels import toposort

    order = toposort(fanins.astype(np.int64), arity.astype(np.int64), n_pi)
    if len(order) < n:
        placed = np.zeros(n, dtype=bool)
        placed[order] = True
        stuck = int(np.flatnonzero(~placed)[0])
        lab = labels[stuck] if labels is not None else f"node {stuck}"
        raise NetlistError(
            f"combinational cycle through {lab}; a LUT netlist must be acyclic (cut the loop or register it)"
        )
    return order


class NetlistBuilder:
    """Incremental, topologically ordered construction of a :class:`Netlist`.

    ``add_lut`` and ``add_luts`` return signal ids; fan-ins must already exist, so the result
    is sorted by construction. Vectorised ``add_luts`` makes 10^6-node netlists cheap.
    """

    def __init__(self, name: str = "top", k: int = 6) -> None:
        if not 0 <= k <= MAX_K:
            raise NetlistError(f"k={k} is out of range 0..{MAX_K}")
        self.name = name
        self.k = k
        self.inputs: list[Bus] = []
        self.outputs: list[Bus] = []
        self._out_sigs: list[np.ndarray] = []
        self._fanins: list[np.ndarray] = []
        self._arity: list[np.ndarray] = []
        self._tables: list[np.ndarray] = []
        self._n_nodes = 0
        self._n_pi = 0
        self._frozen_inputs = False
        self._consts: dict[int, int] = {}
        self.signal_names: dict[int, str] = {}

    # -- inputs / outputs
    def add_input(self, name: str, width: int = 1) -> np.ndarray:
        """Declare an input bus; returns its bit signals (bit 0 first)."""
        if self._frozen_inputs:
            raise NetlistError("declare every input bus before adding nodes (inputs come first in signal order)")
        if width < 1:
            raise NetlistError(f"input bus {name!r} must be at least 1 bit wide")
        self.inputs.append(Bus(name, width))
        sigs = np.arange(self._n_pi, self._n_pi + width, dtype=np.int64)
        self._n_pi += width
        return sigs

    def add_output(self, name: str, signals: Iterable[int] | int) -> None:
        """Declare an output bus driven by ``signals`` (bit 0 first)."""
        s = np.atleast_1d(np.asarray(signals, dtype=np.int64))
        self.outputs.append(Bus(name, len(s)))
        self._out_sigs.append(s)

    @property
    def n_signals(self) -> int:
        return self._n_pi + self._n_nodes

    # -- nodes
    def add_luts(
        self, fanins: np.ndarray, tables: np.ndarray | Sequence[int], arity: np.ndarray | None = None
    ) -> np.ndarray:
        """Add many LUTs at once. ``fanins [n, a]`` (-1 padded when ``arity`` is given);
        ``tables`` is ``uint64 [n]`` / ``[n, words]`` or a list of Python ints."""
        self._frozen_inputs = True
        f = np.asarray(fanins, dtype=np.int64)
        if f.ndim == 1:
            f = f[:, None]
        n, a = f.shape
        if a > self.k:
            raise NetlistError(f"LUT with {a} inputs exceeds this builder's k={self.k}")
        ar = np.full(n, a, dtype=np.uint8) if arity is None else np.asarray(arity, dtype=np.uint8)
        tw = table_words(self.k)
        if isinstance(tables, np.ndarray) and tables.dtype != object:
            t = tables.astype(np.uint64)
            t = t[:, None] if t.ndim == 1 else t
            t = _pad_tables(t, tw)
        else:
            t = np.stack([_int_to_words(int(x), tw) for x in tables]) if n else np.zeros((0, tw), np.uint64)
        if len(t) != n:
            raise NetlistError(f"{n} fan-in rows but {len(t)} tables")
        own = self.n_signals + np.arange(n)
        used = np.arange(a)[None, :] < ar[:, None].astype(np.int64)
        bad = used & ((f < 0) | (f >= own[:, None]))
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise NetlistError(f"new LUT {i}: fan-in {j} = {f[i, j]} does not exist yet (add fan-ins first)")
        self._fanins.append(_pad_fanins(np.where(used, f, -1), self.k).astype(np.int32))
        self._arity.append(ar)
        self._tables.append(t)
        self._n_nodes += n
        return own

    def add_lut(self, fanins: Sequence[int], table: int) -> int:
        """Add one LUT reading ``fanins`` (fan-in 0 = address bit 0) with truth table ``table``."""
        f = np.asarray([int(x) for x in fanins], dtype=np.int64)[None, :] if len(fanins) else np.zeros((1, 0), np.int64)
        if table >> (1 << len(fanins)):
            raise NetlistError(f"truth table 0x{table:x} has bits above 2**{len(fanins)}")
        return int(self.add_luts(f, [table], arity=np.array([len(fanins)]))[0])

    # -- common gates
    def const(self, value: int) -> int:
        v = int(bool(value))
        if v not in self._consts:
            self._consts[v] = self.add_lut([], v)
        return self._consts[v]

    def not_(self, a: int) -> int:
        return self.add_lut([a], TABLE_NOT)

    def and_(self, a: int, b: int) -> int:
        return self.add_lut([a, b], TABLE_AND2)

    def or_(self, a: int, b: int) -> int:
        return self.add_lut([a, b], TABLE_OR2)

    def xor(self, a: int, b: int) -> int:
        return self.add_lut([a, b], TABLE_XOR2)

    def mux(self, s: int, a: int, b: int) -> int:
        """``s ? b : a``."""
        return self.add_lut([a, b, s], TABLE_MUX)

    def maj(self, a: int, b: int, c: int) -> int:
        return self.add_lut([a, b, c], TABLE_MAJ3)

    def instantiate(self, sub: Netlist, inputs: Mapping[str, Sequence[int]]) -> dict[str, np.ndarray]:
        """Copy netlist ``sub`` in, wiring its input buses to ``inputs``; returns its output buses."""
        self._frozen_inputs = True
        sigmap = np.empty(sub.n_signals, dtype=np.int64)
        off = 0
        for b in sub.inputs:
            if b.name not in inputs:
                raise NetlistError(f"instantiate {sub.name}: input bus {b.name!r} is not connected")
            s = np.asarray(inputs[b.name], dtype=np.int64)
            if len(s) != b.width:
                raise NetlistError(f"instantiate {sub.name}: bus {b.name!r} is {b.width} bits, got {len(s)} signals")
            sigmap[off : off + b.width] = s
            off += b.width
        if sub.k > self.k:
            raise NetlistError(f"instantiate {sub.name}: it has {sub.k}-input storage, builder allows k={self.k}")
        base = self.n_signals
        sigmap[sub.n_inputs :] = base + np.arange(sub.n_nodes)
        f = sub.fanins.astype(np.int64)
        nf = np.where(f >= 0, sigmap[np.where(f >= 0, f, 0)], -1)
        self.add_luts(_pad_fanins(nf, sub.k), sub.tables, arity=sub.arity)
        out: dict[str, np.ndarray] = {}
        for b in sub.outputs:
            out[b.name] = sigmap[sub.output_signals[sub.output_bus(b.name)]]
        return out

    def build(self, validate: bool = True) -> Netlist:
        tw = table_words(self.k)
        nl = Netlist(
            inputs=list(self.inputs),
            outputs=list(self.outputs),
            fanins=np.concatenate(self._fanins) if self._fanins else np.zeros((0, self.k), np.int32),
            arity=np.concatenate(self._arity) if self._arity else np.zeros(0, np.uint8),
            tables=np.concatenate(self._tables) if self._tables else np.zeros((0, tw), np.uint64),
            output_signals=(np.concatenate(self._out_sigs) if self._out_sigs else np.zeros(0, np.int64)).astype(
                np.int32
            ),
            name=self.name,
            signal_names=dict(self.signal_names),
        )
        return nl.validate() if validate else nl


def random_netlist(
    n_inputs: int,
    n_nodes: int,
    k: int = 6,
    seed: int = 0,
    n_outputs: int = 8,
    min_arity: int | None = None,
    locality: int | None = None,
) -> Netlist:
    """A random netlist for tests and benchmarks: arities in ``min_arity..k`` (default ``k``),
    random tables, fan-ins drawn from the previous ``locality`` signals (default: all)."""
    if n_inputs < 1:
        raise NetlistError("random_netlist needs at least one input")
    rng = np.random.default_rng(seed)
    lo = k if min_arity is None else min_arity
    ar = rng.integers(lo, k + 1, size=n_nodes).astype(np.int64)
    own = n_inputs + np.arange(n_nodes)
    start = np.zeros(n_nodes, np.int64) if locality is None else np.maximum(0, own - locality)
    f = start[:, None] + (rng.random((n_nodes, max(k, 1))) * (own - start)[:, None]).astype(np.int64)
    f = np.where(np.arange(max(k, 1))[None, :] < ar[:, None], f, -1)
    tw = table_words(k)
    t = rng.integers(0, 1 << 63, size=(n_nodes, tw), dtype=np.int64).astype(np.uint64) << np.uint64(1)
    t ^= rng.integers(0, 2, size=(n_nodes, tw), dtype=np.int64).astype(np.uint64)
    for a in range(0, min(k, 5) + 1):
        sel = ar == a
        t[sel, 0] &= np.uint64((1 << (1 << a)) - 1)
    if k > 6:
        words_used = np.maximum(1, (1 << ar) // 64)
        t[np.arange(tw)[None, :] >= words_used[:, None]] = 0
    b = NetlistBuilder(f"random{n_nodes}", k=max(k, 1))
    b.add_input("x", n_inputs)
    b.add_luts(f[:, : max(k, 1)], t, arity=ar)
    n_sig = n_inputs + n_nodes
    outs = rng.integers(max(0, n_sig - 4 * n_outputs), n_sig, size=n_outputs)
    b.add_output("y", outs)
    return b.build()
