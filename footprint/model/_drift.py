"""Lot drift of the joint block's component weights: the "sub-site" layer of a one-site parcel.

A mine's lots differ in their share of each population (paragenesis, growth
event), so the stones of one collector's lot are not independent draws from
the site's density ``p_s``: they share that lot's component weights ``pi``,
which scatter around the site's ``w_s``. With ``pi ~ Dirichlet(c w_s)`` the
lot's density is ``int prod_i p_s(x_i | pi) Dir(pi | c w_s) dpi``;
:func:`drift_correction` returns its log ratio to the independent product,
which the parcel layer adds to each site's summed stone evidence under the
one-site hypothesis (:func:`._parcel.zone_evidence`). The concentration ``c``
is chosen on held-out single-lot parcels
(:func:`choose_lot_concentration`).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import gammaln, log_softmax

from ._parcel import stack_parcels, zone_evidence

logger = logging.getLogger(__name__)

__all__ = ["DRIFT_GRID", "Drift", "choose_lot_concentration", "drift_correction", "drift_extra",
           "drift_pieces", "drift_scale", "lot_drift"]

#: Per-stone pieces of the correction: ``(ratio, rest, prior, scale)`` (see :func:`drift_pieces`).
Drift = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]

_LOG2PI = float(np.log(2.0 * np.pi))
#: Candidate lot concentrations ``c`` of the component weights (besides ``inf``: lots do not drift).
DRIFT_GRID = (4.0, 8.0, 16.0, 32.0, 64.0, 128.0)
#: Fixed-point steps of the drift correction's share estimate.
_DRIFT_ITER = 25


def drift_correction(ratio: np.ndarray, rest: np.ndarray, prior: np.ndarray, starts: np.ndarray,
                     weights: np.ndarray | None = None, n_iter: int = _DRIFT_ITER) -> np.ndarray:
    """Log ratio of a lot's drift-integrated density to the product of its stones' densities.

    For each parcel (rows ``starts[p]`` to ``starts[p + 1] - 1``) and group
    ``g`` (a site)::

        log int prod_i (rest_ig + sum_k pi_k ratio_igk)^(w_i) Dir(pi | prior_pg) dpi

    where ``rest_ig + sum_k m_gk ratio_igk = 1`` at the group's own weights
    ``m_g = prior_g / sum(prior_g)`` (``ratio_igk = (1 - eps) N_k(x_i) /
    p_g(x_i)``, ``rest_ig = eps b(x_i) / p_g(x_i)``), so 0 means "as if the
    stones were independent". The integral is read by Laplace's method in
    softmax coordinates ``pi = softmax(eta)`` (where the integrand is
    unimodal even for ``a_k < 1``): the mode is the fixed point ``pi = (a +
    n(pi)) / (sum a + sum n(pi))`` (``n`` the expected stone counts per
    component), and the curvature there is the exact Hessian in ``eta``.
    (Chib's identity with the posterior taken as ``Dirichlet(a + n)`` is
    exact for stones of certain component but counts soft responsibilities
    as whole stones: with overlapping components it overstated what a lot
    tells about its shares and understated the integral by ~0.3 nats.)

    Parameters
    ----------
    ratio : ndarray of shape (n_rows, n_groups, K)
    rest : ndarray of shape (n_rows, n_groups)
    prior : ndarray of shape (n_parcels or 1, n_groups, K)
        Dirichlet parameters ``c w_g`` (per parcel, or one row for all).
    starts : ndarray of int, shape (n_parcels,)
        First row of each parcel (rows sorted by parcel).
    weights : ndarray of shape (n_rows,), optional
        Stones each row stands for (default 1).

    Returns
    -------
    ndarray of shape (n_parcels, n_groups)
    """
    n, G, K = ratio.shape
    P = len(starts)
    if n == 0 or P == 0:
        return np.zeros((P, G))
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    sizes = np.diff(np.append(starts, n))
    parcel = np.repeat(np.arange(P), sizes)
    a = np.broadcast_to(prior, (P, G, K))
    A = a.sum(axis=2, keepdims=True)
    pi = a / A

    def counts(pi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        num = ratio * pi[parcel]
        den = rest + num.sum(axis=2)
        resp = num * (w[:, None] / np.maximum(den, 1e-300))[:, :, None]
        return np.add.reduceat(resp, starts, axis=0), den

    for _ in range(n_iter):
        cnt, _ = counts(pi)
        pi = (a + cnt) / (A + cnt.sum(axis=2, keepdims=True))
    pi = np.maximum(pi, 1e-300)
    cnt, den = counts(pi)
    loglik = np.add.reduceat(w[:, None] * np.log(np.maximum(den, 1e-300)), starts, axis=0)
    log_pi = np.log(pi)
    log_prior = (gammaln(A[..., 0]) - gammaln(a).sum(axis=2) + ((a - 1.0) * log_pi).sum(axis=2))
    if K == 1:
        return loglik + log_prior - log_pi[..., 0] * (a[..., 0] - 1.0)  # one component: nothing drifts
    # Hessian of l(eta) + sum_k a_k log pi_k in eta (eta_K = 0), per parcel and group.
    pis = pi[parcel]
    s_i = (ratio * pis).sum(axis=2)
    u = pis * (ratio - s_i[:, :, None]) / np.maximum(den, 1e-300)[:, :, None]      # (n, G, K)
    gsum = np.add.reduceat(w[:, None, None] * u, starts, axis=0)                     # (P, G, K)
    outer = np.zeros((P, G, K, K))
    bounds = np.append(starts, n)
    per_block = max(1, int(2_000_000 // max(1, G * K * K * max(1, n // P))))  # parcels per block
    for pa in range(0, P, per_block):
        pb = min(P, pa + per_block)
        lo, hi = bounds[pa], bounds[pb]
        prod = w[lo:hi, None, None, None] * u[lo:hi, :, :, None] * u[lo:hi, :, None, :]
        outer[pa:pb] = np.add.reduceat(prod, starts[pa:pb] - lo, axis=0)
    eye = np.eye(K)
    cross = gsum[..., :, None] * pi[..., None, :]
    hess = (gsum[..., None] * eye - cross - np.swapaxes(cross, -1, -2) - outer
            - A[..., None] * (pi[..., :, None] * eye - pi[..., :, None] * pi[..., None, :]))
    neg = -hess[..., : K - 1, : K - 1]
    sign, logdet = np.linalg.slogdet(neg)
    logdet = np.where(sign > 0, logdet, np.inf)  # not a maximum: no evidence for drift (correction -> -inf)
    laplace = 0.5 * (K - 1) * _LOG2PI - 0.5 * logdet + log_pi.sum(axis=2)
    out = loglik + log_prior + laplace
    out = np.where(np.isfinite(out), out, loglik)
    # One stone: its density averaged over the lot's weights is its site density, exactly (Laplace is not).
    single = (sizes == 1) & (np.add.reduceat(w, starts) == 1.0)
    out[single] = 0.0
    return out


def drift_scale(classifier: Any) -> np.ndarray | None:
    """Weight of the joint block's term in each site's stone log-likelihood (None: no joint block).

    The joint block enters a :class:`._stone.StoneClassifier`'s scores
    ``joint_alpha_`` times, then the stacking's generative weight, then each
    thin class's widening divides it.
    """
    if getattr(classifier, "joint_", None) is None:
        return None
    scale = np.full(len(classifier.classes_), float(classifier.joint_alpha_))
    if getattr(classifier, "partner_", None) is not None:
        scale *= float(classifier.stack_[0])
    widen = getattr(classifier, "widen_", None)
    return scale / widen if widen is not None else scale


def drift_pieces(classifier: Any, X: np.ndarray) -> Drift | None:
    """``(ratio, rest, prior, scale)`` of the correction for the stones of ``X``, or None.

    None without a joint block or when its lots do not drift
    (``lot_concentration_`` infinite). See :func:`drift_extra`.
    """
    joint = getattr(classifier, "joint_", None)
    if joint is None:
        return None
    prior = joint.drift_prior()
    scale = drift_scale(classifier)
    if prior is None or scale is None:
        return None
    from ._stone import _joint_columns

    cols = _joint_columns(classifier.joint_features, X.shape[1])
    ratio, rest = joint.drift_terms(X[:, cols])
    return ratio, rest, prior, scale


def lot_drift(classifier: Any, option: str, valid: np.ndarray, oof_ll: np.ndarray, parcels: list[np.ndarray],
              zone_of_stone: np.ndarray, site_zone: np.ndarray, log_weight: np.ndarray, n_zones: int,
              prior_strength: float) -> Drift | None:
    """Choose the joint block's lot concentration on held-out single-lot parcels; its calibration pieces.

    ``option`` is the training option ``joint_lot_drift`` (``"auto"`` or ``"none"``).

    Sets ``classifier.joint_.lot_concentration_`` (``inf``: no drift) and
    returns the out-of-fold ``(ratio, rest, prior, scale)`` the tempering is
    then fitted with (None without a joint block or drift).
    """
    oof = classifier.__dict__.pop("oof_drift_", None)
    scale = drift_scale(classifier)
    joint = getattr(classifier, "joint_", None)
    if oof is None or scale is None or joint is None or option == "none":
        return None
    weights = joint.mixtures_.weights
    ratio, rest = oof[0][valid], oof[1][valid]
    c, _ = choose_lot_concentration(oof_ll, (ratio, rest, weights, scale), parcels, zone_of_stone,
                                    site_zone, log_weight, n_zones, prior_strength, DRIFT_GRID)
    joint.lot_concentration_ = c
    return None if not np.isfinite(c) else (ratio, rest, c * weights[None], scale)


def drift_extra(drift: Drift | None, rows: np.ndarray,
                starts: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray | None:
    """Return the joint block's lot-drift correction of parcels of stones ``rows`` (None without one).

    ``drift = (ratio, rest, prior, scale)``: per-stone pieces of
    :func:`._joint.drift_correction` (indexed by ``rows``), its Dirichlet
    parameters (1, n_sites, K) and the weight of the joint block's term in
    each site's stone log-likelihood (n_sites,). Returns (n_parcels, n_sites).
    """
    if drift is None:
        return None
    ratio, rest, prior, scale = drift
    return scale[None, :] * drift_correction(ratio[rows], rest[rows], prior, starts, weights)


def choose_lot_concentration(site_ll: np.ndarray, pieces: Drift, parcels: list[np.ndarray],
                             zone_of_stone: np.ndarray, site_zone: np.ndarray, log_weight: np.ndarray,
                             n_zones: int, prior_strength: float,
                             grid: tuple[float, ...]) -> tuple[float, dict[str, float]]:
    """Lot concentration of the joint block's drift correction, by held-out single-lot parcels.

    ``pieces = (ratio, rest, weights, scale)``: out-of-fold per-stone pieces,
    the sites' component weights (n_sites, K) and the term's weight per site;
    ``parcels``: stone indices of held-out single-lot parcels (those of two
    stones or more count). Each candidate ``c``, and ``inf`` (no drift), is
    scored by the parcels' zone log loss, each size at its own best
    tempering (at most 1, as :func:`._parcel_calibration._fit_tempering` fits it), every size
    weighing equally. Returns the chosen ``c`` and the losses (nats).
    """
    ratio, rest, weights, scale = pieces
    parcels = [p for p in parcels if len(p) > 1]
    if not parcels:
        return float("inf"), {}
    rows, starts, sizes = stack_parcels(parcels)
    truth = zone_of_stone[rows[starts]]
    ones = np.ones(len(rows))
    losses: dict[str, float] = {}
    for c in (float("inf"), *grid):
        extra = (None if not np.isfinite(c)
                 else drift_extra((ratio, rest, c * weights[None], scale), rows, starts))
        zone_ll = zone_evidence(site_ll[rows], starts, ones, site_zone, log_weight, n_zones, prior_strength,
                                one_site_extra=extra)[0]
        centred = zone_ll - zone_ll.max(axis=1, keepdims=True)
        total = []
        for n in np.unique(sizes):
            on = sizes == n
            cc, t = centred[on], truth[on]

            def size_loss(tau: float, cc: np.ndarray = cc, t: np.ndarray = t) -> float:
                return float(-log_softmax(tau * cc, axis=1)[np.arange(len(t)), t].mean())

            total.append(minimize_scalar(size_loss, bounds=(0.02, 1.0), method="bounded",
                                         options={"xatol": 1e-3}).fun)
        losses[str(c)] = float(np.mean(total))
    best = min(losses, key=lambda k: losses[k])
    logger.info("joint block: lot concentration %s chosen on %d held-out single-lot parcels (losses %s)",
                best, len(parcels), {k: round(v, 4) for k, v in losses.items()})
    return float(best), losses
