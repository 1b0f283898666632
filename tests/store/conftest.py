"""Fixtures for the store tests: hand-built batches, so the store is tested on its own."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from footprint._batch import Batch, SourceFile
from footprint.store import ReferenceStore
from footprint._types import ImageRecord, Spectrum

ZONES = ("CAR-West", "CAR-East")


def stones_frame(ids, *, mass=None, zone=None, **extra) -> pd.DataFrame:
    """A typed stone table like the one ingest produces."""
    ids = list(ids)
    n = len(ids)
    frame = pd.DataFrame({
        "sample_id": pd.Series(ids, dtype=object),
        "zone": pd.Series([zone or ZONES[i % 2] for i in range(n)], dtype=object),
        "site": pd.Series([f"site-{i % 3}" for i in range(n)], dtype=object),
        "lot_id": pd.Series([f"lot-{i % 4}" for i in range(n)], dtype=object),
        "mass_ct": pd.Series(mass if mass is not None else [0.1 + 0.01 * i for i in range(n)],
                             dtype="float64"),
        "resorption": pd.array([i % 4 if i % 5 else None for i in range(n)], dtype="Int64"),
        "coating": pd.array([bool(i % 2) if i % 3 else None for i in range(n)], dtype="boolean"),
        "colour": pd.Series([("yellow", "brown", None)[i % 3] for i in range(n)], dtype=object),
        "n_total_ppm": pd.Series([float(100 + 10 * i) if i % 2 else np.nan for i in range(n)],
                                 dtype="float64"),
    })
    for name, values in extra.items():
        frame[name] = values
    return frame


def ftir_spectrum(sample_id: str, *, seed: int = 0, descending: bool = True) -> Spectrum:
    """A JCAMP-like FTIR absorbance spectrum whose values are a known function of x."""
    x = np.arange(4000.0, 399.0, -1.0) if descending else np.arange(400.0, 4001.0, 1.0)
    y = 0.1 + 1e-4 * x + 0.01 * seed
    raw = (f"##TITLE={sample_id}\n##XUNITS=1/CM\n##YUNITS=ABSORBANCE\n##SEED={seed}\n").encode()
    return Spectrum(x=x, y=y, x_unit="1/cm", y_unit="absorbance", kind="ftir",
                    source=f"{sample_id}_{seed}.jdx", raw=raw, meta={"title": sample_id, "seed": seed},
                    sample_id=sample_id)


def image(sample_id: str, view: str = "top") -> ImageRecord:
    data = f"\x89PNG fake image of {sample_id} {view}".encode()
    return ImageRecord(sample_id=sample_id, view=view, mime_type="image/png", data=data,
                       source=f"{sample_id}_{view}.png", width=4, height=3)


def batch(stones: pd.DataFrame | None = None, *, spectra=(), images=(), derived=None, by="tester",
          replace=False, reason=None, synthetic=False) -> Batch:
    sources = [SourceFile("stones.csv", "0" * 64, "stones", 10)] if stones is not None else []
    return Batch(stones=stones if stones is not None else pd.DataFrame({"sample_id": []}),
                 spectra=list(spectra), images=list(images), sources=sources, derived_ftir=derived,
                 by=by, replace=replace, reason=reason, synthetic=synthetic)


@pytest.fixture
def store_path(tmp_path):
    """A fresh, empty store."""
    path = tmp_path / "ref.h5"
    ReferenceStore.create(path, by="tester")
    return path


@pytest.fixture
def mk():
    """The batch-building helpers above, as one object."""
    import types

    return types.SimpleNamespace(stones=stones_frame, ftir=ftir_spectrum, image=image, batch=batch)
