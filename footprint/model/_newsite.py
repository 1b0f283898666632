"""Parcel-level unknown-origin statistic: "an unseen site" against "one of the reference sites".

A parcel's stones come from one site. Either that site is one of the
reference sites, or it is a site the reference set has never seen (a
neighbouring country's placer, an undeclared mine). The statistic is the log
Bayes factor of the two::

    T = log p(parcel | new site) - log sum_s pi_s p(parcel | s)

- ``p(parcel | s)`` is the product over stones and features of the site's
  per-feature densities (:class:`~footprint.model._density.BinnedDensities`),
  each feature's log term weighted by ``a_j`` (the classifier's fitted
  feature weights, which discount redundant and over-fitted fields); ``pi_s``
  is uniform over the reference sites.
- ``p(parcel | new site)`` integrates over the unknown site's parameters,
  drawn around the pooled reference: for every feature, the shares of its
  categories (or bins, or "peak absent" spikes) follow a Dirichlet with mean
  the pooled reference shares and concentration ``concentration`` (closed
  form: the Dirichlet-multinomial); a continuous feature's site mean follows
  a normal around the pooled mean with the pooled within-site standard
  deviation as scale (closed form: the normal-normal marginal), the
  within-site spread being the pooled one.

A parcel like a reference site fits that site better than an average unseen
site; a parcel whose composition matches no reference site (several
attributes each a little off, as a Cameroon-like placer next to the West
sites) is better explained by a free site. Because the statistic is a ratio
of integrated likelihoods, it weighs every attribute by how much evidence the
parcel's stones carry on it, rather than summing per-attribute test
statistics of very different power. Its p-value comes from the same
held-out reference-parcel null as before (see :mod:`._novelty`), so the
approximations in the two hypotheses cost power, never validity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, logsumexp

from ._density import BinnedDensities

__all__ = ["NewSiteParts", "new_site_parts", "new_site_statistic", "tilt_hypotheses"]


@dataclass
class NewSiteParts:
    """Per-stone pieces of the statistic, aggregated per parcel by :func:`new_site_statistic`.

    Attributes
    ----------
    known : ndarray of shape (n_stones, n_sites)
        Weighted sum over features of the stone's log-density terms per site.
    offset : ndarray of shape (n_stones,)
        Site-independent part of the known-site terms (bin widths and tails of
        histogram features) that the new-site side shares.
    bins : list of (weight, index, log_prior_shares, concentration)
        Per feature: its weight, the bin of each stone (-1 = unmeasured), the
        pooled log shares and the Dirichlet concentration.
    normals : list of (weight, values, mean, within_sd, mean_sd)
        Per continuous feature: its weight, the continuous values (NaN where
        unmeasured or a spike), and the normal-normal hyper-parameters.
    tilts : list of (weight, z, quadratic, linear_grid, log_grid_weight, log_norm_grid)
        Per "tilt" feature: its weight, the standardised continuous values
        (NaN where unmeasured or a spike), the unseen site's quadratic
        coefficient, and the quadrature over its linear coefficient (points,
        log prior weights, log normalisers). The pooled base log density of
        the values is in ``offset`` (both hypotheses carry it).
    """

    known: np.ndarray
    offset: np.ndarray
    bins: list[tuple[float, np.ndarray, np.ndarray, float]]
    normals: list[tuple[float, np.ndarray, float, float, float]]
    tilts: list[tuple[float, np.ndarray, float, np.ndarray, np.ndarray, np.ndarray]]


#: Quadrature points over the unseen site's linear tilt coefficient (prior mean +- 6 sd).
_TILT_GRID = np.linspace(-6.0, 6.0, 121)


#: An unseen tilted site: quadratic coefficient, quadrature points of the linear one, their log
#: prior weights and the log normaliser at each point.
TiltHypothesis = tuple[float, np.ndarray, np.ndarray, np.ndarray]


def _tilt_hypothesis(densities: BinnedDensities, j: int) -> TiltHypothesis:
    """Return the unseen site of "tilt" feature ``j`` (its tilt, a quadrature over the linear coefficient).

    Returns the quadratic coefficient, the quadrature points of the linear
    one, their log prior weights and the log normaliser at each point.
    """
    coef = densities.coef[j]
    quadratic = float(coef[:, 1].mean())
    scale = float(densities.standardise[j][1])
    within = float(np.sqrt(np.mean(densities.sd[j] ** 2))) / scale  # within-site sd, standardised units
    # A linear tilt b moves the mean by about b times the variance: 1/within moves it one within-sd.
    spread = 1.0 / max(within, 1e-6)
    linear = float(coef[:, 0].mean()) + spread * _TILT_GRID
    log_weight = -0.5 * _TILT_GRID**2
    log_weight -= np.logaddexp.reduce(log_weight)
    z = densities.base_points[j]
    logits = densities.base_log_mass(j)[None, :] + linear[:, None] * z[None, :] + quadratic * z[None, :] ** 2
    return quadratic, linear, log_weight, np.logaddexp.reduce(logits, axis=1)


def _pooled_shares(densities: BinnedDensities, j: int) -> np.ndarray:
    """Return the reference shares of feature ``j``'s bins, sites weighted equally."""
    shares = np.exp(densities.log_mass[j]).mean(axis=0)
    return shares / shares.sum()


def tilt_hypotheses(densities: BinnedDensities) -> list[TiltHypothesis | None]:
    """Return the unseen site of every "tilt" feature (None for the others); see :func:`_tilt_hypothesis`."""
    return [_tilt_hypothesis(densities, j) if mode == "tilt" else None
            for j, mode in enumerate(densities.modes)]


def new_site_parts(densities: BinnedDensities, X: np.ndarray, weights: np.ndarray,
                   concentration: float, known: np.ndarray | None = None,
                   pieces: list[tuple[np.ndarray, np.ndarray] | None] | None = None,
                   hypotheses: list[TiltHypothesis | None] | None = None,
                   ) -> NewSiteParts:
    """Compute the per-stone pieces of the statistic for stones ``X``.

    Parameters
    ----------
    densities : BinnedDensities
        Reference site densities.
    X : ndarray of shape (n_stones, n_features)
        Stone features (NaN = not measured).
    weights : ndarray of shape (n_features,)
        Weight of each feature's log terms (0 drops the feature).
    concentration : float
        Dirichlet concentration of an unseen site's shares around the pooled ones
        (pseudo-stones: small = unseen sites may differ a lot).
    known : ndarray of shape (n_stones, n_sites), optional
        ``sum_j weights[j] * term_j`` of the same densities when the caller has
        it already (the stone classifier computes exactly this); saves
        evaluating every feature's terms a second time.
    pieces : list of (index, shared) or None, optional
        Per feature, the bins and site-independent parts of
        :meth:`BinnedDensities.feature_pieces` of the same stones when the
        caller has them (None where it has not); saves finding every bin twice.
    hypotheses : list, optional
        :func:`tilt_hypotheses` of ``densities`` when precomputed.
    """
    n = X.shape[0]
    have_known = known is not None
    known = np.zeros((n, densities.n_sites)) if known is None else known
    offset = np.zeros(n)
    bins: list[tuple[float, np.ndarray, np.ndarray, float]] = []
    normals: list[tuple[float, np.ndarray, float, float, float]] = []
    tilts: list[tuple[float, np.ndarray, float, np.ndarray, np.ndarray, np.ndarray]] = []
    for j in range(X.shape[1]):
        weight = float(weights[j])
        if weight == 0.0:
            continue
        given = pieces[j] if pieces is not None else None
        if given is not None:
            index, shared = given
            seen = index >= 0
        else:
            seen, term, index, shared = densities.feature_pieces(X, j, terms=not have_known)
            if not have_known and term is not None:
                known[seen] += weight * term
        if not seen.any():
            continue
        bins.append((weight, index, np.log(_pooled_shares(densities, j)), float(concentration)))
        mode = densities.modes[j]
        if mode in ("hist", "tilt"):
            # Bin widths, tails and the pooled base are the same for every site: both hypotheses carry them.
            offset += weight * shared
        # Normal and tilted features: the values that are not a spike (a frequent exact value).
        cont = seen & (index == len(densities.edges[j]))
        if mode == "gauss":
            values = np.where(cont, X[:, j], np.nan)
            mu, sd = densities.mu[j], densities.sd[j]
            within = float(np.sqrt(np.mean(sd**2)))
            normals.append((weight, values, float(mu.mean()), within, within))
        elif mode == "tilt":
            centre, scale = densities.standardise[j]
            z = np.where(cont, (X[:, j] - centre) / scale, np.nan)
            hypothesis = hypotheses[j] if hypotheses is not None else None
            tilts.append((weight, z, *(hypothesis or _tilt_hypothesis(densities, j))))
    return NewSiteParts(known, offset, bins, normals, tilts)


def _dirichlet_multinomial(counts: np.ndarray, log_shares: np.ndarray, concentration: float) -> np.ndarray:
    """Log probability of each parcel's stone sequence under a Dirichlet-multinomial, shape (n_parcels,)."""
    alpha = concentration * np.exp(log_shares)
    total = counts.sum(axis=1)
    return (gammaln(concentration) - gammaln(concentration + total)
            + (gammaln(alpha[None, :] + counts) - gammaln(alpha[None, :])).sum(axis=1))


def _normal_marginal(k: np.ndarray, s1: np.ndarray, s2: np.ndarray, mean: float, within: float,
                     mean_sd: float) -> np.ndarray:
    """Log density of ``k`` values (sum ``s1``, sum of squares ``s2``), common mean ~ N(mean, mean_sd^2)."""
    var, tau2 = within**2, mean_sd**2
    precision = k / var + 1.0 / tau2
    post_mean = (s1 / var + mean / tau2) / precision
    return (-0.5 * k * np.log(2.0 * np.pi * var)
            - 0.5 * (s2 / var + mean**2 / tau2 - post_mean**2 * precision)
            - 0.5 * np.log(tau2 * precision))


def _parcel_moments(values: np.ndarray, parcel: np.ndarray, n_parcels: int, weights: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per parcel: how many ``values`` are finite, their sum and their sum of squares (NaN = none).

    With ``weights``, each value counts as that many stones.
    """
    finite = np.isfinite(values)
    x = np.where(finite, values, 0.0)
    count = finite.astype(float)
    if weights is not None:
        count = count * weights
        x = x * weights
        return (np.bincount(parcel, weights=count, minlength=n_parcels),
                np.bincount(parcel, weights=x, minlength=n_parcels),
                np.bincount(parcel, weights=x * np.where(finite, values, 0.0), minlength=n_parcels))
    return (np.bincount(parcel, weights=count, minlength=n_parcels),
            np.bincount(parcel, weights=x, minlength=n_parcels),
            np.bincount(parcel, weights=x * x, minlength=n_parcels))


def new_site_statistic(parts: NewSiteParts, rows: np.ndarray, starts: np.ndarray,
                       sizes: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Log Bayes factor "unseen site" against "a reference site" per parcel (higher = stranger).

    Parameters
    ----------
    parts : NewSiteParts
        From :func:`new_site_parts`.
    rows : ndarray of int
        Stones of the parcels, contiguous per parcel (indexes into ``parts``).
    starts, sizes : ndarray of shape (n_parcels,)
        First position in ``rows`` and number of rows of each parcel.
    weights : ndarray, optional
        Stones each position of ``rows`` stands for (assortment cells): every
        sum and count is weighted, so a row of weight n adds what n identical
        stones would.
    """
    rows = np.asarray(rows)
    starts = np.asarray(starts)
    n_parcels = len(starts)
    if n_parcels == 0:
        return np.zeros(0)
    parcel = np.repeat(np.arange(n_parcels), np.asarray(sizes))
    w = None if weights is None else np.asarray(weights, dtype=float)
    known_rows = parts.known[rows] if w is None else parts.known[rows] * w[:, None]
    known_sums = np.add.reduceat(known_rows, starts, axis=0)
    log_prior = -np.log(parts.known.shape[1])
    known = logsumexp(known_sums + log_prior, axis=1)
    offset = parts.offset[rows] if w is None else parts.offset[rows] * w
    new = np.bincount(parcel, weights=offset, minlength=n_parcels).astype(float)
    for weight, index, log_shares, concentration in parts.bins:
        idx = index[rows]
        seen = idx >= 0
        n_bins = len(log_shares)
        counts = np.bincount(parcel[seen] * n_bins + idx[seen], weights=None if w is None else w[seen],
                             minlength=n_parcels * n_bins).reshape(n_parcels, n_bins).astype(float)
        new += weight * _dirichlet_multinomial(counts, log_shares, concentration)
    for weight, values, mean, within, mean_sd in parts.normals:
        k, s1, s2 = _parcel_moments(values[rows], parcel, n_parcels, w)
        new += weight * _normal_marginal(k, s1, s2, mean, within, mean_sd)
    for weight, z_all, quadratic, linear, log_weight, log_norm in parts.tilts:
        k, s1, s2 = _parcel_moments(z_all[rows], parcel, n_parcels, w)
        # log of the quadrature sum over the linear coefficient b: w(b) exp(b s1 + c s2 - k A(b)).
        inner = (log_weight[None, :] + linear[None, :] * s1[:, None] - k[:, None] * log_norm[None, :])
        new += weight * (quadratic * s2 + logsumexp(inner, axis=1))
    return new - known
