"""The classify batch report: one self-contained HTML page for a run of parcels."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from .._version import __version__
from ..classify import DEFAULT_MAX_DETAIL, ReportInputs
from ..model import mixed_alpha_at, unknown_alphas
from ._figures import CLASSIFY_PANELS, footprint_figure
from ._i18n import short_verdict, verdict_text, words
from ._pages import (
    FEW_REFERENCE_LOTS,
    _check_lang,
    _environment,
    _flatten,
    _float,
    _mass_figures,
    _num,
    _text,
    compliant_zones,
    load_value_bands,
)

__all__ = ["render_classify_report", "render_report"]


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


def _one_in(alpha: Any) -> str:
    """``"100"`` for an alpha of 0.01: the "1 in N genuine parcels" of a test's false-alarm rate."""
    try:
        value = float(alpha)
    except (TypeError, ValueError):
        return "?"
    return f"{1.0 / value:,.0f}" if value > 0 else "∞"


def _site_rows(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return the target zone's sites with shares and intervals (``site_shares`` records), for bars."""
    records = row.get("site_shares")
    if not isinstance(records, (list, tuple)):
        return []
    out = []
    for site, share, lo, hi in records:
        out.append({"site": str(site), "share": f"{share:.0%}",
                    "interval": f"{100 * lo:.0f}–{100 * hi:.0f}%", "lo": round(100 * lo, 1),
                    "width": round(100 * (hi - lo), 1), "mid": round(100 * share, 1)})
    return out


def _blank(value: Any) -> bool:
    return value is None or value != value  # None or NaN


def _test_sentence(w: Mapping[str, str], key: str, p: Any, alpha: Any, budget: Any) -> str:
    """One test's sentence: its p-value, its alpha and the "1 in N genuine parcels" of its budget."""
    return w[key].format(p=_num(p, "{:.3g}"), alpha=_num(alpha, "{:g}"), one_in=_one_in(budget))


def _test_sentences(row: Mapping[str, Any], thresholds: Mapping[str, Any], w: Mapping[str, str]) -> list[str]:
    """Say what each calibrated test of a parcel found: mixed, unknown origin and the population fit.

    From thresholds version 3 the unknown-origin budget is split between the stone-by-stone test and
    the population fit test (:func:`~footprint.model.unknown_alphas`); a parcel without a fit p-value
    meets the stone-by-stone test at the whole budget. From version 4 the mixed test's level
    depends on the parcel's size (:func:`~footprint.model.mixed_alpha_at`).
    """
    out = []
    mixed = thresholds.get("mixed_alpha")
    if mixed is not None and not _blank(row.get("n_stones")):  # from thresholds v4 the level depends on size
        mixed = float(mixed_alpha_at(thresholds, float(row["n_stones"])))
    if not _blank(row.get("mixed_p")):
        out.append(_test_sentence(w, "why_mixed_p", row["mixed_p"], mixed, mixed))
    unknown = thresholds.get("unknown_alpha")
    novelty_alpha, fit_alpha = unknown_alphas(thresholds) if "unknown_alpha" in thresholds else (None, None)
    split = fit_alpha is not None and not _blank(row.get("fit_p"))
    if not _blank(row.get("novelty_p")):
        key, alpha = ("why_unknown_split_p", novelty_alpha) if split else ("why_unknown_p", unknown)
        out.append(_test_sentence(w, key, row["novelty_p"], alpha, unknown))
    if split:
        out.append(_test_sentence(w, "why_fit_p", row["fit_p"], fit_alpha, unknown))
    return out


def _why_view(row: Mapping[str, Any], summary: Mapping[str, Any] | None, thresholds: Mapping[str, Any],
              lang: str, thin: Mapping[str, Any]) -> dict[str, Any]:
    """Return what the "why" block of a parcel shows (issue 12): fields, sites, tests, stones, thin zones."""
    w = words(lang)
    why = (summary or {}).get("why") or {}
    declared, best = _text(row.get("declared_zone")), _text(row.get("best_zone"))
    zone = why.get("target") or declared or best or ""
    alternative = why.get("alternative") or _text(row.get("alternative_zone")) or ""
    fields = [{"field": f["field"], "share": f"{f['share']:.0%}", "width": round(100 * f["share"], 1),
               "supports": f["supports"], "log10": f"{f['log10']:+.2f}"} for f in why.get("fields", [])]
    tests = _test_sentences(row, thresholds, w)
    flags = [f for f in str(_text(row.get("flags")) or "").split(";") if f]
    is_mixed = "mixed" in flags or str(row.get("verdict")) == "mixed"
    stones = ([{"sample_id": s["sample_id"], "p": f"{s['p_foreign']:.3f}"}
               for s in why.get("foreign_stones", [])] if is_mixed else [])
    thin_notes = []
    for z in dict.fromkeys(z for z in (zone, alternative) if z):
        info = thin.get(z)
        if info:
            thin_notes.append(w["thin_zone"].format(zone=z, stones=info.get("stones", "?"),
                                                    lots=info.get("lots", "?"),
                                                    widening=_num(info.get("widening"), "{:.2f}")))
    return {
        "zone": zone, "alternative": alternative, "fields": fields, "sites": _site_rows(row),
        "sites_text": _text(row.get("typical_sites")), "tests": tests,
        "flags": ", ".join(short_verdict(f, lang) for f in flags) or w["why_no_flags"],
        "foreign": stones, "thin": thin_notes,
    }


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
    parcel_photos: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """Render the classify batch report as one self-contained HTML page.

    Parameters
    ----------
    results : DataFrame
        One row per parcel with the classify result columns (``parcel_id,
        n_stones, declared_zone, verdict, best_zone, p_<zone>..., log10_lr,
        foreign_fraction, foreign_fraction_lo, foreign_fraction_hi,
        novelty_p``, and when present ``mixed_p, fit_p, flags, typical_sites,
        site_shares, alternative_zone``: the "why" block), in output order.
    zones : sequence of str
        The model's reference zones (order of the posterior bars).
    parcel_summaries : mapping, optional
        Parcel id to its footprint summary (:func:`footprint._profile.summarise`)
        plus optional ``custody_refs`` (list of str) and ``why`` (fields
        moving the evidence and stones most likely foreign, from classify).
    parcels : DataFrame, optional
        The parcels file: ``parcel_id, declared_zone, kp_certificate,
        exporter, declared_value_usd, cleaning_state``.
    reference : mapping, optional
        ``by_zone`` (zone to summary), ``sizes`` (zone to n_stones/n_lots/
        n_sites), ``lots`` (:func:`footprint._profile.lot_vectors` frame),
        ``thumbnails`` (sample id to data URI), ``bands`` (zone to its band
        of lot-to-lot variation, :func:`footprint._profile.lot_bands`, drawn
        for the declared zone on the footprint panels). Without it the reference
        panels and thumbnails are left out, with a note.
    meta : mapping, optional
        ``synthetic`` (bool), ``model`` (identity and hashes), ``store``,
        ``code`` (versions), ``thresholds`` (dict), ``compliant_zones``,
        ``thin_zones`` (zone to ``stones``, ``lots``, ``widening``: a note
        at the top and in every parcel whose zones include one).
    lang : {"en", "fr"}
        Report language.
    max_detail : int
        Most parcels given a full section (in output order); the rest
        appear in the summary table only.
    parcel_photos : mapping, optional
        Parcel id to data URIs of its photos, shown beside the reference
        photos of its nearest lots.

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
    bands = reference.get("bands") or {}
    thresholds = dict(meta.get("thresholds") or {})
    thin = dict(meta.get("thin_zones") or {})

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
            band_zone = _text(row.get("declared_zone")) or _text(row.get("best_zone"))
            figure = footprint_figure(
                references, parcel=summary, parcel_label=pid, panels=CLASSIFY_PANELS, lang=lang,
                band=bands.get(band_zone or ""), band_zone=band_zone,
                band_label=w["lot_band"].format(zone=band_zone),
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
                "photos": list((parcel_photos or {}).get(pid, [])),
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
                "why": _why_view(row, summary, thresholds, lang, thin),
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
            thin_notes=[w["thin_zone"].format(zone=z, stones=info.get("stones", "?"),
                                              lots=info.get("lots", "?"),
                                              widening=_num(info.get("widening"), "{:.2f}"))
                        for z, info in sorted(thin.items())],
        )
    )


def render_classify_report(inputs: ReportInputs) -> str:
    """Render the classify report of a run (the ``render_report`` that :func:`footprint.classify` takes).

    Parameters
    ----------
    inputs : footprint.classify.ReportInputs
        What the run gathered: results, summaries, parcels, reference data,
        model and store identity, thresholds, language and detail budget.

    Returns
    -------
    str
        The self-contained HTML page (:func:`render_report`).
    """
    provenance = {
        "model": {k: v for k, v in inputs.identity.items() if k != "directory"},
        "store": dict(inputs.store_meta),
        "code": {"footprint": __version__},
    }
    return render_report(
        inputs.results,
        zones=inputs.zones,
        parcel_summaries=inputs.summaries,
        parcels=inputs.parcels,
        reference=inputs.reference,
        meta={
            "synthetic": inputs.synthetic,
            "provenance": provenance,
            "thresholds": inputs.thresholds,
            "compliant_zones": compliant_zones(),
            "thin_zones": dict(inputs.thin_zones or {}),
        },
        lang=inputs.lang,
        max_detail=DEFAULT_MAX_DETAIL if inputs.max_detail is None else inputs.max_detail,
        parcel_photos=inputs.parcel_photos,
    )
