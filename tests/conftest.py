"""Fixtures shared by the whole suite."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The project root (where pyproject.toml lives)."""
    return ROOT


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the project root; tests may read it, the package may not."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside the project root")
    return SHARED
