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
   1))`` (the survey design effect), fitted by held-out parcel log loss, then
   refitted at each size whose held-out parcels measure it (:func:`tempering`);
2. "mixed" is a generalised likelihood-ratio test of "every stone from the
   declared zone, any mix of its sites" against "some stones from the sites
   of other zones": ``T = 2 [l(all sites) - l(declared zone's sites)]``. Its
   null distribution is the held-out genuine parcels' ``T`` at each size
   (interpolated in log size), so the p-value carries the lot-to-lot
   variation of the reference and the estimation error of the densities;
   above the sizes parcels of one cross-fitting fold's lots measure, it is
   stretched by the largest linear growth of ``T`` with size they allow
   (one model's density misfit makes ``T`` grow with ``n``: ``mixed_growth``).
   It is tabulated per declared zone (:meth:`ParcelCalibration.mixed_p_values`):
   the alternative frees the shares of the other zones' sites, so a zone
   facing more foreign sites has a heavier-tailed null, and a pooled null
   under-flags one zone and over-flags the other;
3. the foreign fraction ``f`` (share of the mixture on other zones' sites)
   gets a profile-likelihood interval whose chi-square cut is scaled by a
   factor, with a size-free error floor added in quadrature
   (:func:`widen_interval`: lot-to-lot variation and density misfit do not
   shrink with ``n``), both fitted so that 90% intervals cover the truth 90%
   of the time at each size on held-out topped-up parcels, each made of one
   cross-fitting fold's lots (so that, as for a real parcel and the final
   model, one model's density errors are shared by all its stones; folds are
   grouped only where one holds too few stones, and no lot is used twice in
   a parcel), at 50 to 1,500 stones; then a factor on the half-widths per
   size (``interval_table``, interpolated in log size: :func:`interval_factor`).

"unknown_origin" uses the mean stone nonconformity (``-max_s`` centred site
log-density sum, :mod:`._novelty`): each stone is scored against its best
reference site, so a mixture of reference sites is not strange, standardised
to the reference scale of the fields each stone has (:mod:`._patterns`). Its
null is the same held-out genuine parcels at each size, read as a
the tables as they are (:func:`._nulls.null_p_values`: few big parcels can
be simulated, so above ~800 stones this test cannot reach p < 0.01, and read
as a location-scale family it raised false alarms on genuine 1,500-stone
parcels); parcels described on an assortment pattern only meet that
pattern's null. From thresholds version 3 the population goodness-of-fit test
(:mod:`._fit_test`, ``fit_p``) shares the unknown-origin budget and carries
it at the big sizes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import gammaln, logsumexp

from ._foreign import foreign_profile, interval_factor, widen_interval  # the fraction's own module
from ._nulls import grown_null_p_values
from ._shares import _prepare, fit_shares

logger = logging.getLogger(__name__)

__all__ = [
    "ParcelCalibration",
    "foreign_profile",
    "interval_factor",
    "mixed_evidence",
    "stack_parcels",
    "tempering",
    "widen_interval",
    "zone_evidence",
    "zone_lots",
]

_LN10 = np.log(10.0)


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
                  *, tol: float = 1e-12, one_site_extra: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Zone mixture fits of every parcel.

    ``one_site_extra`` (n_parcels, n_sites), if given, is added to each
    site's summed stone log-likelihood under the one-site hypothesis: the
    lot-drift correction of the stone model's joint block
    (:func:`._joint.drift_correction`: the stones of one collector's lot share
    that lot's component weights).

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
        fit = fit_shares(evidence, top, starts, weights, allowed, prior, tol=tol)
        fit_ll[:, z] = fit.loglik
        posterior = np.where(allowed, prior + fit.counts, 1.0)
        several = (fit.loglik + _log_dirichlet(fit.shares, prior, allowed)
                   - _log_dirichlet(fit.shares, posterior, allowed))
        # "One site" (production shares as its prior) or "several sites": equally likely a priori.
        idx = np.flatnonzero(site_zone == z)
        summed = np.add.reduceat(weights[:, None] * site_ll_full[:, idx], starts, axis=0)
        if one_site_extra is not None:
            summed = summed + one_site_extra[:, idx]
        one = logsumexp(summed + log_weight[idx][None, :], axis=1)
        zone_ll[:, z] = np.logaddexp(one, several) - np.log(2.0) if len(idx) > 1 else one
        shares.append(fit.shares)
    return zone_ll, fit_ll, shares, (evidence, top)


#: Foreign fraction below which the foreign shape turns to equal shares (see :func:`mixed_evidence`).
_SHAPE_EPS = 1e-4


def mixed_evidence(prepared: tuple[np.ndarray, np.ndarray], starts: np.ndarray, weights: np.ndarray,
                   site_zone: np.ndarray, target: np.ndarray, target_shares: np.ndarray, *,
                   tol: float = 1e-12, max_cycles: int = 12
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
    exactly rather than by the slow EM steps near ``f = 0``). The joint fit
    stops at ``tol`` or after ``max_cycles`` SQUAREM cycles (12, as the
    calibration was fitted with): with flat priors the likelihood of a
    genuine parcel is nearly flat along the foreign directions near ``f =
    0``, where EM needs thousands of cycles to settle shapes the profile
    does not need; what it does settle agrees to rounding between equal
    parcels written differently (see ``_SHAPE_EPS``).

    Returns
    -------
    fraction : ndarray (n_parcels,)
        EM estimate of ``f`` (a starting point; see above).
    theta : ndarray (n_parcels, n_sites)
        Foreign site shares (0 on the target zone's sites).
    log_ratio : ndarray (n_stones,)
        ``log p_A(x) - log q(x)``, ``p_A`` the foreign sites mixed by ``theta / f``
        (other zones' sites equally as ``f`` goes to 0, blended smoothly below ``f ~ 1e-4``).
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
    shares = fit_shares(evidence, _top, starts, weights, everything, np.ones(in_d.shape), tol=tol,
                        max_cycles=max_cycles, init=init).shares
    work = np.empty_like(evidence)
    theta = np.where(in_d, 0.0, shares)
    f = theta.sum(axis=1)
    sd = np.where(in_d, shares, 0.0)
    shape_d = np.where(sd.sum(axis=1, keepdims=True) > 1e-12, sd / np.maximum(sd.sum(axis=1, keepdims=True),
                                                                               1e-300), own)
    # (theta and the foreign shape are 0 on the target zone's sites: they weigh foreign sites only.)
    q = np.maximum(np.einsum("ij,ij->i", np.take(shape_d, parcel, axis=0), evidence), 1e-300)
    np.take(theta, parcel, axis=0, out=work)
    pa = np.einsum("ij,ij->i", work, evidence)
    f_stone = np.take(f, parcel)
    mix = (1.0 - f_stone) * q + pa
    # The foreign shape theta / f, moving smoothly to equal shares of the other zones' sites as f goes
    # to 0: where the fit drives f to 0, theta / f is a ratio of vanishing numbers that rounding and the
    # EM path decide, not the data (the blend weighs 1e-8 relative at f = 0.01, 1/2 at f = 1e-4).
    blend = (_SHAPE_EPS**2 / (f * f + _SHAPE_EPS**2))[:, None]
    shape_a = (1.0 - blend) * theta / np.maximum(f[:, None], 1e-300) + blend * outside / n_out
    np.take(shape_a, parcel, axis=0, out=work)
    pa_shape = np.einsum("ij,ij->i", work, evidence)
    with np.errstate(divide="ignore"):
        log_ratio = np.clip(np.log(pa_shape) - np.log(q), -30.0, 30.0)
    foreign = pa / np.maximum(mix, 1e-300)
    return f, theta, log_ratio, foreign


def stack_parcels(parcels: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of parcels given as lists of stone indices, one after another: ``rows, starts, sizes``."""
    sizes = np.array([len(p) for p in parcels])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return np.concatenate(parcels), starts, sizes


def zone_lots(lots: np.ndarray, pool: np.ndarray, site_of_stone: np.ndarray,
              zone: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Return the lots of ``zone`` in ``pool`` (stone indices of each, by lot code) and the site of each lot.

    ``pool`` gives each stone's zone, or -1 for stones left out (e.g. other
    cross-fitting folds).
    """
    in_zone = np.flatnonzero(pool == zone)
    if not len(in_zone):
        return [], np.zeros(0, dtype=int)
    codes, index = np.unique(lots[in_zone], return_inverse=True)
    order = np.argsort(index, kind="stable")
    members = np.split(in_zone[order], np.cumsum(np.bincount(index, minlength=len(codes)))[:-1])
    return members, np.array([site_of_stone[m[0]] for m in members])


def tempering(sizes: np.ndarray, tau0: float, rho: float,
              table: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Per-stone weight of the zone evidence at each parcel size.

    ``tau(n) = tau0 / (1 + rho (n - 1))`` (the survey design effect), unless
    a ``table`` ``(sizes, taus)`` of held-out per-size fits is given: then
    ``tau`` is interpolated in ``log n`` between its sizes and constant below
    the smallest. Above the largest ``n_t`` it returns to the form within one
    doubling of the size: ``tau = form(n) * r ** max(0, 1 - log2(n / n_t))``,
    ``r`` the table's last value over the form's there (continuous; the
    sizes beyond the table are those where held-out parcels are nearly all
    told apart, which say little about ``tau``, see
    ``_parcel_calibration._fit_tempering``, so the form fitted over every
    size holds there as before).
    """
    n = np.asarray(sizes, dtype=float)
    design = tau0 / (1.0 + rho * (n - 1.0))
    if table is None or len(table[0]) == 0:
        return design
    at, taus = np.asarray(table[0], dtype=float), np.asarray(table[1], dtype=float)
    last = tau0 / (1.0 + rho * (at[-1] - 1.0))
    inside = np.interp(np.log(np.maximum(n, 1.0)), np.log(at), taus)
    fade = np.clip(1.0 - np.log2(np.maximum(n, at[-1]) / at[-1]), 0.0, 1.0)
    return np.where(n > at[-1], design * (taus[-1] / last) ** fade, inside)


def _table(parts: Any) -> tuple[np.ndarray, np.ndarray] | None:
    return None if parts is None else (np.asarray(parts[0], dtype=float), np.asarray(parts[1], dtype=float))


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
        Widening of the foreign-fraction profile interval (factor on its chi-square cut).
    null_sizes : ndarray
        Sizes of the tabulated nulls.
    mixed_null : list of ndarray
        Sorted mixed-test statistics of held-out genuine parcels per size.
    novelty_null : list of ndarray
        Sorted mean stone nonconformity of held-out genuine parcels per size.
    report : dict
        Figures measured while fitting (for the manifest).
    interval_floor : float
        Standard deviation of the part of the foreign fraction's error that
        does not shrink with size (:func:`widen_interval`; 0 in models that
        predate it).
    fit_null : list of ndarray or None
        Sorted population goodness-of-fit statistics of held-out genuine
        parcels per size (:mod:`._fit_test`); None for models saved before it.
    tau_table : tuple of ndarray or None
        ``(sizes, taus)``: the tempering fitted at each size where held-out
        parcels measure it (:func:`tempering`); None: the ``tau0, rho`` form
        alone (models saved before it).
    mixed_null_zone : list of list of ndarray or None
        Per reference zone, the sorted mixed-test statistics of its own
        held-out genuine parcels per size (pooled downwards like
        ``mixed_null``); an empty list for a zone without held-out lots, which
        meets the pooled ``mixed_null``. None for models saved before it (every
        zone meets the pooled null). The statistic's null depends on the
        declared zone: its alternative frees the shares of the OTHER zones'
        sites, so a zone facing more foreign sites has a heavier-tailed null
        (with the bundled SYNTHETIC zones, CAR-East parcels, facing five West
        sites, reached p < 0.01 3.3% of the time against the pooled null at
        25 stones, CAR-West parcels, facing three East sites, 1%).
    fit_null_zone : list of list of ndarray or None
        Per reference zone, the sorted population fit statistics of its own
        held-out genuine parcels per size (not pooled downwards; an empty list
        for a zone without held-out lots). The population fit test reads them
        as a zone offset on the pooled ``fit_null`` (:func:`._fit_test.fit_p_values`):
        the genuine parcels of one zone fit its mixture less well than the
        other's do (bundled SYNTHETIC set: CAR-West's G about 0.3 spreads
        above CAR-East's at every size), so the pooled null alone made CAR-West
        parcels fail it twice as often as its level. None for models saved before it.
    mixed_growth : ndarray of shape (n_zones + 1, 3) or None
        Per zone (last row: the pooled null), ``(n_star, mean_star, slope)``
        of :func:`._nulls.fit_growth`: the mixed null is read as tabulated up
        to ``n_star`` stones (the largest size the zone's held-out lots fill
        without reusing a lot) and stretched above it by the largest linear
        growth of the statistic the measured sizes allow
        (:func:`._nulls.grown_null_p_values`); a NaN row: as tabulated. None
        for models saved before it (the largest tabulated null reused above
        the largest size).
    interval_table : tuple of ndarray or None
        ``(sizes, factors)``: per-size factor on the foreign-fraction
        interval's half-widths (:func:`interval_factor`), fitted on held-out
        topped-up parcels of each size. None for models saved before it
        (factor 1: the pooled scale and floor alone).
    """

    prior_strength: float
    tau0: float
    rho: float
    interval_scale: float
    null_sizes: np.ndarray
    mixed_null: list[np.ndarray]
    novelty_null: list[np.ndarray]
    report: dict[str, Any] = field(default_factory=dict)
    interval_floor: float = 0.0
    fit_null: list[np.ndarray] | None = None
    tau_table: tuple[np.ndarray, np.ndarray] | None = None
    mixed_null_zone: list[list[np.ndarray]] | None = None
    mixed_growth: np.ndarray | None = None
    fit_null_zone: list[list[np.ndarray]] | None = None
    interval_table: tuple[np.ndarray, np.ndarray] | None = None

    def interval_factor(self, sizes: np.ndarray) -> np.ndarray:
        """Per-size factor on the foreign-fraction interval's half-widths (:func:`interval_factor`)."""
        return interval_factor(sizes, self.interval_table)

    def _growth(self, row: int) -> np.ndarray | None:
        if self.mixed_growth is None:
            return None
        g = np.asarray(self.mixed_growth[row], dtype=float)
        return g if np.isfinite(g).all() else None

    def tempering(self, sizes: np.ndarray) -> np.ndarray:
        """Per-stone weight of the zone evidence for parcels of ``sizes`` stones (:func:`tempering`)."""
        return tempering(sizes, self.tau0, self.rho, self.tau_table)

    def mixed_p_values(self, statistic: np.ndarray, sizes: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Upper-tail p-values of the mixed statistic of parcels declared (or assigned) to ``target``.

        Each parcel meets its target zone's own null (``mixed_null_zone``)
        where the model has one, else the pooled ``mixed_null``; both are read
        by :func:`._nulls.null_p_values` (interpolated in log size), above
        the measured sizes stretched by ``mixed_growth``.
        """
        statistic = np.asarray(statistic, dtype=float)
        sizes = np.asarray(sizes, dtype=float)
        p = grown_null_p_values(statistic, sizes, self.null_sizes, self.mixed_null, self._growth(-1))
        if self.mixed_null_zone is None:
            return p
        target = np.asarray(target)
        for z, tables in enumerate(self.mixed_null_zone):
            on = target == z
            if len(tables) and on.any():
                p[on] = grown_null_p_values(statistic[on], sizes[on], self.null_sizes, tables,
                                            self._growth(z))
        return p

    def to_parts(self) -> dict[str, Any]:
        """Plain-data form (arrays, numbers) for the artefact."""
        return {"prior_strength": self.prior_strength, "tau0": self.tau0, "rho": self.rho,
                "interval_scale": self.interval_scale, "null_sizes": np.asarray(self.null_sizes),
                "mixed_null": [np.asarray(v) for v in self.mixed_null],
                "novelty_null": [np.asarray(v) for v in self.novelty_null], "report": dict(self.report),
                "interval_floor": self.interval_floor,
                **({"fit_null": [np.asarray(v) for v in self.fit_null]} if self.fit_null is not None else {}),
                **({"tau_table": [np.asarray(v, dtype=float) for v in self.tau_table]}
                   if self.tau_table is not None else {}),
                **({"mixed_null_zone": [[np.asarray(v) for v in tables] for tables in self.mixed_null_zone]}
                   if self.mixed_null_zone is not None else {}),
                **({"mixed_growth": np.asarray(self.mixed_growth, dtype=float)}
                   if self.mixed_growth is not None else {}),
                **({"fit_null_zone": [[np.asarray(v) for v in tables] for tables in self.fit_null_zone]}
                   if self.fit_null_zone is not None else {}),
                **({"interval_table": [np.asarray(v, dtype=float) for v in self.interval_table]}
                   if self.interval_table is not None else {})}

    @classmethod
    def from_parts(cls, parts: dict[str, Any]) -> ParcelCalibration:
        """Inverse of :meth:`to_parts`."""
        return cls(float(parts["prior_strength"]), float(parts["tau0"]), float(parts["rho"]),
                   float(parts["interval_scale"]), np.asarray(parts["null_sizes"]),
                   [np.asarray(v) for v in parts["mixed_null"]],
                   [np.asarray(v) for v in parts["novelty_null"]],
                   dict(parts.get("report") or {}), float(parts.get("interval_floor", 0.0)),
                   [np.asarray(v) for v in parts["fit_null"]] if parts.get("fit_null") is not None else None,
                   _table(parts.get("tau_table")),
                   [[np.asarray(v) for v in tables] for tables in parts["mixed_null_zone"]]
                   if parts.get("mixed_null_zone") is not None else None,
                   np.asarray(parts["mixed_growth"], dtype=float) if parts.get("mixed_growth") is not None
                   else None,
                   [[np.asarray(v) for v in tables] for tables in parts["fit_null_zone"]]
                   if parts.get("fit_null_zone") is not None else None,
                   _table(parts.get("interval_table")))
