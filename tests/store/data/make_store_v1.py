"""Write store_v1.h5: a tiny store in format version 1, committed so later code must still open it.

Run once with the v1 code (``python tests/store/data/make_store_v1.py``); never regenerate it
with newer code. test_versions.py checks its content against the values written here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from footprint._batch import Batch
from footprint._schema import Field
from footprint.store import ReferenceStore
from footprint._types import ImageRecord, Spectrum

HERE = Path(__file__).resolve().parent


def main() -> None:
    path = HERE / "store_v1.h5"
    path.unlink(missing_ok=True)
    ReferenceStore.create(path, by="fixture")
    stones = pd.DataFrame({
        "sample_id": ["V1-001", "V1-002", "V1-003"],
        "zone": ["CAR-West", "CAR-East", "CAR-West"],
        "site": ["Berberati", "Bria", "Carnot"],
        "mass_ct": [0.25, 1.5, np.nan],
        "sieve_class": ["dtc:+11", "mm:2.50", None],
        "resorption": pd.array([2, None, 0], dtype="Int64"),
        "coating": pd.array([False, True, None], dtype="boolean"),
        "notes": ["Ünïcode note", None, "SYNTHETIC fixture"],
    })
    x = np.arange(4000.0, 399.0, -4.0)
    spectrum = Spectrum(x=x, y=0.5 - 1e-4 * x, x_unit="1/cm", y_unit="absorbance", kind="ftir",
                        source="V1-001.jdx", raw=b"##TITLE=V1-001\n##END=\n", meta={"title": "V1-001"},
                        sample_id="V1-001")
    img = ImageRecord("V1-002", "top", "image/png", b"\x89PNG v1 fixture", "V1-002_top.png", 1, 1)
    with ReferenceStore.open(path, "a") as store:
        store.add_field(Field("li_ppm", "number", "Lithium", unit="ppm", minimum=0, group="custom"))
        store.commit(Batch(stones=stones, spectra=[spectrum], images=[img], by="fixture", synthetic=True))
        fixed = stones.iloc[[1]].copy()
        fixed["mass_ct"] = 1.55
        fixed["li_ppm"] = 3.0
        store.commit(Batch(stones=fixed, by="fixture", replace=True, reason="reweighed"))


if __name__ == "__main__":
    main()
