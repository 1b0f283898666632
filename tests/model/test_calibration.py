"""Calibration, conformal coverage and the mixture fraction on data with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from footprint.model import NoveltyScorer, StoneClassifier
from footprint.model._evaluate import ece
from footprint.model._mixture import foreign_fraction


def _two_class(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two classes: two normal features and a categorical one; the exact posterior is known."""
    y = rng.integers(0, 2, n)
    X = np.column_stack([rng.normal(y * 1.0, 1.0), rng.normal(-0.5 * y, 1.0),
                         (rng.random(n) < np.where(y == 1, 0.6, 0.3)).astype(float)])
    X[rng.random(n) < 0.2, 0] = np.nan   # partial rows, as in the reference store
    log_ratio = (np.nan_to_num(norm.logpdf(X[:, 0], 1, 1) - norm.logpdf(X[:, 0], 0, 1))
                 + norm.logpdf(X[:, 1], -0.5, 1) - norm.logpdf(X[:, 1], 0, 1)
                 + np.where(X[:, 2] == 1, np.log(0.6 / 0.3), np.log(0.4 / 0.7)))
    return X, y, 1.0 / (1.0 + np.exp(-log_ratio))


@pytest.mark.parametrize("numeric", ["tilt", "gaussian", "histogram"])
def test_stone_probabilities_are_calibrated(numeric):
    rng = np.random.default_rng(1)
    X, y, _ = _two_class(4000, rng)
    clf = StoneClassifier(categorical_features=[False, False, True], numeric=numeric, random_state=0)
    clf.fit(X, y, groups=np.arange(len(y)) // 20)
    Xt, yt, exact = _two_class(20000, rng)
    proba = clf.predict_proba(Xt)
    assert ece(proba, yt) < 0.03
    # Close to the exact posterior, and as accurate as the Bayes rule (within 1.5 points).
    assert np.mean(np.abs(proba[:, 1] - exact)) < 0.05
    assert np.mean(proba.argmax(axis=1) == yt) > np.mean((exact > 0.5) == yt) - 0.015


def test_conformal_pvalues_cover_at_nominal_level():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(3000, 4))
    lots = np.arange(3000) // 30
    scorer = NoveltyScorer(n_null=200, random_state=0).fit(X, groups=lots)
    fresh = scorer.score_samples(rng.normal(size=(20000, 4)))
    for alpha in (0.05, 0.10, 0.20):
        assert np.mean(fresh > alpha) == pytest.approx(1 - alpha, abs=0.02)
    shifted = scorer.score_samples(rng.normal(loc=2.5, size=(2000, 4)))
    assert np.mean(shifted < 0.05) > 0.5  # far-off stones are flagged


def test_parcel_novelty_is_valid_and_powerful():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(2400, 3))
    scorer = NoveltyScorer(n_null=400, random_state=0).fit(X, groups=np.arange(2400) // 40)
    size, n = 25, 400
    starts, sizes = np.arange(n) * size, np.full(n, size)
    p_ref = scorer.parcel_p_values(rng.normal(size=(n * size, 3)), starts, sizes)
    p_new = scorer.parcel_p_values(rng.normal(loc=0.6, size=(n * size, 3)), starts, sizes)
    assert np.mean(p_ref < 0.05) < 0.08   # false alarms near the nominal 5%
    assert np.mean(p_new < 0.05) > 0.9    # a 0.6 sd shift in every attribute is caught at 25 stones


def test_mixture_fraction_recovered_with_interval():
    rng = np.random.default_rng(4)
    estimates, covered = [], []
    for f in (0.0, 0.1, 0.3, 0.5):
        n_parcels, size = 200, 60
        foreign = rng.random((n_parcels, size)) < f
        x = rng.normal(np.where(foreign, 2.0, 0.0), 1.0)
        log_ratio = norm.logpdf(x, 2, 1) - norm.logpdf(x, 0, 1)   # log p(x|A) - log p(x|D)
        starts, sizes = np.arange(n_parcels) * size, np.full(n_parcels, size)
        est, lo, hi = foreign_fraction(log_ratio.ravel(), starts, sizes, level=0.9)
        truth = foreign.mean(axis=1)
        estimates.append(np.mean(est - truth))
        covered.append(np.mean((lo <= truth) & (truth <= hi)))
        assert np.mean(np.abs(est - truth)) < 0.07
    assert max(abs(b) for b in estimates) < 0.03          # no material bias
    assert min(covered) > 0.8 and np.mean(covered) > 0.85  # ~90% profile-likelihood interval


def test_fewer_lots_than_folds_gives_one_lot_per_fold():
    from footprint.model._stone import grouped_splits

    y = np.repeat([0, 1, 0, 1], 10)
    lots = np.repeat(["a", "b", "c", "d"], 10)
    folds = grouped_splits(y, lots, 10, 0)
    assert len(folds) == 4
    for train, test in folds:
        assert len(set(lots[test])) == 1 and not set(lots[test]) & set(lots[train])
    assert sorted(np.concatenate([test for _, test in folds]).tolist()) == list(range(40))


def test_tempering_stays_bounded_when_every_heldout_parcel_is_right():
    from footprint.model._site import SiteLayout, fit_parcel_tempering

    # Two sites, one per zone, perfectly separated stones: the loss falls for ever as tau0 grows.
    layout = SiteLayout(["A", "B"], np.array([0, 1]), np.log([0.5, 0.5]), np.zeros(2))
    site_ll = np.tile([[0.0, -1.0], [-1.0, 0.0]], (20, 1))
    zone = np.tile([0, 1], 20)
    parcels = [np.arange(k, 40, 2)[:5] for k in (0, 1)]
    tau0, rho = fit_parcel_tempering(layout, site_ll, zone, parcels)
    assert 1.0 < tau0 <= 5.0 + 1e-9 and 0.0 <= rho <= 1.0


def test_parcel_null_follows_site_weights_and_pools_a_site_beyond_its_lots():
    lots = np.repeat(np.arange(12), 20).astype(str)   # 12 lots of 20 stones
    sites = np.repeat(np.arange(3), 80)                # 3 sites of 4 lots
    weights = np.array([0.6, 0.3, 0.1])
    draws = NoveltyScorer._null_draws(lots, sites, np.random.default_rng(0), 6000, weights)
    sizes = [d.shape[1] for d in draws]
    for rows, size in zip(draws, sizes, strict=True):
        share = np.bincount(sites[rows[:, 0]], minlength=3) / len(rows)
        np.testing.assert_allclose(share, weights, atol=0.02)
        assert (sites[rows] == sites[rows[:, :1]]).all()        # one site per parcel
        if size <= 20:
            assert (lots[rows] == lots[rows[:, :1]]).all()      # one lot when it is big enough
        if size <= 80:                                          # different stones while the site has them
            assert all(len(np.unique(r)) == size for r in rows[:50])
