"""``lutnn explore``: multi-objective design-space search over run configs on Optuna.

:mod:`~lutnn.explore.space` parses search-space files, :mod:`~lutnn.explore.study` runs the study
(trials train through :func:`lutnn.pipeline.run_pipeline`), :mod:`~lutnn.explore.front` re-synthesises
and tests the front and writes the plots. Optuna is imported only when a search runs.
"""

from lutnn.explore.space import SearchSpace, SpaceError, load_space, parse_space

__all__ = ["SearchSpace", "SpaceError", "load_space", "parse_space"]
