"""Helpers for the KP statistics tests: write small tables as the readers expect them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

TRADE_HEADER = "participant,period,flow,partner,carats,value_usd,certificates"
PROD_HEADER = "participant,period,carats,value_usd"


def quarters(start: int, n: int) -> list[str]:
    return [f"{start + i // 4}-Q{i % 4 + 1}" for i in range(n)]


def write_table(path: Path, header: str, rows: Iterable[Sequence[object]]) -> Path:
    lines = [header] + [",".join("" if v is None else str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def table(tmp_path: Path):
    """Write a TRADE or PROD table under tmp_path and return its path."""

    def make(name: str, rows: Iterable[Sequence[object]], kind: str = "trade") -> Path:
        return write_table(tmp_path / name, TRADE_HEADER if kind == "trade" else PROD_HEADER, rows)

    return make
