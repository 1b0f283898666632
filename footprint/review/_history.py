"""Monthly control charts of an exporter's parcels, with limits from the preceding months.

For each exporter and month the register's parcels give five charted
figures: carats per stone, US$ per carat, gem share, the distance of the
size distribution from the reference footprint, and the mean estimated
foreign fraction; plus the verdict counts.

The rule (documented in every history page, :class:`ControlRule`)
-----------------------------------------------------------------
* **Continuous figures** (carats per stone, US$/ct, gem share, size distance,
  foreign fraction): the limits of month *t* come from the exporter's
  preceding months only (at least ``min_months`` of them, else no limits):
  centre = their median; spread = max(1.4826 x their MAD, the median of their
  standard errors), each month's standard error computed from its stones or
  parcels (so a short, quiet history cannot give limits narrower than the
  sampling noise of a month, and an odd month cannot widen its own limits);
  limits = centre +- ``k`` x spread. Carats per stone,
  US$/ct and gem share are flagged on either side; the size distance and the
  foreign fraction only above (small is good). A robust median/MAD rule
  rather than a Shewhart mean/sd: a flagged month left in the baseline does
  not widen later limits much.
* **Verdict counts**: the parcels not judged "consistent" in month *t*, x of
  n, against the preceding months' rate p0 = (X + 1) / (N + 2) (Laplace, so
  a clean history does not make p0 zero); flagged when the exact binomial
  upper tail P(Bin(n, p0) >= x) < ``alpha`` (a p-chart with exact limits).
* **Size distance**: the Hellinger distance between the month's counts on
  the register's size classes and the reference footprint's (the latest one
  recorded for the parcels' zone, :meth:`Register.set_reference_footprint`);
  without one, the exporter's preceding months pooled.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["METRICS", "ControlRule", "control_charts", "hellinger"]

#: Charted figures: name -> (which side is flagged).
METRICS: dict[str, str] = {
    "carats_per_stone": "both",
    "usd_per_ct": "both",
    "gem_share": "both",
    "size_distance": "upper",
    "foreign_fraction": "upper",
}


@dataclass(frozen=True)
class ControlRule:
    """Parameters of the control-chart rule (see the module docstring).

    Parameters
    ----------
    k : float
        Width of the limits in robust standard deviations.
    min_months : int
        Preceding months needed before a month gets limits.
    window : int
        At most this many preceding months make the baseline.
    alpha : float
        Binomial tail probability below which the verdict count is flagged.
    """

    k: float = 4.5
    min_months: int = 4
    window: int = 12
    alpha: float = 0.005


def hellinger(p_counts: Sequence[float], q_counts: Sequence[float]) -> float:
    """Hellinger distance (0 to 1) between two count vectors, as distributions."""
    p = np.asarray(p_counts, dtype=float)
    q = np.asarray(q_counts, dtype=float)
    if p.sum() <= 0 or q.sum() <= 0:
        return math.nan
    p, q = p / p.sum(), q / q.sum()
    return float(np.sqrt(max(0.0, 1.0 - np.sqrt(p * q).sum())))


def _month_figures(parcels: Sequence[Mapping[str, Any]], reference: Sequence[float] | None) -> dict[str, Any]:
    n_stones = sum(p["n_stones"] for p in parcels)
    carats = sum(p["carats"] for p in parcels)
    value = sum(p["value_usd"] for p in parcels)
    out: dict[str, Any] = {
        "n_parcels": len(parcels),
        "n_stones": n_stones,
        "carats": carats,
        "value_usd": value,
        "values": {},
        "se": {},
    }
    v, se = out["values"], out["se"]
    v["carats_per_stone"] = carats / n_stones if n_stones else math.nan
    weighed = [p for p in parcels if p["carats_measured"] and p["mass_sq_sum"] is not None]
    if weighed:
        n = sum(p["n_stones"] for p in weighed)
        mean = sum(p["carats"] for p in weighed) / n
        var = max(sum(p["mass_sq_sum"] for p in weighed) / n - mean**2, 0.0)
        se["carats_per_stone"] = math.sqrt(var / n)
    else:
        se["carats_per_stone"] = 0.0
    # parcels come from different sites: the spread between parcels counts too
    se["carats_per_stone"] = max(
        se["carats_per_stone"], _parcel_se([p["carats"] / p["n_stones"] for p in parcels])
    )
    v["usd_per_ct"] = value / carats if carats else math.nan
    se["usd_per_ct"] = _parcel_se([p["value_usd"] / p["carats"] for p in parcels if p["carats"]])
    n_q = sum(p["n_quality"] or 0 for p in parcels)
    if n_q:
        g = sum(p["n_gem"] or 0 for p in parcels) / n_q
        binomial = math.sqrt(max(g * (1 - g), 1.0 / n_q) / n_q)
        per_parcel = [p["n_gem"] / p["n_quality"] for p in parcels if p["n_quality"]]
        v["gem_share"], se["gem_share"] = g, max(binomial, _parcel_se(per_parcel))
    else:
        v["gem_share"], se["gem_share"] = math.nan, math.nan
    counts = [p["size_counts"] for p in parcels if p["size_counts"]]
    out["size_counts"] = np.sum(counts, axis=0).tolist() if counts else None
    ffs = [p["foreign_fraction"] for p in parcels if p["foreign_fraction"] is not None]
    # the median parcel: one odd parcel of a month does not move it, a month of topped-up parcels does
    v["foreign_fraction"] = float(np.median(ffs)) if ffs else math.nan
    # its standard error: from the parcels' own 90 % intervals (width / 3.29 is one sd), or their spread
    sds = [
        ((p["foreign_fraction_hi"] or 0.0) - (p["foreign_fraction_lo"] or 0.0)) / 3.29
        for p in parcels
        if p["foreign_fraction"] is not None
    ]
    own = math.sqrt(float(np.mean(np.square(sds))) / len(sds)) if sds else 0.0
    se["foreign_fraction"] = 1.2533 * max(own, _parcel_se(ffs))
    verdicts: dict[str, int] = {}
    for p in parcels:
        verdicts[p["verdict"]] = verdicts.get(p["verdict"], 0) + 1
    out["verdicts"] = verdicts
    out["not_consistent"] = len(parcels) - verdicts.get("consistent", 0)
    out["reference"] = reference
    return out


def _parcel_se(values: Sequence[float]) -> float:
    vals = [x for x in values if x is not None and math.isfinite(x)]
    if len(vals) < 2:
        return 0.0
    return float(np.std(vals, ddof=1) / math.sqrt(len(vals)))


def _binom_upper(x: int, n: int, p: float) -> float:
    from scipy.stats import binom

    return float(binom.sf(x - 1, n, p)) if x > 0 else 1.0


def control_charts(
    parcels: Sequence[Mapping[str, Any]],
    references: Mapping[str, Sequence[float]],
    rule: ControlRule | None = None,
) -> dict[str, Any]:
    """Build every exporter's monthly series and flag months outside their limits.

    Parameters
    ----------
    parcels : sequence of dict
        Register parcels (:meth:`Register.parcels`).
    references : mapping
        Zone -> reference size counts.
    rule : ControlRule, optional

    Returns
    -------
    dict
        ``rule``, ``series`` (one per exporter: ``months``, each with
        ``values``, ``limits`` and ``flags``), ``flagged`` (exporter, month,
        metrics), ``synthetic``, ``months``.
    """
    rule = rule or ControlRule()
    by_exporter: dict[str, dict[str, list[Mapping[str, Any]]]] = {}
    for p in parcels:
        by_exporter.setdefault(p["exporter"], {}).setdefault(p["month"], []).append(p)
    series = []
    flagged = []
    for exporter in sorted(by_exporter):
        months = by_exporter[exporter]
        rows: list[dict[str, Any]] = []
        for month in sorted(months):
            group = months[month]
            zones = {p["zone"] or p["declared_zone"] for p in group}
            zone = zones.pop() if len(zones) == 1 else None
            row = _month_figures(group, references.get(zone) if zone else None)
            row.update(month=month, exporter=exporter, zone=zone)
            rows.append(row)
        for t, row in enumerate(rows):
            base = rows[max(0, t - rule.window) : t]
            # size distance: against the reference footprint, else the pooled baseline
            ref = row["reference"]
            if ref is None and base:
                pooled = [b["size_counts"] for b in base if b["size_counts"]]
                ref = np.sum(pooled, axis=0).tolist() if pooled else None
            row["values"]["size_distance"] = (
                hellinger(row["size_counts"], ref) if row["size_counts"] and ref else math.nan
            )
            n = row["n_stones"]
            k_bins = len(row["size_counts"]) if row["size_counts"] else 1
            row["se"]["size_distance"] = math.sqrt((k_bins - 1) / (8.0 * n)) if n else math.nan
            row["limits"], row["flags"] = {}, []
            if len(base) < rule.min_months:
                continue
            for metric, side in METRICS.items():
                x = row["values"][metric]
                past = np.array([b["values"].get(metric, math.nan) for b in base], dtype=float)
                past = past[np.isfinite(past)]
                if not math.isfinite(x) or past.size < rule.min_months:
                    continue
                centre = float(np.median(past))
                past_se = [b["se"].get(metric) for b in base]
                typical_se = float(
                    np.median([x for x in past_se if x is not None and math.isfinite(x)] or [0.0])
                )
                spread = max(1.4826 * float(np.median(np.abs(past - centre))), typical_se, 1e-12)
                lo, hi = centre - rule.k * spread, centre + rule.k * spread
                row["limits"][metric] = {
                    "centre": centre,
                    "lower": lo if side == "both" else None,
                    "upper": hi,
                }
                if x > hi or (side == "both" and x < lo):
                    row["flags"].append(metric)
            X = sum(b["not_consistent"] for b in base)
            N = sum(b["n_parcels"] for b in base)
            p0 = (X + 1) / (N + 2)
            tail = _binom_upper(row["not_consistent"], row["n_parcels"], p0)
            n_par = row["n_parcels"]
            critical = next((x for x in range(n_par + 1) if _binom_upper(x, n_par, p0) < rule.alpha), None)
            row["limits"]["verdicts"] = {"p0": p0, "tail_p": tail, "upper": critical}
            if tail < rule.alpha:
                row["flags"].append("verdicts")
            if row["flags"]:
                flagged.append({"exporter": exporter, "month": row["month"], "metrics": list(row["flags"])})
        series.append({"exporter": exporter, "months": rows})
    all_months = sorted({p["month"] for p in parcels})
    return {
        "rule": asdict(rule),
        "metrics": list(METRICS),
        "series": series,
        "flagged": flagged,
        "months": all_months,
        "synthetic": any(p["synthetic"] for p in parcels),
        "n_parcels": len(parcels),
    }
