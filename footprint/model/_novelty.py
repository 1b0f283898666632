"""Unknown-origin scoring: per-site binned densities and conformal p-values.

The stone classifier only says which *reference* site a stone resembles most;
it cannot say that a stone resembles none of them. This module keeps, for each
site, a per-feature histogram density (quantile bins with exponential tails
beyond the reference range, category frequencies; shrunk towards the pooled
reference) and scores a stone by how far its best site-density falls below
what reference stones achieve:

``score(x) = -max_s sum_j [log p_j(x_j | s) - c_j]``

over the features ``j`` the stone has (``c_j`` is the mean reference value of
the term, so an unmeasured feature adds nothing). Higher = stranger.

The score is turned into a conformal p-value with scores of reference lots the
densities did not see (cross-fitting by lot), and a parcel score (the same, with
the per-site terms averaged over the parcel's stones first, because a parcel
comes from one site) is compared with parcels drawn from single held-out
reference lots, so its p-value stays valid when stones of a lot are alike.

The same per-feature terms explain a stone's result (see
:meth:`NoveltyScorer.feature_terms`): they are a naive, one-feature-at-a-time
view, meant for "which features weighed most", not for the verdict.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ._density import BinnedDensities
from ._stone import grouped_splits

__all__ = ["NoveltyScorer"]

#: Parcel sizes at which the parcel-score null distribution is tabulated.
_NULL_SIZES = np.array([1, 2, 3, 4, 5, 7, 10, 15, 20, 25, 30, 40, 50, 75, 100, 150, 200, 300, 500])


class NoveltyScorer(OutlierMixin, BaseEstimator):
    """Conformal unknown-origin scorer for stones and parcels.

    Parameters
    ----------
    categorical_features : array-like of bool or None
        Which columns hold category codes (0, 1, 2, ...).
    shrinkage : float
        Pseudo-stones pulling each site's histogram towards the pooled one.
    alpha : float
        Stone p-value below which :meth:`predict` says -1 (novel).
    cv : int
        Folds of whole lots used to get held-out calibration scores.
    n_null : int
        Reference parcels drawn per tabulated parcel size.
    random_state : int or None
        Seed of the folds and of the parcel draws.

    Attributes
    ----------
    densities_ : BinnedDensities
        Fitted on all training stones.
    centre_ : ndarray of shape (n_features,)
        Mean reference term ``c_j`` of each feature.
    calibration_scores_ : ndarray
        Sorted held-out stone scores (the conformal calibration set).
    null_sizes_ : ndarray
        Parcel sizes of the tabulated parcel-score nulls.
    null_scores_ : ndarray of shape (len(null_sizes_), n_null)
        Sorted parcel scores of reference parcels of each size.
    offset_ : float
        Equals ``alpha``; ``decision_function = score_samples - offset_``.
    """

    def __init__(self, categorical_features: Any = None, shrinkage: float = 5.0, alpha: float = 0.05,
                 cv: int = 3, n_null: int = 2000, random_state: int | None = None) -> None:
        self.categorical_features = categorical_features
        self.shrinkage = shrinkage
        self.alpha = alpha
        self.cv = cv
        self.n_null = n_null
        self.random_state = random_state

    def __sklearn_tags__(self) -> Any:
        """Declare that NaN (not measured) is accepted."""
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _mask(self, n_features: int) -> np.ndarray:
        if self.categorical_features is None:
            return np.zeros(n_features, dtype=bool)
        mask = np.asarray(self.categorical_features)
        if mask.dtype == bool:
            return mask.copy()
        out = np.zeros(n_features, dtype=bool)
        out[mask.astype(int)] = True
        return out

    @staticmethod
    def _site_sums(densities: BinnedDensities, centre: np.ndarray, X: np.ndarray) -> np.ndarray:
        total = np.zeros((X.shape[0], densities.tables[0].shape[0] if densities.tables else 1))
        for j in range(X.shape[1]):
            terms = densities.terms(X, j)
            total += np.nan_to_num(terms - centre[j], nan=0.0)
        return total

    @staticmethod
    def _centre(densities: BinnedDensities, X: np.ndarray, sites: np.ndarray) -> np.ndarray:
        centre = np.zeros(X.shape[1])
        for j in range(X.shape[1]):
            terms = densities.terms(X, j)[np.arange(len(sites)), sites]
            finite = np.isfinite(terms)
            centre[j] = terms[finite].mean() if finite.any() else 0.0
        return centre

    def fit(self, X: Any, y: Any = None, groups: Any = None) -> NoveltyScorer:
        """Fit the site densities and the conformal calibration.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Reference stones' features (NaN = not measured).
        y : array-like of shape (n_samples,), optional
            Site of each stone (one site when omitted).
        groups : array-like of shape (n_samples,), optional
            Lot of each stone; calibration holds whole lots out.
        """
        X = validate_data(self, X, ensure_all_finite="allow-nan")
        n = X.shape[0]
        if n < 2:
            raise ValueError(f"NoveltyScorer needs at least 2 samples, got {n}")
        sites = np.zeros(n, dtype=int) if y is None else np.unique(np.asarray(y), return_inverse=True)[1]
        n_sites = int(sites.max()) + 1
        mask = self._mask(X.shape[1])
        self.n_sites_ = n_sites
        self.densities_ = BinnedDensities(X, sites, n_sites, mask, self.shrinkage)
        self.centre_ = self._centre(self.densities_, X, sites)
        lots = np.arange(n) if groups is None else np.unique(np.asarray(groups, dtype=str),
                                                             return_inverse=True)[1]
        folds = grouped_splits(sites, lots, self.cv, self.random_state)
        if not folds:
            folds = grouped_splits(sites, None, self.cv, self.random_state)
        sums = np.full((n, n_sites), np.nan)
        if folds:
            for train, test in folds:
                dens = BinnedDensities(X[train], sites[train], n_sites, mask, self.shrinkage)
                centre = self._centre(dens, X[train], sites[train])
                sums[test] = self._site_sums(dens, centre, X[test])
        else:  # too little data to hold anything out: in-sample (optimistic) calibration
            sums = self._site_sums(self.densities_, self.centre_, X)
        self.calibration_scores_ = np.sort(-sums.max(axis=1))
        self._fit_parcel_null(sums, lots)
        self.offset_ = float(self.alpha)
        return self

    def _fit_parcel_null(self, sums: np.ndarray, lots: np.ndarray) -> None:
        # Reference parcels are drawn from ONE held-out lot each (stones of a lot
        # are alike), with replacement when the lot is small (which widens the
        # null, so the test errs on the side of "not novel").
        rng = np.random.default_rng(self.random_state)
        order = np.argsort(lots, kind="stable")
        sorted_sums = sums[order]
        _, starts, sizes = np.unique(lots[order], return_index=True, return_counts=True)
        self.null_sizes_ = _NULL_SIZES.copy()
        null = np.empty((len(_NULL_SIZES), self.n_null))
        for k, size in enumerate(_NULL_SIZES):
            lot = rng.integers(0, len(starts), self.n_null)
            draws = starts[lot][:, None] + (rng.random((self.n_null, size)) * sizes[lot][:, None]).astype(int)
            null[k] = -sorted_sums[draws].mean(axis=1).max(axis=1)
        self.null_scores_ = np.sort(null, axis=1)

    def site_sums(self, X: Any) -> np.ndarray:
        """Centred log-density sums per site, shape (n_samples, n_sites)."""
        check_is_fitted(self, "densities_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        return self._site_sums(self.densities_, self.centre_, X)

    def nonconformity(self, X: Any) -> np.ndarray:
        """Stone novelty score (higher = stranger), shape (n_samples,)."""
        return -self.site_sums(X).max(axis=1)

    def p_values(self, scores: np.ndarray) -> np.ndarray:
        """Conformal p-values of stone ``scores``: share of calibration scores at least as high."""
        cal = self.calibration_scores_
        above = len(cal) - np.searchsorted(cal, np.asarray(scores, dtype=float), side="left")
        return (1.0 + above) / (len(cal) + 1.0)

    def score_samples(self, X: Any) -> np.ndarray:
        """Stone conformal p-value (low = unlike every reference site)."""
        return self.p_values(self.nonconformity(X))

    def decision_function(self, X: Any) -> np.ndarray:
        """``p-value - alpha``: negative for stones flagged as novel."""
        return self.score_samples(X) - self.offset_

    def predict(self, X: Any) -> np.ndarray:
        """+1 for stones like the reference, -1 for novel ones (p-value < alpha)."""
        return np.where(self.decision_function(X) >= 0, 1, -1)

    def parcel_p_values(self, site_sums: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
        """Parcel-level p-values from per-stone site sums of parcels laid out contiguously.

        Parameters
        ----------
        site_sums : ndarray of shape (n_stones, n_sites)
            :meth:`site_sums` of the stones, sorted by parcel.
        starts, sizes : ndarray of shape (n_parcels,)
            First row and number of stones of each parcel.
        """
        check_is_fitted(self, "null_scores_")
        means = np.add.reduceat(site_sums, starts, axis=0) / sizes[:, None]
        scores = -means.max(axis=1)
        # The null of the largest tabulated size not above n: a smaller parcel's
        # null is wider, so the p-value is conservative between grid sizes.
        row = np.clip(np.searchsorted(self.null_sizes_, sizes, side="right") - 1, 0, None)
        null = self.null_scores_[row]
        above = null.shape[1] - (null < scores[:, None]).sum(axis=1)
        return (1.0 + above) / (null.shape[1] + 1.0)

    def feature_terms(self, X: Any) -> np.ndarray:
        """Per-feature centred log-density terms, shape (n_samples, n_features, n_sites); NaN = unmeasured."""
        check_is_fitted(self, "densities_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        out = np.stack([self.densities_.terms(X, j) for j in range(X.shape[1])], axis=1)
        return out - self.centre_[None, :, None]

    def zone_log_density(self, X: Any, site_zone: np.ndarray, log_weight: np.ndarray) -> np.ndarray:
        """Naive per-zone log-density sums (for explanation), shape (n_samples, n_zones)."""
        sums = self.site_sums(X)
        n_zones = int(site_zone.max()) + 1
        out = np.empty((sums.shape[0], n_zones))
        for z in range(n_zones):
            idx = site_zone == z
            out[:, z] = logsumexp(sums[:, idx] + log_weight[idx], axis=1)
        return out
