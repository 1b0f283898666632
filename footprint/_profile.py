"""Statistical footprints: compact, mergeable summaries of a set of stones.

A footprint is a population profile (DOMAIN §1.1, §1.4): size-frequency by
sieve class and by mass, colour, morphology, quality, surface features,
nitrogen and %B distributions. :func:`summarise` reduces any stones frame
(a reference zone or site, or one parcel) to counts on fixed bins, each with
the number of stones (and lots) behind it, so that

- ``footprint profile`` shows a zone's or site's footprint from the store;
- ``footprint classify --report`` draws each parcel against the reference
  footprints with the same summaries and the same drawing code
  (:mod:`footprint.report`), and only small count tables travel back from
  parallel workers, never the stones themselves.

Bins are fixed (not data-driven) so summaries of different sets line up and
can be added.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ._schema import SIEVE_BANDS, get_field, sieve_band, sieve_to_mm
from .exceptions import InputError, Problem

__all__ = [
    "BAND_BLOCKS",
    "CATEGORY_FIELDS",
    "MASS_LOG10_EDGES",
    "NB_PERCENT_EDGES",
    "NITROGEN_EDGES",
    "lot_bands",
    "lot_vectors",
    "nearest_lots",
    "profile",
    "summarise",
]

#: Categorical fields summarised as share tables, in display order.
CATEGORY_FIELDS: tuple[str, ...] = (
    "colour",
    "morphology",
    "quality",
    "radiation_spots",
    "fluorescence",
    "coating",
    "resorption",
    "abrasion",
    "diamond_type",
    "cleaning_state",
)
#: Bin edges of log10(mass / ct): 0.01 ct to 100 ct in 0.1 steps (values outside are clipped).
MASS_LOG10_EDGES = np.round(np.arange(-2.0, 2.0001, 0.1), 1)
#: Bin edges of total nitrogen, ppm (values above 1500 ppm go in the last bin).
NITROGEN_EDGES = np.arange(0.0, 1500.1, 50.0)
#: Bin edges of nitrogen aggregation, %B.
NB_PERCENT_EDGES = np.arange(0.0, 100.1, 5.0)
#: Most (N, %B) points a summary keeps for the scatter panel.
MAX_SCATTER_POINTS = 400

_BAND_NAMES = [name for name, _, _ in SIEVE_BANDS]


def _vocabulary(name: str) -> list[str]:
    if name in ("coating",):
        return ["true", "false"]
    if name in ("resorption", "abrasion"):
        return ["0", "1", "2", "3"]
    return list(get_field(name).vocabulary)


def _category_counts(series: pd.Series, name: str, vocab: list[str],
                     count: np.ndarray | None = None) -> tuple[list[int], np.ndarray]:
    """Count a column's values per vocabulary word; return counts and the "described" mask.

    ``count``: stones each row stands for (assortment cells); default one each.
    """
    c = np.ones(len(series), dtype=np.int64) if count is None else count
    if name == "coating":
        values = series.astype("boolean")
        present = values.notna().to_numpy()
        yes = int(c[present & values.fillna(False).to_numpy(dtype=bool)].sum())
        return [yes, int(c[present].sum()) - yes], present
    if name in ("resorption", "abrasion"):
        numeric = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        present = np.isfinite(numeric)
        return [int(c[numeric == float(word)].sum()) for word in vocab], present
    values = series.to_numpy(dtype=object)
    present = series.notna().to_numpy()
    return [int(c[values == word].sum()) for word in vocab], present


def _lot_codes(df: pd.DataFrame) -> np.ndarray | None:
    if "lot_id" not in df.columns:
        return None
    codes, _ = pd.factorize(df["lot_id"], use_na_sentinel=True)
    return codes


def _n_lots(codes: np.ndarray | None, mask: np.ndarray) -> int | None:
    if codes is None:
        return None
    chosen = codes[mask]
    return int(len(np.unique(chosen[chosen >= 0])))


def _hist(values: np.ndarray, edges: np.ndarray, weights: np.ndarray | None = None) -> list[int]:
    clipped = np.clip(values, edges[0], edges[-1] - 1e-9)
    counts, _ = np.histogram(clipped, bins=edges, weights=weights)
    return np.rint(counts).astype(int).tolist()


def _stone_counts(stones: pd.DataFrame) -> np.ndarray:
    """Stones each row stands for: ``n_stones`` of assortment cells (``stone_weight`` set), else 1."""
    if "stone_weight" not in stones.columns or "n_stones" not in stones.columns:
        return np.ones(len(stones), dtype=np.int64)
    n = pd.to_numeric(stones["n_stones"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return np.where(np.isfinite(n), n, 1).astype(np.int64)


def _weighed_mass(stones: pd.DataFrame, count: np.ndarray) -> np.ndarray:
    """Mass per stone that was weighed: a cell's ``carats / n_stones`` (never a nominal class mass)."""
    mass = _numeric(stones, "mass_ct")
    if "carats" in stones.columns and "size_class" in stones.columns:
        carats = _numeric(stones, "carats")
        cell = stones["size_class"].notna().to_numpy()  # assortment rows (a mixed batch has stone rows too)
        mass = np.where(cell, carats / count, mass)
    return mass


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float | None:
    if not len(values):
        return None
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    cum = np.cumsum(weights[order])
    k = int(np.searchsorted(cum, 0.5 * cum[-1]))
    if cum[k] == 0.5 * cum[-1] and k + 1 < len(ordered):
        return float(0.5 * (ordered[k] + ordered[k + 1]))  # as np.median between the middle stones
    return float(ordered[k])


def _numeric(df: pd.DataFrame, name: str) -> np.ndarray:
    if name not in df.columns:
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def summarise(stones: pd.DataFrame, *, label: str | None = None) -> dict[str, Any]:
    """Reduce a set of stones to its statistical footprint.

    Parameters
    ----------
    stones : DataFrame
        Stones with schema v1 columns (any may be missing or partly NaN);
        ``lot_id`` and ``site`` are counted when present.
    label : str, optional
        Name of the set (zone, site or parcel id), kept in the summary.

    Returns
    -------
    dict
        JSON-ready: ``n_stones``, ``n_lots``, ``n_sites``, ``total_ct``,
        ``mass`` (log10 ct histogram on :data:`MASS_LOG10_EDGES`, median and
        mean ct), ``sieve`` (counts per trade band of the harmonised sieve
        axis and per normalised sieve class), ``categories`` (counts per
        vocabulary word for each of :data:`CATEGORY_FIELDS`), ``nitrogen``
        and ``n_b_percent`` (histograms), ``n_vs_b`` (up to
        :data:`MAX_SCATTER_POINTS` points, evenly spaced through the rows so
        the choice is deterministic). Every block carries ``n`` (stones with
        a value) and ``lots`` (lots behind them, ``None`` without lot ids).
    """
    count = _stone_counts(stones)
    n = int(count.sum())
    lots = _lot_codes(stones)
    rows = len(stones)
    out: dict[str, Any] = {
        "label": label,
        "n_stones": int(n),
        "n_lots": _n_lots(lots, np.ones(rows, bool)),
        "n_sites": int(stones["site"].dropna().nunique()) if "site" in stones.columns else None,
    }
    mass = _weighed_mass(stones, count)
    has_mass = np.isfinite(mass) & (mass > 0)
    n_mass = int(count[has_mass].sum())
    # Totals say how many stones they cover: total_ct adds the weighed stones only, and the
    # mean is over those stones, never over all of them (issue 14).
    out["total_ct"] = float((mass[has_mass] * count[has_mass]).sum())
    out["n_no_mass"] = int(n - n_mass)
    out["mass"] = {
        "counts": _hist(np.log10(mass[has_mass]), MASS_LOG10_EDGES, count[has_mass].astype(float)),
        "n": n_mass,
        "n_missing": int(n - n_mass),
        "lots": _n_lots(lots, has_mass),
        "median_ct": _weighted_median(mass[has_mass], count[has_mass]) if has_mass.any() else None,
        "mean_ct": out["total_ct"] / n_mass if n_mass else None,
    }
    out["sieve"] = _summarise_sieve(stones, lots, count, np.where(has_mass, mass * count, np.nan))
    out["size"] = _summarise_size(stones, count, mass, has_mass)
    out["categories"] = {}
    for name in CATEGORY_FIELDS:
        vocab = _vocabulary(name)
        if name in stones.columns:
            row, present = _category_counts(stones[name], name, vocab, count)
        else:
            present = np.zeros(rows, bool)
            row = [0] * len(vocab)
        out["categories"][name] = {
            "labels": vocab,
            "counts": row,
            "n": int(count[present].sum()),
            "lots": _n_lots(lots, present),
        }
    nitrogen, has_n, out["nitrogen"] = _numeric_histogram(stones, "n_total_ppm", NITROGEN_EDGES, lots,
                                                          "median_ppm")
    nb, has_b, out["n_b_percent"] = _numeric_histogram(stones, "n_b_percent", NB_PERCENT_EDGES, lots,
                                                       "median_percent")
    both = np.flatnonzero(has_n & has_b)
    if len(both) > MAX_SCATTER_POINTS:
        both = both[np.linspace(0, len(both) - 1, MAX_SCATTER_POINTS).round().astype(int)]
    out["n_vs_b"] = {
        "n_ppm": [round(float(v), 1) for v in nitrogen[both]],
        "b_percent": [round(float(v), 1) for v in nb[both]],
        "n": int((has_n & has_b).sum()),
    }
    if "custody_ref" in stones.columns:
        # Purchase slips (bordereaux d'achat) named by the stones, for the report.
        out["custody_refs"] = sorted({str(v) for v in stones["custody_ref"].dropna()})[:10]
    return out


def _numeric_histogram(stones: pd.DataFrame, column: str, edges: np.ndarray, lots: np.ndarray | None,
                       median_key: str) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Return a numeric column's values, which are measured, and its summary (counts, n, lots, median)."""
    values = _numeric(stones, column)
    measured = np.isfinite(values)
    summary = {
        "counts": _hist(values[measured], edges),
        "n": int(measured.sum()),
        "lots": _n_lots(lots, measured),
        median_key: float(np.median(values[measured])) if measured.any() else None,
    }
    return values, measured, summary


def _summarise_size(stones: pd.DataFrame, count: np.ndarray, mass: np.ndarray,
                    has_mass: np.ndarray) -> dict[str, Any]:
    """Size distribution on the input's own size classes: % of carats and % of stones per class.

    A row's class is its assortment ``size_class``, else its ``sieve_class``;
    rows with neither are counted apart (``no_class``). Carat shares are of
    the weighed carats; ``n_no_mass`` per class says how many stones they miss.
    """
    label = pd.Series([None] * len(stones), index=stones.index, dtype=object)
    for column in ("sieve_class", "size_class"):
        if column in stones.columns:
            label = stones[column].astype(object).where(stones[column].notna(), label)
    known = label.notna().to_numpy()
    carats = np.where(has_mass, mass * count, 0.0)
    frame = pd.DataFrame({"label": label.fillna(""), "stones": count, "carats": carats,
                          "no_mass": np.where(has_mass, 0, count)})
    grouped = frame[known].groupby("label", sort=False).sum()
    total_stones = float(count[known].sum())
    total_ct = float(carats[known].sum())

    def order(name: str) -> float:
        from .ingest import parse_size_class

        try:
            return parse_size_class(name).ct_nominal
        except InputError:
            return math.inf

    classes = {}
    for name in sorted(grouped.index, key=order):
        row = grouped.loc[name]
        classes[str(name)] = {
            "stones": int(row["stones"]),
            "carats": round(float(row["carats"]), 4),
            "pct_stones": round(100 * float(row["stones"]) / total_stones, 2) if total_stones else None,
            "pct_carats": round(100 * float(row["carats"]) / total_ct, 2) if total_ct else None,
            "n_no_mass": int(row["no_mass"]),
        }
    return {"classes": classes, "n": int(total_stones), "no_class": int(count[~known].sum()),
            "carats": round(total_ct, 4), "n_no_mass": int(frame[known]["no_mass"].sum())}


def _summarise_sieve(stones: pd.DataFrame, lots: np.ndarray | None,
                     count: np.ndarray | None = None, carats: np.ndarray | None = None) -> dict[str, Any]:
    """Count stones per trade band and per sieve class, and the weighed carats per band (``carats``)."""
    if "sieve_class" not in stones.columns:
        return {"bands": _BAND_NAMES, "counts": [0] * len(_BAND_NAMES), "classes": {}, "n": 0, "lots": None,
                "carats": [0.0] * len(_BAND_NAMES), "n_carats": 0}
    values = stones["sieve_class"]
    present = values.notna().to_numpy()
    c = np.ones(len(stones), dtype=np.int64) if count is None else count
    classes = pd.Series(c[present], index=values[present].astype(str).to_numpy()).groupby(level=0).sum()
    band_counts = dict.fromkeys(_BAND_NAMES, 0)
    for cls, count in classes.items():
        band_counts[sieve_band(str(cls))] += int(count)
    band_carats = dict.fromkeys(_BAND_NAMES, 0.0)
    ct = np.full(len(stones), np.nan) if carats is None else carats
    weighed = present & np.isfinite(ct)
    if weighed.any():
        per_class = pd.Series(ct[weighed], index=values[weighed].astype(str).to_numpy())
        per_class = per_class.groupby(level=0).sum()
        for cls, total in per_class.items():
            band_carats[sieve_band(str(cls))] += float(total)
    return {
        "bands": _BAND_NAMES,
        "counts": [band_counts[b] for b in _BAND_NAMES],
        "classes": {
            str(k): int(v) for k, v in sorted(classes.items(), key=lambda kv: sieve_to_mm(str(kv[0])))
        },
        "n": int(c[present].sum()),
        "lots": _n_lots(lots, present),
        # Rough convention (issue 14): the size distribution read as % of carats per band.
        "carats": [round(band_carats[b], 6) for b in _BAND_NAMES],
        "n_carats": int(c[weighed].sum()),
    }


def _shares(block: Mapping[str, Any]) -> np.ndarray:
    counts = np.asarray(block["counts"], dtype=float)
    total = counts.sum()
    return counts / total if total > 0 else np.full(len(counts), np.nan)


def footprint_vector(summary: Mapping[str, Any]) -> np.ndarray:
    """Return a summary as one descriptive vector (shares and scaled medians).

    Used only to find reference lots that look like a parcel, for the
    report's "nearest reference lots" panel; it is not the evidence the
    verdict rests on. NaN marks parts with no data.
    """
    parts = [_shares(summary["sieve"])]
    for name in ("colour", "morphology", "quality", "radiation_spots"):
        parts.append(_shares(summary["categories"][name]))
    median_ct = summary["mass"]["median_ct"]
    median_n = summary["nitrogen"]["median_ppm"]
    median_b = summary["n_b_percent"]["median_percent"]
    # Scaled so one unit is roughly a between-zone difference of that median.
    parts.append(
        np.array(
            [
                math.log10(median_ct) if median_ct else np.nan,
                median_n / 300.0 if median_n is not None else np.nan,
                median_b / 50.0 if median_b is not None else np.nan,
            ]
        )
    )
    return np.concatenate(parts)


#: Blocks of a summary that get a band of lot-to-lot variation (the classify report's panels).
BAND_BLOCKS: tuple[str, ...] = ("sieve", "mass", "nitrogen", "n_b_percent", "colour", "morphology", "quality",
                                "radiation_spots")


def lot_bands(stones: pd.DataFrame, *, min_stones: int = 10, min_lots: int = 3,
              quantiles: tuple[float, float] = (0.1, 0.9)) -> dict[str, dict[str, Any]]:
    """Return the band of normal lot-to-lot variation of each zone's footprint.

    For each zone and each block of :data:`BAND_BLOCKS`, every reference lot
    with at least ``min_stones`` stones measured in that block gives its
    shares per bin; the band is their ``quantiles`` (10% and 90% by default)
    bin by bin. A block with fewer than ``min_lots`` such lots has no band.

    Parameters
    ----------
    stones : DataFrame
        Reference stones with ``zone`` and ``lot_id``.
    min_stones, min_lots : int
        Smallest lot (stones with the block measured) and fewest lots for a band.
    quantiles : tuple of float
        Lower and upper quantile of the lots' shares.

    Returns
    -------
    dict
        zone -> block -> ``{"lo": [...], "hi": [...], "n_lots": k}`` (shares
        in [0, 1], one per bin of the block); empty without ``lot_id``.
    """
    if "lot_id" not in stones.columns or "zone" not in stones.columns:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for zone, frame in stones.dropna(subset=["lot_id"]).groupby("zone", sort=True):
        codes, lots = pd.factorize(frame["lot_id"], sort=True)
        bands = {}
        for block in BAND_BLOCKS:
            counts = _per_lot_counts(frame, block, codes, len(lots))
            totals = counts.sum(axis=1)
            keep = totals >= max(min_stones, 1)
            if keep.sum() >= min_lots:
                table = counts[keep] / totals[keep, None]
                bands[block] = {"lo": np.quantile(table, quantiles[0], axis=0).round(4).tolist(),
                                "hi": np.quantile(table, quantiles[1], axis=0).round(4).tolist(),
                                "n_lots": int(keep.sum())}
        out[str(zone)] = bands
    return out


def _per_lot_counts(stones: pd.DataFrame, block: str, codes: np.ndarray, n_lots: int) -> np.ndarray:
    """Stones per lot and bin of a summary block (the bins :func:`summarise` uses), shape (n_lots, n_bins)."""
    if block in ("nitrogen", "n_b_percent", "mass"):
        column, edges = {"nitrogen": ("n_total_ppm", NITROGEN_EDGES),
                         "n_b_percent": ("n_b_percent", NB_PERCENT_EDGES),
                         "mass": ("mass_ct", MASS_LOG10_EDGES)}[block]
        values = _numeric(stones, column)
        if block == "mass":
            with np.errstate(divide="ignore", invalid="ignore"):
                values = np.where(values > 0, np.log10(values), np.nan)
        seen = np.isfinite(values)
        clipped = np.clip(values[seen], edges[0], edges[-1] - 1e-9)
        index = np.clip(np.searchsorted(edges, clipped, side="right") - 1, 0, len(edges) - 2)
        n_bins = len(edges) - 1
    elif block == "sieve":
        n_bins = len(_BAND_NAMES)
        if "sieve_class" not in stones.columns:
            return np.zeros((n_lots, n_bins))
        classes = stones["sieve_class"]
        seen = classes.notna().to_numpy()
        band_of = {c: _BAND_NAMES.index(sieve_band(str(c))) for c in classes[seen].unique()}
        index = np.array([band_of[c] for c in classes[seen]], dtype=int)
    else:
        vocab = _vocabulary(block)
        n_bins = len(vocab)
        if block not in stones.columns:
            return np.zeros((n_lots, n_bins))
        index_all = pd.Categorical(stones[block].astype(object), categories=vocab).codes
        seen = index_all >= 0
        index = index_all[seen]
    lot = codes[seen]
    ok = lot >= 0
    flat = np.bincount(lot[ok] * n_bins + index[ok], minlength=n_lots * n_bins)
    return flat.reshape(n_lots, n_bins).astype(float)


def lot_vectors(stones: pd.DataFrame) -> pd.DataFrame:
    """Return one footprint vector per reference lot.

    Parameters
    ----------
    stones : DataFrame
        Reference stones with ``lot_id``, ``zone`` and ``site``.

    Returns
    -------
    DataFrame
        Index ``lot_id`` (sorted); columns ``zone``, ``site``, ``n_stones``,
        ``vector`` (ndarray), ``sample_ids`` (list of the lot's stones, in
        store order).
    """
    rows = []
    if "lot_id" not in stones.columns:
        return pd.DataFrame(columns=["zone", "site", "n_stones", "vector", "sample_ids"])
    for lot_id, group in stones.dropna(subset=["lot_id"]).groupby("lot_id", sort=True):
        rows.append(
            {
                "lot_id": lot_id,
                "zone": group["zone"].iloc[0] if "zone" in group else None,
                "site": group["site"].iloc[0] if "site" in group else None,
                "n_stones": len(group),
                "vector": footprint_vector(summarise(group)),
                "sample_ids": group["sample_id"].astype(str).tolist() if "sample_id" in group else [],
            }
        )
    return (
        pd.DataFrame(rows).set_index("lot_id")
        if rows
        else pd.DataFrame(columns=["zone", "site", "n_stones", "vector", "sample_ids"])
    )


def nearest_lots(summary: Mapping[str, Any], lots: pd.DataFrame, k: int = 3) -> list[dict[str, Any]]:
    """Return the ``k`` reference lots whose footprint vector is nearest a summary's.

    Distance is the root mean square difference over the parts both have;
    ties are broken by lot id so the answer is deterministic.
    """
    if lots.empty:
        return []
    target = footprint_vector(summary)
    scored = []
    for lot_id, row in lots.iterrows():
        both = np.isfinite(target) & np.isfinite(row["vector"])
        if not both.any():
            continue
        distance = float(np.sqrt(np.mean((target[both] - row["vector"][both]) ** 2)))
        scored.append((round(distance, 12), str(lot_id), row))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [
        {
            "lot_id": lot_id,
            "zone": row["zone"],
            "site": row["site"],
            "n_stones": int(row["n_stones"]),
            "distance": distance,
            "sample_ids": list(row["sample_ids"]),
        }
        for distance, lot_id, row in scored[:k]
    ]


def profile(
    db: str | os.PathLike[str],
    *,
    zone: str | None = None,
    site: str | None = None,
    n_gallery: int = 12,
) -> dict[str, Any]:
    """Compute the statistical footprint of a zone or site of a reference store.

    Parameters
    ----------
    db : path
        Reference store (HDF5).
    zone, site : str, optional
        Restrict to one zone and/or one site; neither gives the whole store
        (one footprint per zone, plus the selection's total).
    n_gallery : int
        Number of typical stones shown in the image gallery.

    Returns
    -------
    dict
        ``selection``, ``summary`` (see :func:`summarise`), ``by_zone``
        (zone to summary, within the selection), ``sizes`` (stones, lots,
        sites per zone), ``gallery`` (list of ``{sample_id, lot_id, site,
        mime_type, data}`` with base64 image data), ``store`` (path, content
        hash, synthetic flag).

    Raises
    ------
    InputError
        If the zone or site is not in the store.
    """
    from ._features import reference_stones
    from .store import ReferenceStore

    with ReferenceStore.open(db, mode="r") as store:
        stones = reference_stones(store)
        selected = _select(stones, zone, site, str(db))
        gallery = _gallery(store, selected, n_gallery)
        store_info = {
            "path": str(db),
            "content_hash": store.content_hash(),
            "synthetic": bool(store.is_synthetic),
        }
    by_zone = {str(z): summarise(g, label=str(z)) for z, g in selected.groupby("zone", sort=True)}
    label = " / ".join(x for x in (zone, site) if x) or "all zones"
    return {
        "selection": {"zone": zone, "site": site, "label": label},
        "summary": summarise(selected, label=label),
        "by_zone": by_zone,
        "sizes": reference_sizes(stones),
        "gallery": gallery,
        "store": store_info,
    }


def reference_sizes(stones: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Return stones, lots and sites per zone of a reference frame."""
    sizes = {}
    for zone, group in stones.groupby("zone", sort=True):
        sizes[str(zone)] = {
            "n_stones": len(group),
            "n_lots": int(group["lot_id"].dropna().nunique()) if "lot_id" in group else 0,
            "n_sites": int(group["site"].dropna().nunique()) if "site" in group else 0,
        }
    return sizes


def _select(stones: pd.DataFrame, zone: str | None, site: str | None, db: str) -> pd.DataFrame:
    mask = np.ones(len(stones), bool)
    problems = []
    if zone is not None:
        zones = sorted(stones["zone"].dropna().astype(str).unique())
        if zone not in zones:
            problems.append(
                Problem(db, None, "zone", zone, f"not a zone of the store; zones: {', '.join(zones)}")
            )
        mask &= (stones["zone"] == zone).to_numpy()
    if site is not None:
        sites = sorted(stones.loc[mask, "site"].dropna().astype(str).unique()) if "site" in stones else []
        if site not in sites:
            problems.append(
                Problem(db, None, "site", site, f"not a site of the selection; sites: {', '.join(sites)}")
            )
        mask &= (stones["site"] == site).to_numpy()
    if problems:
        raise InputError("nothing to profile", problems)
    return stones.loc[mask]


def _gallery(store: Any, selected: pd.DataFrame, n: int) -> list[dict[str, Any]]:
    """Pick up to ``n`` photographed stones typical of the selection.

    Typical means: the stone's mass is nearest the selection's median and
    its colour, morphology and quality are the selection's commonest, so the
    gallery shows what the bulk looks like rather than its curiosities.
    """
    import base64

    images = store.images()
    if not images:
        return []
    by_id: dict[str, Any] = {}
    for record in sorted(images, key=lambda r: (r.sample_id, r.view)):
        by_id.setdefault(record.sample_id, record)
    candidates = selected[selected["sample_id"].astype(str).isin(by_id)].copy()
    if candidates.empty:
        return []
    score = np.zeros(len(candidates))
    for name in ("colour", "morphology", "quality"):
        if name in candidates.columns and candidates[name].notna().any():
            mode = selected[name].mode(dropna=True)
            if len(mode):
                score += (candidates[name] != mode.iloc[0]).to_numpy(dtype=float)
    mass = _numeric(candidates, "mass_ct")
    median = np.nanmedian(_numeric(selected, "mass_ct")) if np.isfinite(mass).any() else np.nan
    if np.isfinite(median):
        score += np.nan_to_num(np.abs(np.log10(mass) - math.log10(median)), nan=5.0)
    candidates["_score"] = score
    candidates = candidates.sort_values(["_score", "sample_id"], kind="stable").head(n)
    out = []
    for _, row in candidates.iterrows():
        record = by_id[str(row["sample_id"])]
        out.append(
            {
                "sample_id": str(row["sample_id"]),
                "lot_id": row.get("lot_id"),
                "site": row.get("site"),
                "zone": row.get("zone"),
                "mass_ct": row.get("mass_ct"),
                "mime_type": record.mime_type,
                "data": base64.b64encode(record.data).decode("ascii"),
            }
        )
    return out
