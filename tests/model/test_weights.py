"""``assess_batch(weights=...)``: a row of weight n adds exactly what n identical stones would."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from footprint.exceptions import InputError

COMPARED = ("log10_lr", "foreign_fraction", "foreign_fraction_lo", "foreign_fraction_hi", "novelty_p")


@pytest.fixture(scope="module")
def demo_model(repo_root: Path):
    from footprint.model import FootprintModel

    return FootprintModel.load(repo_root / "models" / "demo-synthetic")


@pytest.fixture(scope="module")
def export_parcels() -> tuple[pd.DataFrame, pd.DataFrame]:
    from footprint.synth import generate_parcels, load_params

    return generate_parcels(load_params(), seed=21, n_parcels=12, size_range=(30, 200))


def _cells(stones: pd.DataFrame, fields: list[str]) -> pd.DataFrame:
    """Cells of identical stones: every distinct combination of ``fields`` within a parcel."""
    keyed = stones[["parcel_id", *fields]].astype(object).where(stones[["parcel_id", *fields]].notna(), "~")
    cells = keyed.groupby(["parcel_id", *fields], sort=False).size().reset_index(name="n")
    cells = cells.astype(object).where(cells != "~", None)
    cells["n"] = cells["n"].astype(float)
    for name in fields:
        if name == "mass_ct":
            cells[name] = pd.to_numeric(cells[name]).astype(float)
    cells["sample_id"] = [f"c{i}" for i in range(len(cells))]
    return cells


def _assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    a = a.set_index("parcel_id")
    b = b.set_index("parcel_id").loc[a.index]
    # The parcel layer runs its fits to convergence (share EM, Newton for the profile maximum and the
    # interval ends), so a cell of n stones and its n expanded stones agree to rounding everywhere.
    for name in COMPARED:
        np.testing.assert_allclose(
            a[name].astype(float), b[name].astype(float), rtol=1e-9, atol=1e-9, err_msg=name
        )
    p = [c for c in a.columns if c.startswith("p_")]
    np.testing.assert_allclose(a[p].to_numpy(float), b[p].to_numpy(float), rtol=0, atol=1e-9)
    np.testing.assert_allclose(a["n_stones"].astype(float), b["n_stones"].astype(float))
    assert (a["verdict"] == b["verdict"]).all()


@pytest.mark.parametrize(
    "fields",
    [["sieve_class", "quality", "colour"], ["sieve_class", "quality", "colour", "mass_ct", "morphology"]],
)
def test_cells_give_the_evidence_of_their_expanded_stones(demo_model, export_parcels, fields) -> None:
    stones, truth = export_parcels
    # Round masses so that cells hold several identical stones.
    stones = stones.assign(mass_ct=stones["mass_ct"].round(2))
    cells = _cells(stones, fields)
    assert len(cells) < len(stones)
    expanded = cells.loc[cells.index.repeat(cells["n"].astype(int))].reset_index(drop=True)
    expanded["sample_id"] = [f"s{i}" for i in range(len(expanded))]
    declared = truth[["parcel_id", "declared_zone"]]
    by_stone, _ = demo_model.assess_batch(expanded.drop(columns="n"), declared, per_stone=False)
    by_cell, _ = demo_model.assess_batch(
        cells.drop(columns="n"), declared, per_stone=False, weights=cells["n"].to_numpy()
    )
    _assert_same(by_stone, by_cell)
    assert by_cell["n_stones"].sum() == len(expanded)


def test_a_mixed_batch_equals_its_parts(demo_model, export_parcels) -> None:
    stones, truth = export_parcels
    fields = ["sieve_class", "quality", "colour"]
    ids = truth["parcel_id"].tolist()
    as_stones = stones[stones["parcel_id"].isin(ids[:6])][["parcel_id", "sample_id", *fields]]
    cells = _cells(stones[stones["parcel_id"].isin(ids[6:])], fields)
    declared = truth[["parcel_id", "declared_zone"]]
    mixed = pd.concat([as_stones.assign(n=1.0), cells], ignore_index=True)
    together, _ = demo_model.assess_batch(
        mixed.drop(columns="n"), declared, per_stone=False, weights=mixed["n"].to_numpy()
    )
    alone_stones, _ = demo_model.assess_batch(as_stones, declared, per_stone=False)
    alone_cells, _ = demo_model.assess_batch(
        cells.drop(columns="n"), declared, per_stone=False, weights=cells["n"].to_numpy()
    )
    _assert_same(together[together["parcel_id"].isin(ids[:6])], alone_stones)
    _assert_same(together[together["parcel_id"].isin(ids[6:])], alone_cells)


def test_weights_of_one_change_nothing(demo_model, export_parcels) -> None:
    stones, truth = export_parcels
    plain, _ = demo_model.assess_batch(stones, truth, per_stone=False)
    ones, _ = demo_model.assess_batch(stones, truth, per_stone=False, weights=np.ones(len(stones)))
    _assert_same(plain, ones)


@pytest.mark.parametrize("bad", [np.ones(3), np.array([1.0, 0.0]), np.array([1.0, np.nan])])
def test_bad_weights_are_input_errors(demo_model, bad) -> None:
    stones = pd.DataFrame({"parcel_id": ["P", "P"], "sample_id": ["a", "b"], "quality": ["gem", "gem"]})
    with pytest.raises(InputError):
        demo_model.assess_batch(stones, weights=bad)


def test_fractional_weights_count_as_their_sum(demo_model, export_parcels) -> None:
    # Weights need not be integers (carat-based factors): two half-weight copies of every stone are the
    # stone, so counts, the tempering and the size-tabulated nulls must all read the summed weight.
    stones, truth = export_parcels
    halves = pd.concat([stones, stones], ignore_index=True).sort_values("parcel_id", kind="stable")
    halves["sample_id"] = [f"h{i}" for i in range(len(halves))]
    whole, _ = demo_model.assess_batch(stones, truth, per_stone=False)
    half, _ = demo_model.assess_batch(halves, truth, per_stone=False, weights=np.full(len(halves), 0.5))
    _assert_same(whole, half)
    # A weight of 1.5 per stone is a parcel half as large again: n_stones is the rounded summed weight.
    more, _ = demo_model.assess_batch(stones, truth, per_stone=False, weights=np.full(len(stones), 1.5))
    sizes = stones.groupby("parcel_id").size()
    expected = np.rint(1.5 * sizes.loc[more["parcel_id"]]).to_numpy()
    assert (more.set_index("parcel_id")["n_stones"].to_numpy() == expected).all()
