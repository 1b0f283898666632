"""Site-aware parcel likelihoods.

Stones of one parcel come from one site, so the likelihood of a parcel under
zone ``z`` is a mixture over the zone's sites of the product over stones::

    log p(parcel | z) = logsumexp_{s in z} [ log w_s + tau(n) * sum_i log p(x_i | s) ]

with ``w_s`` the share of the zone's reference lots that came from site ``s``
and ``log p(x | s) = log p(s | x) - log pi_s + const(x)`` from the calibrated
stone classifier (``pi_s`` = the classifier's training share of site ``s``;
``const(x)`` is the same for every zone and cancels in ratios).

``tau(n) = tau0 / (1 + rho (n - 1))`` guards against over-confidence that
compounds over stones: ``rho`` is an intra-lot correlation (the survey
"design effect"), both fitted on held-out reference parcels, so the parcel
log-likelihood ratios are calibrated on data rather than assumed.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax, logsumexp

__all__ = [
    "SiteLayout",
    "fit_parcel_tempering",
    "parcel_site_sums",
    "sample_lot_parcels",
    "tempering",
    "zone_loglik_from_sites",
]

#: Range of log tau0 searched (tau0 from 0.05 to 5).
_LOG_TAU0_RANGE = (float(np.log(0.05)), float(np.log(5.0)))


class SiteLayout:
    """Which zone each site belongs to, and the site priors and weights.

    Parameters
    ----------
    zones : list of str
        Reference zones, in output order.
    site_zone : ndarray of int, shape (n_sites,)
        Zone index of each site (classifier class order).
    log_prior : ndarray, shape (n_sites,)
        Log share of training stones per site (the classifier's prior).
    log_weight : ndarray, shape (n_sites,)
        Log within-zone site weight from reference lots (sums to 1 per zone).
    """

    def __init__(self, zones: list[str], site_zone: np.ndarray, log_prior: np.ndarray,
                 log_weight: np.ndarray) -> None:
        self.zones = list(zones)
        self.site_zone = np.asarray(site_zone, dtype=int)
        self.log_prior = np.asarray(log_prior, dtype=float)
        self.log_weight = np.asarray(log_weight, dtype=float)

    @property
    def n_zones(self) -> int:
        """Number of reference zones."""
        return len(self.zones)

    def stone_site_loglik(self, log_proba: np.ndarray) -> np.ndarray:
        """``log p(x | s)`` up to a per-stone constant, from classifier log-probabilities."""
        return log_proba - self.log_prior[None, :]

    def zone_logsumexp(self, per_site: np.ndarray) -> np.ndarray:
        """``logsumexp_{s in z}(log w_s + per_site[:, s])`` for every zone, shape (n, n_zones)."""
        out = np.empty((per_site.shape[0], self.n_zones))
        for z in range(self.n_zones):
            idx = self.site_zone == z
            out[:, z] = logsumexp(per_site[:, idx] + self.log_weight[idx], axis=1)
        return out


def tempering(sizes: np.ndarray, tau0: float, rho: float) -> np.ndarray:
    """Per-stone weight ``tau(n) = tau0 / (1 + rho (n - 1))`` for parcels of ``sizes`` stones."""
    sizes = np.asarray(sizes, dtype=float)
    return tau0 / (1.0 + rho * (sizes - 1.0))


def parcel_site_sums(site_loglik: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Sum stone site log-likelihoods per parcel (stones sorted by parcel), shape (n_parcels, n_sites)."""
    return np.add.reduceat(site_loglik, starts, axis=0)


def zone_loglik_from_sites(layout: SiteLayout, sums: np.ndarray, sizes: np.ndarray, tau0: float,
                           rho: float) -> np.ndarray:
    """Parcel log-likelihood per zone from per-site sums, shape (n_parcels, n_zones)."""
    tau = tempering(sizes, tau0, rho)[:, None]
    return layout.zone_logsumexp(tau * sums)


def sample_lot_parcels(
    lots: np.ndarray, sizes: tuple[int, ...], per_lot: int, rng: np.random.Generator,
    min_lot: int = 1,
) -> list[np.ndarray]:
    """Draw parcels of stones from single lots (index arrays).

    A parcel of ``n`` stones takes ``n`` different stones of one lot; a lot
    with fewer than ``n`` stones gives no parcel of that size. Repeating
    stones to fill it would count their evidence twice and teach the parcel
    tempering that large parcels are over-confident (with 40-stone lots,
    parcels of 50 padded with repeats made parcels of 25 under-confident).

    Parameters
    ----------
    lots : ndarray of shape (n_stones,)
        Lot label of each stone.
    sizes : tuple of int
        Parcel sizes to draw.
    per_lot : int
        Parcels per lot and size.
    rng : Generator
        Random source.
    min_lot : int
        Lots with fewer stones are skipped.
    """
    out: list[np.ndarray] = []
    _, codes = np.unique(np.asarray(lots, dtype=str), return_inverse=True)
    members = [np.flatnonzero(codes == k) for k in range(codes.max() + 1)] if len(codes) else []
    for idx in members:
        if len(idx) < min_lot:
            continue
        for size in sizes:
            if size > len(idx):
                continue
            for _ in range(per_lot):
                out.append(rng.choice(idx, size, replace=False))
    return out


def fit_parcel_tempering(layout: SiteLayout, site_loglik: np.ndarray, zone_of_stone: np.ndarray,
                         parcels: list[np.ndarray]) -> tuple[float, float]:
    """Fit ``tau0`` and ``rho`` minimising the held-out parcel log loss (equal zone priors).

    Parameters
    ----------
    layout : SiteLayout
        Sites and zones.
    site_loglik : ndarray of shape (n_stones, n_sites)
        Out-of-fold stone site log-likelihoods.
    zone_of_stone : ndarray of shape (n_stones,)
        True zone index of each stone.
    parcels : list of ndarray
        Stone indices of each held-out reference parcel (one lot each).

    Returns
    -------
    tau0, rho : float
        The fitted tempering; ``(1.0, 0.0)`` when there are no parcels.
    """
    if not parcels:
        return 1.0, 0.0
    sizes = np.array([len(p) for p in parcels])
    flat = np.concatenate(parcels)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    sums = parcel_site_sums(site_loglik[flat], starts)
    truth = zone_of_stone[flat[starts]]
    rows = np.arange(len(parcels))
    # Each parcel size counts equally, whatever the number of parcels drawn of it.
    _, inverse, counts = np.unique(sizes, return_inverse=True, return_counts=True)
    weight = 1.0 / counts[inverse]
    weight /= weight.sum()

    def unpack(theta: np.ndarray) -> tuple[float, float]:
        # Bounded: when every held-out parcel is right, the loss keeps falling as tau0 grows.
        log_tau0 = float(np.clip(theta[0], *_LOG_TAU0_RANGE))
        return float(np.exp(log_tau0)), float(0.5 * (1.0 + np.tanh(0.5 * theta[1])))

    def loss(theta: np.ndarray) -> float:
        tau0, rho = unpack(theta)
        ll = zone_loglik_from_sites(layout, sums, sizes, tau0, rho)
        return float(-(log_softmax(ll, axis=1)[rows, truth] * weight).sum())

    best = minimize(loss, x0=np.array([0.0, -4.0]), method="Nelder-Mead",
                    options={"xatol": 1e-3, "fatol": 1e-6, "maxiter": 400})
    return unpack(best.x)
