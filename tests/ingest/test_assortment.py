"""Assortment files: validation through the ingest layer, weighted cell rows, sampling weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from footprint.exceptions import SchemaError
from footprint.ingest import read_assortment, row_weights, sampling_weights

GOOD = """# SYNTHETIC
parcel_id,size_class,quality,colour,n_stones,carats
P-1,dtc:+11,gem,colourless,120,21.6
P-1,gr:4,near_gem,light yellow,3,3.1
P-2,ct:1-2,gem,,2,2.9
P-1,mm:2.5,industrial,brown,10,
"""


def _write(tmp_path: Path, text: str, name: str = "a.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_cells_become_weighted_stone_rows(tmp_path: Path) -> None:
    cells = read_assortment(_write(tmp_path, GOOD))
    assert list(cells["parcel_id"]) == ["P-1", "P-1", "P-1", "P-2"]  # grouped by parcel, file order kept
    assert list(cells["size_class"]) == ["dtc:+11", "gr:4", "mm:2.50", "ct:1-2"]
    assert list(cells["n_stones"]) == [120, 3, 10, 2]
    assert list(cells["stone_weight"]) == [120.0, 3.0, 10.0, 2.0]
    assert cells["mass_ct"].iloc[0] == pytest.approx(21.6 / 120)  # mean mass per stone
    assert np.isnan(cells["mass_ct"].iloc[2])  # a sieve without carats: no mass, the sieve speaks
    assert list(cells["sieve_class"].iloc[:3]) == ["dtc:+11", None, "mm:2.50"]
    assert cells["colour"].iloc[1] == "light_yellow"  # through the stone-table vocabulary step
    assert cells.attrs["synthetic"] is True and cells["sample_id"].is_unique


def test_a_grainer_cell_without_carats_takes_its_nominal_mass(tmp_path: Path) -> None:
    cells = read_assortment(_write(tmp_path, "parcel_id,size_class,n_stones\nP,gr:4,5\n"))
    assert cells["mass_ct"].iloc[0] == pytest.approx(1.0) and np.isnan(cells["carats"].iloc[0])


def test_every_problem_names_file_row_and_field(tmp_path: Path) -> None:
    bad = _write(
        tmp_path,
        "parcel_id,size_class,quality,n_stones,carats\n"
        "P,dtc:+31,gem,10,1\nP,gr:4,nearish,3.5,\n,ct:1-2,gem,2,-1\nQ,gr:4,gem,2,5\n",
    )
    with pytest.raises(SchemaError) as info:
        read_assortment(bad)
    found = {(p.row, p.field) for p in info.value.problems}
    assert {
        (1, "size_class"),
        (2, "quality"),
        (2, "n_stones"),
        (3, "parcel_id"),
        (3, "carats"),
        (4, "carats"),
    } <= found
    assert all(p.file == str(bad) for p in info.value.problems)
    four = next(p for p in info.value.problems if p.row == 4)
    assert "outside size class gr:4" in four.rule  # 2.5 ct per stone is not a 4-grainer


@pytest.mark.parametrize(("header", "field"), [("mass_ct", "mass_ct"), ("n_total_ppm", "n_total_ppm")])
def test_per_stone_columns_are_refused(tmp_path: Path, header: str, field: str) -> None:
    with pytest.raises(SchemaError) as info:
        read_assortment(_write(tmp_path, f"parcel_id,size_class,n_stones,{header}\nP,+11,3,1\n"))
    assert any(p.field == field for p in info.value.problems)


def test_missing_columns_are_reported(tmp_path: Path) -> None:
    with pytest.raises(SchemaError) as info:
        read_assortment(_write(tmp_path, "parcel_id,quality\nP,gem\n"))
    assert {p.field for p in info.value.problems} >= {"size_class", "n_stones"}


def test_reference_lots_need_lot_and_zone(tmp_path: Path) -> None:
    ok = read_assortment(
        _write(tmp_path, "lot_id,zone,site,size_class,n_stones,carats\nL1,CAR-West,Berberati,+11,4,0.7\n"),
        reference=True,
    )
    assert ok["lot_id"].iloc[0] == "L1" and ok["zone"].iloc[0] == "CAR-West"
    with pytest.raises(SchemaError) as info:
        read_assortment(_write(tmp_path, "lot_id,size_class,n_stones\nL1,+11,4\n", "r.csv"), reference=True)
    assert any(p.field == "zone" for p in info.value.problems)


def test_sampling_weights_from_total_and_described_carats() -> None:
    cells = pd.DataFrame(
        {
            "parcel_id": ["A", "A", "B", "C"],
            "mass_ct": [0.5, 0.25, np.nan, 1.0],
            "stone_weight": [2.0, 4.0, 3.0, 1.0],
        }
    )
    parcels = pd.DataFrame(
        {
            "parcel_id": ["A", "B", "C"],
            "total_carats": [8.0, 12.0, 0.5],
            "described_carats": [np.nan, np.nan, np.nan],
        }
    )
    weights, problems = sampling_weights(cells, parcels, file="p.csv")
    assert weights.to_dict() == {"A": 4.0}  # 8 ct total / 2 ct described
    rows = {(p.row, p.field) for p in problems}
    assert rows == {
        (2, "described_carats"),
        (3, "total_carats"),
    }  # B: no carats to scale; C: total < described
    parcels["described_carats"] = [1.0, 3.0, np.nan]
    weights, _ = sampling_weights(cells, parcels)
    assert weights.to_dict() == {"A": 8.0, "B": 4.0}


def test_row_weights_count_cells_and_leave_subsamples_their_own_evidence() -> None:
    stones = pd.DataFrame({"parcel_id": ["A", "A", "B"], "mass_ct": [0.5, 0.5, 1.0]})
    assert row_weights(stones, None)[0] is None  # plain stones: the unweighted path
    parcels = pd.DataFrame({"parcel_id": ["A"], "total_carats": [4.0], "described_carats": [np.nan]})
    weights, sampling, problems = row_weights(stones, parcels)
    assert weights is None and sampling == {"A": 4.0} and not problems
    cells = stones.assign(stone_weight=[3.0, np.nan, 2.0])  # a mixed batch: NaN = a stone row
    weights, _, _ = row_weights(cells, parcels)
    assert list(weights) == [3.0, 1.0, 2.0]


def test_reference_lots_by_assortment_are_stored_one_record_per_stone(tmp_path: Path) -> None:
    from footprint import db

    lots = _write(
        tmp_path,
        "# SYNTHETIC\nlot_id,zone,site,size_class,quality,colour,n_stones,carats\n"
        "L1,CAR-West,Berberati,dtc:+11,gem,colourless,12,2.2\n"
        "L1,CAR-West,Berberati,gr:4,near_gem,brown,2,2.0\n",
        "lots.csv",
    )
    store = tmp_path / "r.h5"
    db.init(store, by="test")
    report = db.add(store, assortments=lots, by="test", n_jobs=1)
    assert report.added == 14 and report.rows_read == 2
    stones = db.list_samples(store)
    assert len(stones) == 14
    # The cell's carats split evenly: the mean mass per stone, and the carats add back up per cell.
    sieve = stones[stones["quality"] == "gem"]
    assert len(sieve) == 12 and np.allclose(sieve["mass_ct"], 2.2 / 12)
    assert np.isclose(sieve["mass_ct"].sum(), 2.2)
    grainers = stones[stones["quality"] == "near_gem"]
    assert len(grainers) == 2 and np.allclose(grainers["mass_ct"], 1.0)
    assert set(grainers["sieve_class"]) == {"dtc:+21"}  # gr:4 (1 ct per stone) on the DTC sieve axis
    assert grainers["notes"].str.contains("2 stones, 2 ct, size class gr:4").all()
    # Every record says it comes from an assortment cell and that its mass is a cell mean.
    assert stones["notes"].str.contains("assortment cell").all()
    assert stones["notes"].str.contains("mass_ct is the cell's mean per stone").all()


def test_reference_cells_without_carats_store_no_mass(tmp_path: Path) -> None:
    from footprint import db

    lots = _write(
        tmp_path,
        "# SYNTHETIC\nlot_id,zone,size_class,quality,n_stones\n"
        "L1,CAR-West,gr:4,gem,3\nL1,CAR-West,+9,gem,2\n",
        "lots.csv",
    )
    store = tmp_path / "r.h5"
    db.init(store, by="test")
    assert db.add(store, assortments=lots, by="test", n_jobs=1).added == 5
    stones = db.list_samples(store)
    # A grainer's nominal mass is not a measurement: no mass stored, and the record says why.
    assert stones["mass_ct"].isna().all()
    assert stones["notes"].str.contains("no mass (cell not weighed)", regex=False).all()
