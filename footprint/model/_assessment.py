"""What an assessment of a parcel holds, and the per-parcel array helpers of :class:`FootprintModel`.

**Subsamples** (issue 14; :func:`_subsample`). A parcel of ``N`` stones of
which ``m`` were described (``assess_batch(sampling=...)``: ``total_carats /
described_carats`` from the parcels file) is NOT ``N`` independent stones:
the described stones estimate the full parcel's footprint, with the
sampling error of ``m`` stones. So:

- **point estimates the verdict reads as the full parcel's** are scaled to
  it: the zone log-likelihoods sum the described stones' with weights
  ``w_i s_i`` (``w_i`` stones per row, ``s_i`` its sampling weight) and are
  tempered at ``N = sum_i w_i s_i``, so the log10 LR, the posterior and the
  site shares estimate what the whole parcel would give (the LR's ``+-1``
  thresholds are about the parcel, not about how much of it was described);
- **tests and the foreign fraction** keep the described stones' sampling
  error: the mixed statistic, the foreign fraction's profile interval, the
  mean nonconformity and the population fit statistic are computed with the
  rows' weights normalised to the effective sample size ``n_eff = N^2 /
  sum_i w_i s_i^2`` (Kish; ``m`` when one sampling weight covers the parcel,
  so the described stones' own evidence), and their p-values are read from
  the genuine-parcel nulls at ``n_eff``, not ``N`` (a statistic of ``m``
  stones read against the null of ``N`` would never fire; inflated ``s``
  times it would fire on sampling noise). The minimum-size rule reads
  ``n_eff`` too; ``n_stones`` reports the described stones.

Assortments (cells of ``n`` stones; ``mean_mass=True`` when the cells carry
carats): the tests read each cell's size class, quality and colour, never
its mean mass (``_fit_patterns.sized_rows``): ``n`` stones put at one mass
are not ``n`` independent masses, and a subsample's cells are smaller than
the full parcel's (a one-stone cell's mean mass is its mass), so read as
masses the subsample and the full parcel would be tested on different
fields. The zone evidence reads the mean mass. The population fit test of
a parcel described on the assortment's fields is read against a null
tabulated on those fields (``_fit_patterns.AssortmentFit``, built at
training), not the all-field one, against which a quarter of an
out-of-reference parcel's stones had no power.

The finite-population correction: the subsample's fraction estimate differs
from the one the full parcel would give by an error of variance ``(1 - m /
N) V / m`` (``V`` the per-stone variance; the stones not described are what
is uncertain), and the full parcel's own interval has variance ``V / N``; an
interval for the parcel's foreign fraction with the meaning of the full
parcel's therefore has variance ``(1 - m/N) V/m + V/N = V / m``: the profile
interval of the described stones, as built. (Correcting it by ``1 - m/N``
alone would give a whole parcel described in full a zero-width interval.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import InputError, Problem

__all__ = ["ParcelAssessment"]


@dataclass
class ParcelAssessment:
    """The assessment of one parcel.

    Attributes
    ----------
    parcel_id : str
        Parcel identifier.
    n_stones : int
        Stones assessed.
    declared_zone : str or None
        Zone declared on the KP certificate, if any.
    verdict : str
        consistent | inconsistent | mixed | unknown_origin | inconclusive | assigned.
    verdict_code : str
        Verdict plus reason (e.g. ``inconclusive.too_few_stones``).
    wording : str
        The verdict as an expert would word it (English).
    best_zone : str
        Zone with the highest posterior.
    posterior : dict
        Zone -> posterior probability (zone priors from the thresholds).
    log10_lr : float
        log10 likelihood ratio of the declared zone against the best
        alternative (best against second best when nothing is declared).
    foreign_fraction, foreign_fraction_lo, foreign_fraction_hi : float
        Estimated share of stones not from the declared (or best) zone, and
        its interval (``mixed_interval_level``, 90% by default).
    novelty_p : float
        Parcel-level unknown-origin p-value (low = unlike every reference zone).
    zones_consistent : list of str
        Zones whose likelihood is within the inconsistency threshold of the best.
    stones : DataFrame
        Per stone: sample_id, best_zone, p_<zone>..., novelty_p, top_features.
    feature_weights : dict
        Feature -> summed naive log10 evidence for the declared (or best)
        zone against the best alternative (positive = supports the declared zone).
    thresholds_version : str
        Version of the thresholds that made the verdict.
    mixed_p : float
        p-value of the foreign-stone test (low = stones foreign to the declared zone).
    flags : list of str
        Every flag raised (mixed, inconsistent, unknown_origin).
    site_shares : dict
        Site of the declared (or best) zone -> estimated share of the parcel
        with its approximate 90% interval ``(share, lo, hi)`` (Laplace, on the
        zone's mixture fit).
    feature_shares : dict
        Feature -> its share of the summed absolute per-field evidence
        (``feature_weights`` normalised; which fields move the evidence most).
    """

    parcel_id: str
    n_stones: int
    declared_zone: str | None
    verdict: str
    verdict_code: str
    wording: str
    best_zone: str
    posterior: dict[str, float]
    log10_lr: float
    foreign_fraction: float
    foreign_fraction_lo: float
    foreign_fraction_hi: float
    novelty_p: float
    zones_consistent: list[str]
    stones: pd.DataFrame
    feature_weights: dict[str, float] = field(default_factory=dict)
    thresholds_version: str = ""
    mixed_p: float = 1.0
    flags: list[str] = field(default_factory=list)
    site_shares: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    feature_shares: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping (stones as a list of records)."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "stones"}
        out["stones"] = self.stones.to_dict(orient="records")
        return out


def _parcel_sorter(codes: np.ndarray) -> Any:
    """Return a function putting per-stone rows in parcel order (stable within a parcel).

    When the stones of each parcel are already contiguous (``classify`` requires
    it), that order is the identity and rows are used as they are, without a copy.
    """
    if len(codes) < 2 or bool((codes[1:] >= codes[:-1]).all()):
        return lambda rows: rows
    order = np.argsort(codes, kind="stable")
    return lambda rows: rows[order]


def _check_weights(weights: Any, n: int) -> np.ndarray:
    """Return ``weights`` as a float array of ``n`` finite positive numbers, or raise InputError."""
    w = np.asarray(weights, dtype=float)
    if w.shape != (n,):
        raise InputError("weights must give one number per stone row",
                         [Problem(None, None, "weights", w.shape, f"shape must be ({n},)")])
    bad = ~(np.isfinite(w) & (w > 0))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InputError("weights must be finite and > 0",
                         [Problem(None, k + 1, "weights", float(w[k]), "must be a finite number > 0")])
    return w


def _sampling_rows(sampling: Any, parcel_of_row: pd.Series, n: int) -> np.ndarray | None:
    """Per row, the sampling weight (stones of the parcel each described stone stands for), or None.

    ``sampling`` is None, a mapping parcel_id -> weight (parcels not named: 1),
    or one number per row; every weight must be a finite number >= 1 (the
    inverse of a stone's chance of being described).
    """
    if sampling is None:
        return None
    if isinstance(sampling, Mapping):
        given = {str(k): v for k, v in sampling.items()}
        ids = parcel_of_row.astype(str)
        s = pd.to_numeric(ids.map(given), errors="coerce").to_numpy(dtype=float)
        s = np.where(ids.isin(list(given)).to_numpy(), s, 1.0)
    else:
        s = np.asarray(sampling, dtype=float)
        if s.shape != (n,):
            raise InputError("sampling must give one number per stone row or per parcel",
                             [Problem(None, None, "sampling", s.shape, f"shape must be ({n},)")])
    bad = ~(np.isfinite(s) & (s >= 1.0 - 1e-9))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InputError("sampling weights must be finite and >= 1 (total / described)",
                         [Problem(None, k + 1, "sampling", float(s[k]), "must be a finite number >= 1")])
    s = np.maximum(s, 1.0)
    return None if bool(np.all(s == 1.0)) else s


def _subsample(w: np.ndarray, sampling: Any, parcel_of_row: pd.Series, by_parcel: Any, starts: np.ndarray,
               sizes_w: np.ndarray, sizes: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weights and sizes of the full-parcel estimates and of the tests (module docstring, "Subsamples").

    ``w`` (stones per row) and ``starts`` are in parcel order, ``parcel_of_row``
    and ``sampling`` (see :func:`_sampling_rows`) in input order; ``sizes_w``
    and ``sizes`` are the parcels' summed and reported stones. Returns
    ``(w_full, w_test, N, n_eff, judged)``: rows' weights ``w_i s_i`` and
    ``w_i s_i n_eff / N`` (``w_i`` itself for one sampling weight per parcel),
    the estimated full sizes ``N``, the effective sizes ``n_eff`` and the size
    the minimum-stones rule reads (``sizes`` and ``w`` twice without sampling).
    """
    s_rows = _sampling_rows(sampling, parcel_of_row, len(parcel_of_row))
    if s_rows is None:
        return w, w, sizes_w, sizes_w, sizes
    s = by_parcel(s_rows)
    ws = w * s
    full = np.add.reduceat(ws, starts)
    n_eff = full**2 / np.maximum(np.add.reduceat(ws * s, starts), 1e-300)
    test = ws * np.repeat(n_eff / np.maximum(full, 1e-300), np.diff(np.append(starts, len(w))))
    return ws, test, full, n_eff, np.rint(n_eff).astype(int)


def _declared_zones(parcel_ids: pd.Index, stones: pd.DataFrame, parcels: pd.DataFrame | None,
                    declared_zone: str | Mapping[str, str] | None, codes: np.ndarray) -> list[str | None]:
    """Each parcel's declared zone: the parcels file's, else ``declared_zone``, else the stones' column."""
    found: dict[str, Any] = {}
    if "declared_zone" in stones.columns:
        first = pd.Series(stones["declared_zone"].to_numpy()).groupby(codes).first()
        found.update({str(parcel_ids[k]): v for k, v in first.items()})
    if isinstance(declared_zone, str):
        found.update(dict.fromkeys(map(str, parcel_ids), declared_zone))
    elif isinstance(declared_zone, Mapping):
        found.update({str(k): v for k, v in declared_zone.items()})
    if parcels is not None and "declared_zone" in parcels.columns:
        found.update(dict(zip(parcels["parcel_id"].astype(str), parcels["declared_zone"], strict=False)))
    out: list[str | None] = []
    for pid in parcel_ids:
        value = found.get(str(pid))
        out.append(None if value is None or (isinstance(value, float) and np.isnan(value))
                   or str(value).strip() == "" else str(value).strip())
    return out


def _zone_sets(within: np.ndarray, zones: list[str]) -> list[str]:
    """Per row of ``within`` (parcels x zones, bool), the names of its true zones joined by ``;``.

    A batch has only a few distinct rows: each string is built once per distinct row.
    """
    if not len(within):
        return []
    distinct, inverse = np.unique(within, axis=0, return_inverse=True)
    names = [";".join(zones[z] for z in np.flatnonzero(row)) for row in distinct]
    return [names[k] for k in np.ravel(inverse).tolist()]


def _spread(part: np.ndarray, m: int, where: np.ndarray | None, out: np.ndarray) -> np.ndarray:
    """Rows of ``part[:m]`` placed at the stones that have them, ``part[m]`` (zeros) elsewhere.

    ``where`` gives each stone's row in ``part`` (None: every stone has one, in order).
    """
    if where is None:
        return part[:m]
    return np.take(part, where, axis=0, out=out)
