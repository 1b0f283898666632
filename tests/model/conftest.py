"""Fixtures for the model tests: small SYNTHETIC reference sets and a quickly trained model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

#: Light training options: the tests check behaviour, the benchmark checks the last percent.
LIGHT = {"novelty_n_null": 300, "tempering_parcels_per_lot": 1,
         "parcel_sizes": [25, 50, 100, 400], "parcel_per_zone": [100, 100, 60, 30]}


@pytest.fixture(scope="session")
def params():
    from footprint.synth import load_params

    return load_params()


@pytest.fixture(scope="session")
def reference(params) -> pd.DataFrame:
    from footprint.synth import generate_reference

    return generate_reference(params, seed=3, lots_per_site=5, stones_per_lot=40)


@pytest.fixture(scope="session")
def heldout(params) -> pd.DataFrame:
    from footprint.synth import generate_reference

    return generate_reference(params, seed=4, lots_per_site=4, stones_per_lot=50)


@pytest.fixture(scope="session")
def model(reference):
    from footprint.model import train_frames

    return train_frames(reference, config=LIGHT, seed=0, source={"synthetic": True, "content_hash": "abc"})


@pytest.fixture(scope="session")
def saved_model(model, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("model") / "m"
    model.save(out)
    return out


def _lot_parcels(frame: pd.DataFrame, size: int, per_lot: int, seed: int = 0) -> pd.DataFrame:
    """Parcels of ``size`` different stones drawn from single lots (known zone and site)."""
    rng = np.random.default_rng(seed)
    parts = []
    for k, (_, idx) in enumerate(frame.groupby("lot_id").indices.items()):
        for r in range(per_lot):
            pick = frame.iloc[rng.choice(idx, size, replace=False)]
            parts.append(pick.assign(parcel_id=f"P{k:03d}-{r}"))
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="session")
def lot_parcels():
    """``lot_parcels(frame, size, per_lot, seed=0)``: parcels drawn from single lots."""
    return _lot_parcels


@pytest.fixture(scope="session")
def light() -> dict:
    """Light training options."""
    return dict(LIGHT)


@pytest.fixture(scope="session")
def store_path(tmp_path_factory, reference) -> Path:
    """A real reference store holding the SYNTHETIC reference stones."""
    from footprint import db

    work = tmp_path_factory.mktemp("store")
    csv = work / "reference.csv"
    with open(csv, "w", encoding="utf-8", newline="") as fh:
        fh.write("# SYNTHETIC\n")
        reference.to_csv(fh, index=False, lineterminator="\n")
    store = work / "reference.h5"
    db.init(store, by="test")
    db.add(store, stones=csv, by="test", n_jobs=1)
    return store
