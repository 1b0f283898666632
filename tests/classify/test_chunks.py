"""The streaming layer: parcel-whole chunks, row numbers, ordered execution (serial, joblib, Dask)."""

from __future__ import annotations

import math
import random
import time
from pathlib import Path

import pytest

from footprint.classify import iter_csv_chunks, run_ordered
from footprint.exceptions import InputError


def _write(path: Path, sizes: list[int], quoted_note_at: int | None = None) -> list[tuple[str, int]]:
    """Write parcels of the given sizes; return (parcel_id, data row) for every stone."""
    rows = []
    lines = ["# SYNTHETIC", "sample_id,parcel_id,mass_ct,notes"]
    row = 0
    for p, size in enumerate(sizes):
        for _ in range(size):
            row += 1
            note = '"two\nlines, with a comma"' if row == quoted_note_at else "x"
            lines.append(f"S{row:05d},P{p:03d},0.{row % 90 + 10},{note}")
            rows.append((f"P{p:03d}", row))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return rows


def test_chunks_keep_parcels_whole_and_rows_in_file_numbering(tmp_path: Path) -> None:
    rng = random.Random(3)
    sizes = [rng.randint(1, 40) for _ in range(60)]
    rows = _write(tmp_path / "s.csv", sizes, quoted_note_at=77)
    problems: list = []
    chunks = list(iter_csv_chunks(tmp_path / "s.csv", chunk_size=50, problems=problems))
    assert problems == []
    seen: list[str] = []
    next_row = 1
    for chunk in chunks:
        text = chunk.data.decode()
        assert text.startswith("# SYNTHETIC\nsample_id,parcel_id,mass_ct,notes\n")
        assert chunk.first_row == next_row
        body_rows = [r for r in rows if r[1] >= chunk.first_row][: chunk.n_rows]
        assert chunk.parcel_ids == list(dict.fromkeys(p for p, _ in body_rows))
        # Never split: a chunk ends where a parcel ends.
        assert chunk.n_rows >= 50 or chunk is chunks[-1]
        seen += chunk.parcel_ids
        next_row += chunk.n_rows
    assert seen == [f"P{p:03d}" for p in range(60)]
    assert next_row - 1 == sum(sizes)
    # The quoted two-line note stays one record, in its chunk.
    assert sum(c.data.count(b'"two\nlines, with a comma"') for c in chunks) == 1


def test_a_parcel_bigger_than_the_chunk_size_stays_whole(tmp_path: Path) -> None:
    _write(tmp_path / "s.csv", [3, 120, 2])
    chunks = list(iter_csv_chunks(tmp_path / "s.csv", chunk_size=10))
    assert [c.parcel_ids for c in chunks] == [["P000", "P001"], ["P002"]]
    assert [c.n_rows for c in chunks] == [123, 2]


def test_interrupted_parcels_and_missing_ids_are_problems(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("sample_id,parcel_id\nA,P1\nB,P2\nC,\nD,P1\n", encoding="utf-8")
    problems: list = []
    list(iter_csv_chunks(path, chunk_size=1, problems=problems))
    assert [(p.row, p.field, p.value) for p in problems] == [(3, "parcel_id", ""), (4, "parcel_id", "P1")]
    assert "row 1" in problems[1].rule


def test_no_parcel_column_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("sample_id,mass_ct\nA,0.1\n", encoding="utf-8")
    with pytest.raises(InputError, match="parcel_id"):
        list(iter_csv_chunks(path))


def _slow_square(x: int) -> int:
    # Later tasks finish first, so only an ordered runner returns them in order.
    time.sleep(0.02 * (5 - x % 5))
    return x * x


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_run_ordered_returns_results_in_task_order(n_jobs: int) -> None:
    # Worker processes cannot import this test module, so the task function is a
    # library one; early tasks are the slow ones (larger factorials).
    sizes = [6000 - 400 * i for i in range(12)]
    tasks = iter(sizes)  # a generator: consumed lazily
    out = list(run_ordered(tasks, math.factorial, n_jobs=n_jobs))
    assert out == [math.factorial(n) for n in sizes]


@pytest.mark.dask
def test_run_ordered_on_a_dask_cluster_keeps_order() -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=3,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        out = list(run_ordered(range(10), _slow_square, scheduler=cluster.scheduler_address, window=4))
    assert out == [x * x for x in range(10)]


def test_unreachable_scheduler_is_an_input_error() -> None:
    pytest.importorskip("distributed")
    with pytest.raises(InputError, match="Dask scheduler"):
        list(run_ordered(range(3), _slow_square, scheduler="tcp://127.0.0.1:9", connect_timeout=1))
