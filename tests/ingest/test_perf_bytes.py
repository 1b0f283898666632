"""The in-memory stone reader (``read_stones_bytes``) and the fast validation paths.

``footprint classify`` validates a streamed file piece by piece from memory;
these tests check that a piece gives exactly what the file reader gives, with
problems numbered in the whole file, and that the vectorised shortcuts
(whitespace scan, boolean assembly, cached header mapping) keep the values.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from footprint.exceptions import SchemaError
from footprint.ingest import read_stones_bytes, read_stones_table

HEADER = "sample_id,parcel_id,mass_ct,colour,coating,resorption,sieve_class,country,notes\n"


def _write(tmp_path: Path, text: str, name: str = "stones.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_bytes_give_the_same_frame_as_the_file(tmp_path: Path) -> None:
    text = (
        "# SYNTHETIC\n" + HEADER + "S1,P1,0.52,yellow,true,1,+11,caf,first stone\n"
        "S2,P1,,Light Brown,,2,3.1mm,,\n"
        "S3,P2,1.5,colorless,no,,,CAF, spaced note \n"
    )
    path = _write(tmp_path, text)
    from_file, _ = read_stones_table(path, reference=False, keep_columns=("parcel_id",))
    from_bytes, report = read_stones_bytes(
        path.read_bytes(), name=str(path), reference=False, keep_columns=("parcel_id",)
    )
    pd.testing.assert_frame_equal(from_bytes, from_file)
    assert from_bytes.attrs == from_file.attrs
    assert from_bytes.attrs["synthetic"] is True
    assert report.rows_read == 3
    # ground truth, cell by cell
    assert list(from_bytes["colour"]) == ["yellow", "light_brown", "colourless"]
    assert str(from_bytes["coating"].dtype) == "boolean"
    assert from_bytes["coating"].tolist() == [True, pd.NA, False]
    assert list(from_bytes["country"]) == ["CAF", None, "CAF"]
    assert list(from_bytes["notes"]) == ["first stone", None, "spaced note"]
    assert np.isnan(from_bytes["mass_ct"].iloc[1])


def test_problems_are_numbered_in_the_whole_file(tmp_path: Path) -> None:
    piece = (HEADER + "S1,P1,0.5,yellow,,,,,\nS2,P1,-1,yellow,,,,,\nS1,P1,0.7,purple,,,,,\n").encode()
    with pytest.raises(SchemaError) as info:
        read_stones_bytes(piece, name="big.csv", row_offset=40, reference=False, keep_columns=("parcel_id",))
    found = {(p.file, p.row, p.field) for p in info.value.problems}
    assert found == {("big.csv", 42, "mass_ct"), ("big.csv", 43, "colour"), ("big.csv", 43, "sample_id")}
    dup = next(p for p in info.value.problems if p.field == "sample_id")
    assert dup.rule == "duplicate sample_id: already used on row 41"


def test_whitespace_around_ids_is_still_stripped(tmp_path: Path) -> None:
    # Leading blanks go with skipinitialspace; trailing blanks and tabs must be stripped too.
    text = HEADER + "S1 ,P1\t,0.5,yellow,,,,,\nS2,  P1  ,0.6,yellow,,,,,\nS3,P2,0.7,yellow,,,,,a\u00a0\n"
    path = _write(tmp_path, text)
    data = path.read_bytes()
    stones, _ = read_stones_bytes(data, name="x.csv", reference=False, keep_columns=("parcel_id",))
    assert list(stones["sample_id"]) == ["S1", "S2", "S3"]
    assert list(stones["parcel_id"]) == ["P1", "P1", "P2"]
    assert list(stones["notes"]) == [None, None, "a"]


def test_short_rows_and_cp1252_take_the_slow_paths(tmp_path: Path) -> None:
    text = "sample_id,parcel_id,notes\nS1,P1,caf\u00e9\nS2,P2\n"
    data = text.encode("cp1252")
    stones, report = read_stones_bytes(data, name="x.csv", reference=False, keep_columns=("parcel_id",))
    assert list(stones["notes"]) == ["caf\u00e9", None]
    assert any("cp1252" in w for w in report.warnings)


def test_empty_bytes_are_refused() -> None:
    with pytest.raises(SchemaError) as info:
        read_stones_bytes(b"", name="x.csv")
    assert info.value.problems[0].file == "x.csv"
