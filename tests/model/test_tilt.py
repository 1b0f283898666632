"""The "tilt" continuous densities: known answers on truncated data, and their unseen-site marginal."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import norm, truncnorm

from footprint.model._density import BinnedDensities, _fit_tilt
from footprint.model._newsite import _TILT_GRID, _tilt_hypothesis, new_site_parts, new_site_statistic
from footprint.model._site import sample_lot_parcels

CUT = -0.5  # a recovery cut-off: every site's values are truncated below here


def _truncated(rng: np.random.Generator, mean: float, n: int) -> np.ndarray:
    return truncnorm.rvs(CUT - mean, np.inf, loc=mean, scale=1.0, size=n, random_state=rng)


def _true_log_pdf(x: np.ndarray, mean: float) -> np.ndarray:
    return truncnorm.logpdf(x, CUT - mean, np.inf, loc=mean, scale=1.0)


@pytest.fixture(scope="module")
def sites() -> tuple[np.ndarray, np.ndarray, list[float]]:
    rng = np.random.default_rng(7)
    means = [-0.4, 0.0, 0.5]
    X = np.concatenate([_truncated(rng, m, 6000) for m in means])[:, None]
    y = np.repeat(np.arange(3), 6000)
    return X, y, means


def test_fit_tilt_matches_the_target_moments() -> None:
    rng = np.random.default_rng(0)
    z = np.sort(rng.normal(size=64))
    log_base = np.full(64, -np.log(64))
    T = np.column_stack([z, z**2])
    target = np.array([0.3, 1.2])
    coef = _fit_tilt(log_base, T, target)
    w = np.exp(log_base + T @ coef)
    w /= w.sum()
    np.testing.assert_allclose(w @ T, target, atol=1e-6)


def test_tilted_site_densities_recover_truncated_log_ratios(sites) -> None:
    """Shifted normals cut off at one recovery limit: the site log-ratios are the exact ones."""
    X, y, means = sites
    tilt = BinnedDensities(X, y, 3, np.array([False]), shrinkage=10.0, numeric="tilt")
    normal = BinnedDensities(X, y, 3, np.array([False]), shrinkage=10.0, numeric="gaussian")
    assert tilt.modes == ["tilt"] and normal.modes == ["gauss"]
    grid = np.linspace(CUT + 0.01, 2.5, 200)[:, None]
    exact = np.column_stack([_true_log_pdf(grid[:, 0], m) for m in means])
    true_ratio = exact[:, 2] - exact[:, 0]
    tilt_ratio = np.diff(tilt.terms(grid, 0)[:, [0, 2]], axis=1)[:, 0]
    normal_ratio = np.diff(normal.terms(grid, 0)[:, [0, 2]], axis=1)[:, 0]
    tilt_err = np.abs(tilt_ratio - true_ratio).mean()
    assert tilt_err < 0.05
    assert tilt_err < 0.5 * np.abs(normal_ratio - true_ratio).mean()  # a normal fit misjudges truncated data
    # Each site's density integrates to one over the reference range.
    fine = np.linspace(CUT, X.max(), 20001)[:, None]
    mass = np.exp(tilt.terms(fine, 0)).sum(axis=0) * (fine[1, 0] - fine[0, 0])
    np.testing.assert_allclose(mass, 1.0, atol=0.03)


def test_tilt_keeps_spikes_and_partial_rows() -> None:
    rng = np.random.default_rng(3)
    values = np.where(rng.random(3000) < 0.3, 0.0, rng.lognormal(0.0, 0.5, 3000))
    values[rng.random(3000) < 0.2] = np.nan
    X = values[:, None]
    y = rng.integers(0, 2, 3000)
    dens = BinnedDensities(X, y, 2, np.array([False]), shrinkage=10.0, numeric="tilt")
    seen, terms = dens.seen_terms(X, 0)
    assert terms is not None and terms.shape == (seen.sum(), 2) and np.isfinite(terms).all()
    zero = dens.terms(np.array([[0.0]]), 0)
    np.testing.assert_allclose(np.exp(zero), 0.3, atol=0.05)  # the "absent" spike is a probability


def test_unseen_tilted_site_marginal_matches_integration(sites) -> None:
    X, y, _ = sites
    dens = BinnedDensities(X, y, 3, np.array([False]), shrinkage=10.0, numeric="tilt")
    quadratic, linear, log_weight, log_norm = _tilt_hypothesis(dens, 0)
    values = np.array([-0.2, 0.4, 1.3, 0.1, 0.9])
    parts = new_site_parts(dens, values[:, None], np.ones(1), 50.0)
    stat = new_site_statistic(parts, np.arange(5), np.array([0]), np.array([5]))
    known = np.logaddexp.reduce(dens.terms(values[:, None], 0).sum(axis=0)) - np.log(3)
    # Brute force: integrate the unseen site's tilt over its normal prior on the linear coefficient.
    base, z = dens.base_log_pdf(values, 0)
    centre = float(dens.coef[0][:, 0].mean())
    spread = (linear[-1] - linear[0]) / (_TILT_GRID[-1] - _TILT_GRID[0])
    zp, lm = dens.base_points[0], dens.base_log_mass(0)

    def integrand(b: float) -> float:
        log_a = np.logaddexp.reduce(lm + b * zp + quadratic * zp**2)
        return float(np.exp(b * z.sum() + quadratic * (z**2).sum() - 5 * log_a) * norm.pdf(b, centre, spread))

    brute = base.sum() + np.log(quad(integrand, centre - 8 * spread, centre + 8 * spread, limit=200)[0])
    np.testing.assert_allclose(stat[0] + known, brute, rtol=1e-4, atol=1e-3)


def test_lot_parcels_never_repeat_a_stone() -> None:
    rng = np.random.default_rng(0)
    lots = np.repeat(np.array(["a", "b", "c"]), [40, 12, 60])
    parcels = sample_lot_parcels(lots, (5, 25, 50), 3, rng)
    assert all(len(np.unique(p)) == len(p) for p in parcels)
    assert all(len(np.unique(lots[p])) == 1 for p in parcels)
    sizes = sorted({len(p) for p in parcels if lots[p[0]] == "b"})
    assert sizes == [5]  # a 12-stone lot gives no parcel of 25 or 50
    assert any(len(p) == 50 for p in parcels)  # the 60-stone lot does
