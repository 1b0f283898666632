"""The assortment's population fit test (``_fit_patterns``) and the tests of cells with carats."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from footprint.model._fit_patterns import ASSORTMENT_FIT_FEATURES, AssortmentFit, sized_rows

FIELDS = ["sieve_class", "quality", "colour"]


@pytest.fixture(scope="module")
def parcels() -> tuple[pd.DataFrame, pd.DataFrame]:
    """SYNTHETIC export parcels of every kind, every stone with a size class (its sieve, else its mass's)."""
    from footprint.ingest import sieve_for_carats
    from footprint.synth import generate_parcels, load_params

    stones, truth = generate_parcels(load_params(), seed=41, n_parcels=12, size_range=(300, 600))
    need = stones["sieve_class"].isna() & stones["mass_ct"].notna()
    stones.loc[need, "sieve_class"] = [sieve_for_carats(float(m)) for m in stones.loc[need, "mass_ct"]]
    stones = stones[stones["sieve_class"].notna()].reset_index(drop=True)
    return stones, truth


def _cells(stones: pd.DataFrame, *, carats: bool) -> pd.DataFrame:
    frame = stones[["parcel_id", *FIELDS, "mass_ct"]].copy()
    for name in ("quality", "colour"):
        frame[name] = frame[name].astype(object).where(frame[name].notna(), "?")
    cells = (frame.groupby(["parcel_id", *FIELDS], sort=False)
             .agg(n=("mass_ct", "size"), carats=("mass_ct", "sum"), weighed=("mass_ct", "count"))
             .reset_index())
    for name in ("quality", "colour"):
        cells[name] = cells[name].where(cells[name] != "?", None)
    full = cells["weighed"] == cells["n"]
    cells["mass_ct"] = np.where(full, cells["carats"] / cells["n"], np.nan) if carats else np.nan
    cells["sample_id"] = [f"c{i}" for i in range(len(cells))]
    return cells


def _assess(model, cells: pd.DataFrame, truth: pd.DataFrame, **kw) -> pd.DataFrame:
    cols = ["parcel_id", "sample_id", *FIELDS, "mass_ct"]
    res, _ = model.assess_batch(cells[cols], truth[["parcel_id", "declared_zone"]], per_stone=False,
                                weights=cells["n"].to_numpy(float), **kw)
    return res.set_index("parcel_id").sort_index()


def test_training_builds_the_assortment_null(model) -> None:
    fit = model.assortment_fit
    assert isinstance(fit, AssortmentFit)
    names = model.feature_names
    assert [names[j] for j in fit.fields] == [n for n in ASSORTMENT_FIT_FEATURES if n in names]
    assert len(fit.null) == len(model.parcel.null_sizes) and all(len(v) > 20 for v in fit.null)
    # Its null is a sum over three fields: far below the all-field null at every size.
    for own, every in zip(fit.null, model.parcel.fit_null, strict=True):
        assert np.median(own) < 0.5 * np.median(every)
    # Saved and loaded with the model.
    back = AssortmentFit.from_parts(fit.to_parts())
    for a, b in zip(back.null, fit.null, strict=True):
        np.testing.assert_array_equal(a, b)


def test_sized_rows_put_the_size_class_in_place_of_the_mass(model) -> None:
    rows = pd.DataFrame({"sieve_class": ["dtc:+11", "dtc:+7", None], "mass_ct": [0.2, 0.05, 0.3],
                         "quality": ["gem"] * 3})
    names = model.feature_names
    X = model.matrix(rows)
    mass, sieve = names.index("log10_mass_ct"), names.index("sieve_mm")
    out = sized_rows(X, rows, model.features, names)
    assert np.isnan(out[:2, mass]).all() and np.isfinite(out[:2, sieve]).all()
    assert out[0, sieve] > out[1, sieve]
    np.testing.assert_array_equal(out[2], X[2])  # no size class: the mass is kept
    np.testing.assert_array_equal(np.delete(out, [mass, sieve], axis=1), np.delete(X, [mass, sieve], axis=1))
    assert sized_rows(X, rows, model.features, names, every_row=False) is X
    # The reference's stones: a mass and no sieve gives the sieve of the mass.
    ref = sized_rows(X, rows, model.features, names, sieve_of_mass=True)
    assert np.isfinite(ref[:, sieve]).all() and np.isnan(ref[:, mass]).all()
    from footprint.ingest import sieve_for_carats

    own = model.matrix(pd.DataFrame({"sieve_class": [sieve_for_carats(0.3)], "quality": ["gem"]}))
    assert ref[2, sieve] == pytest.approx(own[0, sieve])


def test_sizes_read_as_dtc_sieves(model) -> None:
    from footprint.ingest import parse_size_class, sieve_for_carats

    rows = pd.DataFrame({"sieve_class": ["mm:2.50", sieve_for_carats(parse_size_class("mm:2.50").ct_nominal),
                                         "gr:4"], "quality": ["gem"] * 3})
    names = model.feature_names
    X = model.matrix(rows)
    sieve = names.index("sieve_mm")
    assert X[0, sieve] != X[1, sieve]  # two systems, two apertures
    out = sized_rows(X, rows, model.features, names, dtc=True)
    assert out[0, sieve] == out[1, sieve]  # one DTC sieve
    assert np.isnan(out[2, sieve])  # a grainer is no sieve


def test_stone_parcels_are_unchanged(model, parcels) -> None:
    stones, truth = parcels
    without = copy.copy(model)
    without.assortment_fit = None
    declared = truth[["parcel_id", "declared_zone"]]
    a, _ = model.assess_batch(stones, declared, per_stone=False)
    b, _ = without.assess_batch(stones, declared, per_stone=False)
    pd.testing.assert_frame_equal(a, b)


def test_assortment_parcels_read_their_own_null(model, parcels) -> None:
    stones, truth = parcels
    cells = _cells(stones, carats=False)
    without = copy.copy(model)
    without.assortment_fit = None
    own = _assess(model, cells, truth)
    every = _assess(without, cells, truth)
    assert not np.allclose(own["fit_p"], every["fit_p"])
    # The same statistic against a narrower null: never less power, and more on the whole.
    kinds = truth.set_index("parcel_id")["truth_kind"].loc[own.index]
    outside = (kinds == "out_of_reference").to_numpy()
    assert outside.any()
    assert np.median(own["fit_p"][outside]) < np.median(every["fit_p"][outside])
    # Only the fit p-value moves.
    for name in ("log10_lr", "mixed_p", "novelty_p", "foreign_fraction"):
        np.testing.assert_allclose(own[name].astype(float), every[name].astype(float), rtol=1e-12,
                                   err_msg=name)


def test_cells_with_carats_are_tested_on_their_size_class(model, parcels) -> None:
    stones, truth = parcels
    with_ct = _assess(model, _cells(stones, carats=True), truth, mean_mass=True)
    no_ct = _assess(model, _cells(stones, carats=False), truth)
    # The tests read size class x quality x colour either way; the zone evidence reads the mean mass.
    for name in ("mixed_p", "foreign_fraction", "foreign_fraction_lo", "foreign_fraction_hi", "fit_p"):
        np.testing.assert_allclose(with_ct[name].astype(float), no_ct[name].astype(float), rtol=1e-9,
                                   atol=1e-12, err_msg=name)
    assert not np.allclose(with_ct["log10_lr"], no_ct["log10_lr"])
    # A described quarter of the cells with carats: its tests equal the same quarter's without carats.
    rng = np.random.default_rng(2)
    quarter = stones.iloc[np.sort(rng.choice(len(stones), len(stones) // 4, replace=False))]
    factor = dict.fromkeys(truth["parcel_id"], 4.0)
    q_ct = _assess(model, _cells(quarter, carats=True), truth, mean_mass=True, sampling=factor)
    q_no = _assess(model, _cells(quarter, carats=False), truth, sampling=factor)
    np.testing.assert_allclose(q_ct["mixed_p"], q_no["mixed_p"], rtol=1e-9, atol=1e-12)


def test_assortment_null_kept_per_zone_and_read_per_declared_zone(model) -> None:
    fit = model.assortment_fit
    assert len(fit.null_zone) == len(model.zones)
    for k in range(len(fit.sizes)):  # the pooled null is both zones' genuine parcels together
        np.testing.assert_array_equal(
            fit.null[k], np.sort(np.concatenate([t[k] for t in fit.null_zone if len(t)])))
    # A statistic at a zone's own median reads near p = 0.5 against that zone, wherever the pool sits.
    from footprint.model._fit_test import zone_null_p_values

    k = len(fit.sizes) // 2
    for z, tables in enumerate(fit.null_zone):
        if not len(tables):
            continue
        p = zone_null_p_values(np.array([np.median(tables[k])]), np.array([fit.sizes[k]]), fit.sizes,
                               fit.null, fit.null_zone, np.array([z]))
        assert 0.35 <= p[0] <= 0.65
    # A model saved before the per-zone tables were kept loads and reads the pooled null.
    parts = fit.to_parts()
    parts.pop("null_zone")
    old = AssortmentFit.from_parts(parts)
    assert old.null_zone == []
    stat, size = np.array([np.quantile(fit.null[k], 0.99)]), np.array([fit.sizes[k]])
    np.testing.assert_allclose(zone_null_p_values(stat, size, fit.sizes, fit.null, [], np.array([0])),
                               zone_null_p_values(stat, size, fit.sizes, fit.null, None, None))


def test_could_apply_holds_wherever_the_test_applies(model, parcels) -> None:
    """The cheap check on the rows before sizing never says no where the sized rows say yes."""
    stones, _ = parcels
    names, fit = model.feature_names, model.assortment_fit
    order = stones.sort_values("parcel_id", kind="stable").reset_index(drop=True)
    ids = order["parcel_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    w = np.ones(len(order))
    for frame in (order[["parcel_id", *FIELDS]], order[["parcel_id", *FIELDS, "mass_ct"]]):
        X = model.matrix(frame)
        sized = sized_rows(X, frame, model.features, names, dtc=True)
        assert fit.applies(sized, w, starts).all() and fit.could_apply(X, w, starts, names)
    # Stones described on every field: the sized rows are never built.
    X_all = model.matrix(order)
    assert not fit.could_apply(X_all, w, starts, names)
    assert not fit.applies(sized_rows(X_all, order, model.features, names, dtc=True), w, starts).any()
