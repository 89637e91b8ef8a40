"""Small statistics for the study: Spearman rank correlation with a bootstrap confidence interval."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["bootstrap_spearman", "spearman"]


def spearman(a, b) -> float:
    """Spearman's rank correlation (average ranks for ties); NaN when either side is constant."""
    from scipy.stats import rankdata

    x, y = rankdata(np.asarray(a, float)), rankdata(np.asarray(b, float))
    if len(x) < 3 or x.std() == 0 or y.std() == 0:
        return math.nan
    return float(np.corrcoef(x, y)[0, 1])


def bootstrap_spearman(a, b, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> dict:
    """Spearman ρ with a percentile bootstrap CI over the pairs (resampled with replacement) and n."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    rho = spearman(a, b)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot if len(a) >= 5 else 0):
        i = rng.integers(0, len(a), len(a))
        r = spearman(a[i], b[i])
        if math.isfinite(r):
            boots.append(r)
    lo, hi = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2]) if boots else (math.nan, math.nan)
    return {"rho": rho, "lo": float(lo), "hi": float(hi), "n": len(a)}
