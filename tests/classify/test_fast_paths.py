"""Fast paths of a classify run give exactly what the plain ones give.

- result lines formatted directly (:func:`footprint.classify._output._csv_lines`)
  are the bytes ``DataFrame.to_csv(float_format="%.6g")`` writes, for awkward
  values too (NaN, infinities, -0.0, tiny and huge numbers, text that needs
  quoting, which goes through ``to_csv`` itself);
- ``assess_batch(per_stone=False)`` gives the same parcel results;
- the stones file hashed in the background gives the digest hashed in place.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from footprint._audit import hash_in_background, hash_inputs
from footprint.classify._output import _csv_lines, _write_csv


def _to_csv(frame: pd.DataFrame) -> str:
    buffer = io.StringIO()
    _write_csv(frame, buffer, False)
    return buffer.getvalue()


def _awkward_frame(rng: np.random.Generator, n: int, text: list[object]) -> pd.DataFrame:
    special = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-300, 5e-324, 1e300, 123456.5, 0.1234565,
                        999999.5, 1e-5, -2.5e-7, 1.0, 100000.0, 1000000.0])
    scaled = rng.normal(size=n) * 10.0 ** rng.integers(-8, 8, n)
    values = np.where(rng.random(n) < 0.5, rng.choice(special, n), scaled)
    return pd.DataFrame({
        "parcel_id": [f"P{i:05d}" for i in range(n)],
        "n_stones": rng.integers(0, 500, n),
        "note": [text[i % len(text)] for i in range(n)],
        "p": values,
        "q": rng.random(n),
    })


@pytest.mark.parametrize("seed", range(6))
def test_direct_result_lines_are_the_bytes_to_csv_writes(seed: int) -> None:
    rng = np.random.default_rng(seed)
    frame = _awkward_frame(rng, 300, ["consistent", None, "", "mixed", "CAR-East;CAR-West"])
    assert _csv_lines(frame) == _to_csv(frame)
    as_strings = frame.astype({"parcel_id": "str", "note": "str"})
    assert _csv_lines(as_strings) == _to_csv(as_strings)


@pytest.mark.parametrize("text", [['a "quoted" word'], ["a, b"], ["two\nlines"], ["cr\rhere"], [3.5], [True]])
def test_cells_that_need_quoting_or_are_not_text_go_through_to_csv(text: list[object]) -> None:
    frame = _awkward_frame(np.random.default_rng(1), 20, ["plain", *text])
    assert _csv_lines(frame) == _to_csv(frame)


def test_empty_frame_has_no_lines() -> None:
    frame = pd.DataFrame({"parcel_id": pd.Series([], dtype=object), "p": pd.Series([], dtype=float)})
    assert _csv_lines(frame) == _to_csv(frame) == ""


def test_parcel_results_do_not_depend_on_per_stone(model_dir: Path, site_parcels) -> None:
    from footprint.ingest import read_stones_table
    from footprint.model import FootprintModel

    model = FootprintModel.load(model_dir)
    stones_csv, parcels_csv, _ = site_parcels
    stones, _ = read_stones_table(stones_csv, reference=False, keep_columns=("parcel_id",))
    parcels = pd.read_csv(parcels_csv)
    full, per_stone = model.assess_batch(stones, parcels)
    lean, none = model.assess_batch(stones, parcels, per_stone=False)
    pd.testing.assert_frame_equal(full, lean, check_exact=True)
    assert len(per_stone) == len(stones)
    assert len(none) == 0
    assert list(none.columns) == list(per_stone.columns)


def test_background_hash_is_the_file_hash(tmp_path: Path) -> None:
    path = tmp_path / "stones.csv"
    path.write_bytes(b"parcel_id,sample_id\n" + b"P1,S1\n" * 300_000)
    digest = hash_in_background(path)
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest() == expected
    assert hash_inputs({"stones": path}, digests={"stones": digest}) == hash_inputs({"stones": path})


def test_background_hash_reports_a_missing_file(tmp_path: Path) -> None:
    digest = hash_in_background(tmp_path / "gone.csv")
    with pytest.raises(FileNotFoundError):
        digest()


def test_csv_lines_neutralise_formula_cells_as_the_writer_does():
    from footprint.classify._output import _csv_lines, _write_csv

    cases = (["a", "=b"], ["a", "b"], ["+1", "x"], ["x", "\tq"], ["a-b", "c@d"], ["-", "ok"], ["@x", "y"])
    for cells in cases:
        frame = pd.DataFrame({"text": cells, "value": [1.5, 2.0]})
        buffer = io.StringIO()
        _write_csv(frame, buffer, False)
        assert _csv_lines(frame) == buffer.getvalue(), cells
