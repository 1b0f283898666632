"""Fitting the parcel layer on held-out reference lots (see :mod:`._parcel` for the method).

Genuine export parcels are simulated from whole held-out lots of one zone's
sites in random Dirichlet shares, 25 to 10,000 stones, from per-stone
out-of-fold quantities (never rescored); on them the zone evidence's tempering,
the nulls of the "mixed" and "unknown origin" tests (parcel novelty, and the
population goodness of fit of :mod:`._fit_test` when ``fit_pieces`` are given)
and the widening of the foreign-fraction interval (:mod:`._interval_calibration`)
are fitted.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from scipy.optimize import minimize, minimize_scalar
from scipy.special import log_softmax

from ..exceptions import InsufficientDataError
from ._drift import Drift, drift_extra
from ._fit_test import fit_statistic
from ._foreign import foreign_profile
from ._interval_calibration import TOPUP_SIZES, fit_interval_scale
from ._nulls import fit_growth
from ._parcel import ParcelCalibration, mixed_evidence, stack_parcels, tempering, zone_evidence, zone_lots

logger = logging.getLogger(__name__)

__all__ = ["CALIBRATION_SIZES", "DEFAULT_PER_ZONE", "fit_parcel_calibration", "simulate_parcels"]

#: Parcel sizes (stones) at which the parcel nulls are tabulated.
CALIBRATION_SIZES = (25, 50, 100, 200, 400, 800, 1500, 3000, 6000, 10000)
#: Simulated genuine parcels per zone at each size (fewer at the big sizes).
DEFAULT_PER_ZONE = (200, 200, 150, 100, 60, 40, 20, 12, 8, 6)
#: Held-out parcels of one size judged wrong needed to refit its tempering (fewer: the size is nearly all
#: told apart, which says little about the tempering; the design-effect form is kept there).
_TAU_MIN_ERRORS = 20
#: Held-out stones per zone and size behind each zone's own mixed-test null: at a size ``n`` at least
#: ``MIXED_NULL_STONES / n`` parcels (1,000 of 25 stones, 250 of 100), so that the 1% tail of the
#: smallest sizes is read from ten or more values rather than two.
MIXED_NULL_STONES = 25_000
#: One-fold parcels per fold, zone and size behind the mixed null's growth with size (:func:`_mixed_growth`).
GROWTH_PARCELS = 40
#: Smallest size the growth is fitted from: below it ``T`` rises with ``n`` as the shares become estimable
#: (held-out one-fold means 0.6 at 25 stones, 0.9-1.1 from 100 to 800 on the bundled SYNTHETIC set), a
#: rise that stops and that a straight line would carry on to 10,000 stones.
GROWTH_FROM = 100


def simulate_parcels(lots: np.ndarray, zone_of_stone: np.ndarray, site_of_stone: np.ndarray, zone: int,
                     size: int, n_parcels: int, rng: np.random.Generator,
                     site_weight: np.ndarray | None = None) -> list[np.ndarray]:
    """Genuine parcels of ``zone`` from whole held-out lots (stone indices).

    Each parcel mixes the zone's sites: with probability 1/2 a single site
    (chosen by ``site_weight``), otherwise Dirichlet(1) shares over a random
    subset of two or more of the zone's sites. A site's stones are the union
    of random lots of that site taken whole (the last one partly), so stones
    of a lot stay together as they do in a collector's lot. When a site has
    fewer stones than asked, its lots are reused (a lot appears twice only in
    the largest parcels of a small reference).
    """
    members, lot_site = zone_lots(lots, zone_of_stone, site_of_stone, zone)
    sites = np.unique(lot_site)
    lots_of = {s: np.flatnonzero(lot_site == s) for s in sites}
    weight = np.ones(len(sites)) if site_weight is None else np.asarray(site_weight, dtype=float)[sites]
    weight = weight / weight.sum()
    out = []
    for _ in range(n_parcels):
        if len(sites) == 1 or rng.random() < 0.5:
            shares = np.zeros(len(sites))
            shares[rng.choice(len(sites), p=weight)] = 1.0
        else:
            k = int(rng.integers(2, len(sites) + 1))
            chosen = rng.choice(len(sites), size=k, replace=False)
            shares = np.zeros(len(sites))
            shares[chosen] = rng.dirichlet(np.ones(k))
        counts = rng.multinomial(size, shares)
        parts = []
        for s, c in zip(sites, counts, strict=True):
            if c == 0:
                continue
            order = rng.permutation(lots_of[s])
            taken, k = [], 0
            got = 0
            while got < c:
                lot = members[order[k % len(order)]]
                taken.append(lot[: c - got] if got + len(lot) > c else lot)
                got += len(taken[-1])
                k += 1
            parts.append(np.concatenate(taken))
        out.append(rng.permutation(np.concatenate(parts)))
    return out


def fit_parcel_calibration(site_ll: np.ndarray, novelty_score: np.ndarray, lots: np.ndarray,
                           site_of_stone: np.ndarray, site_zone: np.ndarray, log_weight: np.ndarray,
                           n_zones: int, rng: np.random.Generator, *, prior_strength: float = 2.0,
                           level: float = 0.90, sizes: tuple[int, ...] = CALIBRATION_SIZES,
                           per_zone: tuple[int, ...] = DEFAULT_PER_ZONE,
                           extra_parcels: list[np.ndarray] | None = None,
                           fold: np.ndarray | None = None,
                           fit_pieces: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                           drift: Drift | None = None) -> ParcelCalibration:
    """Fit the parcel layer on held-out reference lots.

    Parameters
    ----------
    site_ll : ndarray of shape (n_stones, n_sites)
        Out-of-fold stone site log-likelihoods of the reference stones.
    novelty_score : ndarray of shape (n_stones,)
        Out-of-fold stone nonconformity scores (NaN where none).
    lots, site_of_stone : ndarray of shape (n_stones,)
        Lot label and site index of each stone.
    site_zone, log_weight : ndarray of shape (n_sites,)
        Zone of each site and within-zone log production share.
    n_zones : int
        Reference zones.
    rng : Generator
        Random source.
    prior_strength : float
        Pseudo-stones of the share prior.
    level : float
        Nominal coverage of the foreign-fraction interval.
    sizes, per_zone : tuple of int
        Tabulated sizes and genuine parcels per zone and size.
    extra_parcels : list of ndarray, optional
        More held-out parcels (stone indices, one zone each) the tempering is
        also fitted on (small single-lot parcels: the stone-level end).
    fold : ndarray of shape (n_stones,), optional
        Cross-fitting fold that scored each stone (-1 where none): the
        topped-up parcels the interval is calibrated on are made of one
        fold's lots each.
    fit_pieces : tuple, optional
        ``(cells, stone_probs, n_cells)`` of the population goodness-of-fit
        test (:mod:`._fit_test`; out-of-fold cell probabilities): its null,
        ``fit_null``, is tabulated on the same parcels. None: no fit null.
    drift : tuple, optional
        ``(ratio, rest, prior, scale)``: out-of-fold per-stone pieces of the
        joint block's lot-drift correction, its Dirichlet parameters and its
        weight per site (:func:`drift_extra`); the zone evidence the
        tempering is fitted on then carries it, as the model's does.

    The nulls are pooled downwards: the null at size ``n`` holds the
    statistics of every tabulated size up to ``n``, which fills the tails
    (few big parcels are simulated). The mixed statistic of held-out parcels
    that mix the cross-fitting folds does not grow with size up to the sizes
    the held-out lots fill, but a real parcel's stones are all scored by one
    model, whose density misfit makes ``T`` grow linearly in ``n`` (bundled
    SYNTHETIC set: CAR-West's mean ``T`` 0.8 at 400 stones, 1.5 at 5,000,
    2.9 at 10,000, and the pooled table at 6,000 flagged 17% of genuine
    10,000-stone parcels at the 2% level). So above the sizes that parcels
    of ONE fold's lots measure, the mixed null is stretched by the largest
    linear growth those sizes allow (:func:`_mixed_growth`,
    :func:`._nulls.fit_growth`). The population fit null is also kept per
    zone (``fit_null_zone``, see :func:`._fit_test.fit_p_values`).
    """
    zone_of_stone = site_zone[site_of_stone]
    weight = np.exp(log_weight)
    # No tabulated size above the smallest zone's held-out stones (a bigger parcel would reuse its lots
    # over and over); above the largest size kept, the largest (pooled) null is used.
    # A thin zone of one lot has no held-out stones: it is left out of the simulation (the nulls are
    # pooled over zones; its own parcels are judged against the other zones' genuine parcels).
    held_out = np.bincount(zone_of_stone, minlength=n_zones)
    seen = [int(z) for z in np.flatnonzero(held_out > 0)]
    if not seen:
        raise InsufficientDataError(
            "too few reference lots to calibrate the parcel layer: at least one zone needs two or more "
            "lots (a zone's held-out lots are what its genuine parcels are simulated from)")
    smallest = int(held_out[seen].min())
    keep = [k for k, n in enumerate(sizes) if n <= smallest] or [0]
    sizes = tuple(sizes[k] for k in keep)
    # Every batch fits every zone: with many zones, fewer parcels per zone keep the cost linear in zones.
    thin = min(1.0, 2.0 / n_zones)
    per_zone = tuple(max(4, int(round(per_zone[k] * thin))) for k in keep)
    own_stats: dict[int, list[np.ndarray]] = {z: [] for z in seen}  # per zone, per size
    novelty_null: list[np.ndarray] = []
    fit_null: list[np.ndarray] | None = [] if fit_pieces is not None else None
    fit_null_zone: list[list[np.ndarray]] | None = (
        [[] for _ in range(n_zones)] if fit_pieces is not None else None)
    fit_ll, fit_sizes, fit_truth = [], [], []
    report: dict[str, Any] = {"sizes": list(map(int, sizes)), "per_zone": list(map(int, per_zone)),
                              "zones_without_held_out_lots": [z for z in range(n_zones) if z not in seen]}
    for size, count in zip(sizes, per_zone, strict=True):
        novel, gof = [], []
        for z in seen:
            parcels = simulate_parcels(lots, zone_of_stone, site_of_stone, z, int(size), int(count), rng,
                                       weight)
            rows, starts, n = stack_parcels(parcels)
            w = np.ones(len(rows))
            zone_ll, _, shares, prepared = zone_evidence(site_ll[rows], starts, w, site_zone, log_weight,
                                                         n_zones, prior_strength,
                                                         one_site_extra=drift_extra(drift, rows, starts))
            target = np.full(len(parcels), z)
            f_em, theta, ratio, _ = mixed_evidence(prepared, starts, w, site_zone, target, shares[z])
            t = foreign_profile(ratio, starts, w, level=level, interval=False)[3]
            own_stats[z].append(t)
            if fit_pieces is not None:  # population fit (issue 12 item 4), against every reference site
                every_site = shares[z] * (1 - f_em[:, None]) + theta
                gof.append(fit_statistic(fit_pieces[0][rows], starts, w, every_site, fit_pieces[2],
                                         stone_probs=fit_pieces[1][rows]))
                if fit_null_zone is not None:
                    fit_null_zone[z].append(np.sort(gof[-1]))
            score = novelty_score[rows]
            novel.append(np.add.reduceat(np.nan_to_num(score), starts)
                         / np.maximum(np.add.reduceat(np.isfinite(score).astype(float), starts), 1.0))
            fit_ll.append(zone_ll)
            fit_sizes.append(n)
            fit_truth.append(target)
        novelty_null.append(np.sort(np.concatenate(novel)))
        if fit_null is not None:
            fit_null.append(np.sort(np.concatenate(gof)))
    if extra_parcels:
        rows, starts, n = stack_parcels(extra_parcels)
        zone_ll, *_ = zone_evidence(site_ll[rows], starts, np.ones(len(rows)), site_zone, log_weight, n_zones,
                                    prior_strength, one_site_extra=drift_extra(drift, rows, starts))
        fit_ll.append(zone_ll)
        fit_sizes.append(n)
        fit_truth.append(zone_of_stone[rows[starts]])
    if len(seen) < 2:
        # Held-out parcels of one zone cannot tell how far to temper between zones, nor give foreign
        # stones to top up with: no tempering (tau0 = 1, rho = 0) and the nominal chi-square interval.
        logger.warning("parcel layer: only zone(s) %s have held-out lots; tempering and the foreign-fraction "
                       "interval scale are not measured (tau0 = 1, rho = 0, scale 1)", seen)
        tau0, rho, scale, floor, coverage = 1.0, 0.0, 1.0, 0.0, None
        tau_table = interval_table = None
        report["measured"] = False
    else:
        tau0, rho, tau_table = _fit_tempering(np.vstack(fit_ll), np.concatenate(fit_sizes),
                                              np.concatenate(fit_truth))
        # The interval's held-out top-ups draw from their own stream (spawned: ``rng`` does not advance),
        # so the nulls drawn below do not depend on how many top-ups the interval fit takes.
        scale, floor, coverage, interval_table = fit_interval_scale(
            site_ll, lots, zone_of_stone, site_of_stone, site_zone, log_weight, n_zones, rng.spawn(1)[0],
            prior_strength, level, tuple(n for n in TOPUP_SIZES if n <= max(sizes)) or (sizes[0],),
            per_cell=max(2, int(round(40 * thin))), fold=fold)
    # More genuine parcels for the mixed-test nulls at the small sizes (drawn last: every other fitted
    # quantity stays as it was), then each zone's null and the pooled one, both pooled downwards.
    for k, (size, count) in enumerate(zip(sizes, per_zone, strict=True)):
        extra = int(np.ceil(thin * MIXED_NULL_STONES / size)) - int(count)
        if extra > 0:
            for z in seen:
                own_stats[z][k] = np.concatenate([own_stats[z][k], _mixed_statistics(
                    simulate_parcels(lots, zone_of_stone, site_of_stone, z, int(size), extra, rng, weight),
                    site_ll, site_zone, log_weight, n_zones, z, prior_strength, level)])
    mixed_null_zone: list[list[np.ndarray]] = [[] for _ in range(n_zones)]
    for z in seen:
        mixed_null_zone[z] = [np.sort(np.concatenate(own_stats[z][: k + 1])) for k in range(len(sizes))]
    mixed_null = [np.sort(np.concatenate([mixed_null_zone[z][k] for z in seen])) for k in range(len(sizes))]
    report["mixed_null_per_zone"] = {str(z): [len(v) for v in mixed_null_zone[z]] for z in seen}
    # Above the sizes one fold's lots fill, the null is stretched by the largest growth of T with size
    # that one-fold parcels allow (drawn last: every other fitted quantity stays as it was).
    growth = _mixed_growth(site_ll, lots, zone_of_stone, site_of_stone, site_zone, log_weight, n_zones, seen,
                           sizes, fold, rng, prior_strength, level, mixed_null_zone, mixed_null,
                           max(2, int(round(GROWTH_PARCELS * thin))))
    if growth is not None:
        report["mixed_growth"] = {("pooled" if r == n_zones else str(r)):
                                  [round(float(v), 6) for v in growth[r]] for r in [*seen, n_zones]}
    by_size = (None if tau_table is None
               else {str(int(n)): round(float(v), 4) for n, v in zip(*tau_table, strict=True)})
    report.update({"tau0": tau0, "rho": rho, "tau_by_size": by_size, "interval_scale": scale,
                   "interval_floor": floor, "interval_coverage_fit": coverage,
                   "interval_factors": None if interval_table is None
                   else {str(int(n)): round(float(c), 3) for n, c in zip(*interval_table, strict=True)}})
    return ParcelCalibration(prior_strength, tau0, rho, scale, np.asarray(sizes), mixed_null, novelty_null,
                             report, floor, fit_null=fit_null, tau_table=tau_table,
                             mixed_null_zone=mixed_null_zone,
                             mixed_growth=growth, fit_null_zone=fit_null_zone,
                             interval_table=interval_table)


def _mixed_growth(site_ll: np.ndarray, lots: np.ndarray, zone_of_stone: np.ndarray, site_of_stone: np.ndarray,
                  site_zone: np.ndarray, log_weight: np.ndarray, n_zones: int, seen: list[int],
                  sizes: tuple[int, ...], fold: np.ndarray | None, rng: np.random.Generator,
                  prior_strength: float, level: float, zone_tables: list[list[np.ndarray]],
                  pooled: list[np.ndarray], per_fold: int) -> np.ndarray | None:
    """Growth of the mixed null with size (:func:`._nulls.fit_growth`), from parcels of one fold's lots.

    Each parcel is a random set of whole lots of one zone in one cross-fitting
    fold, taken without replacement (its sites in the fold's proportions), so
    all its stones are scored by one fold model, as a real parcel's are by the
    final model, and no lot counts twice. Sizes up to half the zone's smallest
    fold, from ``GROWTH_FROM`` stones. Returns one row ``(n_star, mean_star, slope)`` per zone (NaN for a
    zone without held-out lots) and one for the pooled null (the steepest
    zone's slope, from the smallest ``n_star``), or None without folds.
    """
    if fold is None or not (np.asarray(fold) >= 0).any():
        return None
    fold = np.asarray(fold)
    folds = np.unique(fold[fold >= 0])
    growth = np.full((n_zones + 1, 3), np.nan)
    for z in seen:
        lot_lists = []
        for f in folds:
            lot_lists.append(zone_lots(lots, np.where(fold == f, zone_of_stone, -1), site_of_stone, z)[0])
        fill = min(sum(len(m) for m in ll) for ll in lot_lists)
        at = [k for k, n in enumerate(sizes) if GROWTH_FROM <= n <= fill / 2]
        if len(at) < 2 or len(folds) < 2:
            continue
        means: list[np.ndarray] = []
        for k in at:
            fold_means = []
            for members in lot_lists:
                parcels = []
                for _ in range(per_fold):
                    order = rng.permutation(len(members))
                    taken, got = [], 0
                    for m in order:
                        if got >= sizes[k]:
                            break
                        part = members[m][: sizes[k] - got]
                        taken.append(part)
                        got += len(part)
                    parcels.append(np.concatenate(taken))
                fold_means.append(float(np.mean(_mixed_statistics(parcels, site_ll, site_zone, log_weight,
                                                                  n_zones, z, prior_strength, level))))
            means.append(np.asarray(fold_means))
        top = at[-1]
        growth[z] = fit_growth(np.asarray(sizes, dtype=float)[at], means, float(np.mean(zone_tables[z][top])))
    done = [z for z in seen if np.isfinite(growth[z]).all()]
    if not done:
        return None
    steep = max(done, key=lambda z: growth[z, 2])
    n_star = min(growth[z, 0] for z in done)
    top = int(np.searchsorted(np.asarray(sizes), n_star))
    growth[-1] = [n_star, float(np.mean(pooled[top])), growth[steep, 2]]
    return growth


def _mixed_statistics(parcels: list[np.ndarray], site_ll: np.ndarray, site_zone: np.ndarray,
                      log_weight: np.ndarray, n_zones: int, zone: int, prior_strength: float,
                      level: float) -> np.ndarray:
    """Mixed-test statistics of genuine parcels of ``zone`` (stone indices into ``site_ll``)."""
    rows, starts, _ = stack_parcels(parcels)
    w = np.ones(len(rows))
    _, _, shares, prepared = zone_evidence(site_ll[rows], starts, w, site_zone, log_weight, n_zones,
                                           prior_strength)
    _, _, ratio, _ = mixed_evidence(prepared, starts, w, site_zone, np.full(len(parcels), zone), shares[zone])
    return foreign_profile(ratio, starts, w, level=level, interval=False)[3]


def _fit_tempering(zone_ll: np.ndarray, sizes: np.ndarray, truth: np.ndarray
                   ) -> tuple[float, float, tuple[np.ndarray, np.ndarray]]:
    """Tempering of the zone evidence by held-out parcel log loss.

    First ``tau0, rho`` of the design-effect form, every size weighing
    equally. That form cannot follow every size at once: the single-lot
    parcels of a few stones and the export parcels of 25+ (mixed sites) want
    different weights, and the smallest sizes, whose log loss is largest,
    decide the compromise (on the bundled set it tempered parcels of 25 by
    0.85 where their own held-out optimum is 1.0). So the weight is then
    refitted at each size whose held-out parcels measure it (at least
    ``_TAU_MIN_ERRORS`` of them judged wrong: where nearly every parcel is told
    apart, any weight above some value scores the same and one or two
    confident errors would decide it; the form is kept there), at most 1 (tempering
    deflates evidence that stones of a lot share; near-separable sizes, whose
    few errors have small margins, would otherwise ask for weights far above
    1). Returns ``tau0``,
    ``rho`` and the table ``(sizes, taus)`` (see :func:`._parcel.tempering`).
    """
    rows = np.arange(len(truth))
    values, inverse, counts = np.unique(sizes, return_inverse=True, return_counts=True)
    weight = 1.0 / counts[inverse]
    weight /= weight.sum()
    centred = zone_ll - zone_ll.max(axis=1, keepdims=True)

    def unpack(theta: np.ndarray) -> tuple[float, float]:
        return (float(np.exp(np.clip(theta[0], np.log(0.02), np.log(5.0)))),
                float(0.5 * (1.0 + np.tanh(0.5 * theta[1]))))

    def loss(theta: np.ndarray) -> float:
        tau0, rho = unpack(theta)
        ll = tempering(sizes, tau0, rho)[:, None] * centred
        return float(-(log_softmax(ll, axis=1)[rows, truth] * weight).sum())

    best = minimize(loss, x0=np.array([0.0, -4.0]), method="Nelder-Mead",
                    options={"xatol": 1e-3, "fatol": 1e-7, "maxiter": 400})
    tau0, rho = unpack(best.x)
    at, taus = [], []
    for k, n in enumerate(values):
        on = inverse == k
        c, t = centred[on], truth[on]
        if int((np.argmax(c, axis=1) != t).sum()) < _TAU_MIN_ERRORS:
            continue

        def size_loss(tau: float, c: np.ndarray = c, t: np.ndarray = t) -> float:
            return float(-log_softmax(tau * c, axis=1)[np.arange(len(t)), t].mean())

        fit = minimize_scalar(size_loss, bounds=(0.02, 1.0), method="bounded", options={"xatol": 1e-4})
        at.append(float(n))
        taus.append(float(fit.x))
    logger.info("parcel layer: tempering tau0 %.3f rho %.5f; refitted per size %s", tau0, rho,
                {int(n): round(v, 3) for n, v in zip(at, taus, strict=True)})
    return tau0, rho, (np.asarray(at), np.asarray(taus))
