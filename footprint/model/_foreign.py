"""The foreign fraction of a parcel: its estimate, profile-likelihood interval and test statistic.

Given each stone's log ratio ``r_i`` of "foreign" against the declared
zone's mixture (:func:`._parcel.mixed_evidence`), a parcel's log-likelihood
of a foreign fraction ``f`` is ``l(f) = sum_i w_i log[(1 - f) + f exp(r_i)]``.
:func:`foreign_profile` maximises it and finds the interval where it stays
within the (widened) chi-square cut, for every parcel at once;
:func:`widen_interval` and :func:`interval_factor` add the calibrated parts
that do not shrink with the parcel's size (fitted in
:mod:`._interval_calibration`). :mod:`._parcel` re-exports all three.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import chi2, norm

from ._shares import _segments

__all__ = ["foreign_profile", "interval_factor", "widen_interval"]


class _Profile:
    """``l(f) = sum_i w_i log(1 + f d_i)`` per parcel, ``d_i = exp(r_i) - 1``, and its derivatives."""

    def __init__(self, d: np.ndarray, weights: np.ndarray, starts: np.ndarray) -> None:
        self.d, self.weights, self.starts = d, weights, starts
        self.sizes = np.diff(np.append(starts, len(d)))
        self.parcel = np.repeat(np.arange(len(starts)), self.sizes)

    def subset(self, idx: np.ndarray) -> _Profile:
        """Return the same sums for the parcels ``idx`` only."""
        rows, starts = _segments(self.starts, self.sizes, idx)
        return _Profile(self.d[rows], self.weights[rows], starts)

    def slope(self, f: np.ndarray, curvature: bool = False) -> tuple[np.ndarray, np.ndarray]:
        t = self.d / (1.0 + np.take(f, self.parcel) * self.d)
        wt = self.weights * t
        g = np.add.reduceat(wt, self.starts)
        return g, (-np.add.reduceat(wt * t, self.starts) if curvature else g)

    def value(self, f: np.ndarray, slope: bool = False) -> tuple[np.ndarray, np.ndarray]:
        fd = np.take(f, self.parcel) * self.d
        v = np.add.reduceat(self.weights * np.log1p(fd), self.starts)
        return v, (np.add.reduceat(self.weights * self.d / (1.0 + fd), self.starts) if slope else v)


def _newton(prof: _Profile, func: Any, f: np.ndarray, lo: np.ndarray, hi: np.ndarray, todo: np.ndarray, *,
            increasing: bool, tol: float, max_iter: int = 200) -> np.ndarray:
    """Root of ``h`` in ``[lo, hi]`` per parcel (``todo``), by Newton steps kept inside a shrinking bracket.

    ``func(prof, f, ids)`` returns ``h(f), h'(f)`` for the parcels ``ids``
    of ``prof``; ``h`` is monotone on the bracket (increasing or not), with
    the root inside. A Newton step that leaves the bracket, or that is not
    at most half the step before it (steps growing: far from the root, as
    ``1 / f``-shaped slopes give), is replaced by bisection (``rtsafe`` of
    Numerical Recipes); a parcel stops when its step is below ``tol``. Parcels that
    are done leave the sums (each parcel's iterations depend on its own
    stones only).
    """
    f, lo, hi = f.copy(), lo.copy(), hi.copy()
    last = hi - lo  # the previous step of each parcel
    ids = np.flatnonzero(todo)
    part = prof.subset(ids) if len(ids) < len(f) else prof
    live = np.ones(len(ids), dtype=bool)
    for _ in range(max_iter):
        if not live.any():
            break
        x, a, b = f[ids], lo[ids], hi[ids]
        h, dh = func(part, x, ids)
        below = (h < 0) if increasing else (h > 0)  # the root is above x
        a, b = np.where(below, x, a), np.where(below, b, x)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = x - h / dh
        ok = np.isfinite(newton) & (newton > a) & (newton < b) & (np.abs(newton - x) <= 0.5 * last[ids])
        nxt = np.where(ok, newton, 0.5 * (a + b))
        keep = live & (np.abs(nxt - x) > tol) & (b - a > tol)
        sel = ids[live]
        last[sel] = np.abs(nxt - x)[live]
        f[sel], lo[sel], hi[sel] = nxt[live], a[live], b[live]
        live = keep
        if live.any() and part.sizes[live].sum() < 0.7 * len(part.d):
            part, ids = part.subset(np.flatnonzero(live)), ids[live]
            live = np.ones(len(ids), dtype=bool)
    return f


def foreign_profile(log_ratio: np.ndarray, starts: np.ndarray, weights: np.ndarray, *, level: float,
                    scale: float = 1.0, interval: bool = True, tol: float = 1e-13
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Foreign fraction, its profile-likelihood interval and the test statistic, all parcels at once.

    ``l(f) = sum_i w_i log[(1 - f) + f exp(r_i)]`` is concave in ``f``: the
    maximum is the root of its derivative, and the interval ``{f : 2 (l_max
    - l(f)) <= scale * chi2_1(level)}`` has an end on each side where ``l``
    crosses the cut (``scale`` = the calibrated widening, 1 = the textbook
    interval). Each is found by safeguarded Newton steps (a Newton step that
    leaves the bracket of the root is replaced by bisection) to ``tol``:
    a handful of passes over the stones, and converged, so that equal
    parcels written differently (weighted rows, repeated rows, another
    stone order) agree to rounding.

    ``interval=False`` skips the interval (``low = high = estimate``): the
    null simulations need only the statistic.

    Returns
    -------
    estimate, low, high : ndarray (n_parcels,)
    statistic : ndarray (n_parcels,)
        ``2 [l(f_hat) - l(0)]``.
    """
    r = np.clip(np.asarray(log_ratio, dtype=float), -30.0, 30.0)
    prof = _Profile(np.expm1(r), np.asarray(weights, dtype=float), np.asarray(starts, dtype=np.intp))
    n_parcels = len(starts)
    zero, one = np.zeros(n_parcels), np.ones(n_parcels)
    g0, curv0 = prof.slope(zero, curvature=True)
    g1, _ = prof.slope(np.full(n_parcels, 1.0 - 1e-12))
    inner = (g0 > 0) & (g1 < 0)
    # Start from the quadratic model at 0 (exact for small fractions), inside the bracket.
    with np.errstate(divide="ignore", invalid="ignore"):
        first = np.where(curv0 < 0, -g0 / curv0, 0.5)
    first = np.where((first > 0) & (first < 1), first, 0.5)
    est = _newton(prof, lambda part, f, ids: part.slope(f, curvature=True), first, zero, one, inner,
                  increasing=False, tol=tol)
    est = np.where(g0 <= 0, 0.0, np.where(g1 >= 0, 1.0, est))
    top, _ = prof.value(est)
    statistic = 2.0 * np.maximum(top, 0.0)
    if not interval:
        return est, est, est, statistic
    half = 0.5 * chi2.ppf(level, 1) * scale
    cut = top - half
    _, curv = prof.slope(est, curvature=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        reach = np.where(curv < 0, np.sqrt(2.0 * half / -curv), np.inf)

    def crossing(part: _Profile, f: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        v, g = part.value(f, slope=True)
        return v - cut[ids], g

    bounds = []
    for side, sign in ((zero, -1.0), (one, 1.0)):
        edge_value, _ = prof.value(side)
        outside = edge_value < cut  # the interval ends strictly between the estimate and the edge
        a, b = (side, est) if sign < 0 else (est, side)
        guess = np.clip(est + sign * reach, np.minimum(a, b), np.maximum(a, b))
        guess = np.where((guess > a) & (guess < b), guess, 0.5 * (a + b))
        found = _newton(prof, crossing, guess, a, b, outside, increasing=sign < 0, tol=tol)
        bounds.append(np.where(outside, found, side))
    return est, np.minimum(bounds[0], est), np.maximum(bounds[1], est), statistic


def widen_interval(estimate: np.ndarray, low: np.ndarray, high: np.ndarray, floor: float,
                   level: float, factor: float | np.ndarray = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Add an error part that does not shrink with the parcel size to the profile interval.

    The error of ``f_hat`` has a part that does not fall with ``n`` (lot-to-lot
    variation, misfit of the site densities), which a profile interval, of
    width ``~ 1 / sqrt(n)``, misses at large sizes. Each side's half-width
    becomes ``factor * sqrt(h**2 + (z floor)**2)`` (``z`` the normal quantile of
    ``level``, ``floor`` the standard deviation of that part, ``factor`` the
    per-size correction of :func:`interval_factor`, both calibrated on
    held-out topped-up parcels), clipped to ``[0, 1]``. ``floor = 0`` and
    ``factor = 1`` return the interval unchanged.
    """
    factor = np.asarray(factor, dtype=float)
    if floor <= 0 and np.all(factor == 1.0):
        return low, high
    extra = (norm.ppf(0.5 + 0.5 * level) * max(floor, 0.0)) ** 2
    lo = np.clip(estimate - factor * np.sqrt((estimate - low) ** 2 + extra), 0.0, 1.0)
    hi = np.clip(estimate + factor * np.sqrt((high - estimate) ** 2 + extra), 0.0, 1.0)
    return lo, hi


def interval_factor(sizes: np.ndarray, table: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """Per-size factor on the foreign-fraction interval's half-widths (:func:`widen_interval`).

    ``table`` ``(sizes, factors)`` holds the factors fitted on held-out topped-up
    parcels of each size (:func:`._interval_calibration.fit_interval_scale`);
    between its sizes the factor is interpolated in ``log n``, and held
    constant beyond them. None (models saved before it): 1 everywhere.
    """
    n = np.asarray(sizes, dtype=float)
    if table is None or len(table[0]) == 0:
        return np.ones(n.shape)
    at, factors = np.asarray(table[0], dtype=float), np.asarray(table[1], dtype=float)
    return np.interp(np.log(np.maximum(n, 1.0)), np.log(at), factors)
