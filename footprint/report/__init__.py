"""Self-contained HTML reports: the classify batch report and reference profiles.

Both pages are rendered with jinja2 from plain data (result tables and
:func:`footprint._profile.summarise` summaries), with figures embedded as
base64 PNG and CSS inline, so one file can be archived with a KP certificate
and printed. English and French wording live in :mod:`._i18n`.

Nothing time-dependent is written into a page: the same inputs give the
same bytes (the time of a run is in its audit record).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

import pandas as pd

from ._figures import CLASSIFY_PANELS, PROFILE_PANELS, footprint_figure
from ._i18n import LANGUAGES, short_verdict, verdict_text, words

__all__ = [
    "DEFAULT_MAX_DETAIL",
    "LANGUAGES",
    "compliant_zones",
    "load_value_bands",
    "render_profile",
    "render_report",
    "verdict_text",
]

#: Parcels drawn in full (figures, nearest lots) per report; the rest are in the summary table.
DEFAULT_MAX_DETAIL = 100
#: A zone with fewer reference lots than this gets a caution in the report (DOMAIN §5.9).
FEW_REFERENCE_LOTS = 10


@cache
def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("footprint.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


@cache
def load_value_bands() -> dict[str, Any]:
    """Return the $/ct reference bands (``footprint/data/value_bands.json``).

    The bands are country-level KP export statistics widened by about 10 %,
    one per origin zone; the file states each band's basis.
    """
    text = resources.files("footprint").joinpath("data/value_bands.json").read_text(encoding="utf-8")
    return json.loads(text)


def compliant_zones() -> list[str]:
    """Return the zones whose exports come from KP compliant zones ("zones conformes").

    Read from ``footprint/data/value_bands.json`` (the ``compliant`` flag of each zone).
    """
    return sorted(z for z, band in load_value_bands()["bands"].items() if band.get("compliant"))


def _check_lang(lang: str) -> None:
    if lang not in LANGUAGES:
        from ..exceptions import InputError, Problem

        raise InputError("unknown report language", [Problem(None, None, "lang", lang, "must be en or fr")])


def _num(value: Any, fmt: str = "{:.2f}", missing: str = "–") -> str:
    if value is None:
        return missing
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return missing
    return fmt.format(number)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA:
        return None
    text = str(value).strip()
    return text or None


def _zone_name(zone: str | None, lang: str, compliant: Sequence[str]) -> str:
    if not zone:
        return words(lang)["not_declared"]
    if zone in compliant:
        return f"{zone} ({words(lang)['compliant_zones']})"
    return zone


def _value_check(declared_usd: Any, total_ct: float, zone: str | None, lang: str,
                 missing: tuple[int, int] = (0, 0)) -> dict[str, Any]:
    w = words(lang)
    usd = _text(declared_usd)
    if usd is None or total_ct <= 0:
        return {"declared": w["not_given"], "per_ct": "–", "band": None, "flag": None}
    if missing[0]:
        # $/ct from a partial total would be overstated: say so rather than divide (issue 14).
        return {"declared": f"{float(usd):,.0f} USD", "band": None, "flag": None,
                "per_ct": w["per_ct_partial"].format(missing=missing[0], total=missing[1])}
    per_ct = float(usd) / total_ct
    band = load_value_bands()["bands"].get(zone or "")
    flag = None
    band_text = w["value_band_none"]
    if band:
        band_text = f"{band['low']:.0f}–{band['high']:.0f} USD/ct"
        flag = w["value_inside"] if band["low"] <= per_ct <= band["high"] else w["value_outside"]
    return {
        "declared": f"{float(usd):,.0f} USD",
        "per_ct": f"{per_ct:,.0f} USD/ct",
        "band": band_text,
        "flag": flag,
        "outside": bool(band) and flag == w["value_outside"],
    }


def _mass_figures(summary: Mapping[str, Any] | None, info: Mapping[str, Any], n_stones: int,
                  lang: str) -> dict[str, Any]:
    """Total and mean mass that say how many stones they cover, and the carats $/ct is computed on (issue 14).

    The parcels file's ``total_carats`` (the whole parcel) wins; otherwise the
    weighed stones' total, with how many stones had no mass, and the mean over
    the weighed stones only (never a partial total divided by all stones).
    """
    w = words(lang)
    if summary is None:
        return {"total_ct": "–", "mean_ct": "–", "basis": 0.0, "missing": (0, 0), "size": None}
    weighed = float(summary["total_ct"])
    n_all = int(summary.get("n_stones", n_stones))
    n_mass = int(summary["mass"]["n"])
    missing = n_all - n_mass
    declared_total = info.get("total_carats")
    if declared_total is not None and declared_total == declared_total:
        declared_total = float(declared_total)
    else:
        declared_total = None
    if declared_total is not None:
        total = f"{declared_total:.2f} ct ({w['total_declared'].format(described=f'{weighed:.2f} ct')})"
        basis, gap = declared_total, (0, n_all)
    else:
        total = f"{weighed:.2f} ct" + (f" ({w['weighed_of'].format(n=n_mass, total=n_all, missing=missing)})"
                                       if missing else "")
        basis, gap = weighed, (missing, n_all)
    mean = _num(weighed / n_mass if n_mass else None, "{:.3f} ct")
    if missing and n_mass:
        mean += f" ({w['weighed_of'].format(n=n_mass, total=n_all, missing=missing)})"
    size = summary.get("size") or {}
    rows = [{"label": k, **v} for k, v in (size.get("classes") or {}).items()]
    notes = [w["no_mass_note"].format(n=size["n_no_mass"])] if size.get("n_no_mass") else []
    if size.get("no_class"):
        notes.append(w["no_class_note"].format(n=size["no_class"]))
    size_block = {"rows": rows, "note": "; ".join(notes)} if rows else None
    return {"total_ct": total, "mean_ct": mean, "basis": basis, "missing": gap, "size": size_block}


def _valuation_view(summary: Mapping[str, Any] | None, info: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """Return the price-book check of a parcel (when classify had a price book) and its valuation method."""
    w = words(lang)
    out: dict[str, Any] = {"method": _text(info.get("valuation_method")), "expected": None}
    value = (summary or {}).get("valuation")
    if value:
        out["expected"] = (f"{value['expected_value_usd']:,.0f} USD ({value['expected_value_lo']:,.0f}–"
                           f"{value['expected_value_hi']:,.0f})")
        ratio = value.get("value_ratio")
        out["ratio"] = _num(ratio, "{:.2f}")
        out["flag"] = w.get(f"value_flag_{value.get('value_flag')}", str(value.get("value_flag")))
        out["outside"] = value.get("value_flag") in ("under", "over")
    return out


def _posterior_bars(row: Mapping[str, Any], zones: Sequence[str]) -> list[dict[str, Any]]:
    bars = []
    for zone in zones:
        p = row.get(f"p_{zone}")
        p = float(p) if p is not None and math.isfinite(float(p)) else 0.0
        bars.append({"zone": zone, "width": round(100 * p, 1), "text": f"{p:.3f}"})
    return bars


def _lr_bar(log10_lr: Any, thresholds: Mapping[str, Any]) -> dict[str, Any]:
    """Place log10 LR on a -4..+4 axis: left of centre favours another zone."""
    value = float(log10_lr) if log10_lr is not None and math.isfinite(float(log10_lr)) else None
    if value is None:
        return {"value": "–", "left": 50.0, "width": 0.0, "favours": "none"}
    clipped = max(-4.0, min(4.0, value))
    left = 50.0 + min(clipped, 0.0) / 8.0 * 100.0
    width = abs(clipped) / 8.0 * 100.0
    return {
        "value": f"{value:+.2f}",
        "left": round(left, 2),
        "width": round(width, 2),
        "favours": "declared" if value >= 0 else "other",
    }


def _verdict_words(row: Mapping[str, Any], lang: str, compliant: Sequence[str]) -> str:
    declared = _text(row.get("declared_zone"))
    best = _text(row.get("best_zone"))
    consistent_zones = row.get("zones_consistent")
    if isinstance(consistent_zones, str):
        zones_text = consistent_zones.replace(";", ", ")
    elif consistent_zones:
        zones_text = ", ".join(consistent_zones)
    else:
        zones_text = best or ""
    fraction = row.get("foreign_fraction")
    fraction_text = _num(fraction, "{:.0%}") if fraction is not None else None
    return verdict_text(
        str(row.get("verdict")),
        lang,
        declared=_zone_name(declared, lang, compliant) if declared else None,
        best=best,
        zones=zones_text,
        fraction=fraction_text,
    )


def _reason(row: Mapping[str, Any], thresholds: Mapping[str, Any], lang: str) -> str | None:
    """Say why a parcel is inconclusive when it is for want of stones (the commonest case)."""
    minimum = thresholds.get("min_parcel_stones")
    if str(row.get("verdict")) != "inconclusive" or minimum is None:
        return None
    if int(row["n_stones"]) < int(minimum):
        return words(lang)["too_few"].format(n=int(row["n_stones"]), minimum=int(minimum))
    return None


def _thumbs(sample_ids: Sequence[str], thumbnails: Mapping[str, str], k: int = 3) -> list[dict[str, str]]:
    return [{"sample_id": s, "src": thumbnails[s]} for s in sample_ids if s in thumbnails][:k]


def render_report(
    results: pd.DataFrame,
    *,
    zones: Sequence[str],
    parcel_summaries: Mapping[str, Mapping[str, Any]] | None = None,
    parcels: pd.DataFrame | None = None,
    reference: Mapping[str, Any] | None = None,
    meta: Mapping[str, Any] | None = None,
    lang: str = "en",
    max_detail: int = DEFAULT_MAX_DETAIL,
) -> str:
    """Render the classify batch report as one self-contained HTML page.

    Parameters
    ----------
    results : DataFrame
        One row per parcel with the classify result columns (``parcel_id,
        n_stones, declared_zone, verdict, best_zone, p_<zone>..., log10_lr,
        foreign_fraction, foreign_fraction_lo, foreign_fraction_hi,
        novelty_p``), in output order.
    zones : sequence of str
        The model's reference zones (order of the posterior bars).
    parcel_summaries : mapping, optional
        Parcel id to its footprint summary (:func:`footprint._profile.summarise`)
        plus optional ``custody_refs`` (list of str).
    parcels : DataFrame, optional
        The parcels file: ``parcel_id, declared_zone, kp_certificate,
        exporter, declared_value_usd, cleaning_state``.
    reference : mapping, optional
        ``by_zone`` (zone to summary), ``sizes`` (zone to n_stones/n_lots/
        n_sites), ``lots`` (:func:`footprint._profile.lot_vectors` frame),
        ``thumbnails`` (sample id to data URI). Without it the reference
        panels and thumbnails are left out, with a note.
    meta : mapping, optional
        ``synthetic`` (bool), ``model`` (identity and hashes), ``store``,
        ``code`` (versions), ``thresholds`` (dict), ``compliant_zones``.
    lang : {"en", "fr"}
        Report language.
    max_detail : int
        Most parcels given a full section (in output order); the rest
        appear in the summary table only.

    Returns
    -------
    str
        The HTML page.
    """
    from .._profile import nearest_lots

    _check_lang(lang)
    meta = dict(meta or {})
    w = words(lang)
    compliant = list(meta.get("compliant_zones") or compliant_zones())
    summaries = parcel_summaries or {}
    info = {}
    if parcels is not None and len(parcels):
        info = {str(r["parcel_id"]): r for r in parcels.to_dict("records")}
    reference = reference or {}
    references = reference.get("by_zone") or {}
    lots = reference.get("lots")
    thumbnails = reference.get("thumbnails") or {}
    thresholds = dict(meta.get("thresholds") or {})

    records = results.to_dict("records")
    table: list[dict[str, Any]] = []
    sections: list[dict[str, Any]] = []
    for i, row in enumerate(records):
        pid = str(row["parcel_id"])
        verdict = str(row["verdict"])
        table.append(
            {
                "parcel_id": pid,
                "n_stones": int(row["n_stones"]),
                "declared": _zone_name(_text(row.get("declared_zone")), lang, compliant),
                "verdict": verdict,
                "short": short_verdict(verdict, lang),
                "best": _text(row.get("best_zone")) or "–",
                "log10_lr": _num(row.get("log10_lr"), "{:+.2f}"),
                "ff": _num(row.get("foreign_fraction"), "{:.0%}"),
                "novelty": _num(row.get("novelty_p"), "{:.3f}"),
            }
        )
        if i >= max_detail:
            continue
        summary = summaries.get(pid)
        parcel_info = info.get(pid, {})
        masses = _mass_figures(summary, parcel_info, int(row["n_stones"]), lang)
        total_ct = masses["basis"]
        figure = None
        nearest = []
        if summary is not None and references:
            figure = footprint_figure(
                references, parcel=summary, parcel_label=pid, panels=CLASSIFY_PANELS, lang=lang
            )
        if summary is not None and lots is not None and len(lots):
            for lot in nearest_lots(summary, lots):
                lot["distance"] = f"{lot['distance']:.3f}"
                lot["thumbs"] = _thumbs(lot.pop("sample_ids"), thumbnails)
                nearest.append(lot)
        sections.append(
            {
                "parcel_id": pid,
                "n_stones": int(row["n_stones"]),
                "verdict": verdict,
                "short": short_verdict(verdict, lang),
                "verdict_words": _verdict_words(row, lang, compliant),
                "reason": _reason(row, thresholds, lang),
                "declared": _zone_name(_text(row.get("declared_zone")), lang, compliant),
                "best": _text(row.get("best_zone")) or "–",
                "kp_certificate": _text(parcel_info.get("kp_certificate")) or w["not_given"],
                "exporter": _text(parcel_info.get("exporter")) or w["not_given"],
                "cleaning_state": (_text(parcel_info.get("cleaning_state")) or w["not_given"]).replace(
                    "_", " "
                ),
                "value": _value_check(
                    parcel_info.get("declared_value_usd"), total_ct, _text(row.get("declared_zone")), lang,
                    masses["missing"],
                ),
                "total_ct": masses["total_ct"],
                "mean_ct": masses["mean_ct"],
                "size": masses["size"],
                "valuation": _valuation_view(summary, parcel_info, lang),
                "custody": ", ".join((summary or {}).get("custody_refs", [])) or w["custody_none"],
                "lr": _lr_bar(row.get("log10_lr"), thresholds),
                "posterior": _posterior_bars(row, zones),
                "ff": _num(row.get("foreign_fraction"), "{:.0%}"),
                "ff_lo": _num(row.get("foreign_fraction_lo"), "{:.0%}"),
                "ff_hi": _num(row.get("foreign_fraction_hi"), "{:.0%}"),
                "ff_bar": {
                    "lo": round(100 * _float(row.get("foreign_fraction_lo")), 1),
                    "hi": round(100 * _float(row.get("foreign_fraction_hi")), 1),
                    "mid": round(100 * _float(row.get("foreign_fraction")), 1),
                },
                "novelty": _num(row.get("novelty_p"), "{:.3f}"),
                "figure": figure,
                "nearest": nearest,
            }
        )
    counts = pd.Series([r["verdict"] for r in table], dtype=object).value_counts()
    verdict_counts = [
        {"verdict": v, "short": short_verdict(v, lang), "n": int(counts[v])} for v in sorted(counts.index)
    ]
    sizes = [
        {"zone": z, **s, "few": s.get("n_lots", 0) < FEW_REFERENCE_LOTS}
        for z, s in sorted((reference.get("sizes") or {}).items())
    ]
    needs_review = any(r["verdict"] != "consistent" for r in table)
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            w=w,
            lang=lang,
            synthetic=bool(meta.get("synthetic")),
            table=table,
            sections=sections,
            verdict_counts=verdict_counts,
            n_parcels=len(table),
            n_stones=sum(r["n_stones"] for r in table),
            needs_review=needs_review,
            store_mismatch=((meta.get("provenance") or {}).get("store") or {}).get("matches_model") is False,
            truncated=len(table) > max_detail,
            max_detail=max_detail,
            has_reference=bool(references),
            sizes=sizes,
            provenance=_flatten(meta.get("provenance") or {}),
            thresholds=_flatten(thresholds),
            value_bands=load_value_bands(),
        )
    )


def _float(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) else 0.0


def _flatten(mapping: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Flatten nested metadata into sorted ``(key, value)`` rows for a table."""
    rows: list[tuple[str, str]] = []
    for key in sorted(mapping):
        value = mapping[key]
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            rows.extend(_flatten(value, name + "."))
        elif isinstance(value, (list, tuple)):
            rows.append((name, ", ".join(str(v) for v in value)))
        else:
            rows.append((name, str(value)))
    return rows


def render_profile(result: Mapping[str, Any], *, lang: str = "en") -> str:
    """Render a reference footprint (:func:`footprint._profile.profile`) as an HTML page.

    Parameters
    ----------
    result : mapping
        Output of :func:`footprint._profile.profile`.
    lang : {"en", "fr"}
        Page language.
    """
    _check_lang(lang)
    w = words(lang)
    summary = result["summary"]
    by_zone = result.get("by_zone") or {}
    references = by_zone if len(by_zone) > 1 else {result["selection"]["label"]: summary}
    figure = footprint_figure(references, panels=PROFILE_PANELS, lang=lang)
    blocks = [
        ("mass_ct", summary["mass"]),
        ("sieve_class", summary["sieve"]),
        ("n_total_ppm", summary["nitrogen"]),
        ("n_b_percent", summary["n_b_percent"]),
    ]
    blocks += [(name, block) for name, block in summary["categories"].items()]
    rows = [
        {"field": name, "n": block["n"], "lots": block.get("lots") if block.get("lots") is not None else "–"}
        for name, block in blocks
    ]
    gallery = [
        {**g, "src": f"data:{g['mime_type']};base64,{g['data']}", "mass": _num(g.get("mass_ct"), "{:.3f} ct")}
        for g in result.get("gallery", [])
    ]
    store = result.get("store") or {}
    return (
        _environment()
        .get_template("profile.html.j2")
        .render(
            w=w,
            lang=lang,
            synthetic=bool(store.get("synthetic")),
            selection=result["selection"],
            summary=summary,
            figure=figure,
            rows=rows,
            gallery=gallery,
            store=store,
            sizes=[{"zone": z, **s} for z, s in sorted((result.get("sizes") or {}).items())],
            median_ct=_num(summary["mass"]["median_ct"], "{:.3f} ct"),
            mean_ct=_num(summary["mass"]["mean_ct"], "{:.3f} ct"),
            # Totals that say how many stones had no mass, and the size distribution (issue 14).
            p=_mass_figures(summary, {}, int(summary["n_stones"]), lang),
        )
    )
