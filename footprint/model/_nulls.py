"""P-values of parcel statistics against nulls tabulated at a few parcel sizes.

The parcel layer's tests (:mod:`._parcel`) compare a parcel's statistic with
the statistics of simulated genuine parcels built from held-out reference
lots, tabulated at sizes from 25 to 10,000 stones. Few big parcels can be
simulated (a zone's held-out lots run out), so the tables are short at the
big sizes: 40 values at 1,500 stones cannot give a p-value below 1/41.

- :func:`null_p_values` reads each table as it is, interpolating log p in
  log size (the mixed test, whose tables are pooled downwards at fitting,
  and above the sizes one cross-fitting fold's lots measure are stretched by
  the largest growth with size those sizes allow: :func:`fit_growth`,
  :func:`grown_null_p_values`; and the stone-by-stone
  unknown-origin test, which therefore cannot flag parcels of more than
  ~800 stones);
- :func:`scaled_null_p_values` treats the tables as one location-scale
  family: each size has its own median and spread, the standardised values
  of all sizes up to the parcel's are pooled for the tail, so the tail of a
  big parcel is read from hundreds of values rather than a dozen. Used for
  the population fit test, whose statistic grows with size. (Tried on the
  stone-by-stone unknown-origin test, it flagged 15% of genuine 1,500-stone
  parcels: a mean of 1,500 stone scores has so small a spread among the
  held-out parcels that a fresh parcel's offset from them looks extreme.)
"""

from __future__ import annotations

import numpy as np

__all__ = ["fit_growth", "grown_null_p_values", "null_p_values", "scaled_null_p_values"]


def null_p_values(statistic: np.ndarray, sizes: np.ndarray, null_sizes: np.ndarray,
                  null: list[np.ndarray]) -> np.ndarray:
    """Upper-tail p-values of ``statistic`` against size-tabulated nulls, interpolated in log size.

    Below the smallest tabulated size the smallest null is used, above the
    largest the largest.
    """
    statistic = np.asarray(statistic, dtype=float)
    sizes = np.asarray(sizes, dtype=float)
    tail = np.empty((len(null_sizes), len(statistic)))
    for k, values in enumerate(null):
        above = len(values) - np.searchsorted(values, statistic, side="left")
        tail[k] = (1.0 + above) / (len(values) + 1.0)
    logn = np.log(np.clip(sizes, null_sizes[0], null_sizes[-1]))
    grid = np.log(np.asarray(null_sizes, dtype=float))
    hi = np.clip(np.searchsorted(grid, logn, side="left"), 1, len(grid) - 1) if len(grid) > 1 else np.zeros(
        len(sizes), dtype=int)
    if len(grid) == 1:
        return tail[0]
    lo = hi - 1
    t = np.clip((logn - grid[lo]) / (grid[hi] - grid[lo]), 0.0, 1.0)
    cols = np.arange(len(statistic))
    # Interpolate log p-values: the tails shrink geometrically between sizes.
    return np.exp((1 - t) * np.log(tail[lo, cols]) + t * np.log(tail[hi, cols]))


def _robust_scale(values: np.ndarray) -> float:
    """Interquartile spread in standard-deviation units (the standard deviation if that is 0)."""
    q25, q75 = np.quantile(values, [0.25, 0.75])
    spread = (q75 - q25) / 1.349
    return float(spread if spread > 0 else max(np.std(values), 1e-12))


def scaled_null_p_values(statistic: np.ndarray, sizes: np.ndarray, null_sizes: np.ndarray,
                         null: list[np.ndarray]) -> np.ndarray:
    """Upper-tail p-values against size-tabulated nulls read as one location-scale family.

    Each tabulated size ``k`` gives a median ``m_k`` and a robust spread
    ``s_k``; at a parcel of ``n`` stones both are interpolated in log size
    (held at the ends), the statistic is standardised, ``z = (t - m(n)) /
    s(n)``, and its p-value is read from the standardised values of every
    tabulated size up to ``n`` (the smallest size's alone below it).

    Parameters
    ----------
    statistic, sizes : ndarray of shape (n_parcels,)
        Parcel statistics and sizes (stones, or summed weights).
    null_sizes : ndarray of shape (n_sizes,)
        Increasing tabulated sizes.
    null : list of ndarray
        Null statistics per tabulated size (any order).

    Returns
    -------
    ndarray of shape (n_parcels,)
        ``(1 + #{z_null >= z}) / (N + 1)`` over the pooled standardised values.
    """
    statistic = np.asarray(statistic, dtype=float)
    grid = np.log(np.asarray(null_sizes, dtype=float))
    values = [np.asarray(v, dtype=float) for v in null]
    loc = np.array([np.median(v) for v in values])
    log_scale = np.log([_robust_scale(v) for v in values])
    pooled, below = [], np.empty(0)
    for v, m, ls in zip(values, loc, log_scale, strict=True):
        below = np.sort(np.concatenate([below, (v - m) / np.exp(ls)]))
        pooled.append(below)
    logn = np.log(np.clip(np.asarray(sizes, dtype=float), 1.0, None))
    m = np.interp(logn, grid, loc)
    s = np.exp(np.interp(logn, grid, log_scale))
    z = (statistic - m) / s
    level = np.clip(np.searchsorted(grid, logn, side="right") - 1, 0, len(grid) - 1)
    out = np.empty(len(statistic))
    for k in np.unique(level):
        on = level == k
        table = pooled[k]
        above = len(table) - np.searchsorted(table, z[on], side="left")
        out[on] = (1.0 + above) / (len(table) + 1.0)
    return out


def fit_growth(sizes: np.ndarray, fold_means: list[np.ndarray], table_mean: float, *,
               n_se: float = 2.0) -> np.ndarray:
    """Fit the conservative growth of a parcel statistic's null with size, beyond the measured sizes.

    Held-out genuine parcels that mix cross-fitting folds average several
    fold models' density errors, which a real parcel, scored by the one final
    model, does not: a misfit of the declared zone's sites that the foreign
    sites partly absorb makes a genuine parcel's ``T`` grow linearly in ``n``
    (``T ~ chi-bar-square + n * lambda``), and mixing folds hides it. Parcels
    of one fold's lots (each scored by one model, no lot reused) measure it,
    but only up to the sizes one fold's lots fill. So the slope of ``T``'s
    mean in ``n`` is fitted on such parcels (weighted least squares on each
    size's mean over the folds, its standard error from the spread of the
    fold means: the model's error is per fold), its upper two-standard-error
    bound is kept (never below 0: the largest growth these sizes do not rule
    out), and the null above the largest of them is stretched by it
    (:func:`grown_null_p_values`).

    Parameters
    ----------
    sizes : ndarray of shape (n_sizes,)
        Increasing sizes measured on one-fold parcels (two or more).
    fold_means : list of ndarray
        Per size, the mean ``T`` of each fold's parcels.
    table_mean : float
        Mean of the tabulated null at the largest of ``sizes`` (what a
        parcel's statistic is compared with there).
    n_se : float
        Standard errors added to the fitted slope.

    Returns
    -------
    ndarray of shape (3,)
        ``(n_star, mean_star, slope)``: the largest size, ``table_mean`` and
        the slope's upper bound.
    """
    x = np.asarray(sizes, dtype=float)
    y = np.array([np.mean(v) for v in fold_means])
    se = np.array([np.std(v, ddof=1) / np.sqrt(len(v)) if len(v) > 1 else np.nan for v in fold_means])
    n_star, mean_star = float(x[-1]), float(max(table_mean, 1e-6))
    ok = np.isfinite(se) & np.isfinite(y)
    if ok.sum() < 2:
        return np.array([n_star, mean_star, 0.0])
    w = 1.0 / np.maximum(se[ok], 1e-3 + 0.01 * np.abs(y[ok])) ** 2
    x, y = x[ok], y[ok]
    xm, ym = np.sum(w * x) / w.sum(), np.sum(w * y) / w.sum()
    sxx = float(np.sum(w * (x - xm) ** 2))
    if sxx <= 0:
        return np.array([n_star, mean_star, 0.0])
    slope = float(np.sum(w * (x - xm) * (y - ym)) / sxx)
    # Scatter of the sizes' means beyond their standard errors (the sizes share lots) widens the bound.
    resid = y - ym - slope * (x - xm)
    inflate = max(1.0, float(np.sum(w * resid**2)) / max(len(x) - 2, 1))
    return np.array([n_star, mean_star, max(0.0, slope + n_se * float(np.sqrt(inflate / sxx)))])


def grown_null_p_values(statistic: np.ndarray, sizes: np.ndarray, null_sizes: np.ndarray,
                        null: list[np.ndarray], growth: np.ndarray | None) -> np.ndarray:
    """:func:`null_p_values`, with the null stretched beyond its measured sizes by ``growth``.

    A parcel of ``n`` stones above ``n_star`` has its statistic divided by
    ``g(n) = 1 + slope (n - n_star) / mean_star`` and is read against the
    table at ``n_star`` (see :func:`fit_growth`); tables above ``n_star``
    (parcels that reused lots) are not read. ``growth`` None: as
    :func:`null_p_values`.
    """
    if growth is None:
        return null_p_values(statistic, sizes, null_sizes, null)
    n_star, mean_star, slope = (float(v) for v in growth)
    statistic = np.asarray(statistic, dtype=float)
    sizes = np.asarray(sizes, dtype=float)
    keep = int(np.searchsorted(np.asarray(null_sizes, dtype=float), n_star, side="right"))
    factor = 1.0 + slope * np.maximum(sizes - n_star, 0.0) / mean_star
    return null_p_values(statistic / factor, np.minimum(sizes, n_star), np.asarray(null_sizes)[:keep],
                         null[:keep])
