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


#: Cases of the bad-input corpus run in this session: (case, exit code).
_CORPUS: list[tuple[str, int]] = []


@pytest.fixture
def corpus_record():
    """Record one bad-input corpus case that ended as it must (clear message, exit 2-5, files unchanged)."""

    def record(case: str, code: int) -> None:
        _CORPUS.append((case, code))

    return record


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Print the bad-input corpus count (issue 11) in the ``make test`` output."""
    if not _CORPUS:
        return
    by_code: dict[int, int] = {}
    for _, code in _CORPUS:
        by_code[code] = by_code.get(code, 0) + 1
    codes = ", ".join(f"exit {c}: {n}" for c, n in sorted(by_code.items()))
    terminalreporter.write_line(
        f"bad-input corpus: {len(_CORPUS)} cases refused with a clear message and a documented exit code "
        f"({codes}); no traceback, inputs and store unchanged")
