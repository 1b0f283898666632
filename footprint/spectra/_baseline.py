"""Baseline correction of many spectra on one grid with pybaselines.

The baseline is pybaselines' weighted polynomial fit (``Baseline.poly``) with
zero weight wherever a diamond or a nitrogen/hydrogen centre absorbs. For a
fixed axis, polynomial order and 0/1 weights that fit is a linear map ``H``
from a spectrum to its baseline. Its output lies in the polynomials of that
order, and it only sees the component of the spectrum (on the weighted
points) that is such a polynomial; so ``H y = (H V) (V'V)^-1 V' y`` with ``V``
any polynomial basis on the weighted points. pybaselines itself is therefore
run once per (grid, weights, order) on the ``order + 1`` basis polynomials,
and a whole batch is then corrected with two thin matrix products. The
numbers are pybaselines' own (a test compares against direct calls).
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["PolyBaselineOperator", "poly_baseline_operator"]


class PolyBaselineOperator:
    """The tabulated ``pybaselines.Baseline.poly`` map for one grid and weight mask.

    Parameters
    ----------
    x : ndarray of shape (n_points,)
        Ascending axis, cm-1.
    mask : ndarray of bool, shape (n_points,)
        Points the polynomial is fitted to (weight 1); the rest have weight 0.
    poly_order : int
        Polynomial order.
    """

    def __init__(self, x: np.ndarray, mask: np.ndarray, poly_order: int) -> None:
        self.x = np.asarray(x, dtype=np.float64)
        self.mask = np.asarray(mask, dtype=bool)
        self.poly_order = int(poly_order)
        self.index_ = np.flatnonzero(self.mask)
        # Imported here: pybaselines pulls in scipy.signal (seconds on a busy machine), which
        # file-reading worker processes never need.
        from pybaselines import Baseline

        fitter = Baseline(self.x, check_finite=False)
        weights = self.mask.astype(np.float64)
        x_fit = self.x[self.index_]
        t = (x_fit - x_fit.mean()) / (0.5 * np.ptp(x_fit) or 1.0)
        basis = np.polynomial.legendre.legvander(t, self.poly_order)  # (n_fitted, order + 1)
        outputs = np.empty((self.x.size, basis.shape[1]))
        probe = np.zeros(self.x.size)
        for k in range(basis.shape[1]):
            probe[self.index_] = basis[:, k]
            outputs[:, k] = fitter.poly(probe, poly_order=self.poly_order, weights=weights)[0]
        # H y = outputs @ inv(V'V) @ V' y_fitted.
        self.left_ = outputs
        self.right_ = basis @ np.linalg.inv(basis.T @ basis)

    def __call__(self, y: np.ndarray) -> np.ndarray:
        """Return the baselines of ``y``.

        Parameters
        ----------
        y : ndarray of shape (n_spectra, n_points)
            Spectra on :attr:`x`.

        Returns
        -------
        ndarray of shape (n_spectra, n_points)
            ``pybaselines.Baseline(x).poly(row, poly_order, weights=mask)`` of each row.
        """
        return (y[:, self.index_] @ self.right_) @ self.left_.T

    def coefficients(self, y_fitted: np.ndarray) -> np.ndarray:
        """Return each baseline's coordinates from the spectra at the fitted points only.

        Parameters
        ----------
        y_fitted : ndarray of shape (n_spectra, n_fitted)
            Spectra at ``x[mask]``.

        Returns
        -------
        ndarray of shape (n_spectra, poly_order + 1)
            Coordinates for :meth:`evaluate`.
        """
        return y_fitted @ self.right_

    def evaluate(self, coefficients: np.ndarray, columns: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Return the baselines at ``x[columns]`` from :meth:`coefficients`."""
        return coefficients @ self.left_[columns].T


@functools.lru_cache(maxsize=16)
def _cached(x_key: tuple[float, float, int], mask_bytes: bytes, poly_order: int) -> PolyBaselineOperator:
    lo, step, n = x_key
    x = lo + step * np.arange(n)
    mask = np.frombuffer(mask_bytes, dtype=bool)
    return PolyBaselineOperator(x, mask, poly_order)


def poly_baseline_operator(x_start: float, step: float, n_points: int, mask: np.ndarray,
                           poly_order: int) -> PolyBaselineOperator:
    """Return the (cached) operator for a regular grid ``x_start + step * arange(n_points)``."""
    return _cached((float(x_start), float(step), int(n_points)),
                   np.ascontiguousarray(mask, dtype=bool).tobytes(), int(poly_order))
