"""Least squares for many spectra at once: linear and non-negative.

Each spectrum's problem is tiny (a handful of unknowns), so the work is done
on the normal equations, vectorised across spectra. The non-negative fit
enumerates active sets: the NNLS optimum is the unconstrained solution on its
own positive set, which is feasible, and no feasible subset solution can have
a smaller residual, so the feasible subset with the least residual *is* the
NNLS optimum (exact, no iterations). With five constrained unknowns that is
32 batched solves.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

__all__ = ["batched_lstsq", "batched_nnls"]


def _normal_equations(design: np.ndarray, y: np.ndarray,
                      weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(gram, xty, yty)``; gram is (p, p) unweighted, else (n, p, p)."""
    if weights is None:
        return design.T @ design, y @ design, np.einsum("nm,nm->n", y, y)
    wy = weights * y
    gram = np.einsum("nm,mi,mj->nij", weights, design, design, optimize=True)
    return gram, wy @ design, np.einsum("nm,nm->n", wy, y)


def _solve(gram: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve ``gram @ c = rhs`` per row; gram shared (p, p) or per row (n, p, p)."""
    if gram.ndim == 2:
        return np.linalg.lstsq(gram, rhs.T, rcond=None)[0].T
    # A tiny ridge keeps rows with too few unmasked points solvable (their fit is flagged).
    eye = np.eye(gram.shape[-1]) * 1e-12 * (np.trace(gram, axis1=1, axis2=2)[:, None, None] + 1.0)
    return np.linalg.solve(gram + eye, rhs[..., None])[..., 0]


def batched_lstsq(design: np.ndarray, y: np.ndarray,
                  weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Ordinary (optionally weighted) least squares for every row of ``y``.

    Parameters
    ----------
    design : ndarray of shape (n_points, n_params)
        Shared design matrix.
    y : ndarray of shape (n_spectra, n_points)
        Targets.
    weights : ndarray of shape (n_spectra, n_points), optional
        Per-point weights (0 excludes a point).

    Returns
    -------
    coef : ndarray of shape (n_spectra, n_params)
    sse : ndarray of shape (n_spectra,)
        Weighted residual sum of squares.
    """
    gram, xty, yty = _normal_equations(design, y, weights)
    coef = _solve(gram, xty)
    return coef, np.maximum(yty - np.einsum("np,np->n", coef, xty), 0.0)


@functools.lru_cache(maxsize=8)
def _active_sets(nonneg: tuple[bool, ...]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every active set: free coefficients plus each subset of the bounded ones."""
    flags = np.asarray(nonneg, dtype=bool)
    free = np.flatnonzero(~flags)
    bounded = np.flatnonzero(flags)
    out = []
    for size in range(bounded.size + 1):
        for subset in itertools.combinations(bounded, size):
            active = np.sort(np.concatenate([free, np.asarray(subset, dtype=int)]))
            out.append((active, flags[active]))
    return out


def batched_nnls(design: np.ndarray, y: np.ndarray, nonneg: np.ndarray,
                 weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Least squares with non-negativity on some coefficients, for every row of ``y``.

    Parameters
    ----------
    design : ndarray of shape (n_points, n_params)
        Shared design matrix.
    y : ndarray of shape (n_spectra, n_points)
        Targets.
    nonneg : ndarray of bool, shape (n_params,)
        Which coefficients must be >= 0 (the others, e.g. an offset, are free).
    weights : ndarray of shape (n_spectra, n_points), optional
        Per-point weights (0 excludes a point).

    Returns
    -------
    coef : ndarray of shape (n_spectra, n_params)
        The exact constrained optimum of each row.
    sse : ndarray of shape (n_spectra,)
        Its weighted residual sum of squares.
    """
    nonneg = np.asarray(nonneg, dtype=bool)
    n_params = design.shape[1]
    gram, xty, yty = _normal_equations(design, y, weights)
    best_sse = np.full(y.shape[0], np.inf)
    best = np.zeros((y.shape[0], n_params))
    for active, bounded_in_active in _active_sets(tuple(nonneg.tolist())):
        if active.size == 0:
            coef_s = np.zeros((y.shape[0], 0))
        elif gram.ndim == 2:
            # Shared gram: one small pseudo-inverse per subset, then one product for all rows.
            coef_s = xty[:, active] @ np.linalg.pinv(gram[np.ix_(active, active)]).T
        else:
            coef_s = _solve(gram[:, active][:, :, active], xty[:, active])
        sse = yty - np.einsum("np,np->n", coef_s, xty[:, active])
        feasible = np.all(coef_s[:, bounded_in_active] >= 0.0, axis=1)
        better = feasible & (sse < best_sse)
        if better.any():
            best_sse[better] = sse[better]
            best[better] = 0.0
            best[np.ix_(better, active)] = coef_s[better]
    return best, np.maximum(best_sse, 0.0)
