"""The fast parcel splitter gives exactly what the record-by-record splitter gives.

``iter_csv_chunks`` cuts plain blocks of the file at C speed and falls back to
reading record by record for anything else (quotes, blank lines, spaces
around ids...). The record-by-record path is the reference: forcing it (no
block is "plain") must give the same chunks, rows and problems on every file.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from footprint.classify import _stream as _classify
from footprint.classify import iter_csv_chunks


def _split(path: Path, chunk_size: int) -> tuple[list[tuple], list[tuple]]:
    problems: list = []
    chunks = [
        (c.index, c.first_row, c.n_rows, c.parcel_ids, c.data)
        for c in iter_csv_chunks(path, chunk_size=chunk_size, problems=problems)
    ]
    return chunks, [(p.row, p.field, p.value, p.rule) for p in problems]


def _random_table(rng: random.Random, *, column: int, sep: str, newline: str, oddities: bool) -> str:
    lines = ["# SYNTHETIC"]
    header = ["sample_id", "mass_ct", "notes"]
    header.insert(column, "parcel_id")
    lines.append(sep.join(header))
    row = 0
    parcels = [f"P{p:03d}" for p in range(rng.randint(1, 30))]
    if oddities:  # a parcel that comes back later, and a stone without parcel
        parcels += [parcels[0], ""]
    for pid in parcels:
        for _ in range(rng.randint(1, 12)):
            row += 1
            cells = [f"S{row:05d}", f"0.{row % 90 + 10}", "x"]
            cells.insert(column, pid)
            lines.append(sep.join(cells))
            if oddities and rng.random() < 0.05:
                lines.append("")  # blank line: not a record
    return newline.join(lines) + (newline if rng.random() < 0.7 else "")


@pytest.mark.parametrize("seed", range(12))
def test_fast_and_record_by_record_splitting_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = random.Random(seed)
    text = _random_table(
        rng,
        column=rng.choice([0, 1, 3]),
        sep=rng.choice([",", ";", "\t"]),
        newline=rng.choice(["\n", "\r\n"]),
        oddities=seed % 3 == 0,
    )
    path = tmp_path / "s.csv"
    path.write_bytes(text.encode())
    chunk_size = rng.randint(1, 40)
    # Small blocks: parcels and lines cross block boundaries.
    monkeypatch.setattr(_classify, "_BLOCK_BYTES", rng.choice([16, 64, 300, 1 << 20]))
    fast = _split(path, chunk_size)
    monkeypatch.setattr(_classify, "_block_runs", lambda block, column, sep: None)
    slow = _split(path, chunk_size)
    assert fast == slow
    chunks, _ = fast
    # ground truth: every record once, rows counted from 1 without gaps
    records = [
        line for line in text.replace("\r\n", "\n").split("\n")[2:] if line.strip()
    ]
    assert sum(c[2] for c in chunks) == len(records)
    assert [c[1] for c in chunks] == [1 + sum(c[2] for c in chunks[:i]) for i in range(len(chunks))]


def test_spaces_around_a_parcel_id_are_one_parcel(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("parcel_id,sample_id\nP1,A\nP1 ,B\n P2,C\nP2,D\n", encoding="utf-8")
    chunks, problems = _split(path, 1)
    assert problems == []
    assert [(c[3], c[2]) for c in chunks] == [(["P1"], 2), (["P2"], 2)]
