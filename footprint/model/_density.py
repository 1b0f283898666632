"""Binned per-class densities: the naive, one-feature-at-a-time likelihood pieces.

Used by the stone classifier (weighted sums of the terms, weights fitted on
held-out lots), by the novelty scorer (centred sums), and for explanations.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BinnedDensities"]

_QUANTILES = np.array([0.005, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.995])


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
                 parent_shrinkage: float = 5.0, quantiles: np.ndarray = _QUANTILES) -> None:
        self.edges: list[np.ndarray] = []
        self.tables: list[np.ndarray] = []   # (n_sites, n_bins) log p - log width
        self.tail_scale: list[np.ndarray] = []
        self.categorical = categorical
        for j in range(X.shape[1]):
            column = X[:, j]
            seen = np.isfinite(column)
            if categorical[j]:
                n_codes = int(np.nanmax(column[seen])) + 2 if seen.any() else 1
                edges = np.arange(n_codes - 1) + 0.5
                widths = np.ones(n_codes)
            else:
                edges = np.unique(np.quantile(column[seen], quantiles)) if seen.any() else np.zeros(0)
                if len(edges) >= 2:
                    inner = np.diff(edges)
                    inner = np.maximum(inner, 1e-6 * max(1.0, float(np.abs(edges).max())))
                    widths = np.concatenate([[inner[0]], inner, [inner[-1]]])
                else:
                    widths = np.ones(len(edges) + 1)
            bins = np.searchsorted(edges, column[seen], side="right")
            counts = np.zeros((n_sites, len(edges) + 1))
            np.add.at(counts, (sites[seen], bins), 1.0)
            pooled = (counts.sum(axis=0) + 0.5) / (counts.sum() + 0.5 * counts.shape[1])
            prior = np.broadcast_to(pooled, counts.shape)
            if parent_of_site is not None:
                # Two-level shrinkage: site -> its zone -> all reference stones. Sites
                # of a zone are alike, so a thin site borrows from its zone first.
                n_parents = int(parent_of_site.max()) + 1
                parent_counts = np.zeros((n_parents, counts.shape[1]))
                np.add.at(parent_counts, parent_of_site, counts)
                parent = (parent_counts + parent_shrinkage * pooled) / (
                    parent_counts.sum(axis=1, keepdims=True) + parent_shrinkage)
                prior = parent[parent_of_site]
            mass = (counts + shrinkage * prior) / (counts.sum(axis=1, keepdims=True) + shrinkage)
            self.edges.append(edges)
            self.tables.append(np.log(mass) - np.log(widths))
            self.tail_scale.append(np.array([widths[0], widths[-1]]))

    def terms(self, X: np.ndarray, j: int) -> np.ndarray:
        """Log-density term of feature ``j`` for every stone and site (NaN where unmeasured)."""
        column = X[:, j]
        seen = np.isfinite(column)
        edges = self.edges[j]
        out = np.full((len(column), self.tables[j].shape[0]), np.nan)
        if not seen.any():
            return out
        values = column[seen]
        bins = np.searchsorted(edges, values, side="right")
        term = self.tables[j][:, bins].T
        if not self.categorical[j] and len(edges):
            # Exponential tails: density falls by e per bin-width beyond the reference range.
            below = np.clip(edges[0] - values, 0, None) / self.tail_scale[j][0]
            above = np.clip(values - edges[-1], 0, None) / self.tail_scale[j][1]
            term = term - (below + above)[:, None]
        out[seen] = term
        return out


    def all_terms(self, X: np.ndarray) -> np.ndarray:
        """Log-density terms of every feature, shape (n_samples, n_features, n_sites); 0 where unmeasured."""
        return np.stack([np.nan_to_num(self.terms(X, j), nan=0.0) for j in range(X.shape[1])], axis=1)

    def summed(self, X: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """``sum_j weights[j] * term_j``, shape (n_samples, n_sites), without the 3-D array."""
        out = np.zeros((X.shape[0], self.tables[0].shape[0] if self.tables else 1))
        for j in range(X.shape[1]):
            if weights[j] != 0:
                out += weights[j] * np.nan_to_num(self.terms(X, j), nan=0.0)
        return out
