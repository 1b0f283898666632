"""Why a parcel got its verdict: site shares with intervals, and the fields that move the evidence.

Two explanations an expert reads beside a verdict (issue 12, "why in the report"):

**Site shares with intervals** (:func:`site_share_intervals`). Under its
declared (or best) zone a parcel is a mixture of the zone's sites; the parcel
layer (:func:`._parcel.zone_evidence`) weighs two hypotheses equally a
priori: "one site" (production shares as its prior) and "several sites"
(Dirichlet prior ``a`` around the production shares). The posterior of the
shares used here follows the same two hypotheses:

- "several sites": the marginal Beta of the Dirichlet posterior ``a + c``,
  ``c`` the expected stone counts per site at the parcel's MAP shares,
  deflated to the effective sample size ``n tau(n) / tau0 = n / (1 + rho (n -
  1))`` of the parcel tempering, so that the interval carries the lot-to-lot
  variation the parcel layer was calibrated for rather than ``n`` independent
  draws;
- "one site ``s``": a point mass at ``pi = e_s``;
- their posterior weights are the tempered (``tau(n)``) likelihoods of the
  hypotheses, as in the zone evidence.

The marginal of a share is then a mixture of point masses at 0 and 1 and a
Beta; the interval is its equal-tailed ``level`` interval (it reaches 0 or
1 exactly when a point mass holds more than the tail probability). The
reported share is the posterior mean. Coverage is measured on SYNTHETIC
export parcels with known composition (tests/model/test_explain.py,
benchmarks/bench_parcels.py).

**Per-field evidence** (:func:`parcel_field_evidence`). For each stone and
field, the field's own log10 likelihood ratio of the target zone against the
alternative zone (the novelty scorer's per-field site densities mixed over
each zone's sites with the production weights), summed over the parcel's
stones with their weights. It is a one-field-at-a-time view (which fields
weigh most), not an exact decomposition of the classifier's output; each
field's share is its absolute sum over the sum of absolute sums.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import logsumexp
from scipy.stats import beta as beta_dist

from ._parcel import _log_dirichlet

__all__ = ["SiteShares", "add_zone_field_sums", "explain_fields", "field_evidence_from_sums", "field_text",
           "parcel_field_evidence", "site_share_intervals", "sites_records", "sites_text"]

_LN10 = np.log(10.0)
#: Stones per block of the per-field evidence (the terms are stones x fields x sites).
_CHUNK = 4096


@dataclass
class SiteShares:
    """Posterior site shares of every parcel under its target zone.

    Attributes
    ----------
    mean, lo, hi : ndarray of shape (n_parcels, n_sites)
        Posterior mean share and the interval bounds (0 outside the target zone).
    p_one_site : ndarray of shape (n_parcels,)
        Posterior probability that the parcel's stones come from one site.
    level : float
        Interval level.
    in_zone : ndarray of bool, shape (n_parcels, n_sites)
        The sites of each parcel's target zone.
    """

    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    p_one_site: np.ndarray
    level: float
    in_zone: np.ndarray


def _mixture_quantile(q: float, p0: np.ndarray, p_beta: np.ndarray, a: np.ndarray, b: np.ndarray
                      ) -> np.ndarray:
    """Quantile ``q`` of ``p0 delta_0 + p_beta Beta(a, b) + (1 - p0 - p_beta) delta_1``, elementwise."""
    out = np.ones_like(a)
    at_zero = q <= p0
    in_beta = ~at_zero & (q <= p0 + p_beta) & (p_beta > 0)
    out[at_zero] = 0.0
    if in_beta.any():
        u = np.clip((q - p0[in_beta]) / p_beta[in_beta], 0.0, 1.0)
        out[in_beta] = beta_dist.ppf(u, a[in_beta], b[in_beta])
    return out


def _laplace_variance(evidence: np.ndarray, density: np.ndarray, starts: np.ndarray, weights: np.ndarray,
                      shares: np.ndarray, prior: np.ndarray, in_zone: np.ndarray, target: np.ndarray,
                      site_zone: np.ndarray) -> np.ndarray:
    """Posterior variance of each share at the MAP (Laplace: inverse Hessian in the free coordinates).

    The log-likelihood ``sum_i w_i log sum_s pi_s e_is`` has Hessian ``-D^T W D``
    (``D_is = (e_is - e_iK) / density_i``, against the zone's last site); the
    Dirichlet prior adds ``-(a_s - 1) / pi_s^2``. Sites outside the zone get 0.
    All parcels of one target zone at once (stacked matrices).
    """
    n_parcels, n_sites = shares.shape
    out = np.zeros((n_parcels, n_sites))
    g_all = evidence / density[:, None]
    for z in np.unique(target):
        idx = np.flatnonzero(site_zone == z)
        rows = np.flatnonzero(target == z)
        if len(idx) < 2 or not len(rows):
            continue
        d = g_all[:, idx[:-1]] - g_all[:, idx[-1:]]
        outer = np.add.reduceat((weights[:, None, None] * d[:, :, None]) * d[:, None, :], starts,
                                axis=0)[rows]
        pi = np.maximum(shares[np.ix_(rows, idx)], 1e-9)
        extra = np.maximum(prior[np.ix_(rows, idx)] - 1.0, 0.0) / pi**2
        info = outer + extra[:, -1, None, None]
        info[:, np.arange(len(idx) - 1), np.arange(len(idx) - 1)] += extra[:, :-1]
        cov = np.linalg.pinv(info)
        jac = np.vstack([np.eye(len(idx) - 1), -np.ones((1, len(idx) - 1))])
        full = np.einsum("sa,pab,tb->pst", jac, cov, jac)
        out[np.ix_(rows, idx)] = np.clip(np.diagonal(full, axis1=1, axis2=2), 1e-12, 0.25)
    return out


def site_share_intervals(evidence: np.ndarray, site_ll: np.ndarray, starts: np.ndarray, weights: np.ndarray,
                         site_zone: np.ndarray, log_weight: np.ndarray, target: np.ndarray,
                         shares: np.ndarray, fit_loglik: np.ndarray, *, prior_strength: float,
                         tau: np.ndarray, deflate: np.ndarray, level: float = 0.9,
                         one_site: bool = True) -> SiteShares:
    """Site shares of every parcel under its target zone, with ``level`` intervals (module docstring).

    Parameters
    ----------
    evidence : ndarray of shape (n_stones, n_sites)
        ``exp(l_is - m_i)`` (stones sorted by parcel), as the parcel layer prepares it.
    site_ll : ndarray of shape (n_stones, n_sites)
        Stone site log-likelihoods ``l_is`` in the same order.
    starts : ndarray of shape (n_parcels,)
        First stone of each parcel.
    weights : ndarray of shape (n_stones,)
        Stones each row stands for.
    site_zone, log_weight : ndarray of shape (n_sites,)
        Zone of each site and its within-zone log production weight.
    target : ndarray of int, shape (n_parcels,)
        Zone each parcel is explained under (declared, else best).
    shares : ndarray of shape (n_parcels, n_sites)
        MAP shares of the target zone's mixture (0 elsewhere).
    fit_loglik : ndarray of shape (n_parcels,)
        Log-likelihood of the target zone's mixture at those shares.
    prior_strength : float
        Pseudo-stones of the share prior (``ParcelCalibration.prior_strength``).
    tau : ndarray of shape (n_parcels,)
        Tempering ``tau(n)`` of each parcel.
    deflate : ndarray of shape (n_parcels,)
        Effective stones per stone, ``tau(n) / tau0``.
    level : float
        Interval level.
    """
    n_parcels, n_sites = shares.shape
    sizes = np.diff(np.append(starts, evidence.shape[0]))
    parcel = np.repeat(np.arange(n_parcels), sizes)
    in_zone = site_zone[None, :] == np.asarray(target)[:, None]
    k_sites = in_zone.sum(axis=1, keepdims=True)
    w_site = np.exp(log_weight)[None, :]
    prior = np.where(in_zone, 1.0 + prior_strength * w_site * k_sites, 1.0)
    own = np.where(in_zone, shares, 0.0)
    density = np.maximum((np.take(own, parcel, axis=0) * evidence).sum(axis=1), 1e-300)
    counts = own * np.add.reduceat(evidence * (weights / density)[:, None], starts, axis=0)
    # "Several sites": Chib's identity, as the zone evidence computes it.
    several = (fit_loglik + _log_dirichlet(own, prior, in_zone)
               - _log_dirichlet(own, np.where(in_zone, prior + counts, 1.0), in_zone))
    # "One site s": the parcel's summed site log-likelihood plus the site's log production weight.
    finite_ll = np.where(np.isfinite(site_ll), site_ll, -1e300)
    one = np.add.reduceat(weights[:, None] * finite_ll, starts, axis=0) + log_weight[None, :]
    one = np.where(in_zone, one, -np.inf)
    hyp = np.concatenate([one, several[:, None]], axis=1)
    scaled = np.asarray(tau, dtype=float)[:, None] * (hyp - hyp.max(axis=1, keepdims=True))
    scaled = np.where(np.isfinite(hyp), scaled, -np.inf)
    post = np.exp(scaled - logsumexp(scaled, axis=1, keepdims=True))
    # A zone with a single site: that site, for certain.
    single = k_sites[:, 0] <= 1
    p_one = np.where(in_zone, post[:, :n_sites], 0.0) if one_site else np.zeros((n_parcels, n_sites))
    p_several = np.where(single, 0.0, post[:, n_sites] if one_site else 1.0)
    p_one = np.where(single[:, None], in_zone.astype(float), p_one)
    var = _laplace_variance(evidence, density, starts, weights, own, prior, in_zone, np.asarray(target),
                            site_zone)
    var = var / np.maximum(np.asarray(deflate, dtype=float), 1e-12)[:, None]
    # Per-site Beta matched to the share and its (deflated) Laplace variance.
    m_ = np.clip(own, 1e-6, 1 - 1e-6)
    conc = np.maximum(m_ * (1 - m_) / np.maximum(var, 1e-12) - 1.0, 1e-3)
    alpha, b = m_ * conc, (1 - m_) * conc
    alpha0 = alpha + b
    p_one_total = p_one.sum(axis=1, keepdims=True)
    p_at_zero = p_one_total - p_one  # another single site holds the whole parcel
    p_beta = np.broadcast_to(p_several[:, None], alpha.shape)
    mean = np.where(in_zone, p_one + p_beta * alpha / np.maximum(alpha0, 1e-300), 0.0)
    tail = 0.5 * (1.0 - level)
    lo = np.where(in_zone, _mixture_quantile(tail, p_at_zero, p_beta, alpha, b), 0.0)
    hi = np.where(in_zone, _mixture_quantile(1.0 - tail, p_at_zero, p_beta, alpha, b), 0.0)
    return SiteShares(mean=mean, lo=np.minimum(lo, mean), hi=np.maximum(hi, mean),
                      p_one_site=p_one.sum(axis=1), level=level, in_zone=in_zone)


def sites_text(shares: SiteShares, site_names: Sequence[str], *, minimum: float = 0.05) -> list[str]:
    """Per parcel, ``"Nola 55% (35-75%); Berberati 30% (12-50%)"``: the sites with a share >= ``minimum``.

    Sites are in decreasing share; the figures are percentages of the parcel's
    own-zone stones with the interval of :func:`site_share_intervals`.
    """
    # One stable sort of every parcel's row at once, then plain Python floats (no array call per parcel).
    order = np.argsort(-shares.mean, axis=1, kind="stable").tolist()
    means, los, his = shares.mean.tolist(), (100 * shares.lo).tolist(), (100 * shares.hi).tolist()
    return ["; ".join(f"{site_names[s]} {row[s]:.0%} ({lo[s]:.0f}-{hi[s]:.0f}%)"
                      for s in idx if row[s] >= minimum)
            for idx, row, lo, hi in zip(order, means, los, his, strict=True)]


def parcel_field_evidence(model: Any, X: np.ndarray, parcel: np.ndarray, target: np.ndarray,
                          other: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Sum each field's log10 evidence for a parcel's target zone against its alternative zone.

    Parameters
    ----------
    model : FootprintModel
        The model (its novelty scorer holds the per-field site densities).
    X : ndarray of shape (n_stones, n_features)
        :meth:`FootprintModel.matrix` of the stones.
    parcel : ndarray of int, shape (n_stones,)
        Parcel index (0..n_parcels-1) of each stone; any order.
    target, other : ndarray of int, shape (n_parcels,)
        Zone index each parcel is explained under, and the alternative zone
        (``declared``/``best_zone`` and ``alternative_zone`` of the results).
    weights : ndarray of shape (n_stones,), optional
        Stones each row stands for (default 1).

    Returns
    -------
    ndarray of shape (n_parcels, n_features)
        Positive: the field supports the target zone. Unmeasured fields add 0.
    """
    parcel = np.asarray(parcel, dtype=int)
    target, other = np.asarray(target, dtype=int), np.asarray(other, dtype=int)
    n_parcels = len(target)
    w = np.ones(len(X)) if weights is None else np.asarray(weights, dtype=float)
    site_zone, log_weight = model.layout.site_zone, model.layout.log_weight
    out = np.zeros((n_parcels, X.shape[1]))
    stone_t, stone_o = target[parcel], other[parcel]
    pairs = np.unique(np.stack([stone_t, stone_o], axis=1), axis=0)
    for start in range(0, len(X), _CHUNK):
        part = slice(start, start + _CHUNK)
        terms = model.novelty.feature_terms(X[part]) + log_weight[None, None, :]
        contrib = np.zeros(terms.shape[:2])
        for t, o in pairs:
            rows = (stone_t[part] == t) & (stone_o[part] == o)
            if not rows.any() or t == o:
                continue
            sub = terms[rows]
            with np.errstate(invalid="ignore"):
                lt = logsumexp(sub[:, :, site_zone == t], axis=2)
                lo = logsumexp(sub[:, :, site_zone == o], axis=2)
            contrib[rows] = np.nan_to_num((lt - lo) / _LN10, nan=0.0, posinf=0.0, neginf=0.0)
        contrib *= w[part, None]
        for j in range(X.shape[1]):
            out[:, j] += np.bincount(parcel[part], weights=contrib[:, j], minlength=n_parcels)
    return out


def add_zone_field_sums(terms: np.ndarray, seen: np.ndarray, j: int,
                        field_sums: tuple[np.ndarray, np.ndarray, np.ndarray], log_weight: np.ndarray,
                        site_zone: np.ndarray) -> None:
    """Add field ``j``'s weighted zone log densities of the stones ``seen`` to their parcels' sums.

    ``out[p, j, z] += sum_i w_i logsumexp_{s in z} (t_is + log_weight_s)`` over
    parcel ``p``'s stones that have the field: its per-site terms mixed over
    the zone's sites with the production weights, as
    :func:`parcel_field_evidence` mixes them. The evidence is linear in these
    sums (:func:`field_evidence_from_sums`), so they are reduced per parcel
    as the stone evidence produces each field's terms, and no stones x fields
    x sites array is kept.

    Parameters
    ----------
    terms : ndarray of shape (n_seen, n_sites)
        Field ``j``'s per-site log-density terms of the stones that have it.
    seen : ndarray of bool, shape (n_stones,)
        Which stones have the field.
    j : int
        Field column.
    field_sums : tuple
        ``(parcel, weights, out)``: parcel code and weight of every stone,
        and the sums, shape (n_parcels, n_features, n_zones), updated in place.
    log_weight, site_zone : ndarray of shape (n_sites,)
        Within-zone log production weight and zone of each site.
    """
    parcel, weights, out = field_sums
    codes, w = parcel[seen], weights[seen]
    for z in range(out.shape[2]):
        idx = np.flatnonzero(site_zone == z)
        if not len(idx):
            continue
        part = terms[:, idx] + log_weight[idx]
        top = part.max(axis=1)
        np.subtract(part, top[:, None], out=part)
        np.exp(part, out=part)
        zone_log = np.log(part.sum(axis=1)) + top
        out[:, j, z] += np.bincount(codes, weights=w * zone_log, minlength=out.shape[0])


def field_evidence_from_sums(sums: np.ndarray, target: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Per-field log10 evidence of each parcel from :func:`add_zone_field_sums`' sums (n_parcels, n_features).

    Equal to :func:`parcel_field_evidence` to rounding; 0 where the target is the other zone.
    """
    rows = np.arange(len(target))
    evidence = (sums[rows, :, target] - sums[rows, :, other]) / _LN10
    evidence[np.asarray(target) == np.asarray(other)] = 0.0
    return evidence


def field_text(evidence: np.ndarray, names: Sequence[str], target_names: Sequence[str],
               other_names: Sequence[str], *, k: int = 3) -> list[str]:
    """Per parcel, the ``k`` fields with the largest share of the summed absolute per-field evidence.

    ``"log1p_n_total_ppm 48% (CAR-West); morphology 21% (CAR-East)"``: each
    field's share of ``sum_j |e_j|`` and the zone it supports.
    """
    size = np.abs(evidence)
    totals = [float(size[i].sum()) for i in range(len(size))]  # each row summed as one row (same rounding)
    order = np.argsort(-size, axis=1, kind="stable")[:, :k].tolist()
    rows, sizes = evidence.tolist(), size.tolist()
    out = []
    for row, mag, idx, total, t, o in zip(rows, sizes, order, totals, target_names, other_names, strict=True):
        if not total > 0:
            out.append("")
            continue
        out.append("; ".join(f"{names[j]} {mag[j] / total:.0%} ({t if row[j] > 0 else o})"
                             for j in idx if row[j] != 0))
    return out


def sites_records(shares: SiteShares, site_names: Sequence[str]
                  ) -> list[list[tuple[str, float, float, float]]]:
    """Per parcel, ``(site, share, lo, hi)`` for every site of its target zone, in decreasing share."""
    # Sites outside the zone sort last (stable: ties keep site order, as sorting the zone's sites alone).
    key = np.where(shares.in_zone, -shares.mean, np.inf)
    order = np.argsort(key, axis=1, kind="stable").tolist()
    counts = shares.in_zone.sum(axis=1).tolist()
    names = [str(n) for n in site_names]
    means, los, his = shares.mean.tolist(), shares.lo.tolist(), shares.hi.tolist()
    return [[(names[s], row[s], lo[s], hi[s]) for s in idx[:c]]
            for idx, c, row, lo, hi in zip(order, counts, means, los, his, strict=True)]


def explain_fields(model: Any, X: np.ndarray, parcel: np.ndarray, results: Any,
                   weights: np.ndarray | None = None, *, k: int = 3) -> tuple[np.ndarray, list[str]]:
    """Return the per-field evidence of assessed parcels and their top fields (``top_fields``).

    Parameters
    ----------
    model : FootprintModel
        The model that assessed the parcels.
    X : ndarray of shape (n_stones, n_features)
        :meth:`FootprintModel.matrix` of the assessed stones.
    parcel : ndarray of int, shape (n_stones,)
        Row of ``results`` of each stone.
    results : DataFrame
        The parcel results (``declared_zone``, ``best_zone``, ``alternative_zone``).
    weights : ndarray of shape (n_stones,), optional
        Stones each row stands for.
    k : int
        Fields named in each text.

    Returns
    -------
    evidence : ndarray of shape (n_parcels, n_features)
        Summed log10 evidence per field for the declared (else best) zone
        against the alternative zone (:func:`parcel_field_evidence`).
    top_fields : list of str
        :func:`field_text` of each parcel (``""`` when no field carries evidence).
    """
    zone_index = {z: i for i, z in enumerate(model.zones)}
    declared = results["declared_zone"].tolist()
    best = results["best_zone"].tolist()
    target = np.array([zone_index.get(d, zone_index.get(b, 0)) if isinstance(d, str) else
                       zone_index.get(b, 0) for d, b in zip(declared, best, strict=True)], dtype=int)
    other = np.array([zone_index.get(a, t) for a, t in zip(results["alternative_zone"].tolist(), target,
                                                           strict=True)], dtype=int)
    evidence = parcel_field_evidence(model, X, parcel, target, other, weights)
    names = [model.zones[t] for t in target], [model.zones[o] for o in other]
    return evidence, field_text(evidence, model.feature_names, names[0], names[1], k=k)
