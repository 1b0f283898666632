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
densities did not see (cross-fitting by lot).

A parcel is tested as a whole (:mod:`._newsite`): the log Bayes factor of
"the parcel comes from a site the reference set has never seen" against "it
comes from one of the reference sites", every feature's log terms weighted by
the stone classifier's feature weights (``feature_weights``). Its p-value
comes from parcels of the same size drawn from single held-out reference
lots (from their site's held-out lots when a parcel is larger than its
lot), sites weighted as the model's site prior, scored with densities that
did not see them, so it stays valid when stones of a lot are alike and when
the densities are imperfect. Such cross-fitted (cross-conformal) p-values
are guaranteed to flag at most twice the nominal share of reference parcels
(Barber, Candes, Ramdas & Tibshirani 2021, "Predictive inference with the
jackknife+", the CV+ bound); measured on the bundled SYNTHETIC set they flag
1.4 to 1.7% of fresh reference parcels at p < 0.01 and 5.2 to 5.6% at
p < 0.05 (``benchmarks/bench_model.py``). The parcel statistic, its p-values and its null
draws live in :mod:`._novelty_parcel` (:class:`~._novelty_parcel.ParcelNoveltyMixin`).

**Stones measured on fewer fields.** A stone's score sums terms over the
fields it has, so its distribution depends on WHICH fields it has: a parcel
described only by its assortment (size class x quality x colour) scores on
three or four fields, and compared with reference stones scored on all theirs
it would read "unknown origin" for no reason. :meth:`NoveltyScorer.standardise`
puts every stone's score on one reference scale by its pattern of observed
fields (quantile mapping): its place among held-out reference stones measured
on every field of the pattern and scored on those fields only (their other
fields masked) is read off the reference calibration scores. The reference
stones' own held-out scores go through the same map (``oof_standardised_``,
from which the parcel layer builds its unknown-origin null), so a genuine
parcel meets the same null whatever its fields. Nulls are stored for the
patterns named at fit (training names the assortment fields, with and without
the mean mass per stone) and for every pattern of 1% or more of the reference
stones (the common full descriptions); any other pattern is simulated at assessment by masking a stored
sample of held-out stones' per-field terms (``oof_terms_``, milliseconds per
pattern).

The same per-feature terms explain a stone's result (see
:meth:`NoveltyScorer.feature_terms`): they are a naive, one-feature-at-a-time
view, meant for "which features weighed most", not for the verdict.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._density import BinnedDensities, categorical_mask
from ._newsite import tilt_hypotheses
from ._novelty_parcel import NULL_SIZES, ParcelNoveltyMixin
from ._patterns import (
    CACHE_PATTERNS,
    KEEP_TERMS,
    MIN_COMPLETE,
    SIMULATED,
    Scale,
    common_patterns,
    fit_pattern_parcel_nulls,
    null_from_terms,
    quantile_map,
    quantile_map_groups,
    simulated_nulls,
    thin,
)
from ._stone import AcceptsMissingMixin, grouped_splits

__all__ = ["NoveltyScorer", "common_patterns", "fit_pattern_parcel_nulls"]

class NoveltyScorer(ParcelNoveltyMixin, AcceptsMissingMixin, OutlierMixin, BaseEstimator):
    """Conformal unknown-origin scorer for stones and parcels.

    Parameters
    ----------
    categorical_features : array-like of bool or None
        Which columns hold category codes (0, 1, 2, ...).
    shrinkage : float
        Pseudo-stones pulling each site's densities towards its zone's (or the pool's).
    alpha : float
        Stone p-value below which :meth:`predict` says -1 (novel).
    cv : int
        Folds of whole lots used to get held-out calibration scores.
    n_null : int
        Reference parcels drawn per tabulated parcel size.
    numeric : {"tilt", "gaussian", "histogram"}
        Density of continuous features (see :class:`BinnedDensities`).
    feature_weights : array-like of shape (n_features,) or None
        Weight of each feature's log terms in the parcel statistic (the stone
        classifier's fitted weights, which discount redundant and over-fitted
        fields); None weighs every feature 1.
    concentration : float
        How far an unseen site's category shares may stray from the pooled
        reference ones (Dirichlet concentration, in pseudo-stones).
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
    oof_scores_ : ndarray of shape (n_samples,)
        The same held-out scores in training-row order (the parcel layer's
        unknown-origin null is built from them).
    null_sizes_ : ndarray
        Parcel sizes of the tabulated parcel-score nulls.
    null_scores_ : list of ndarray
        Sorted parcel statistics of held-out reference parcels of each size.
    offset_ : float
        Equals ``alpha``; ``decision_function = score_samples - offset_``.
    feature_weights_ : ndarray of shape (n_features,)
        The feature weights used.
    tilt_hypotheses_ : list
        The unseen site of each "tilt" feature (see :mod:`._newsite`), None
        for the other features.
    observed_ : ndarray of bool, shape (n_features,)
        Features measured on at least one reference stone.
    pattern_masks_ : ndarray of bool, shape (n_patterns, n_features)
        Field patterns (restricted to ``observed_``) with a stored null.
    pattern_nulls_ : list of ndarray
        Sorted held-out scores, on each pattern's fields only, of the
        reference stones measured on all of them (of every reference stone
        when fewer than 50 are).
    named_patterns_ : ndarray of bool, shape (n_named, n_features)
        The patterns named at fit (``patterns``, restricted to ``observed_``).
    pattern_oof_ : ndarray of float32, shape (n_named, n_samples)
        Standardised held-out scores of the reference stones on each named
        pattern's fields (NaN for stones lacking one of them).
    parcel_pattern_sizes_, parcel_pattern_nulls_ :
        Set by :func:`fit_pattern_parcel_nulls`: per named pattern, sorted
        mean standardised scores of simulated genuine parcels of each size.
    oof_standardised_ : ndarray of shape (n_samples,)
        :attr:`oof_scores_` put on the reference scale by each stone's own
        pattern (:meth:`standardise`); the parcel layer's null uses these.
    oof_terms_ : ndarray of float32, shape (n_keep, n_features, n_sites)
        Centred held-out per-field terms of a random sample of reference
        stones (NaN = not measured): the null of any other pattern.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "categorical_features": ["array-like", None],
        "shrinkage": [Interval(Real, 0, None, closed="left")],
        "alpha": [Interval(Real, 0, 1, closed="neither")],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "n_null": [Interval(Integral, 1, None, closed="left")],
        "numeric": [StrOptions({"tilt", "gaussian", "histogram"})],
        "feature_weights": ["array-like", None],
        "concentration": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(self, categorical_features: Any = None, shrinkage: float = 50.0, alpha: float = 0.05,
                 cv: int = 5, n_null: int = 1000, numeric: str = "tilt", feature_weights: Any = None,
                 concentration: float = 50.0, random_state: int | None = None) -> None:
        self.categorical_features = categorical_features
        self.shrinkage = shrinkage
        self.numeric = numeric
        self.alpha = alpha
        self.cv = cv
        self.n_null = n_null
        self.feature_weights = feature_weights
        self.concentration = concentration
        self.random_state = random_state

    def _weights(self, n_features: int) -> np.ndarray:
        if self.feature_weights is None:
            return np.ones(n_features)
        weights = np.asarray(self.feature_weights, dtype=float)
        if weights.shape != (n_features,) or not np.all(np.isfinite(weights) & (weights >= 0)):
            raise ValueError(f"feature_weights must be {n_features} non-negative numbers, got shape "
                             f"{weights.shape}")
        return weights

    @staticmethod
    def _site_sums(densities: BinnedDensities, centre: np.ndarray, X: np.ndarray) -> np.ndarray:
        total = np.zeros((X.shape[0], densities.n_sites))
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

    def _densities(self, X: np.ndarray, sites: np.ndarray, mask: np.ndarray) -> BinnedDensities:
        return BinnedDensities(X, sites, self.n_sites_, mask, self.shrinkage, self.parent_of_site_,
                               numeric=self.numeric)

    def fit(self, X: Any, y: Any = None, groups: Any = None, parents: Any = None,
            site_weights: Any = None, patterns: Any = None) -> NoveltyScorer:
        """Fit the site densities and the conformal calibration.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Reference stones' features (NaN = not measured).
        y : array-like of shape (n_samples,), optional
            Site of each stone (one site when omitted).
        groups : array-like of shape (n_samples,), optional
            Lot of each stone; calibration holds whole lots out.
        parents : array-like of shape (n_samples,), optional
            Zone of each stone's site: a site's densities are shrunk towards its zone's.
        site_weights : array-like of shape (n_sites,), optional
            How likely a reference parcel is to come from each site (sites in
            sorted order of ``y``): the parcel null is drawn with these
            weights, so that its p-values mean what they say for parcels drawn
            as the model's site-mixture prior says. Default: every lot equally
            likely.
        patterns : array-like of bool, shape (n_patterns, n_features), optional
            Field patterns whose null is computed from every held-out stone
            (:meth:`standardise`); others are simulated from ``oof_terms_``.
        """
        self._validate_params()
        X = validate_data(self, X, ensure_all_finite="allow-nan")
        n = X.shape[0]
        if n < 2:
            raise ValueError(f"NoveltyScorer needs at least 2 samples, got n_samples = {n}")
        sites = np.zeros(n, dtype=int) if y is None else np.unique(np.asarray(y), return_inverse=True)[1]
        self.n_sites_ = int(sites.max()) + 1
        weight_of_site = None
        if site_weights is not None:
            weight_of_site = np.asarray(site_weights, dtype=float)
            if weight_of_site.shape != (self.n_sites_,) or not (np.all(weight_of_site >= 0)
                                                               and weight_of_site.sum() > 0):
                raise ValueError(f"site_weights must be {self.n_sites_} non-negative numbers, not all 0")
        self.parent_of_site_ = None
        if parents is not None:
            codes = np.unique(np.asarray(parents, dtype=str), return_inverse=True)[1]
            self.parent_of_site_ = np.zeros(self.n_sites_, dtype=int)
            self.parent_of_site_[sites] = codes
        mask = categorical_mask(self.categorical_features, X.shape[1])
        self.feature_weights_ = self._weights(X.shape[1])
        self.densities_ = self._densities(X, sites, mask)
        self.tilt_hypotheses_ = tilt_hypotheses(self.densities_)
        self.centre_ = self._centre(self.densities_, X, sites)
        lots = np.arange(n) if groups is None else np.unique(np.asarray(groups, dtype=str),
                                                             return_inverse=True)[1]
        folds = grouped_splits(sites, lots, self.cv, self.random_state)
        if not folds:
            folds = grouped_splits(sites, None, self.cv, self.random_state)
        scores = np.full(n, np.nan)
        self.observed_ = np.isfinite(X).any(axis=0)
        masks = np.zeros((0, X.shape[1]), dtype=bool)
        if patterns is not None:
            masks = np.atleast_2d(np.asarray(patterns, dtype=bool))
            if masks.shape[1] != X.shape[1]:
                raise ValueError(f"patterns must have {X.shape[1]} columns, got {masks.shape[1]}")
        # Every held-out stone's centred per-field terms (float32: the nulls of any field pattern).
        all_terms = np.full((n, X.shape[1], self.n_sites_), np.nan, dtype=np.float32)
        rng = np.random.default_rng(self.random_state)
        null: list[list[np.ndarray]] = [[] for _ in NULL_SIZES]
        if folds:
            n_lots = len(np.unique(lots))
            for train, test in folds:
                dens = self._densities(X[train], sites[train], mask)
                centre = self._centre(dens, X[train], sites[train])
                scores[test] = -self._site_sums(dens, centre, X[test]).max(axis=1)
                all_terms[test] = self._centred_terms(dens, centre, X[test])
                share = len(np.unique(lots[test])) / n_lots
                for k, stats in enumerate(self._parcel_null(dens, X[test], lots[test], sites[test], rng,
                                                            max(1, round(self.n_null * share)),
                                                            weight_of_site)):
                    null[k].append(stats)
        else:  # too little data to hold anything out: in-sample (optimistic) calibration
            scores = -self._site_sums(self.densities_, self.centre_, X).max(axis=1)
            all_terms[:] = self._centred_terms(self.densities_, self.centre_, X)
            for k, stats in enumerate(self._parcel_null(self.densities_, X, lots, sites, rng, self.n_null,
                                                        weight_of_site)):
                null[k].append(stats)
        self.oof_scores_ = scores
        self.calibration_scores_ = np.sort(scores)
        self.null_sizes_ = NULL_SIZES.copy()
        self.null_scores_ = [np.sort(np.concatenate(parts)) for parts in null]
        self._fit_patterns(all_terms, np.isfinite(scores), masks)
        self.offset_ = float(self.alpha)
        return self

    @staticmethod
    def _centred_terms(dens: BinnedDensities, centre: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Centred per-field terms ``log p_j(x_j | s) - c_j``, (n, n_features, n_sites), NaN if unmeasured."""
        return np.stack([dens.terms(X, j) - centre[j] for j in range(X.shape[1])], axis=1).astype(np.float32)

    _null_from_terms = staticmethod(null_from_terms)

    def _fit_patterns(self, all_terms: np.ndarray, valid: np.ndarray, masks: np.ndarray) -> None:
        """Store the pattern nulls, the kept terms, and the reference's standardised held-out scores."""
        terms = all_terms[valid]
        observed = np.isfinite(terms[:, :, 0])
        filled = np.nan_to_num(terms, nan=0.0)
        own, inverse, counts = np.unique(observed, axis=0, return_inverse=True, return_counts=True)
        inverse = inverse.reshape(-1)
        # Stored: the named patterns and every pattern of at least 1% of the reference stones.
        frequent = own[counts >= max(MIN_COMPLETE, 0.01 * len(terms))]
        stored = np.unique(np.vstack([masks & self.observed_, frequent]), axis=0)
        stored = stored[stored.any(axis=1)]
        self.pattern_masks_ = stored
        self.pattern_nulls_ = [thin(self._null_from_terms(terms, m, observed, filled)) for m in stored]
        rng = np.random.default_rng(None if self.random_state is None else [int(self.random_state), 14])
        keep = np.sort(rng.permutation(len(terms))[:KEEP_TERMS])
        self.oof_terms_ = terms[keep]
        # The reference stones' own held-out scores on the same scale (the parcel null is built from them):
        # every pattern of theirs from all held-out stones, stored or not.
        raw = self.oof_scores_[valid]
        out = raw.copy()
        ref = self.calibration_scores_[np.isfinite(self.calibration_scores_)]
        for k, mask in enumerate(own):
            if mask.any():
                idx = inverse == k
                out[idx] = quantile_map(raw[idx], self._null_from_terms(terms, mask, observed, filled), ref)
        self.oof_standardised_ = np.full(len(valid), np.nan)
        self.oof_standardised_[valid] = out
        # The named patterns' held-out scores of the stones that have all their fields (NaN for the
        # others), standardised: what parcels described on those fields only are compared with
        # (:func:`fit_pattern_parcel_nulls`).
        named = np.unique(masks & self.observed_, axis=0) if len(masks) else masks
        named = named[named.any(axis=1)] if len(named) else named
        self.named_patterns_ = np.asarray(named, dtype=bool).reshape(-1, len(self.observed_))
        pattern_oof = np.full((len(self.named_patterns_), len(valid)), np.nan, dtype=np.float32)
        for k, mask in enumerate(self.named_patterns_):
            complete = observed[:, mask].all(axis=1)
            sums = np.einsum("mfs,f->ms", filled[complete], mask.astype(filled.dtype))
            null = self._null_from_terms(terms, mask, observed, filled)
            values = np.full(len(terms), np.nan)
            values[complete] = quantile_map(-sums.max(axis=1).astype(float), null, ref)
            pattern_oof[k, np.flatnonzero(valid)] = values
        self.pattern_oof_ = pattern_oof

    def _pattern_null(self, mask: np.ndarray) -> np.ndarray | None:
        """Sorted reference null of stones observed on ``mask`` (None: no null, the score is kept)."""
        return self._pattern_nulls(np.atleast_2d(mask))[0]

    def _pattern_nulls(self, masks: np.ndarray) -> list[np.ndarray | None]:
        """Sorted reference nulls of several field patterns: stored ones, else from ``oof_terms_``."""
        masks = np.asarray(masks, dtype=bool) & self.observed_
        out: list[np.ndarray | None] = [None] * len(masks)
        stored = getattr(self, "pattern_masks_", None)
        index = ({m.tobytes(): k for k, m in enumerate(np.asarray(stored, dtype=bool))}
                 if stored is not None else {})
        missing = []
        cache = SIMULATED.setdefault(self, {})
        for u, mask in enumerate(masks):
            if not mask.any():
                continue
            hit = index.get(mask.tobytes())
            if hit is not None:
                out[u] = np.asarray(self.pattern_nulls_[hit], dtype=float)
            elif mask.tobytes() in cache:
                out[u] = cache[mask.tobytes()]
            else:
                missing.append(u)
        terms = getattr(self, "oof_terms_", None)
        if not missing or terms is None or not len(terms):
            return out
        for u, null in zip(missing, simulated_nulls(terms, masks[missing]), strict=True):
            out[u] = null
            if len(cache) < CACHE_PATTERNS:
                cache[masks[u].tobytes()] = null
        return out

    def parcel_patterns(self, observed: np.ndarray, weights: np.ndarray, starts: np.ndarray,
                        share: float = 0.9) -> np.ndarray:
        """Per parcel on the named patterns' fields only, the pattern most of its stones have; else -1.

        Parameters
        ----------
        observed : ndarray of bool, shape (n_stones, n_features)
            Features of each stone, sorted by parcel.
        weights : ndarray of shape (n_stones,)
            Stones each row stands for.
        starts : ndarray of shape (n_parcels,)
            First row of each parcel.
        share : float
            Share of a parcel's stones (by weight) that must have no field
            outside the named patterns' fields.
        """
        named = getattr(self, "named_patterns_", None)
        out = np.full(len(starts), -1)
        if named is None or not len(named) or getattr(self, "parcel_pattern_nulls_", None) is None:
            return out
        effective = np.asarray(observed, dtype=bool) & self.observed_
        total = np.add.reduceat(weights, starts)
        def inside(mask: np.ndarray) -> np.ndarray:
            # Share of the stones with no field outside ``mask`` (a stone missing a colour still counts).
            within = ~(effective & ~mask).any(axis=1) & effective.any(axis=1)
            return np.add.reduceat(weights * within, starts) / np.maximum(total, 1e-300)

        # An assortment parcel: nearly every stone described on the named fields only (cells with carats
        # read the mass, cells without the sieve); its null is the pattern most of its stones have.
        described = inside(named.any(axis=0)) >= share
        shares = np.stack([inside(mask) for mask in named], axis=1)
        out[described] = np.argmax(shares[described], axis=1)
        return out

    def standardise(self, scores: np.ndarray, observed: np.ndarray) -> np.ndarray:
        """Put stone nonconformity ``scores`` on the reference scale of their observed fields.

        Parameters
        ----------
        scores : ndarray of shape (n_samples,)
            :meth:`nonconformity` of the stones.
        observed : ndarray of bool, shape (n_samples, n_features)
            Which features each stone has (``np.isfinite(X)``).

        Returns
        -------
        ndarray of shape (n_samples,)
            ``Q_ref(F_P(score))``: the reference calibration score at the
            stone's quantile among held-out reference stones masked to its
            pattern ``P`` (piecewise linear; beyond that null's range, the
            tail's spread rescaled to the reference's). A stone with no
            field the reference measured keeps its score; so do all stones
            for a scorer fitted before field patterns existed.
        """
        scores = np.asarray(scores, dtype=float)
        observed = np.asarray(observed, dtype=bool)
        if not hasattr(self, "observed_") or scores.size == 0:
            return scores
        effective = observed & self.observed_
        # One integer key per pattern (np.unique over rows of a bool matrix is slow on large batches).
        packed = np.packbits(effective, axis=1)
        keys = np.zeros(len(packed), dtype=np.uint64) if packed.shape[1] <= 8 else None
        if keys is not None:
            for k in range(packed.shape[1]):
                keys = (keys << np.uint64(8)) | packed[:, k].astype(np.uint64)
            _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        else:
            _, first, inverse = np.unique(effective, axis=0, return_index=True, return_inverse=True)
        inverse = np.asarray(inverse).reshape(-1)
        nulls = self._pattern_nulls(effective[first])
        ref = self.calibration_scores_[np.isfinite(self.calibration_scores_)]
        return quantile_map_groups(scores, inverse, nulls, Scale(ref))

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
