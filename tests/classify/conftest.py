"""Fixtures for the classify tests: a small synthetic store, a quickly trained model, parcels."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

#: A light training configuration: the tests check the pipeline, not the model's last percent.
LIGHT_CONFIG = {"max_iter": 40, "cv": 2, "novelty_n_null": 300, "tempering_parcels_per_lot": 1}
PARCEL_FILE_COLUMNS = [
    "parcel_id",
    "declared_zone",
    "kp_certificate",
    "exporter",
    "declared_value_usd",
    "cleaning_state",
]


def write_stones(frame: pd.DataFrame, path: Path) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("# SYNTHETIC\n")
        frame.to_csv(fh, index=False, lineterminator="\n")
    return path


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("classify")


@pytest.fixture(scope="session")
def reference_store(workspace: Path) -> Path:
    from footprint import db
    from footprint.synth import generate_reference, load_params

    # Small (not the bundled size): these tests need speed, not power.
    ref = generate_reference(load_params(), seed=11, lots_per_site=6)
    csv = write_stones(ref, workspace / "reference.csv")
    store = workspace / "reference.h5"
    db.init(store, by="test")
    db.add(store, stones=csv, by="test", n_jobs=1)
    return store


@pytest.fixture(scope="session")
def model_dir(workspace: Path, reference_store: Path) -> Path:
    from footprint.model import train

    out = workspace / "model"
    train(reference_store, out_dir=out, config=LIGHT_CONFIG, seed=0)
    return out


@pytest.fixture(scope="session")
def parcels_truth(workspace: Path) -> tuple[Path, Path, pd.DataFrame]:
    """Synthetic parcels of 50-100 stones with known truth: stones CSV, parcels CSV, truth table."""
    from footprint.synth import generate_parcels, load_params

    stones, parcels = generate_parcels(load_params(), seed=5, n_parcels=16, size_range=(50, 100))
    stones_csv = write_stones(stones, workspace / "parcel_stones.csv")
    parcels_csv = workspace / "parcels.csv"
    parcels[PARCEL_FILE_COLUMNS].to_csv(parcels_csv, index=False, lineterminator="\n")
    return stones_csv, parcels_csv, parcels


@pytest.fixture(scope="session")
def site_parcels(workspace: Path) -> tuple[Path, Path, pd.DataFrame]:
    """One 50-stone parcel per reference site (fresh seed), every one declared CAR-West.

    Known truth: parcels from East sites are pure East goods declared West (the
    laundering case), those from West sites are what they claim.
    """
    from footprint.synth import generate_reference, load_params

    lots = generate_reference(load_params(), seed=99, lots_per_site=1, stones_per_lot=50)
    lots = lots.assign(parcel_id="P-" + lots["site"].str.replace(" ", "-", regex=False))
    truth = lots.groupby("parcel_id", sort=False)[["zone", "site"]].first().reset_index()
    stones = lots.drop(columns=["zone", "site", "lot_id", "country", "collected_on", "lab"])
    stones = stones[["parcel_id", *[c for c in stones.columns if c != "parcel_id"]]]
    stones_csv = write_stones(stones, workspace / "site_parcels.csv")
    parcels = pd.DataFrame(
        {
            "parcel_id": truth["parcel_id"],
            "declared_zone": "CAR-West",
            "kp_certificate": [f"CF-TEST-{i:04d}" for i in range(len(truth))],
            "exporter": "Comptoir Test (SYNTHETIC)",
            "declared_value_usd": 1500.0,
            "cleaning_state": "acid_rinsed",
        }
    )
    parcels_csv = workspace / "site_parcels_declared.csv"
    parcels.to_csv(parcels_csv, index=False, lineterminator="\n")
    return stones_csv, parcels_csv, truth
