"""Field patterns of the unknown-origin test: nulls for stones and parcels described on fewer fields.

See :mod:`._novelty` (section "Stones measured on fewer fields"): a stone's
nonconformity is put on the reference scale by its pattern of observed
fields (:func:`quantile_map` against the pattern's null, built from held-out
reference stones measured on all the pattern's fields), and parcels described
by their assortment only get parcel nulls of their own
(:func:`fit_pattern_parcel_nulls`).
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

__all__ = ["Scale", "common_patterns", "fit_pattern_parcel_nulls", "null_from_terms", "quantile_map",
           "simulated_nulls", "thin"]

#: Features of an assortment cell (size class, quality, colour) and of its mean mass per stone.
ASSORTMENT_FEATURES = ("sieve_mm", "quality", "colour")
MASS_FEATURE = "log10_mass_ct"

#: Held-out stones whose per-field terms are kept for patterns not stored at fit.
KEEP_TERMS = 2000
#: Simulated nulls of patterns not stored, per scorer, kept between batches (never saved with the model).
SIMULATED: weakref.WeakKeyDictionary[Any, dict[bytes, np.ndarray]] = weakref.WeakKeyDictionary()
CACHE_PATTERNS = 4096
#: Order statistics kept of each stored pattern null (enough for a quantile map).
STORED_QUANTILES = 4000
#: Stones measured on every field of a pattern needed to build its null from them alone.
MIN_COMPLETE = 50
#: Quantiles that measure a tail's spread when a score lies beyond its pattern's null.
TAIL_QUANTILES = (0.01, 0.10, 0.90, 0.99)


def common_patterns(names: list[str]) -> np.ndarray:
    """Return the assortment field patterns whose novelty null training stores (bool rows over ``names``).

    The assortment fields (size class x quality x colour) and the assortment
    with carats (mean mass per stone x quality x colour: the features read a
    sieve class only for a stone without a mass). Stones described field by
    field have the reference's own patterns, stored when frequent (see
    :meth:`NoveltyScorer.fit`). Fields the model lacks are left out.
    """
    names = list(names)
    assortment = np.isin(names, ASSORTMENT_FEATURES)
    with_mass = np.isin(names, [MASS_FEATURE, *ASSORTMENT_FEATURES[1:]])
    return np.vstack([assortment, with_mass])


def fit_pattern_parcel_nulls(scorer: Any, valid: np.ndarray, lots: np.ndarray,
                             site_of_stone: np.ndarray, site_zone: np.ndarray, log_weight: np.ndarray,
                             sizes: np.ndarray, per_zone: list[int], seed: int | None) -> None:
    """Parcel unknown-origin nulls for parcels described on a named pattern only (assortments).

    The parcel layer's null (:mod:`._parcel_calibration`) is the mean
    standardised nonconformity of genuine parcels simulated from held-out
    reference lots with all their fields. Standardising each stone by its
    pattern matches the stones' distribution, not how alike the stones of a
    parcel are: on three fields the stones of one site score alike, so a
    parcel's mean varies more than on all fields. The same simulated parcels
    (:func:`._parcel_calibration.simulate_parcels`, a generator of their own)
    are therefore scored on each named pattern's fields, drawn from the
    reference stones that have them (a reference stone with a mass has no
    sieve feature), giving
    ``parcel_pattern_nulls_[k][size]``, used for parcels whose stones nearly
    all have that pattern (:meth:`NoveltyScorer.parcel_patterns`).

    Parameters
    ----------
    scorer : NoveltyScorer
        Fitted with ``patterns`` (its ``pattern_oof_``).
    valid : ndarray of bool, shape (n_samples,)
        Reference stones with held-out stone evidence (the parcel layer's).
    lots, site_of_stone : ndarray of shape (n_valid,)
        Lot and site of the valid stones.
    site_zone, log_weight : ndarray of shape (n_sites,)
        Zone and within-zone log production share of each site.
    sizes, per_zone :
        The parcel layer's tabulated sizes and genuine parcels per zone.
    seed : int or None
        Seed of the simulation.
    """
    from ._parcel_calibration import simulate_parcels

    scores = np.asarray(scorer.pattern_oof_, dtype=float)[:, valid]
    rng = np.random.default_rng(None if seed is None else [int(seed), 14, 1])
    weight = np.exp(log_weight)
    nulls: list[list[np.ndarray]] = []
    for k in range(len(scores)):
        # Parcels of stones that have the pattern's fields, whole (sub-)lots as the parcel layer draws them:
        # a parcel of n assortment stones is compared with n reference stones scored on those fields.
        has = np.flatnonzero(np.isfinite(scores[k]))
        lots_k, site_k = lots[has], site_of_stone[has]
        zone_k = site_zone[site_k]
        nulls.append([])
        for size, count in zip(np.asarray(sizes, dtype=int), per_zone, strict=True):
            parts = []
            for z in np.unique(zone_k):
                parcels = simulate_parcels(lots_k, zone_k, site_k, int(z), int(size), int(count), rng, weight)
                rows = np.concatenate(parcels)
                starts = np.concatenate([[0], np.cumsum([len(p) for p in parcels])[:-1]])
                parts.append(np.add.reduceat(scores[k, has[rows]], starts) / np.diff([*starts, len(rows)]))
            nulls[k].append(np.sort(np.concatenate(parts)).astype(np.float32))
    scorer.parcel_pattern_sizes_ = np.asarray(sizes, dtype=float)
    scorer.parcel_pattern_nulls_ = nulls


def thin(values: np.ndarray, size: int = STORED_QUANTILES) -> np.ndarray:
    """At most ``size`` evenly spaced order statistics of a sorted sample (min and max kept), float32."""
    if len(values) > size:
        values = values[np.unique(np.round(np.linspace(0, len(values) - 1, size)).astype(int))]
    return np.asarray(values, dtype=np.float32)


class Scale:
    """A sorted sample with its plotting positions and tail quantiles (the target of a quantile map)."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = np.asarray(values, dtype=float)
        self.positions = (np.arange(len(self.values)) + 0.5) / len(self.values)
        self.tails = np.interp(TAIL_QUANTILES, self.positions, self.values)


def quantile_map(values: np.ndarray, source: np.ndarray, target: np.ndarray | Scale) -> np.ndarray:
    """Map ``values`` from the sorted sample ``source`` onto the sorted sample ``target`` by quantile.

    Piecewise linear inside ``source``'s range; beyond it, linear with the
    slope that maps the tail's spread (1st to 10th, 90th to 99th percentile)
    of ``source`` onto ``target``'s.
    """
    to = target if isinstance(target, Scale) else Scale(target)
    pos_s = (np.arange(len(source)) + 0.5) / len(source)
    out = np.interp(np.interp(values, source, pos_s), to.positions, to.values)
    qs = np.interp(TAIL_QUANTILES, pos_s, source)
    qt = to.tails
    hi_slope = (qt[3] - qt[2]) / max(qs[3] - qs[2], 1e-12)
    lo_slope = (qt[1] - qt[0]) / max(qs[1] - qs[0], 1e-12)
    top, bottom = values > source[-1], values < source[0]
    out[top] = np.interp(pos_s[-1], to.positions, to.values) + hi_slope * (values[top] - source[-1])
    out[bottom] = np.interp(pos_s[0], to.positions, to.values) + lo_slope * (values[bottom] - source[0])
    return out


def quantile_map_groups(values: np.ndarray, group: np.ndarray, sources: list[np.ndarray | None],
                        target: Scale, *, min_size: int = 10) -> np.ndarray:
    """:func:`quantile_map` of each group of ``values`` from its own sorted sample onto ``target``, at once.

    The same numbers as calling :func:`quantile_map` group by group (to
    rounding), but one sorted search per group and every other step over all
    values together: a batch of stones with hundreds of field patterns paid
    a dozen array calls per pattern.

    Parameters
    ----------
    values : ndarray of shape (n,)
        Values to map.
    group : ndarray of int, shape (n,)
        Index into ``sources`` of each value.
    sources : list of sorted ndarray or None
        Each group's sample; values of a group whose sample is None or
        shorter than ``min_size`` are returned unchanged.
    target : Scale
        The scale every group is mapped onto.
    """
    values = np.asarray(values, dtype=float)
    out = values.copy()
    sizes = np.array([0 if s is None or len(s) < min_size else len(s) for s in sources], dtype=np.intp)
    use = sizes > 0
    if not use.any() or not len(values):
        return out
    empty = np.zeros(0)
    arrays = [np.asarray(s, dtype=float) if u and s is not None else empty
              for s, u in zip(sources, use, strict=True)]
    stacked = np.concatenate(arrays)
    offsets = np.zeros(len(sources), dtype=np.intp)
    offsets[use] = np.concatenate([[0], np.cumsum(sizes[use])[:-1]])
    order = np.argsort(group, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(group, minlength=len(sources)))])
    # Per group: its last sample value <= each value (np.interp's bracket), then everything at once.
    in_order = values[order]
    found = np.zeros(len(values), dtype=np.intp)
    for k in np.flatnonzero(use & (bounds[1:] > bounds[:-1])).tolist():
        a, b = bounds[k], bounds[k + 1]
        found[a:b] = arrays[k].searchsorted(in_order[a:b], side="right")
    below = np.empty(len(values), dtype=np.intp)
    below[order] = found - 1
    rows = use[group]
    x, g = values[rows], group[rows]
    n, off, j = sizes[g], offsets[g], below[rows]
    first, last = stacked[off], stacked[off + n - 1]
    jj = np.clip(j, 0, n - 2)
    xl, xr = stacked[off + jj], stacked[off + jj + 1]
    fl, fr = (jj + 0.5) / n, (jj + 1.5) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        u = (fr - fl) / (xr - xl) * (x - xl) + fl
    u = np.where((x == xl) | (j >= n - 1), (np.minimum(j, n - 1) + 0.5) / n, u)
    u = np.where(x < first, 0.5 / n, u)
    mapped = np.interp(u, target.positions, target.values)
    # Beyond a group's sample: linear, the tail's spread rescaled (as quantile_map).
    # Each sample's tail quantiles (np.interp at TAIL_QUANTILES over positions (i + 0.5) / n), all at once.
    m = np.maximum(sizes, 2)[:, None].astype(float)
    t = np.asarray(TAIL_QUANTILES)[None, :] * m - 0.5
    base = np.clip(np.floor(t), 0, m - 2).astype(np.intp)
    pos = np.clip(offsets[:, None] + base, 0, len(stacked) - 2)
    frac = np.clip(t - base, 0.0, 1.0)
    qs = stacked[pos] + frac * (stacked[pos + 1] - stacked[pos])
    qs = np.where(use[:, None], qs, 0.0)
    qt = target.tails
    hi_slope = (qt[3] - qt[2]) / np.maximum(qs[:, 3] - qs[:, 2], 1e-12)
    lo_slope = (qt[1] - qt[0]) / np.maximum(qs[:, 1] - qs[:, 0], 1e-12)
    top, bottom = x > last, x < first
    at_top = np.interp((n - 0.5) / n, target.positions, target.values)
    at_bottom = np.interp(0.5 / n, target.positions, target.values)
    mapped = np.where(top, at_top + hi_slope[g] * (x - last), mapped)
    mapped = np.where(bottom, at_bottom + lo_slope[g] * (x - first), mapped)
    out[rows] = np.where(np.isnan(x), np.nan, mapped)
    return out


def null_from_terms(terms: np.ndarray, mask: np.ndarray, observed: np.ndarray | None = None,
                     filled: np.ndarray | None = None) -> np.ndarray:
    """Sorted scores of reference stones on the fields ``mask``: those measured on all of them.

    Reference stones lacking some of the pattern's fields would score on
    fewer fields than the stones the null is for; they are used only when
    fewer than ``MIN_COMPLETE`` stones have every field of the pattern.
    ``observed`` and ``filled`` (``terms`` with 0 for NaN) save work when
    many patterns are read from the same terms.
    """
    if observed is None:
        observed = np.isfinite(terms[:, :, 0])
    if filled is None:
        filled = np.nan_to_num(terms, nan=0.0)
    complete = observed[:, mask].all(axis=1)
    rows = complete if complete.sum() >= min(MIN_COMPLETE, len(terms)) else slice(None)
    sums = np.einsum("mfs,f->ms", filled[rows], mask.astype(filled.dtype))
    return np.sort(-sums.max(axis=1).astype(float))



def simulated_nulls(terms: np.ndarray, masks: np.ndarray) -> list[np.ndarray]:
    """Sorted nulls of several field patterns from held-out per-field terms, all at once.

    Parameters
    ----------
    terms : ndarray of shape (n, n_features, n_sites)
        Centred held-out per-field terms (NaN = not measured).
    masks : ndarray of bool, shape (n_patterns, n_features)
        The patterns.
    """
    observed = np.isfinite(terms[:, :, 0])
    n, n_features, n_sites = terms.shape
    # (stones x sites, features): the pattern sums of every site as one matrix product per chunk.
    filled = np.ascontiguousarray(np.nan_to_num(terms, nan=0.0).transpose(0, 2, 1)).reshape(-1, n_features)
    lacking = (~observed).astype(np.float32)
    out: list[np.ndarray] = []
    for start in range(0, len(masks), 256):
        m = np.asarray(masks[start:start + 256]).astype(np.float32)
        scores = -(filled @ m.T).reshape(n, n_sites, len(m)).max(axis=1).T.astype(float)
        complete = (lacking @ m.T).T == 0
        enough = complete.sum(axis=1) >= min(MIN_COMPLETE, n)
        # Stones lacking a field of the pattern leave its null (NaN sorts last), unless too few have all.
        scores[enough[:, None] & ~complete] = np.nan
        scores.sort(axis=1)
        counts = np.where(enough, complete.sum(axis=1), n)
        out += [scores[row, :counts[row]].copy() for row in range(len(m))]
    return out


