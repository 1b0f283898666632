"""The parcel unknown-origin statistic of :class:`~._novelty.NoveltyScorer` and its reference null.

A parcel is tested as a whole (:mod:`._newsite`): the log Bayes factor of
"the parcel comes from a site the reference set has never seen" against "it
comes from one of the reference sites". Its p-value comes from parcels of the
same size drawn from single held-out reference lots (:meth:`_null_draws`),
scored with densities that did not see them (see the :mod:`._novelty`
module docstring for why this keeps the p-values valid).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted, validate_data

from ._density import BinnedDensities
from ._newsite import new_site_parts, new_site_statistic

__all__ = ["NULL_SIZES", "ParcelNoveltyMixin"]

#: Parcel sizes at which the parcel-score null distribution is tabulated.
NULL_SIZES = np.array([1, 2, 3, 5, 7, 10, 15, 20, 25, 30, 40, 50, 75, 100, 150, 200, 300])


def _draw_subsets(codes: np.ndarray, chosen: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Rows (len(chosen), size) of random different members of group ``chosen[i]`` of ``codes``.

    A group smaller than ``size`` gives all its members, then repeats.
    """
    if len(chosen) == 0:
        return np.zeros((0, size), dtype=int)
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    width = int(counts[chosen].max())
    # A random permutation of each chosen group: random keys, padding sorted last.
    keys = rng.random((len(chosen), width))
    keys[np.arange(width)[None, :] >= counts[chosen][:, None]] = np.inf
    take = min(size, width)
    pos = np.argsort(keys, axis=1)[:, :take]
    if size > take:
        pos = np.hstack([pos, np.full((len(chosen), size - take), width)])
    short = pos >= counts[chosen][:, None]
    refill = (rng.random(pos.shape) * counts[chosen][:, None]).astype(int)
    return order[starts[chosen][:, None] + np.where(short, refill, pos)]


class ParcelNoveltyMixin:
    """Parcel statistic, p-values and null draws of :class:`~._novelty.NoveltyScorer` (its fitted state)."""

    feature_weights_: np.ndarray
    densities_: BinnedDensities
    concentration: float
    null_sizes_: np.ndarray
    null_scores_: list[np.ndarray]

    @staticmethod
    def _null_draws(lots: np.ndarray, sites: np.ndarray, rng: np.random.Generator, n_draws: int,
                    site_weights: np.ndarray | None = None) -> list[np.ndarray]:
        """Index arrays (n_draws, size) of reference parcels, one per tabulated size.

        A parcel comes from ONE lot (stones of a lot are alike), chosen with
        probability ``site_weights[site] / lots of the site`` (every lot alike
        when no weights are given): different stones of the lot when it has
        enough. A parcel larger than its lot takes different stones of the
        lot's site (its other lots); only a parcel larger than all its site's
        stones repeats some (which widens the null, so the test errs on the
        side of "not novel"). Padding a small lot with its own stones again
        would count their evidence twice and make every large reference
        parcel look stranger than it is.
        """
        lot_codes = np.unique(lots, return_inverse=True)[1]
        lot_counts = np.bincount(lot_codes)
        lot_site = np.zeros(len(lot_counts), dtype=int)
        lot_site[lot_codes] = sites
        if site_weights is None:
            chance = np.ones(len(lot_counts))
        else:
            lots_of_site = np.bincount(lot_site, minlength=len(site_weights))
            chance = site_weights[lot_site] / np.maximum(lots_of_site[lot_site], 1)
        if not chance.sum() > 0:
            chance = np.ones(len(lot_counts))
        chance = chance / chance.sum()
        present, site_codes = np.unique(sites, return_inverse=True)
        site_of_lot = np.searchsorted(present, lot_site)  # each lot's site among those present
        out = []
        for size in NULL_SIZES:
            lot = rng.choice(len(lot_counts), size=n_draws, p=chance)
            rows = np.empty((n_draws, int(size)), dtype=int)
            small = lot_counts[lot] < size
            rows[~small] = _draw_subsets(lot_codes, lot[~small], int(size), rng)
            if small.any():
                rows[small] = _draw_subsets(site_codes, site_of_lot[lot[small]], int(size), rng)
            out.append(rows)
        return out

    def _parcel_null(self, dens: BinnedDensities, X: np.ndarray, lots: np.ndarray, sites: np.ndarray,
                     rng: np.random.Generator, n_draws: int,
                     site_weights: np.ndarray | None) -> list[np.ndarray]:
        parts = new_site_parts(dens, X, self.feature_weights_, self.concentration)
        out = []
        for draws in self._null_draws(lots, sites, rng, n_draws, site_weights):
            sizes = np.full(draws.shape[0], draws.shape[1])
            starts = np.arange(0, draws.size, draws.shape[1])
            out.append(new_site_statistic(parts, draws.ravel(), starts, sizes))
        return out

    def parcel_statistic(self, X: Any, starts: np.ndarray, sizes: np.ndarray,
                         site_scores: np.ndarray | None = None,
                         pieces: list[Any] | None = None, weights: np.ndarray | None = None) -> np.ndarray:
        """Log Bayes factor "unseen site" vs "a reference site" of contiguous parcels (higher = stranger).

        Parameters
        ----------
        X : array-like of shape (n_stones, n_features)
            Features of the stones, sorted by parcel.
        starts, sizes : ndarray of shape (n_parcels,)
            First row and number of stones of each parcel.
        site_scores : ndarray of shape (n_stones, n_sites), optional
            ``sum_j feature_weights_[j] * log p_j(x_j | s)`` from densities
            equal to :attr:`densities_`, when the caller has computed it
            (the stone classifier's raw scores); saves computing it again.
        pieces : list, optional
            Per feature, ``(index, shared)`` of
            :meth:`BinnedDensities.feature_pieces` of :attr:`densities_` for the
            same stones (None where not computed).
        weights : ndarray of shape (n_stones,), optional
            Stones each row stands for (counts and sums weighted).
        """
        check_is_fitted(self, "null_scores_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        parts = new_site_parts(self.densities_, X, self.feature_weights_, self.concentration,
                               known=site_scores, pieces=pieces,
                               hypotheses=getattr(self, "tilt_hypotheses_", None))
        return new_site_statistic(parts, np.arange(X.shape[0]), np.asarray(starts), np.asarray(sizes),
                                  weights=weights)

    def parcel_p_values(self, X: Any, starts: np.ndarray, sizes: np.ndarray,
                        site_scores: np.ndarray | None = None, pieces: list[Any] | None = None,
                        weights: np.ndarray | None = None) -> np.ndarray:
        """Parcel-level unknown-origin p-values for parcels laid out contiguously in ``X``.

        Parameters
        ----------
        X : array-like of shape (n_stones, n_features)
            Features of the stones, sorted by parcel.
        starts, sizes : ndarray of shape (n_parcels,)
            First row and number of stones of each parcel.
        site_scores, pieces : optional
            See :meth:`parcel_statistic`.
        weights : ndarray of shape (n_stones,), optional
            Stones each row stands for; the null is read at the parcel's stone count.
        """
        statistic = self.parcel_statistic(X, starts, sizes, site_scores, pieces, weights=weights)
        if weights is not None:
            sizes = np.add.reduceat(np.asarray(weights, dtype=float), np.asarray(starts))
        # The null of the largest tabulated size not above n: for n between
        # grid sizes this is the nearest smaller reference parcel.
        row = np.clip(np.searchsorted(self.null_sizes_, sizes, side="right") - 1, 0, None)
        out = np.empty(len(statistic))
        for k in np.unique(row):
            null = self.null_scores_[k]
            idx = row == k
            above = len(null) - np.searchsorted(null, statistic[idx], side="left")
            out[idx] = (1.0 + above) / (len(null) + 1.0)
        return out
