"""The "unseen site" parcel statistic: closed forms against brute force, and power on known answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import norm

from footprint.model._density import BinnedDensities
from footprint.model._newsite import (
    _dirichlet_multinomial,
    _normal_marginal,
    new_site_parts,
    new_site_statistic,
)


def test_dirichlet_multinomial_matches_monte_carlo() -> None:
    rng = np.random.default_rng(0)
    shares = np.array([0.5, 0.3, 0.2])
    counts = np.array([[4.0, 1.0, 5.0], [0.0, 0.0, 0.0], [2.0, 2.0, 0.0]])
    concentration = 7.0
    closed = _dirichlet_multinomial(counts, np.log(shares), concentration)
    draws = rng.dirichlet(concentration * shares, size=400_000)
    # Probability of one particular stone sequence with these counts, averaged over sites.
    brute = np.log(np.mean(np.prod(draws[:, None, :] ** counts[None, :, :], axis=2), axis=0))
    np.testing.assert_allclose(closed, brute, atol=0.02)
    assert closed[1] == 0.0  # nothing observed: probability one


def test_normal_marginal_matches_integration() -> None:
    values = np.array([0.3, -0.2, 1.1, 0.7])
    mean, within, mean_sd = 0.1, 0.8, 0.5

    def integrand(mu: float) -> float:
        return float(np.prod(norm.pdf(values, mu, within)) * norm.pdf(mu, mean, mean_sd))

    brute = np.log(quad(integrand, -10, 10)[0])
    closed = _normal_marginal(np.array([4.0]), np.array([values.sum()]), np.array([(values**2).sum()]),
                              mean, within, mean_sd)
    np.testing.assert_allclose(closed, brute, rtol=1e-8)
    nothing = _normal_marginal(np.array([0.0]), np.array([0.0]), np.array([0.0]), mean, within, mean_sd)
    assert nothing[0] == 0.0


def _site_stones(rng: np.random.Generator, shares: np.ndarray, mean: float, n: int) -> np.ndarray:
    """Stones with two categorical features and one continuous one, from one site."""
    cat1 = rng.choice(len(shares), size=n, p=shares)
    cat2 = rng.choice(len(shares), size=n, p=shares[::-1])
    cont = rng.normal(mean, 1.0, size=n)
    return np.column_stack([cat1, cat2, cont]).astype(float)


@pytest.fixture(scope="module")
def reference() -> tuple[BinnedDensities, list[np.ndarray], np.random.Generator]:
    rng = np.random.default_rng(1)
    base = np.array([0.4, 0.3, 0.2, 0.1])
    blocks, sites, site_shares = [], [], []
    for s in range(4):
        shares = rng.dirichlet(200 * base)  # reference sites: close to one another
        site_shares.append(shares)
        blocks.append(_site_stones(rng, shares, 0.2 * s, 400))
        sites.append(np.full(400, s))
    X, y = np.vstack(blocks), np.concatenate(sites)
    dens = BinnedDensities(X, y, 4, np.array([True, True, False]), shrinkage=20.0, numeric="gaussian")
    return dens, site_shares, rng


def _parcels(rng, make, n_parcels: int, size: int) -> np.ndarray:
    return np.vstack([make(rng, size) for _ in range(n_parcels)])


def test_unseen_site_scores_higher_than_reference_sites(reference) -> None:
    dens, site_shares, rng = reference
    size, n_parcels = 30, 150
    weights = np.ones(3)

    def known_site(r: np.random.Generator, n: int) -> np.ndarray:
        s = int(r.integers(4))
        return _site_stones(r, site_shares[s], 0.2 * s, n)

    known = _parcels(rng, known_site, n_parcels, size)
    novel = _parcels(rng, lambda r, n: _site_stones(r, np.array([0.15, 0.25, 0.3, 0.3]), 1.5, n),
                     n_parcels, size)
    starts = np.arange(n_parcels) * size
    sizes = np.full(n_parcels, size)
    rows = np.arange(n_parcels * size)
    t_known = new_site_statistic(new_site_parts(dens, known, weights, 50.0), rows, starts, sizes)
    t_novel = new_site_statistic(new_site_parts(dens, novel, weights, 50.0), rows, starts, sizes)
    auroc = np.mean(t_novel[:, None] > t_known[None, :])
    assert auroc > 0.95
    assert np.median(t_known) < 0  # a reference site explains its own parcels better than a free site


def test_unmeasured_stones_and_order(reference) -> None:
    dens, _, rng = reference
    X = _site_stones(rng, np.array([0.4, 0.3, 0.2, 0.1]), 0.0, 20)
    parts = new_site_parts(dens, X, np.ones(3), 50.0)
    stat = new_site_statistic(parts, np.arange(20), np.array([0]), np.array([20]))
    shuffled = new_site_statistic(parts, rng.permutation(20), np.array([0]), np.array([20]))
    np.testing.assert_allclose(stat, shuffled)
    blank = np.full((5, 3), np.nan)
    empty = new_site_statistic(new_site_parts(dens, blank, np.ones(3), 50.0), np.arange(5), np.array([0]),
                               np.array([5]))
    np.testing.assert_allclose(empty, 0.0, atol=1e-12)
    # A zero weight removes the feature from both hypotheses.
    only_cat = new_site_parts(dens, X, np.array([1.0, 1.0, 0.0]), 50.0)
    assert len(only_cat.normals) == 0 and len(only_cat.bins) == 2


def test_precomputed_site_scores_give_the_same_statistic(reference) -> None:
    dens, site_shares, rng = reference
    X = _site_stones(rng, site_shares[1], 0.2, 60)
    X[rng.random(X.shape) < 0.2] = np.nan  # partial rows
    weights = np.array([0.7, 1.2, 0.5])
    scores = sum(weights[j] * np.nan_to_num(dens.terms(X, j), nan=0.0) for j in range(3))
    starts, sizes = np.array([0, 25]), np.array([25, 35])
    rows = np.arange(60)
    direct = new_site_statistic(new_site_parts(dens, X, weights, 50.0), rows, starts, sizes)
    reused = new_site_statistic(new_site_parts(dens, X, weights, 50.0, known=scores), rows, starts, sizes)
    np.testing.assert_allclose(reused, direct, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("numeric", ["tilt", "gaussian", "histogram"])
def test_precomputed_bins_and_hypotheses_give_the_same_statistic(numeric) -> None:
    from footprint.model._newsite import tilt_hypotheses

    rng = np.random.default_rng(5)
    X = np.vstack([_site_stones(rng, np.array([0.4, 0.3, 0.2, 0.1]), 0.3 * s, 300) for s in range(3)])
    X[:, 2] = np.where(rng.random(len(X)) < 0.2, 0.0, np.exp(X[:, 2]))  # a spike at 0 (peak absent)
    y = np.repeat(np.arange(3), 300)
    dens = BinnedDensities(X, y, 3, np.array([True, True, False]), shrinkage=20.0, numeric=numeric)
    test = _site_stones(rng, np.array([0.3, 0.3, 0.2, 0.2]), 0.2, 80)
    test[rng.random(test.shape) < 0.2] = np.nan
    weights = np.array([0.7, 1.2, 0.5])
    scores = np.zeros((len(test), 3))
    pieces = []
    for j in range(3):
        seen, term, index, shared = dens.feature_pieces(test, j)
        scores[seen] += weights[j] * term
        pieces.append((index, shared))
        # The bin of every stone: -1 unmeasured; categories their code; a histogram its bin; a
        # normal or tilted feature its spike (0 = peak absent), else one "continuous" bin after them.
        measured = np.isfinite(test[:, j])
        values = test[measured, j]
        np.testing.assert_array_equal(index < 0, ~measured)
        edges = dens.edges[j]
        if j < 2:
            expect = values.astype(int)
        elif dens.modes[j] == "hist":
            expect = np.searchsorted(edges, values, side="right")
        else:
            expect = np.where(np.isin(values, edges), np.searchsorted(edges, values), len(edges))
        np.testing.assert_array_equal(index[measured], expect)
    starts, sizes, rows = np.array([0, 30]), np.array([30, 50]), np.arange(80)
    direct = new_site_statistic(new_site_parts(dens, test, weights, 50.0), rows, starts, sizes)
    reused = new_site_statistic(new_site_parts(dens, test, weights, 50.0, known=scores, pieces=pieces,
                                               hypotheses=tilt_hypotheses(dens)), rows, starts, sizes)
    np.testing.assert_allclose(reused, direct, rtol=1e-12, atol=1e-9)
