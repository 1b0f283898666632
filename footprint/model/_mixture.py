"""How much of a parcel is foreign: a two-component mixture, profile-likelihood interval.

Each stone comes from the declared zone ``D`` with probability ``1 - f`` or
from elsewhere (the other reference zones, equally weighted) with probability
``f``::

    l(f) = sum_i log[(1 - f) p(x_i | D) + f p(x_i | A)]

The maximum-likelihood ``f`` and its profile-likelihood interval
``{f : 2 (l_max - l(f)) <= chi2_1(level) * deff}`` are read off a grid, for
all parcels at once (one matrix operation; no per-parcel loop). ``deff = 1 +
rho (n - 1)`` is the design effect of stones that are alike within a lot
(``rho`` from the parcel calibration, see :mod:`._site`), which widens the
interval where the stones carry less independent information than their count.
The per-stone densities come from :func:`site_aware_log_ratio` (site
posteriors of the parcel found by EM); the grid search then finds the
maximum and the interval without further iteration.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import chi2

__all__ = ["FRACTION_GRID", "foreign_fraction", "site_aware_log_ratio"]

#: Grid of foreign fractions searched (step 0.025; refined near the maximum).
FRACTION_GRID = np.linspace(0.0, 1.0, 41)


def _softmax_masked(scores: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Row-wise softmax over the ``mask``-ed entries (others get 0)."""
    scores = np.where(mask, scores, -np.inf)
    scores = scores - scores.max(axis=1, keepdims=True)
    out = np.exp(scores)
    return out / out.sum(axis=1, keepdims=True)


def site_aware_log_ratio(site_ll: np.ndarray, starts: np.ndarray, sizes: np.ndarray, target: np.ndarray,
                         site_zone: np.ndarray, log_weight: np.ndarray, n_zones: int,
                         n_iter: int = 6, weights: np.ndarray | None = None) -> np.ndarray:
    """Per-stone ``log p(x | foreign) - log p(x | declared)``, each side one site's stones.

    A parcel's own stones come from one site of the declared zone and a
    topped-up share from one site elsewhere, so both densities are site
    mixtures weighted by the parcel's own site posterior, found by a few EM
    steps (all parcels at once): stone responsibilities ``gamma`` give
    site posteriors from the ``1 - gamma`` / ``gamma`` weighted sums, and back.

    Parameters
    ----------
    site_ll : ndarray of shape (n_stones, n_sites)
        Stone site log-likelihoods, stones sorted by parcel.
    starts, sizes : ndarray of shape (n_parcels,)
        Parcel layout.
    target : ndarray of shape (n_parcels,)
        Declared (or best) zone index of each parcel.
    site_zone, log_weight : ndarray of shape (n_sites,)
        Zone of each site and its within-zone log weight.
    n_zones : int
        Number of zones (foreign sites are weighted equally across the other zones).
    n_iter : int
        EM steps.
    weights : ndarray of shape (n_stones,), optional
        Stones each row stands for (see ``FootprintModel.assess_batch``);
        ``sizes`` stays the number of rows per parcel.
    """
    parcel = np.repeat(np.arange(len(starts)), sizes)
    in_d = site_zone[None, :] == target[:, None]
    log_w = log_weight[None, :] - np.where(in_d, 0.0, np.log(max(n_zones - 1, 1)))
    # Work in probability space per stone once (exp of the row-centred evidence):
    # each EM step is then products and sums, no per-step exp/log over stones x sites.
    top = site_ll.max(axis=1, keepdims=True)
    evidence = np.exp(site_ll - top)
    weighted = site_ll if weights is None else site_ll * weights[:, None]
    total = np.add.reduceat(weighted, starts, axis=0)
    stones = sizes if weights is None else np.add.reduceat(weights, starts)
    f = np.full(len(starts), 0.2)
    gamma = np.full(len(parcel), 0.2)
    ratio = np.zeros(len(parcel))
    # One stones x sites buffer serves every step's products; per-parcel values
    # reach their stones with np.take (several times faster than fancy indexing).
    work = np.empty_like(site_ll)
    for step in range(n_iter):
        np.multiply(gamma[:, None], weighted, out=work)
        sums_a = np.add.reduceat(work, starts, axis=0)
        rd = _softmax_masked(log_w + total - sums_a, in_d)
        ra = _softmax_masked(log_w + sums_a, ~in_d)
        with np.errstate(divide="ignore"):
            ratio = np.log(_mixed(ra, parcel, evidence, work)) - np.log(_mixed(rd, parcel, evidence, work))
        ratio = np.clip(ratio, -30.0, 30.0)
        if step == n_iter - 1:
            break  # the responsibilities of a last step would not be used
        # f / (1 - f) per parcel, then per stone: the same quotient as per stone.
        odds = np.take(f / (1.0 - f), parcel) * np.exp(ratio)
        gamma = odds / (1.0 + odds)
        f = np.clip(np.add.reduceat(gamma if weights is None else gamma * weights, starts) / stones,
                    1e-3, 1 - 1e-3)
    return ratio


def _mixed(weights: np.ndarray, parcel: np.ndarray, evidence: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Each stone's evidence mixed with its parcel's site weights, ``(weights[parcel] * evidence).sum(1)``.

    ``out`` (stones x sites) is scratch space.
    """
    np.take(weights, parcel, axis=0, out=out)
    out *= evidence
    return out.sum(axis=1)


def foreign_fraction(
    log_ratio: np.ndarray, starts: np.ndarray, sizes: np.ndarray, *, level: float = 0.90,
    rho: float = 0.0, weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimate the foreign fraction of every parcel, with an interval.

    Parameters
    ----------
    log_ratio : ndarray of shape (n_stones,)
        ``log p(x_i | A) - log p(x_i | D)`` per stone, stones sorted by parcel.
    starts, sizes : ndarray of shape (n_parcels,)
        First row and number of stones of each parcel.
    level : float
        Coverage of the interval.
    rho : float
        Intra-lot correlation used for the design effect.
    weights : ndarray of shape (n_stones,), optional
        Stones each row stands for; a row of weight w counts w times.

    Returns
    -------
    estimate, low, high : ndarray of shape (n_parcels,)
        Maximum-likelihood fraction and the interval bounds.
    """
    r = np.clip(np.asarray(log_ratio, dtype=float), -30.0, 30.0)
    grid = FRACTION_GRID
    # log((1-f) + f e^r) = log1p(f (e^r - 1)), for all stones x grid.
    terms = grid[None, :] * np.expm1(r)[:, None]
    np.log1p(terms, out=terms)  # in place: one stones x grid array, not two
    if weights is not None:
        terms *= np.asarray(weights, dtype=float)[:, None]
        sizes = np.add.reduceat(np.asarray(weights, dtype=float), starts)
    profile = np.add.reduceat(terms, starts, axis=0)          # (n_parcels, n_grid)
    best = np.argmax(profile, axis=1)
    top = profile[np.arange(len(best)), best]
    deff = 1.0 + rho * (np.asarray(sizes, dtype=float) - 1.0)
    cut = top - 0.5 * chi2.ppf(level, 1) * deff
    inside = profile >= cut[:, None]
    low = grid[np.argmax(inside, axis=1)]
    high = grid[len(grid) - 1 - np.argmax(inside[:, ::-1], axis=1)]
    estimate = _refine(profile, best, grid)
    return estimate, np.minimum(low, estimate), np.maximum(high, estimate)


def _refine(profile: np.ndarray, best: np.ndarray, grid: np.ndarray) -> np.ndarray:
    # Parabola through the maximum and its neighbours: sub-grid precision, still vectorised.
    inner = np.clip(best, 1, len(grid) - 2)
    rows = np.arange(len(best))
    y0, y1, y2 = profile[rows, inner - 1], profile[rows, inner], profile[rows, inner + 1]
    denom = y0 - 2 * y1 + y2
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(denom < 0, 0.5 * (y0 - y2) / denom, 0.0)
    step = grid[1] - grid[0]
    refined = grid[inner] + np.clip(shift, -0.5, 0.5) * step
    edge = (best == 0) | (best == len(grid) - 1)
    return np.where(edge, grid[best], np.clip(refined, 0.0, 1.0))
