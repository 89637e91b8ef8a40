"""Bit names ↔ buses: ``x[3]`` is bit 3 of bus ``x``; shared by every reader and writer."""

from __future__ import annotations

import re
from collections.abc import Sequence

from lutnn.netlist import Bus

__all__ = ["group_bits", "sanitize"]

_BIT = re.compile(r"^(.*)\[(\d+)\]$")


def group_bits(names: Sequence[str]) -> tuple[list[Bus], list[int]]:
    """Group bit names into buses; returns the buses and, per bus bit in order, its index in ``names``.

    Names ``base[i]`` whose indices are exactly ``0..w-1`` form bus ``base`` (bit order by
    index); every other name is a 1-bit bus of its own. Buses appear in order of first mention.
    """
    groups: dict[str, list[tuple[int, int]]] = {}
    order: list[str] = []
    for pos, n in enumerate(names):
        m = _BIT.match(n)
        key = m.group(1) if m else n
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append((int(m.group(2)) if m else -1, pos))
    buses: list[Bus] = []
    perm: list[int] = []
    for key in order:
        bits = groups[key]
        idx = sorted(i for i, _ in bits)
        if len(bits) > 0 and idx == list(range(len(bits))) and not (len(bits) == 1 and names[bits[0][1]] == key):
            buses.append(Bus(key, len(bits)))
            perm.extend(p for _, p in sorted(bits))
        else:
            for _, p in bits:
                buses.append(Bus(names[p], 1))
                perm.append(p)
    return buses, perm


def sanitize(name: str) -> str:
    """A name safe as a BLIF/AIGER token (no whitespace, no comment or continuation characters)."""
    s = re.sub(r"[\s#\\=]", "_", name)
    return s or "_"
