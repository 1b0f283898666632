"""Pairs of categorical fields that are not independent within a site: tested, then modelled jointly.

The stone model multiplies per-field densities given the site, i.e. it
assumes the fields independent within a site. For the continuous fields that
matter most, the joint block (:mod:`._joint`) drops that assumption; for the
categorical fields (colour, morphology, quality, radiation spots,
fluorescence, diamond type) it is checked here, pair by pair, on the
reference set:

1. **Test**: for each pair ``(j, k)``, on the stones with both fields
   measured, a G-test of independence within every site (a ``(r_j - 1)(r_k -
   1)`` degrees-of-freedom statistic per site, on the levels the site has),
   summed over sites; the p-values of all pairs are Holm-corrected (family-wise
   error ``level``).
2. **Confirm on held-out lots**: stones of one lot are not independent draws
   (lot-to-lot drift inflates any count test), so a pair flagged by the test is
   kept only if its joint table (below) also predicts held-out lots better
   than the product of its margins: the mean held-out log-likelihood gain per
   stone with both fields, over folds of whole lots, is positive.
3. **Model**: each failing pair gets a joint table per site over its cells,
   Dirichlet-smoothed and shrunk site -> zone -> pool (``shrinkage`` and
   ``parent_shrinkage`` pseudo-stones, as the per-field tables). The stone
   model adds the pair's *interaction* ``log p_jk(a, b | s) - log p_j(a | s) -
   log p_k(b | s)`` (margins of the same smoothed table) as one more term of
   its weighted sum, with its own weight fitted on held-out lots: with weights
   1 the two per-field terms plus the interaction are the pair's joint table.
   A stone missing either field gets no interaction (its measured field keeps
   its per-field term).

Everything here is plain arrays (the model file holds no new type).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from scipy.stats import chi2

from ._density import shrunk_frequencies
from ._folds import grouped_splits

__all__ = ["check_pairs", "fit_pair_tables", "pair_terms"]

#: Family-wise error of the Holm-corrected G-tests.
LEVEL = 0.01


def _codes(column: np.ndarray) -> tuple[np.ndarray, int]:
    """Integer codes of a category-code column (-1 = not measured) and the number of levels."""
    seen = np.isfinite(column)
    codes = np.where(seen, np.nan_to_num(column, nan=-1.0), -1.0).astype(int)
    return codes, int(codes.max()) + 1 if seen.any() else 0


def _g_within(a: np.ndarray, b: np.ndarray, site: np.ndarray, n_a: int, n_b: int, n_sites: int
              ) -> tuple[float, int]:
    """G statistic of independence of ``a`` and ``b`` within each site, summed; and its degrees of freedom."""
    counts = np.zeros((n_sites, n_a, n_b))
    np.add.at(counts, (site, a, b), 1.0)
    g, df = 0.0, 0
    for table in counts:
        rows, cols = table.sum(axis=1), table.sum(axis=0)
        n = table.sum()
        r, c = int((rows > 0).sum()), int((cols > 0).sum())
        if n == 0 or r < 2 or c < 2:
            continue
        expected = np.outer(rows, cols) / n
        seen = table > 0
        g += 2.0 * float((table[seen] * np.log(table[seen] / expected[seen])).sum())
        df += (r - 1) * (c - 1)
    return g, df


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values."""
    order = np.argsort(p)
    m = len(p)
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def _table(a: np.ndarray, b: np.ndarray, site: np.ndarray, n_a: int, n_b: int, n_sites: int,
           parent_of: np.ndarray | None, shrinkage: float, parent_shrinkage: float) -> np.ndarray:
    """Log interaction ``log p(a, b | s) - log p(a | s) - log p(b | s)``, shape (n_sites, n_a, n_b).

    ``p(a, b | s)`` is the site's cell frequencies shrunk towards its zone's,
    the zone's towards the pooled ones (half a stone added to every pooled cell).
    """
    counts = np.zeros((n_sites, n_a * n_b))
    np.add.at(counts, (site, a * n_b + b), 1.0)
    joint = shrunk_frequencies(counts, parent_of, shrinkage, parent_shrinkage).reshape(n_sites, n_a, n_b)
    return np.log(joint) - np.log(joint.sum(axis=2, keepdims=True)) - np.log(joint.sum(axis=1, keepdims=True))


def fit_pair_tables(X: np.ndarray, y: np.ndarray, n_sites: int, pairs: list[tuple[int, int]],
                    parent_of: np.ndarray | None, shrinkage: float, parent_shrinkage: float
                    ) -> list[np.ndarray]:
    """Interaction tables (n_sites, n_a, n_b) of each pair of columns, from the stones with both measured."""
    out = []
    for j, k in pairs:
        a, n_a = _codes(X[:, j])
        b, n_b = _codes(X[:, k])
        both = (a >= 0) & (b >= 0)
        out.append(_table(a[both], b[both], y[both], max(n_a, 1), max(n_b, 1), n_sites, parent_of,
                          shrinkage, parent_shrinkage))
    return out


def pair_terms(X: np.ndarray, pairs: Any, tables: list[np.ndarray]) -> np.ndarray:
    """Interaction terms of every pair, shape (n_samples, n_pairs, n_sites); 0 where either field is missing.

    A level the reference never saw for a field (a code beyond its table) also gives 0.
    """
    n_sites = tables[0].shape[0] if tables else 0
    out = np.zeros((X.shape[0], len(tables), n_sites))
    for p, ((j, k), table) in enumerate(zip(pairs, tables, strict=True)):
        a, _ = _codes(X[:, j])
        b, _ = _codes(X[:, k])
        ok = (a >= 0) & (b >= 0) & (a < table.shape[1]) & (b < table.shape[2])
        out[ok, p] = table[:, a[ok], b[ok]].T
    return out


def check_pairs(X: np.ndarray, y: np.ndarray, groups: Any, categorical: np.ndarray, n_sites: int,
               parent_of: np.ndarray | None, *, shrinkage: float, parent_shrinkage: float,
               names: list[str] | None = None, level: float = LEVEL, cv: int = 5,
               random_state: int | None = None) -> list[dict[str, Any]]:
    """Test every pair of categorical columns for dependence within site (see the module docs).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Features, category codes in the ``categorical`` columns, NaN = not measured.
    y : ndarray of int, shape (n_samples,)
        Site of each stone (0 .. n_sites - 1).
    groups : array-like of shape (n_samples,) or None
        Lot of each stone (the held-out confirmation uses folds of whole lots).
    categorical : ndarray of bool, shape (n_features,)
        Which columns are category codes.
    n_sites : int
    parent_of : ndarray of int, shape (n_sites,), or None
        Zone of each site (the tables' shrinkage).
    shrinkage, parent_shrinkage : float
        Pseudo-stones of the tables (site -> zone, zone -> pool).
    names : list of str, optional
        Column names for the report.
    level : float
        Family-wise error of the Holm-corrected tests.
    cv : int
        Folds of whole lots for the held-out confirmation.
    random_state : int or None
        Seed of the folds.

    Returns
    -------
    list of dict
        One row per pair with at least 20 stones having both fields: ``fields``,
        ``columns``, ``stones``, ``g``, ``df``, ``p``, ``p_holm``,
        ``heldout_gain`` (nats per stone; None when not computed) and
        ``dependent`` (the test rejects at ``level`` and the held-out gain is
        positive). Pairs are in column order.
    """
    cols = np.flatnonzero(categorical)
    names = names or [f"x{j}" for j in range(X.shape[1])]
    rows: list[dict[str, Any]] = []
    for j, k in itertools.combinations(cols, 2):
        a, n_a = _codes(X[:, j])
        b, n_b = _codes(X[:, k])
        both = (a >= 0) & (b >= 0)
        if both.sum() < 20:
            continue
        g, df = _g_within(a[both], b[both], y[both], n_a, n_b, n_sites)
        p = float(chi2.sf(g, df)) if df > 0 else 1.0
        rows.append({"fields": [names[j], names[k]], "columns": [int(j), int(k)], "stones": int(both.sum()),
                     "g": round(g, 4), "df": int(df), "p": p})
    if not rows:
        return rows
    adjusted = _holm(np.array([r["p"] for r in rows]))
    folds = grouped_splits(y, None if groups is None else np.asarray(groups), cv, random_state)
    for row, p_holm in zip(rows, adjusted, strict=True):
        row["p_holm"] = float(p_holm)
        row["heldout_gain"] = None
        row["dependent"] = False
        if p_holm >= level or not folds:
            continue
        j, k = row["columns"]
        gain, count = 0.0, 0
        for train, test in folds:
            table = fit_pair_tables(X[train], y[train], n_sites, [(j, k)], parent_of, shrinkage,
                                    parent_shrinkage)
            terms = pair_terms(X[test], [(j, k)], table)[:, 0]
            measured = np.isfinite(X[test, j]) & np.isfinite(X[test, k])
            gain += float(terms[np.flatnonzero(measured), y[test][measured]].sum())
            count += int(measured.sum())
        row["heldout_gain"] = gain / max(count, 1)
        row["dependent"] = bool(row["heldout_gain"] > 0)
    return rows
