"""Parcel layer: a parcel is a mixture of its zone's sites, with calibrated tests.

An export parcel is put together by a buying house from many collectors'
lots: stones of several sites of a zone, in unknown shares. Under "the parcel
comes from zone ``Z``" each stone is drawn from a mixture of ``Z``'s sites::

    log p(parcel | Z) ~= max_pi  sum_i w_i log sum_{s in Z} pi_s p(x_i | s)  + log Dir(pi | a)

with the shares ``pi`` found per parcel by EM (all parcels at once, a few
array operations per step; ``a_s = 1 + prior_strength * K * w_s`` around the
sites' production shares ``w_s``, so one site is the special case ``pi = e_s``
and a zone with one site needs no shares at all). ``w_i`` is the number of
stones a row stands for (1 for a stone; an assortment cell of ``n`` identical
stones weighs ``n``), so a row of weight ``w`` contributes exactly ``w`` times
its stone log-likelihood. The input is the stones x sites matrix of stone
log-likelihoods, whatever stone model produced it.

Lots of one site differ (pit, depth, season), and stone densities are
estimated: the evidence of a large parcel does not grow as if its stones were
independent draws from the fitted densities. Three quantities are therefore
calibrated on parcels built from HELD-OUT reference lots (out-of-fold stone
log-likelihoods; each parcel the union of whole held-out lots of one zone's
sites in random Dirichlet shares, 25 to 10,000 stones), simulated from
per-stone quantities rather than rescored (:func:`._parcel_calibration.simulate_parcels`):

1. the zone log-likelihood ratio is tempered, ``tau(n) = tau0 / (1 + rho (n -
   1))`` (the survey design effect), fitted by held-out parcel log loss;
2. "mixed" is a generalised likelihood-ratio test of "every stone from the
   declared zone, any mix of its sites" against "some stones from the sites
   of other zones": ``T = 2 [l(all sites) - l(declared zone's sites)]``. Its
   null distribution is the held-out genuine parcels' ``T`` at each size
   (interpolated in log size), so the p-value carries the lot-to-lot
   variation of the reference and the estimation error of the densities;
3. the foreign fraction ``f`` (share of the mixture on other zones' sites)
   gets a profile-likelihood interval whose chi-square cut is scaled by a
   factor fitted so that 90% intervals cover the truth 90% of the time on
   held-out topped-up parcels.

"unknown_origin" uses the mean stone nonconformity (``-max_s`` centred site
log-density sum, :mod:`._novelty`): each stone is scored against its best
reference site, so a mixture of reference sites is not strange, and its null
is the same held-out genuine parcels at each size.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import gammaln, logsumexp
from scipy.stats import chi2

logger = logging.getLogger(__name__)

__all__ = [
    "MixtureFit",
    "ParcelCalibration",
    "fit_shares",
    "foreign_profile",
    "mixed_evidence",
    "null_p_values",
    "tempering",
    "zone_evidence",
]

_LN10 = np.log(10.0)


@dataclass
class MixtureFit:
    """EM fit of site shares per parcel.

    Attributes
    ----------
    loglik : ndarray of shape (n_parcels,)
        ``sum_i w_i log sum_s pi_s p(x_i | s)`` at the fitted shares (the
        per-stone row maxima included).
    shares : ndarray of shape (n_parcels, n_sites)
        Fitted shares (0 for sites outside the allowed set).
    stone_density : ndarray of shape (n_stones,)
        ``sum_s pi_s exp(l_is - m_i)`` per stone (``m_i`` its row maximum).
    counts : ndarray of shape (n_parcels, n_sites)
        Expected stones per site at the fit (summed weighted responsibilities).
    """

    loglik: np.ndarray
    shares: np.ndarray
    stone_density: np.ndarray
    counts: np.ndarray


def _prepare(site_ll: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    top = site_ll.max(axis=1)
    top = np.where(np.isfinite(top), top, 0.0)
    return np.exp(site_ll - top[:, None]), top


def fit_shares(evidence: np.ndarray, top: np.ndarray, starts: np.ndarray, weights: np.ndarray,
               allowed: np.ndarray, prior: np.ndarray, *, n_cycles: int = 8,
               init: np.ndarray | None = None) -> MixtureFit:
    """MAP site shares of every parcel by accelerated EM, sites restricted per parcel.

    EM for mixture shares is slow when the sites overlap (as sites of one
    zone do): each cycle here is one SQUAREM step (Varadhan & Roland 2008,
    scheme S3: two EM steps, an extrapolation along their path, one
    stabilising EM step), kept only where it does not lower the objective.

    Parameters
    ----------
    evidence : ndarray of shape (n_stones, n_sites)
        ``exp(l_is - m_i)``, stones sorted by parcel (see :func:`_prepare`).
    top : ndarray of shape (n_stones,)
        ``m_i``, the row maxima taken out of ``evidence``.
    starts : ndarray of shape (n_parcels,)
        First stone of each parcel.
    weights : ndarray of shape (n_stones,)
        Stones each row stands for.
    allowed : ndarray of bool, shape (n_parcels, n_sites)
        Sites each parcel's mixture may use.
    prior : ndarray of shape (n_parcels, n_sites)
        Dirichlet parameters ``a_s >= 1`` (1 = flat: maximum likelihood).
    n_cycles : int
        SQUAREM cycles (three EM steps each).
    init : ndarray of shape (n_parcels, n_sites), optional
        Starting shares (default: the prior's mode, or uniform when flat).
    """
    n_parcels = len(starts)
    sizes = np.diff(np.append(starts, evidence.shape[0]))
    parcel = np.repeat(np.arange(n_parcels), sizes)
    extra = np.where(allowed, prior - 1.0, 0.0)
    uniform = allowed / np.maximum(allowed.sum(axis=1, keepdims=True), 1)
    start = np.maximum(prior, 1e-3) if init is None else np.maximum(init, 1e-6)
    shares = np.where(allowed, start, 0.0)
    shares /= shares.sum(axis=1, keepdims=True)
    work = np.empty_like(evidence)

    def step(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One EM step from ``theta``; also the objective at ``theta``."""
        np.take(theta, parcel, axis=0, out=work)
        np.multiply(work, evidence, out=work)
        density = np.maximum(work.sum(axis=1), 1e-300)
        with np.errstate(divide="ignore"):
            objective = (np.add.reduceat(weights * np.log(density), starts)
                         + np.where(extra > 0, extra * np.log(np.maximum(theta, 1e-300)), 0.0).sum(axis=1))
        np.multiply(evidence, (weights / density)[:, None], out=work)
        numer = np.where(allowed, theta * np.add.reduceat(work, starts, axis=0) + extra, 0.0)
        total = numer.sum(axis=1, keepdims=True)
        return np.where(total > 0, numer / np.where(total > 0, total, 1.0), uniform), objective

    for _ in range(n_cycles):
        one, _ = step(shares)
        two, obj_one = step(one)
        r = one - shares
        v = two - one - r
        rn, vn = np.sqrt((r * r).sum(axis=1)), np.sqrt((v * v).sum(axis=1))
        alpha = np.where(vn > 1e-14, -rn / np.maximum(vn, 1e-300), -1.0)
        alpha = np.minimum(alpha, -1.0)[:, None]
        jump = np.where(allowed, np.maximum(shares - 2 * alpha * r + alpha * alpha * v, 0.0), 0.0)
        total = jump.sum(axis=1, keepdims=True)
        jump = np.where(total > 0, jump / np.where(total > 0, total, 1.0), two)
        landed, obj_jump = step(jump)
        shares = np.where((obj_jump >= obj_one)[:, None], landed, two)
    np.take(shares, parcel, axis=0, out=work)
    work *= evidence
    density = work.sum(axis=1)
    loglik = np.add.reduceat(weights * (np.log(np.maximum(density, 1e-300)) + top), starts)
    np.multiply(evidence, (weights / np.maximum(density, 1e-300))[:, None], out=work)
    counts = shares * np.add.reduceat(work, starts, axis=0)
    return MixtureFit(loglik, shares, density, counts)


def _log_dirichlet(shares: np.ndarray, prior: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Log Dirichlet density of ``shares`` over each parcel's allowed sites (0 where one site)."""
    a = np.where(allowed, prior, 1.0)
    with np.errstate(divide="ignore"):
        logs = np.where(allowed, (a - 1.0) * np.log(np.maximum(shares, 1e-300)), 0.0)
    norm = gammaln(np.where(allowed, a, 0.0).sum(axis=1)) - np.where(allowed, gammaln(a), 0.0).sum(axis=1)
    return np.where(allowed.sum(axis=1) > 1, norm + logs.sum(axis=1), 0.0)


@dataclass
class ParcelEvidence:
    """Everything the parcel layer computes for a batch of parcels.

    Attributes
    ----------
    zone_loglik : ndarray (n_parcels, n_zones)
        Untempered MAP log-likelihood of each zone's site mixture.
    zone_shares : list of ndarray (n_parcels, n_sites)
        Per zone, the fitted site shares.
    statistic : ndarray (n_parcels,)
        Mixed-test statistic ``T`` against the target zone.
    fraction_shares : ndarray (n_parcels, n_sites)
        Shares of the all-sites fit (foreign fraction = mass off the target zone).
    log_ratio : ndarray (n_stones,)
        ``log p_A(x) - log p_D(x)`` per stone at the all-sites fit.
    foreign_probability : ndarray (n_stones,)
        Posterior probability that each stone is foreign (not from the target zone).
    """

    zone_loglik: np.ndarray
    zone_shares: list[np.ndarray]
    statistic: np.ndarray
    fraction_shares: np.ndarray
    log_ratio: np.ndarray
    foreign_probability: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)


def zone_evidence(site_ll: np.ndarray, starts: np.ndarray, weights: np.ndarray, site_zone: np.ndarray,
                  log_weight: np.ndarray, n_zones: int, prior_strength: float,
                  *, n_cycles: int = 6
                  ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Zone mixture fits of every parcel.

    Returns
    -------
    zone_ll : ndarray (n_parcels, n_zones)
        Log marginal likelihood of each zone with the shares integrated out
        (the zone evidence, before tempering), by Chib's identity at the MAP
        shares: ``l(pi) + log Dir(pi | a) - log Dir(pi | a + counts)``, the
        posterior of the shares taken as the Dirichlet of the expected
        stone counts per site (exact when every stone's site is certain; it
        removes the bias a plug-in maximum would give zones with more sites),
        averaged with the one-site hypothesis ``logsumexp_s(log w_s + sum_i
        w_i l_is)`` (prior 1/2 each: many parcels are one collector's lots,
        and the one-site form is the sharper one for them).
    fit_ll : ndarray (n_parcels, n_zones)
        The log-likelihood alone at the MAP shares (the mixed test's null fit).
    shares : list of ndarray (n_parcels, n_sites)
        Per zone, the fitted shares.
    prepared : tuple
        ``(evidence, top)`` for :func:`mixed_evidence`.
    """
    evidence, top = _prepare(site_ll)
    site_ll_full = np.where(np.isfinite(site_ll), site_ll, -1e300)
    n_parcels = len(starts)
    zone_ll = np.empty((n_parcels, n_zones))
    fit_ll = np.empty((n_parcels, n_zones))
    shares = []
    w = np.exp(log_weight)
    for z in range(n_zones):
        allowed = np.broadcast_to(site_zone == z, (n_parcels, len(site_zone)))
        prior = np.broadcast_to(1.0 + prior_strength * w * allowed.sum(axis=1, keepdims=True), allowed.shape)
        fit = fit_shares(evidence, top, starts, weights, allowed, prior, n_cycles=n_cycles)
        fit_ll[:, z] = fit.loglik
        posterior = np.where(allowed, prior + fit.counts, 1.0)
        several = (fit.loglik + _log_dirichlet(fit.shares, prior, allowed)
                   - _log_dirichlet(fit.shares, posterior, allowed))
        # "One site" (production shares as its prior) or "several sites": equally likely a priori.
        idx = np.flatnonzero(site_zone == z)
        one = logsumexp(np.add.reduceat(weights[:, None] * site_ll_full[:, idx], starts, axis=0)
                        + log_weight[idx][None, :], axis=1)
        zone_ll[:, z] = np.logaddexp(one, several) - np.log(2.0) if len(idx) > 1 else one
        shares.append(fit.shares)
    return zone_ll, fit_ll, shares, (evidence, top)


def mixed_evidence(prepared: tuple[np.ndarray, np.ndarray], starts: np.ndarray, weights: np.ndarray,
                   site_zone: np.ndarray, target: np.ndarray, target_shares: np.ndarray, *, n_cycles: int = 12
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Foreign-stone fit: the target zone's mixture against it plus other zones' sites.

    A joint EM over every reference site (started from the zone's own fit)
    gives the zone's mixture ``q(x)`` (its sites, refitted) and the foreign
    share ``theta_a`` of each other zone's site (``sum_a theta_a = f``). The
    statistic compares ``f`` with 0 at these shapes, so the two sides share
    the zone's mixture and an unconverged within-zone fit does not leak into
    the test.

    The test statistic and the interval come from :func:`foreign_profile` on
    ``log_ratio`` (the profile in ``f`` at the fitted foreign shape, solved
    exactly rather than by the slow EM steps near ``f = 0``).

    Returns
    -------
    fraction : ndarray (n_parcels,)
        EM estimate of ``f`` (a starting point; see above).
    theta : ndarray (n_parcels, n_sites)
        Foreign site shares (0 on the target zone's sites).
    log_ratio : ndarray (n_stones,)
        ``log p_A(x) - log q(x)``, ``p_A`` the foreign sites mixed by ``theta / f``
        (other zones' sites equally when ``f_hat`` is 0).
    foreign_probability : ndarray (n_stones,)
        Posterior probability that each stone is foreign at the fit.
    """
    evidence, _top = prepared
    n_parcels = len(starts)
    sizes = np.diff(np.append(starts, evidence.shape[0]))
    parcel = np.repeat(np.arange(n_parcels), sizes)
    in_d = site_zone[None, :] == target[:, None]
    outside = (~in_d).astype(float)
    n_out = np.maximum(outside.sum(axis=1, keepdims=True), 1.0)
    own = np.where(in_d, target_shares, 0.0)
    own /= np.maximum(own.sum(axis=1, keepdims=True), 1e-300)
    # Joint EM over every site, started from the zone's own fit plus 5% spread over the other sites:
    # the zone's shares are refitted without the stones the foreign sites explain.
    init = 0.95 * own + 0.05 * outside / n_out
    everything = np.ones(in_d.shape, dtype=bool)
    shares = fit_shares(evidence, _top, starts, weights, everything, np.ones(in_d.shape), n_cycles=n_cycles,
                        init=init).shares
    work = np.empty_like(evidence)
    theta = np.where(in_d, 0.0, shares)
    f = theta.sum(axis=1)
    sd = np.where(in_d, shares, 0.0)
    shape_d = np.where(sd.sum(axis=1, keepdims=True) > 1e-12, sd / np.maximum(sd.sum(axis=1, keepdims=True),
                                                                               1e-300), own)
    q = np.maximum((np.take(shape_d, parcel, axis=0) * evidence).sum(axis=1), 1e-300)
    foreign_e = evidence * np.take(outside, parcel, axis=0)
    np.take(theta, parcel, axis=0, out=work)
    work *= foreign_e
    pa = work.sum(axis=1)
    f_stone = np.take(f, parcel)
    mix = (1.0 - f_stone) * q + pa
    shape_a = np.where(f[:, None] > 1e-9, theta / np.maximum(f[:, None], 1e-300), outside / n_out)
    pa_shape = (np.take(shape_a, parcel, axis=0) * foreign_e).sum(axis=1)
    with np.errstate(divide="ignore"):
        log_ratio = np.clip(np.log(pa_shape) - np.log(q), -30.0, 30.0)
    foreign = pa / np.maximum(mix, 1e-300)
    return f, theta, log_ratio, foreign


def _profile_sums(d: np.ndarray, weights: np.ndarray, starts: np.ndarray, parcel: np.ndarray, f: np.ndarray,
                  what: str) -> np.ndarray:
    fs = np.take(f, parcel)
    if what == "value":
        return np.add.reduceat(weights * np.log1p(fs * d), starts)
    return np.add.reduceat(weights * d / (1.0 + fs * d), starts)


def foreign_profile(log_ratio: np.ndarray, starts: np.ndarray, weights: np.ndarray, *, level: float,
                    scale: float = 1.0, n_steps: int = 30, interval: bool = True
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Foreign fraction, its profile-likelihood interval and the test statistic, all parcels at once.

    ``l(f) = sum_i w_i log[(1 - f) + f exp(r_i)]`` is concave in ``f``: the
    maximum is found by bisection on its derivative, and the interval
    ``{f : 2 (l_max - l(f)) <= scale * chi2_1(level)}`` by bisection on each
    side (``scale`` = the calibrated widening, 1 = the textbook interval).

    ``interval=False`` skips the interval (``low = high = estimate``): the
    null simulations need only the statistic. ``n_steps`` bisection steps
    give a precision of ``2**-n_steps``.

    Returns
    -------
    estimate, low, high : ndarray (n_parcels,)
    statistic : ndarray (n_parcels,)
        ``2 [l(f_hat) - l(0)]``.
    """
    r = np.clip(np.asarray(log_ratio, dtype=float), -30.0, 30.0)
    d = np.expm1(r)
    n_parcels = len(starts)
    sizes = np.diff(np.append(starts, len(r)))
    parcel = np.repeat(np.arange(n_parcels), sizes)
    g0 = _profile_sums(d, weights, starts, parcel, np.zeros(n_parcels), "slope")
    g1 = _profile_sums(d, weights, starts, parcel, np.full(n_parcels, 1.0 - 1e-12), "slope")
    lo, hi = np.zeros(n_parcels), np.ones(n_parcels)
    for _ in range(n_steps):
        mid = 0.5 * (lo + hi)
        up = _profile_sums(d, weights, starts, parcel, mid, "slope") > 0
        lo, hi = np.where(up, mid, lo), np.where(up, hi, mid)
    est = np.where(g0 <= 0, 0.0, np.where(g1 >= 0, 1.0, 0.5 * (lo + hi)))
    top = _profile_sums(d, weights, starts, parcel, est, "value")
    if not interval:
        return est, est, est, 2.0 * np.maximum(top, 0.0)
    cut = top - 0.5 * chi2.ppf(level, 1) * scale
    bounds = []
    for side in (0.0, 1.0):
        a, b = np.full(n_parcels, side), est.copy()
        inside_edge = _profile_sums(d, weights, starts, parcel, a, "value") >= cut
        for _ in range(n_steps):
            mid = 0.5 * (a + b)
            ok = _profile_sums(d, weights, starts, parcel, mid, "value") >= cut
            a, b = np.where(ok, a, mid), np.where(ok, mid, b)
        bounds.append(np.where(inside_edge, side, b))
    return est, np.minimum(bounds[0], est), np.maximum(bounds[1], est), 2.0 * np.maximum(top, 0.0)


def tempering(sizes: np.ndarray, tau0: float, rho: float) -> np.ndarray:
    """Per-stone weight ``tau(n) = tau0 / (1 + rho (n - 1))`` of the zone evidence."""
    return tau0 / (1.0 + rho * (np.asarray(sizes, dtype=float) - 1.0))


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


@dataclass
class ParcelCalibration:
    """The fitted parcel layer (saved in the model artefact).

    Attributes
    ----------
    prior_strength : float
        Pseudo-stones of the share prior around production shares.
    tau0, rho : float
        Tempering of the zone evidence.
    interval_scale : float
        Widening of the foreign-fraction profile interval.
    null_sizes : ndarray
        Sizes of the tabulated nulls.
    mixed_null : list of ndarray
        Sorted mixed-test statistics of held-out genuine parcels per size.
    novelty_null : list of ndarray
        Sorted mean stone nonconformity of held-out genuine parcels per size.
    report : dict
        Figures measured while fitting (for the manifest).
    fit_null : list of ndarray or None
        Sorted population goodness-of-fit statistics of held-out genuine
        parcels per size (:mod:`._fit_test`); None for models saved before it.
    """

    prior_strength: float
    tau0: float
    rho: float
    interval_scale: float
    null_sizes: np.ndarray
    mixed_null: list[np.ndarray]
    novelty_null: list[np.ndarray]
    report: dict[str, Any] = field(default_factory=dict)
    fit_null: list[np.ndarray] | None = None

    def to_parts(self) -> dict[str, Any]:
        """Plain-data form (arrays, numbers) for the artefact."""
        return {"prior_strength": self.prior_strength, "tau0": self.tau0, "rho": self.rho,
                "interval_scale": self.interval_scale, "null_sizes": np.asarray(self.null_sizes),
                "mixed_null": [np.asarray(v) for v in self.mixed_null],
                "novelty_null": [np.asarray(v) for v in self.novelty_null], "report": dict(self.report),
                **({"fit_null": [np.asarray(v) for v in self.fit_null]} if self.fit_null is not None else {})}

    @classmethod
    def from_parts(cls, parts: dict[str, Any]) -> ParcelCalibration:
        """Inverse of :meth:`to_parts`."""
        return cls(float(parts["prior_strength"]), float(parts["tau0"]), float(parts["rho"]),
                   float(parts["interval_scale"]), np.asarray(parts["null_sizes"]),
                   [np.asarray(v) for v in parts["mixed_null"]],
                   [np.asarray(v) for v in parts["novelty_null"]],
                   dict(parts.get("report") or {}),
                   [np.asarray(v) for v in parts["fit_null"]] if parts.get("fit_null") is not None else None)
