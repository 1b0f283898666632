"""Site-share EM (model._shares): big parcels' site-by-site sums give the fit the batched sums give."""

from __future__ import annotations

import numpy as np
import pytest

from footprint.model import _shares
from footprint.model._shares import fit_shares


def _evidence(rng: np.random.Generator, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    means = rng.normal(size=(k, 3))
    site = rng.choice(k, size=n, p=rng.dirichlet(np.ones(k)))
    x = means[site] + rng.normal(size=(n, 3))
    site_ll = -0.5 * ((x[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)
    return _shares._prepare(site_ll)


@pytest.mark.parametrize("prior_above_flat", [True, False])
def test_big_parcel_path_equals_the_batched_path(monkeypatch, prior_above_flat):
    rng = np.random.default_rng(11)
    evidence, top = _evidence(rng, 3000 + 40, 5)
    starts = np.array([0, 3000])  # one big parcel and a small one
    weights = rng.integers(1, 3, len(evidence)).astype(float)
    allowed = np.ones((2, 5), dtype=bool)
    prior = np.full((2, 5), 1.5 if prior_above_flat else 1.0)
    big = fit_shares(evidence, top, starts, weights, allowed, prior)
    monkeypatch.setattr(_shares, "_BIG", 10**9)  # every parcel through the batched sums
    batched = fit_shares(evidence, top, starts, weights, allowed, prior)
    np.testing.assert_allclose(big.shares, batched.shares, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(big.loglik, batched.loglik, rtol=1e-9)
    np.testing.assert_allclose(big.counts, batched.counts, rtol=1e-9, atol=1e-9)
    # the big parcel's fit depends on its own rows only
    alone = fit_shares(evidence[:3000], top[:3000], np.array([0]), weights[:3000], allowed[:1], prior[:1])
    np.testing.assert_allclose(alone.shares[0], big.shares[0], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("prior_above_flat", [True, False])
def test_stacked_small_parcels_equal_the_gathered_sums(monkeypatch, prior_above_flat):
    """Small parcels summed as zero-padded stacks (by size bin) fit as the gather + reduceat sums do."""
    rng = np.random.default_rng(5)
    sizes = np.array([1, 7, 8, 9, 25, 25, 31, 40, 128, 255, 256, 300])  # bin edges and both sides of them
    evidence, top = _evidence(rng, int(sizes.sum()), 4)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    weights = rng.integers(1, 4, len(evidence)).astype(float)
    allowed = np.ones((len(sizes), 4), dtype=bool)
    allowed[3, 2] = False
    prior = np.full((len(sizes), 4), 1.5 if prior_above_flat else 1.0)
    stacked = fit_shares(evidence, top, starts, weights, allowed, prior)
    monkeypatch.setattr(_shares, "_STACK_ROWS", 0)  # every parcel through np.add.reduceat
    gathered = fit_shares(evidence, top, starts, weights, allowed, prior)
    np.testing.assert_allclose(stacked.shares, gathered.shares, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(stacked.loglik, gathered.loglik, rtol=1e-9)
    np.testing.assert_allclose(stacked.counts, gathered.counts, rtol=1e-9, atol=1e-9)
    assert (stacked.shares[3, 2] == 0) and np.allclose(stacked.shares.sum(axis=1), 1.0)
    monkeypatch.undo()
    # a parcel's fit depends on its own rows only, whichever other parcels share its bin
    k = 5
    rows = slice(starts[k], starts[k] + sizes[k])
    one = slice(k, k + 1)
    alone = fit_shares(evidence[rows], top[rows], np.array([0]), weights[rows], allowed[one], prior[one])
    np.testing.assert_allclose(alone.shares[0], stacked.shares[k], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(alone.loglik[0], stacked.loglik[k], rtol=1e-12)
