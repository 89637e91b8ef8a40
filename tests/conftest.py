"""Shared pytest options: ``--runslow`` enables tests marked slow; helpers for tool-dependent tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# ../shared beside the checkout; LUTNN_SHARED points elsewhere (e.g. from a git worktree)
SHARED = Path(os.environ.get("LUTNN_SHARED") or Path(__file__).resolve().parents[2] / "shared")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False, help="run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ``../shared`` folder beside the checkout (datasets, circuits); skip when absent."""
    if not SHARED.exists():
        pytest.skip(f"{SHARED} not present")
    return SHARED
