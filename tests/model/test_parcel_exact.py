"""The parcel layer's numbers do not depend on how a parcel is written down (issues 12 and 14).

The share fits, the profile maximum and the interval ends run to convergence, so the same parcel as
weighted rows or as repeated rows, in another stone order, alone or in a batch with other parcels,
gives the same evidence to 1e-9 and the same verdict. SYNTHETIC data (the bundled demo model).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

COMPARED = ("log10_lr", "foreign_fraction", "foreign_fraction_lo", "foreign_fraction_hi", "mixed_p",
            "novelty_p", "p_CAR-West")


@pytest.fixture(scope="module")
def demo_model(repo_root: Path):
    from footprint.model import FootprintModel

    return FootprintModel.load(repo_root / "models" / "demo-synthetic")


@pytest.fixture(scope="module")
def parcels() -> pd.DataFrame:
    """Export parcels of 40 to 2,600 stones, genuine and topped up, with coarse fields (repeats)."""
    from footprint.synth import load_params
    from footprint.synth._export import generate_export_parcel

    params, rng = load_params(), np.random.default_rng(3)
    specs = [("CAR-West", 40, {}), ("CAR-West", 300, {}), ("CAR-East", 150, {}),
             ("CAR-West", 400, {"foreign_zone": "CAR-East", "foreign_fraction": 0.15}),
             ("CAR-West", 2600, {}), ("CAR-West", 60, {"foreign_zone": "CAR-East", "foreign_fraction": 0.3})]
    frames = []
    for k, (zone, size, kw) in enumerate(specs):
        stones, _ = generate_export_parcel(params, zone, size, rng, **kw)
        frames.append(stones.drop(columns=["zone", "site"]).assign(parcel_id=f"Q{k}"))
    stones = pd.concat(frames, ignore_index=True)
    stones["sample_id"] = [f"S{i}" for i in range(len(stones))]
    return stones


def _same(a: pd.DataFrame, b: pd.DataFrame, tol: float = 1e-9) -> None:
    a = a.set_index("parcel_id")
    b = b.set_index("parcel_id").loc[a.index]
    for name in COMPARED:
        np.testing.assert_allclose(a[name].astype(float), b[name].astype(float), rtol=tol, atol=tol,
                                   err_msg=name)
    assert (a["verdict"] == b["verdict"]).all()
    assert (a["n_stones"] == b["n_stones"]).all()


def test_weighted_rows_equal_repeated_rows(demo_model, parcels) -> None:
    fields = ["parcel_id", "sieve_class", "quality", "colour"]
    keyed = parcels[fields].astype(object).where(parcels[fields].notna(), "~")
    cells = keyed.groupby(fields, sort=False).size().reset_index(name="n")
    cells = cells.astype(object).where(cells != "~", None)
    cells["sample_id"] = [f"c{i}" for i in range(len(cells))]
    assert len(cells) < len(parcels) / 2  # cells really stand for several stones
    expanded = cells.loc[cells.index.repeat(cells["n"].astype(int))].reset_index(drop=True)
    expanded["sample_id"] = [f"e{i}" for i in range(len(expanded))]
    by_row, _ = demo_model.assess_batch(expanded.drop(columns="n"), declared_zone="CAR-West", per_stone=False)
    by_cell, _ = demo_model.assess_batch(cells.drop(columns="n"), declared_zone="CAR-West", per_stone=False,
                                         weights=cells["n"].to_numpy(float))
    _same(by_row, by_cell)
    assert by_row["n_stones"].max() > 2048  # the large-parcel path (summed on its own) is covered


def test_stone_order_and_batches_change_nothing(demo_model, parcels) -> None:
    whole, _ = demo_model.assess_batch(parcels, declared_zone="CAR-West", per_stone=False)
    assert set(whole["verdict"]) >= {"consistent", "mixed"}
    shuffled = parcels.iloc[np.random.default_rng(8).permutation(len(parcels))].reset_index(drop=True)
    again, _ = demo_model.assess_batch(shuffled, declared_zone="CAR-West", per_stone=False)
    _same(whole, again)
    # Chunks of whole parcels (as classify cuts a file): each parcel alone, and the batch in two halves.
    ids = list(dict.fromkeys(parcels["parcel_id"]))
    alone = pd.concat([demo_model.assess_batch(parcels[parcels["parcel_id"] == p], declared_zone="CAR-West",
                                               per_stone=False)[0] for p in ids], ignore_index=True)
    _same(whole, alone, tol=1e-12)
    halves = pd.concat([demo_model.assess_batch(parcels[parcels["parcel_id"].isin(part)],
                                                declared_zone="CAR-West", per_stone=False)[0]
                        for part in (ids[::2], ids[1::2])], ignore_index=True)
    _same(whole, halves, tol=1e-12)
