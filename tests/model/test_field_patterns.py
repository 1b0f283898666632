"""Unknown origin on the fields a parcel has (issue 14): novelty scores standardised by field pattern.

A stone's nonconformity sums terms over the fields it has; a stone described by three fields (an
assortment cell) must meet a null built on those three fields, not on every field of the reference.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from footprint.model._novelty import NoveltyScorer, common_patterns


def _sites(n_per_lot: int, n_lots: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three sites, six features (two categorical), lots of alike stones; a quarter miss features 3-5."""
    rng = np.random.default_rng(seed)
    n = n_per_lot * n_lots
    lots = np.repeat(np.arange(n_lots), n_per_lot)
    sites = lots % 3
    X = rng.normal(size=(n, 6)) + sites[:, None] * np.array([1.0, -0.8, 0.5, 0.7, 0.0, 0.0])
    X += 0.2 * rng.normal(size=(n_lots, 6))[lots]
    X[:, 4] = rng.choice(3, n, p=[0.6, 0.3, 0.1])
    X[:, 5] = (rng.random(n) < 0.3 + 0.2 * sites).astype(float)
    X[rng.random(n) < 0.25, 3:] = np.nan
    return X, sites, lots


@pytest.fixture(scope="module")
def scorer() -> NoveltyScorer:
    X, sites, lots = _sites(40, 60, seed=1)
    patterns = np.array([[True, False, False, False, True, True]])
    return NoveltyScorer(categorical_features=[False] * 4 + [True] * 2, n_null=50, cv=5,
                         random_state=0).fit(X, sites, groups=lots, patterns=patterns)


def _p_values(scorer: NoveltyScorer, X: np.ndarray, standardise: bool) -> np.ndarray:
    raw = scorer.nonconformity(X)
    return scorer.p_values(scorer.standardise(raw, np.isfinite(X)) if standardise else raw)


@pytest.mark.parametrize("fields", [[0, 4, 5], [0, 1, 2, 3, 4, 5], [1, 2], [2, 5]])
def test_fresh_reference_stones_get_uniform_p_values_on_any_fields(scorer, fields) -> None:
    X, _, _ = _sites(40, 30, seed=2)  # fresh stones of the reference sites
    masked = np.full_like(X, np.nan)
    masked[:, fields] = X[:, fields]
    masked = masked[np.isfinite(masked).any(axis=1)]
    p = _p_values(scorer, masked, standardise=True)
    for level in (0.05, 0.2, 0.5, 0.8):
        assert abs(np.mean(p < level) - level) < 0.03 + 0.1 * level, (fields, level, np.mean(p < level))


def test_without_the_pattern_null_few_fields_read_differently(scorer) -> None:
    # The test above can fail: raw scores on three fields are not distributed as the reference's.
    X, _, _ = _sites(40, 30, seed=2)
    masked = np.full_like(X, np.nan)
    masked[:, [0, 4, 5]] = X[:, [0, 4, 5]]
    raw = _p_values(scorer, masked, standardise=False)
    fixed = _p_values(scorer, masked, standardise=True)
    # Raw scores on fewer fields are too alike: far too few stones in either tail.
    assert np.mean(raw < 0.2) < 0.1 and np.mean(raw < 0.8) > 0.95
    for level in (0.2, 0.8):
        assert abs(np.mean(fixed < level) - level) < 0.07


def test_stored_and_simulated_pattern_nulls_agree(scorer) -> None:
    mask = np.array([True, False, False, False, True, True])
    stored = scorer._pattern_null(mask)
    k = int(np.flatnonzero((scorer.pattern_masks_ == mask).all(axis=1))[0])
    np.testing.assert_array_equal(stored, scorer.pattern_nulls_[k])
    # The same pattern from the kept sample of held-out terms (the fallback for patterns not stored).
    terms = scorer.oof_terms_
    simulated = NoveltyScorer._null_from_terms(terms, mask)
    # The batch path (many patterns at once) gives the same null as the one-pattern path.
    batch = scorer._pattern_nulls(np.vstack([mask, mask, ~mask]))
    assert batch[0] is not None and batch[2] is not None
    np.testing.assert_array_equal(scorer._pattern_nulls(np.vstack([mask & False, ~mask]))[1], batch[2])
    np.testing.assert_allclose(batch[2], NoveltyScorer._null_from_terms(terms, ~mask), rtol=1e-5, atol=1e-5)
    assert len(simulated) < len(stored)
    q = (0.1, 0.5, 0.9)
    np.testing.assert_allclose(np.quantile(simulated, q), np.quantile(stored, q), atol=0.15)


def test_standardise_is_monotone_and_extends_beyond_the_null(scorer) -> None:
    observed = np.tile(np.array([True, False, True, False, False, False]), (200, 1))
    raw = np.linspace(-10, 40, 200)
    out = scorer.standardise(raw, observed)
    assert np.all(np.diff(out) >= 0) and np.all(np.isfinite(out))
    # Far beyond the pattern's null, a stranger stone stays stranger (the tail is extrapolated).
    assert out[-1] > out[-20] > scorer.calibration_scores_[np.isfinite(scorer.calibration_scores_)][-10]
    # A stone with no field keeps its score; so does every stone for a scorer without pattern nulls.
    none = np.zeros((3, 6), dtype=bool)
    np.testing.assert_array_equal(scorer.standardise(np.array([1.0, 2.0, 3.0]), none), [1.0, 2.0, 3.0])


def test_common_patterns_name_the_assortment_fields() -> None:
    names = ["log10_mass_ct", "log1p_n_total_ppm", "sieve_mm", "colour", "quality", "ftir_pc1"]
    assortment, with_mass = common_patterns(names)
    assert assortment.tolist() == [False, False, True, True, True, False]
    # With carats the features read the mass, not the sieve (a sieve counts only for a stone without a mass).
    assert with_mass.tolist() == [True, False, False, True, True, False]


@pytest.fixture(scope="module")
def genuine_parcels(params) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SYNTHETIC export parcels declared truthfully (one zone, any mix of its sites), 200-400 stones."""
    from footprint.ingest import sieve_for_carats
    from footprint.synth import generate_parcels

    stones, truth = generate_parcels(params, seed=5, n_parcels=40, size_range=(200, 400))
    honest = truth["truth_kind"].isin(["pure_west", "pure_east"])
    honest &= truth["declared_zone"] == truth["truth_zone"]
    stones = stones[stones["parcel_id"].isin(truth.loc[honest, "parcel_id"])].reset_index(drop=True)
    need = stones["sieve_class"].isna() & stones["mass_ct"].notna()
    stones.loc[need, "sieve_class"] = [sieve_for_carats(float(m)) for m in stones.loc[need, "mass_ct"]]
    return stones, truth.loc[honest, ["parcel_id", "declared_zone"]]


def _assortment(stones: pd.DataFrame, carats: bool) -> pd.DataFrame:
    """The parcels' assortment cells: size class x quality x colour (+ mean mass per stone with carats)."""
    frame = stones[["parcel_id", "sieve_class", "quality", "colour", "mass_ct"]].copy()
    keys = ["parcel_id", "sieve_class", "quality", "colour"]
    frame[keys[2:]] = frame[keys[2:]].astype(object).where(frame[keys[2:]].notna(), "?")
    cells = frame.groupby(keys, sort=False).agg(n=("mass_ct", "size"), carats=("mass_ct", "sum"),
                                               unweighed=("mass_ct", lambda m: m.isna().any())).reset_index()
    cells[keys[2:]] = cells[keys[2:]].where(cells[keys[2:]] != "?", None)
    cells["mass_ct"] = np.where(cells["unweighed"] | (not carats), np.nan, cells["carats"] / cells["n"])
    cells["sample_id"] = [f"c{i}" for i in range(len(cells))]
    return cells.drop(columns=["carats", "unweighed"])


def test_genuine_assortment_parcels_read_as_their_stones_do(model, genuine_parcels) -> None:
    stones, declared = genuine_parcels
    views = {
        "stones": (stones, None),
        "assortment with carats": (c := _assortment(stones, carats=True), c["n"].to_numpy(float)),
        "assortment without carats": (d := _assortment(stones, carats=False), d["n"].to_numpy(float)),
    }
    consistent = {}
    for name, (frame, weights) in views.items():
        res, _ = model.assess_batch(frame.drop(columns=["n"], errors="ignore"), declared, per_stone=False,
                                    weights=weights)
        assert len(res) == len(declared) >= 12
        p = res["novelty_p"].to_numpy(float)
        # Unknown-origin p-values of genuine parcels are not pushed down by describing fewer fields.
        assert np.mean(p < 0.05) <= 0.15 and np.median(p) > 0.2, (name, np.sort(p))
        # The unknown-origin tests (each at unknown_alpha / 2) may flag a genuine parcel by chance; on an
        # assortment the population fit test reads its own null (_fit_patterns) and has power: one of
        # these parcels may fall to it, not more.
        assert (res["verdict"] == "unknown_origin").sum() <= 1, name
        consistent[name] = float((res["verdict"] == "consistent").mean())
    # (The one chance unknown-origin flag allowed above counts against the margin on its own.)
    assert min(consistent.values()) >= consistent["stones"] - 0.15 - 1 / len(declared), consistent


def test_quantile_map_groups_equals_quantile_map_group_by_group():
    from footprint.model._patterns import Scale, quantile_map, quantile_map_groups

    rng = np.random.default_rng(3)
    target = Scale(np.sort(rng.normal(size=3000)))
    # samples with ties (few-field patterns score on a lattice), a short one left alone, and none
    sources = [np.sort(rng.gamma(2.0, size=2000)), np.sort(np.round(rng.normal(size=500), 1)),
               np.sort(rng.normal(size=5)), None, np.sort(rng.normal(3.0, 2.0, size=137))]
    group = rng.integers(0, len(sources), 4000)
    values = rng.normal(1.0, 3.0, size=4000)
    values[:50] = sources[1][rng.integers(0, 500, 50)]  # exactly on sample values
    values[np.flatnonzero(group == 1)[:5]] = [sources[1][0], sources[1][-1], -50.0, 50.0, np.nan]
    out = quantile_map_groups(values, group, sources, target)
    for k, source in enumerate(sources):
        idx = group == k
        short = source is None or len(source) < 10
        expected = values[idx] if short else quantile_map(values[idx], source, target)
        np.testing.assert_allclose(out[idx], expected, rtol=1e-12, atol=1e-12)
