"""Binned per-class densities: the naive, one-feature-at-a-time likelihood pieces.

Used by the stone classifier (weighted sums of the terms, weights fitted on
held-out lots), by the novelty scorer (centred sums), and for explanations.

Continuous features have three forms (``numeric``):

- ``"tilt"`` (the default of the stone classifier): every site's density is an
  exponential tilt of the pooled reference density, ``p_s(x) = p(x) exp(b_s .
  (z, z^2) - A_s)`` with ``z`` the standardised value. The pooled density
  ``p(x)`` is a fine histogram of all reference values, so whatever its shape
  (a truncated log-normal mass cut off at the recovery sieve, nitrogen capped
  at a few hundred ppm, a bounded %B) every site keeps it, and sites differ by
  a smooth two-parameter tilt fitted by matching the site's first two moments
  (shrunk towards its zone's). A site-to-site shift of a truncated normal is
  exactly such a tilt; a per-site normal fitted to truncated values is not,
  and it misjudges the evidence of values near the cut-off.
- ``"gaussian"``: a per-site normal (exact for untruncated normal fields).
- ``"histogram"``: per-site quantile-bin histograms.

All three keep point masses at frequent exact values (0 = peak absent).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["BinnedDensities", "categorical_mask"]

_QUANTILES = np.array([0.005, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.995])


def categorical_mask(spec: Any, n_features: int) -> np.ndarray:
    """Boolean mask of the category-code columns from an estimator's ``categorical_features``.

    Parameters
    ----------
    spec : array-like of bool or int, or None
        A boolean mask, column indices, or None (no categorical column).
    n_features : int
        Number of columns.
    """
    if spec is None:
        return np.zeros(n_features, dtype=bool)
    mask = np.asarray(spec)
    if mask.dtype == bool:
        return mask.copy()
    out = np.zeros(n_features, dtype=bool)
    out[mask.astype(int)] = True
    return out


def _bin_widths(edges: np.ndarray) -> np.ndarray:
    """Widths of the bins between consecutive ``edges``, kept away from zero."""
    return np.maximum(np.diff(edges), 1e-9 * max(1.0, float(np.abs(edges).max())))


def _fit_tilt(log_base: np.ndarray, T: np.ndarray, target: np.ndarray, ridge: float = 1e-6) -> np.ndarray:
    """Tilt coefficients ``b`` whose tilted base has mean ``target`` of the statistics ``T``.

    Minimises the convex ``log sum_b exp(log_base_b + b . T_b) - b . target`` (plus a
    tiny ridge, for targets on the edge of what the base can reach) by damped Newton steps.

    Parameters
    ----------
    log_base : ndarray of shape (n_bins,)
        Log masses of the base's bins.
    T : ndarray of shape (n_bins, k)
        The statistics at each bin's representative point.
    target : ndarray of shape (k,)
        Wanted mean of the statistics.
    """
    coef = np.zeros(T.shape[1])

    def objective(c: np.ndarray) -> float:
        return float(np.logaddexp.reduce(log_base + T @ c) - c @ target + 0.5 * ridge * c @ c)

    value = objective(coef)
    for _ in range(50):
        logits = log_base + T @ coef
        w = np.exp(logits - np.logaddexp.reduce(logits))
        mean = w @ T
        grad = mean - target + ridge * coef
        hess = (T - mean).T @ ((T - mean) * w[:, None]) + ridge * np.eye(T.shape[1])
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while t > 1e-4:
            trial = coef - t * step
            new = objective(trial)
            if new <= value:
                break
            t *= 0.5
        else:
            break
        done = value - new < 1e-12
        coef, value = trial, new
        if done:
            break
    return coef


def shrunk_frequencies(counts: np.ndarray, parent_of_site: np.ndarray | None, shrinkage: float,
                       parent_shrinkage: float) -> np.ndarray:
    """Per-site cell frequencies shrunk site -> parent (zone) -> pool, shape of ``counts``.

    ``counts`` is sites x cells. The pool is the pooled frequencies with half a
    stone added to every cell; a site borrows ``shrinkage`` pseudo-stones from
    its zone (a thin site borrows from its zone first, since sites of a zone
    are alike), the zone ``parent_shrinkage`` from the pool. Without
    ``parent_of_site`` a site borrows from the pool directly. The per-field
    densities, the categorical pairs and the population fit test all shrink
    this way.
    """
    pooled = (counts.sum(axis=0) + 0.5) / (counts.sum() + 0.5 * counts.shape[1])
    prior = np.broadcast_to(pooled, counts.shape)
    if parent_of_site is not None:
        parent_counts = np.zeros((int(parent_of_site.max()) + 1, counts.shape[1]))
        np.add.at(parent_counts, parent_of_site, counts)
        parent = (parent_counts + parent_shrinkage * pooled) / (
            parent_counts.sum(axis=1, keepdims=True) + parent_shrinkage)
        prior = parent[parent_of_site]
    return (counts + shrinkage * prior) / (counts.sum(axis=1, keepdims=True) + shrinkage)


class BinnedDensities:
    """Per-class, per-feature log-density lookup tables (plain data, fitted once).

    Numbers: quantile bins of the training values, each class's bin masses
    shrunk towards its parent's (its zone's) and those towards the pooled
    masses, divided by the bin width (a density), with exponential tails
    beyond the outermost edges so values far outside the reference range
    score low. Categories: shrunk frequencies.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Training features, NaN = not measured.
    sites : ndarray of int, shape (n_samples,)
        Class (site) index of each sample.
    n_sites : int
        Number of classes.
    categorical : ndarray of bool, shape (n_features,)
        Which columns are category codes.
    shrinkage : float
        Pseudo-samples pulling a class towards its parent (or the pool).
    parent_of_site : ndarray of int, optional
        Parent (zone) of each class.
    parent_shrinkage : float
        Pseudo-samples pulling a parent towards the pool.
    quantiles : ndarray
        Quantiles of the training values used as bin edges.
    """

    def __init__(self, X: np.ndarray, sites: np.ndarray, n_sites: int, categorical: np.ndarray,
                 shrinkage: float, parent_of_site: np.ndarray | None = None,
                 parent_shrinkage: float = 5.0, quantiles: np.ndarray = _QUANTILES,
                 numeric: str = "histogram", gauss_shrinkage: float = 10.0) -> None:
        if numeric not in ("tilt", "gaussian", "histogram"):
            raise ValueError(f"numeric must be 'tilt', 'gaussian' or 'histogram', got {numeric!r}")
        self.n_sites = int(n_sites)
        self.modes: list[str] = []
        self.edges: list[np.ndarray] = []
        self.tables: list[np.ndarray] = []   # (n_sites, n_bins): log mass (- log width for histograms)
        self.tail_scale: list[np.ndarray] = []
        self.log_mass: list[np.ndarray] = []  # (n_sites, n_bins): log mass of each bin / category
        self.mu: list[np.ndarray] = []
        self.sd: list[np.ndarray] = []
        # "tilt" features only (empty arrays elsewhere): the pooled base histogram (edges, log
        # density per bin, each bin's representative standardised value), the standardisation
        # (centre, scale) and per site the tilt coefficients (n_sites, 2) and log normalisers.
        self.base_edges: list[np.ndarray] = []
        self.base_log_density: list[np.ndarray] = []
        self.base_points: list[np.ndarray] = []
        self.standardise: list[np.ndarray] = []
        self.coef: list[np.ndarray] = []
        self.log_norm: list[np.ndarray] = []
        self.categorical = categorical
        self._shrink = (shrinkage, parent_of_site, parent_shrinkage)
        for j in range(X.shape[1]):
            column = X[:, j]
            seen = np.isfinite(column)
            values, where = column[seen], sites[seen]
            mu = sd = np.zeros(0)
            tails = np.ones(2)
            tilt: tuple[np.ndarray, ...] = (np.zeros(0),) * 6
            if categorical[j]:
                mode = "cat"
                n_codes = int(values.max()) + 2 if seen.any() else 1
                edges = np.arange(n_codes - 1) + 0.5
                table = np.log(self._mass(where, np.searchsorted(edges, values, side="right"), n_codes))
                log_mass = table
            elif numeric == "gaussian" and len(np.unique(values)) > 12:
                mode = "gauss"
                edges, table, mu, sd = self._gaussian(values, where, parent_of_site, gauss_shrinkage,
                                                      parent_shrinkage)
                log_mass = table
            elif numeric == "tilt" and len(np.unique(values)) > 12:
                mode = "tilt"
                edges, table, mu, sd, tilt, tails = self._tilted(values, where, parent_of_site,
                                                                 gauss_shrinkage, parent_shrinkage)
                log_mass = table
            else:
                mode = "hist"
                edges = np.unique(np.quantile(values, quantiles)) if seen.any() else np.zeros(0)
                if len(edges) >= 2:
                    inner = np.diff(edges)
                    inner = np.maximum(inner, 1e-6 * max(1.0, float(np.abs(edges).max())))
                    widths = np.concatenate([[inner[0]], inner, [inner[-1]]])
                else:
                    widths = np.ones(len(edges) + 1)
                mass = self._mass(where, np.searchsorted(edges, values, side="right"), len(edges) + 1)
                log_mass = np.log(mass)
                table = log_mass - np.log(widths)
                tails = np.array([widths[0], widths[-1]])
            self.modes.append(mode)
            self.edges.append(edges)
            self.tables.append(table)
            self.log_mass.append(log_mass)
            self.tail_scale.append(tails)
            self.mu.append(mu)
            self.sd.append(sd)
            tilt_stores = (self.base_edges, self.base_log_density, self.base_points, self.standardise,
                           self.coef, self.log_norm)
            for store, value in zip(tilt_stores, tilt, strict=True):
                store.append(value)

    def _mass(self, where: np.ndarray, bins: np.ndarray, n_bins: int) -> np.ndarray:
        """Bin masses per site, shrunk site -> parent (zone) -> pool, shape (n_sites, n_bins)."""
        shrinkage, parent_of_site, parent_shrinkage = self._shrink
        counts = np.zeros((self.n_sites, n_bins))
        np.add.at(counts, (where, bins), 1.0)
        return shrunk_frequencies(counts, parent_of_site, shrinkage, parent_shrinkage)

    def _gaussian(self, values: np.ndarray, where: np.ndarray, parent_of_site: np.ndarray | None,
                  shrinkage: float, parent_shrinkage: float
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Point masses at frequent exact values (e.g. 0 = peak absent) plus a shrunk normal per site."""
        spikes, is_spike, table = self._spikes(values, where)
        cont, site = values[~is_spike], where[~is_spike]
        g_mu = cont.mean() if len(cont) else 0.0
        g_var = cont.var() + 1e-6 if len(cont) > 1 else 1.0
        parent = parent_of_site if parent_of_site is not None else np.zeros(self.n_sites, dtype=int)
        p_mu, p_var = self._shrunk_normal(cont, parent[site], int(parent.max()) + 1,
                                          np.full(int(parent.max()) + 1, g_mu),
                                          np.full(int(parent.max()) + 1, g_var), parent_shrinkage)
        mu, var = self._shrunk_normal(cont, site, self.n_sites, p_mu[parent], p_var[parent], shrinkage)
        return spikes, table, mu, np.sqrt(np.maximum(var, 1e-6 * g_var))

    def _spikes(self, values: np.ndarray, where: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Point masses at frequent exact values: (spike values, is-spike flags, log mass table per site).

        The table's last column is the log share of continuous (non-spike) values.
        """
        uniq, counts = np.unique(values, return_counts=True)
        spikes = np.sort(uniq[counts >= 0.05 * len(values)][:3])
        is_spike = np.isin(values, spikes)
        index = np.where(is_spike, np.searchsorted(spikes, values), len(spikes))
        return spikes, is_spike, np.log(self._mass(where, index, len(spikes) + 1))

    def _tilted(self, values: np.ndarray, where: np.ndarray, parent_of_site: np.ndarray | None,
                shrinkage: float, parent_shrinkage: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, ...],
                           np.ndarray]:
        """Spikes plus, per site, an exponential tilt of the pooled continuous density (see the module doc).

        Returns the spike values, the spike table, each site's mean and
        standard deviation, the tilt arrays (see ``__init__``) and the tail scales.
        """
        spikes, is_spike, table = self._spikes(values, where)
        cont, site = values[~is_spike], where[~is_spike]
        centre = float(np.median(cont)) if len(cont) else 0.0
        scale = float(cont.std()) if len(cont) > 1 and cont.std() > 0 else 1.0
        # The pooled base: quantile bins (about 40 values each, 8 to 64 bins), a density per bin,
        # exponential tails one bin-width deep beyond the outermost edges.
        n_bins = int(np.clip(len(cont) // 40, 8, 64))
        edges = np.unique(np.quantile(cont, np.linspace(0.0, 1.0, n_bins + 1))) if len(cont) else np.zeros(2)
        if len(edges) < 2:
            edges = np.array([centre - 0.5 * scale, centre + 0.5 * scale])
        inner = _bin_widths(edges)
        bins = np.clip(np.searchsorted(edges, cont, side="right") - 1, 0, len(inner) - 1)
        counts = np.bincount(bins, minlength=len(inner)).astype(float) + 0.5
        mass = counts / counts.sum()
        log_density = np.log(mass) - np.log(inner)
        # Each bin is represented by the mean of its values (its centre when empty).
        sums = np.bincount(bins, weights=cont, minlength=len(inner))
        points = np.where(counts > 0.5, sums / np.maximum(counts - 0.5, 1.0), edges[:-1] + 0.5 * inner)
        z_points = (points - centre) / scale
        T = np.column_stack([z_points, z_points**2])
        z = (cont - centre) / scale
        stats = np.column_stack([z, z**2])
        pooled = mass @ T
        parent = parent_of_site if parent_of_site is not None else np.zeros(self.n_sites, dtype=int)
        n_parents = int(parent.max()) + 1
        parent_t = self._shrunk_moments(stats, parent[site], n_parents, np.tile(pooled, (n_parents, 1)),
                                        parent_shrinkage)
        site_t = self._shrunk_moments(stats, site, self.n_sites, parent_t[parent], shrinkage)
        coef = np.array([_fit_tilt(np.log(mass), T, target) for target in site_t])
        logits = np.log(mass)[None, :] + coef @ T.T
        log_norm = np.logaddexp.reduce(logits, axis=1)
        weights = np.exp(logits - log_norm[:, None])
        mean = weights @ points
        sd = np.sqrt(np.maximum(weights @ points**2 - mean**2, 1e-12))
        tails = np.array([inner[0], inner[-1]])
        tilt = (edges, log_density, z_points, np.array([centre, scale]), coef, log_norm)
        return spikes, table, mean, sd, tilt, tails

    @staticmethod
    def _shrunk_moments(stats: np.ndarray, group: np.ndarray, n_groups: int, prior: np.ndarray,
                        m: float) -> np.ndarray:
        """Group means of ``stats`` (n, k), each pulled towards its ``prior`` row by ``m`` pseudo-values."""
        n = np.bincount(group, minlength=n_groups).astype(float)
        totals = np.stack([np.bincount(group, weights=stats[:, k], minlength=n_groups)
                           for k in range(stats.shape[1])], axis=1)
        return (totals + m * prior) / (n + m)[:, None]

    @staticmethod
    def _shrunk_normal(x: np.ndarray, group: np.ndarray, n_groups: int, prior_mu: np.ndarray,
                       prior_var: np.ndarray, m: float) -> tuple[np.ndarray, np.ndarray]:
        n = np.bincount(group, minlength=n_groups).astype(float)
        total = np.bincount(group, weights=x, minlength=n_groups)
        mu = (total + m * prior_mu) / (n + m)
        ss = np.bincount(group, weights=(x - mu[group]) ** 2, minlength=n_groups)
        var = (ss + m * prior_var) / (n + m)
        return mu, var

    def terms(self, X: np.ndarray, j: int) -> np.ndarray:
        """Log-density term of feature ``j`` for every stone and site (NaN where unmeasured)."""
        seen, term = self.seen_terms(X, j)
        out = np.full((X.shape[0], self.n_sites), np.nan)
        if term is not None:
            out[seen] = term
        return out

    def seen_terms(self, X: np.ndarray, j: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Log-density term of feature ``j`` for the stones that have it only.

        Returns
        -------
        seen : ndarray of bool, shape (n_samples,)
            Which stones have feature ``j``.
        term : ndarray of shape (seen.sum(), n_sites) or None
            Their terms (None when no stone has the feature); callers that
            accumulate over features skip the full-size NaN-padded array.
        """
        seen, term, _, _ = self.feature_pieces(X, j)
        return seen, term

    def feature_pieces(self, X: np.ndarray, j: int, *, terms: bool = True
                       ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
        """Everything the model reads of feature ``j``, computed once.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Features (NaN = not measured).
        j : int
            Feature column.
        terms : bool
            Compute the per-site terms (False: only the bins and the shared part).

        Returns
        -------
        seen : ndarray of bool, shape (n_samples,)
            Which stones have the feature.
        term : ndarray of shape (seen.sum(), n_sites) or None
            Their log-density terms per site (None when no stone has the
            feature, or ``terms`` is false).
        index : ndarray of int, shape (n_samples,)
            Bin of every stone (-1 = unmeasured): its category, histogram
            bin, or for normal and tilted features its spike (a frequent exact
            value) or ``len(edges[j])`` for a continuous value.
        shared : ndarray of shape (n_samples,)
            The site-independent part of each stone's log density (bin widths
            and tails of histograms, the pooled base of tilted densities; 0
            elsewhere), which both hypotheses of the unseen-site statistic carry.
        """
        column = X[:, j]
        seen = np.isfinite(column)
        n = len(column)
        index = np.full(n, -1, dtype=int)
        shared = np.zeros(n)
        edges = self.edges[j]
        if not seen.any():
            return seen, None, index, shared
        values = column[seen]
        mode = self.modes[j]
        term = None
        if mode in ("gauss", "tilt"):
            is_spike = np.isin(values, edges)
            bins = np.where(is_spike, np.searchsorted(edges, values), len(edges))
            index[seen] = bins
            if mode == "tilt":
                cont = np.flatnonzero(seen)[~is_spike]
                base, z = self.base_log_pdf(values[~is_spike], j)
                shared[cont] = base
                if terms:
                    term = self.tables[j][:, bins].T
                    term[~is_spike] += base[:, None] + self._tilt_shape(z, j)
            elif terms:
                z = (values[:, None] - self.mu[j][None, :]) / self.sd[j][None, :]
                normal = -0.5 * z * z - np.log(self.sd[j])[None, :] - 0.5 * np.log(2 * np.pi)
                term = self.tables[j][:, bins].T + np.where(is_spike[:, None], 0.0, normal)
            return seen, term, index, shared
        bins = np.searchsorted(edges, values, side="right")
        index[seen] = bins
        tails = self._tail_penalty(values, edges, j) if mode == "hist" and len(edges) else 0.0
        if mode == "hist":
            # Widths and tails are the same for every site (row 0 stands for all).
            shared[seen] = self.tables[j][0, bins] - self.log_mass[j][0, bins] - tails
        if terms:
            term = self.tables[j][:, bins].T
            if mode == "hist" and len(edges):
                term = term - np.asarray(tails)[:, None]
        return seen, term, index, shared

    def _tail_penalty(self, values: np.ndarray, edges: np.ndarray, j: int) -> np.ndarray:
        """Exponential tails: the density falls by e per bin-width beyond the reference range ``edges``."""
        return (np.clip(edges[0] - values, 0, None) / self.tail_scale[j][0]
                + np.clip(values - edges[-1], 0, None) / self.tail_scale[j][1])

    def base_log_pdf(self, values: np.ndarray, j: int) -> tuple[np.ndarray, np.ndarray]:
        """Pooled base log density and standardised value of continuous values of "tilt" feature ``j``."""
        edges, log_density = self.base_edges[j], self.base_log_density[j]
        bins = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(log_density) - 1)
        base = log_density[bins] - self._tail_penalty(values, edges, j)
        centre, scale = self.standardise[j]
        return base, (values - centre) / scale

    def base_log_mass(self, j: int) -> np.ndarray:
        """Log mass of each bin of the pooled base of "tilt" feature ``j``."""
        return self.base_log_density[j] + np.log(_bin_widths(self.base_edges[j]))

    def _tilt_shape(self, z: np.ndarray, j: int) -> np.ndarray:
        """Per-site tilt ``b_s . (z, z^2) - A_s`` of standardised values, shape (len(z), n_sites)."""
        coef = self.coef[j]
        return z[:, None] * coef[None, :, 0] + (z * z)[:, None] * coef[None, :, 1] - self.log_norm[j][None, :]

    def all_terms(self, X: np.ndarray) -> np.ndarray:
        """Log-density terms of every feature, shape (n_samples, n_features, n_sites); 0 where unmeasured."""
        return np.stack([np.nan_to_num(self.terms(X, j), nan=0.0) for j in range(X.shape[1])], axis=1)

    def summed(self, X: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """``sum_j weights[j] * term_j``, shape (n_samples, n_sites), without the 3-D array."""
        out = np.zeros((X.shape[0], self.n_sites))
        for j in range(X.shape[1]):
            if weights[j] != 0:
                out += weights[j] * np.nan_to_num(self.terms(X, j), nan=0.0)
        return out
