"""Reference footprints show the nitrogen the store derived from spectra, not only table values."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from footprint import db
from footprint._features import reference_stones
from footprint._profile import profile
from footprint.store import ReferenceStore
from footprint.synth import write_reference_set


def test_profile_counts_nitrogen_derived_from_spectra(tmp_path: Path) -> None:
    files = write_reference_set(tmp_path / "set", seed=5, lots_per_site=1, stones_per_lot=12,
                                photo_fraction=0.0, n_parcels=0)
    table = pd.read_csv(files["stones"], comment="#")
    assert "n_total_ppm" not in table.columns  # the lab sent spectra, not numbers
    store = tmp_path / "ref.h5"
    db.init(store, by="test")
    db.add(store, stones=files["stones"], spectra=files["spectra"], by="test", n_jobs=1)
    with ReferenceStore.open(store) as opened:
        n_spectra = len(opened.derived_ftir())
        merged = reference_stones(opened)
    assert n_spectra > 0
    assert merged["n_total_ppm"].notna().sum() == n_spectra
    result = profile(store, zone="CAR-West")
    west_with_ftir = int(merged.loc[merged["zone"] == "CAR-West", "n_total_ppm"].notna().sum())
    assert result["summary"]["nitrogen"]["n"] == west_with_ftir > 0
