"""HTML pages of the export review register: monthly history (control charts) and the month's report.

Rendered with jinja2 from the plain dictionaries :meth:`footprint.review.Register.history`
and :meth:`~footprint.review.Register.month_report` return; charts are
inline SVG drawn here, CSS inline, so each page is one self-contained file.
English and French wording below. Nothing time-dependent is written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from ._i18n import LANGUAGES
from ._pages import _environment

__all__ = ["render_history", "render_month_report", "review_words"]

_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "history_title": "Monthly export history: control charts",
        "month_title": "Monthly export review",
        "synthetic": "SYNTHETIC: the register holds synthetic data; not for real decisions",
        "register": "Register",
        "selection": "Selection",
        "all": "all",
        "rule": "Control-chart rule",
        "flagged": "Flagged months",
        "none_flagged": "No month outside its limits.",
        "exporter": "Exporter / buying house",
        "month": "Month",
        "metrics": "Figures outside their limits",
        "parcels": "Parcels",
        "stones": "Stones",
        "carats": "Carats",
        "value": "Value (US$)",
        "verdicts": "Verdicts",
        "decisions": "Decisions",
        "statuses": "Review status",
        "open_items": "Open items (not approved by two experts)",
        "no_open": "No open items.",
        "flags": "Flags",
        "no_flags": "none",
        "history_flags": "Months flagged by the control charts",
        "parcel": "Parcel",
        "certificate": "KP certificate",
        "declared_origin": "Declared origin",
        "subprefecture": "Sub-prefecture",
        "compliance": "Status on the issue date",
        "verdict": "Verdict",
        "status": "Status",
        "by": "By",
        "when": "When",
        "reason": "Reason",
        "decision": "Decision",
        "versions": "Model / reference store / thresholds behind the verdicts",
        "photos": "Photos",
        "limits": "limits",
        "centre": "centre",
        "tolerances": "Check tolerances",
        "caveat": (
            "Control charts flag months that differ from the exporter's own preceding months; a flag "
            "asks for a look, it is not a finding. Verdicts are opinions on whole parcels: no method "
            "proves the origin of a single diamond (GIA, Gems & Gemology, Fall 2022)."
        ),
        "carats_per_stone": "Carats per stone",
        "usd_per_ct": "US$ per carat",
        "gem_share": "Gem share",
        "size_distance": "Size distribution: distance from the reference (Hellinger)",
        "foreign_fraction": "Estimated foreign fraction (median parcel)",
        "verdict_counts": "Parcels not 'consistent' (verdict counts)",
        "rule_text": (
            "Limits of a month come from the exporter's preceding months only (at least {min_months}, "
            "at most {window}). Carats per stone, US$/ct, gem share, size distance and foreign "
            "fraction: centre = median of those months; spread = the larger of 1.4826 x their median "
            "absolute deviation and the median of their standard errors (from stones and parcels); "
            "limits = centre +- {k} x spread (size distance and foreign fraction: upper limit only). "
            "Verdict counts: x parcels not 'consistent' out of n, flagged when the binomial "
            "probability of x or more at the preceding months' rate (X+1)/(N+2) is below {alpha}; "
            "the dashed line is the smallest such count. Size distance: Hellinger distance of the "
            "month's size classes from the zone's reference footprint (else from the preceding "
            "months pooled). Red points: flagged months."
        ),
        "compliant": "compliant",
        "not_compliant": "NOT compliant",
        "unknown_place": "not on the compliance list",
        "pending": "pending",
        "approved": "approved",
        "held": "held",
        "referred": "referred",
        "approve": "approve",
        "hold": "hold",
        "refer": "refer",
    },
    "fr": {
        "history_title": "Historique mensuel des exportations : cartes de contrôle",
        "month_title": "Revue mensuelle des exportations",
        "synthetic": (
            "SYNTHÉTIQUE : le registre contient des données synthétiques ; pas pour de vraies décisions"
        ),
        "register": "Registre",
        "selection": "Sélection",
        "all": "tous",
        "rule": "Règle des cartes de contrôle",
        "flagged": "Mois signalés",
        "none_flagged": "Aucun mois hors de ses limites.",
        "exporter": "Exportateur / bureau d'achat",
        "month": "Mois",
        "metrics": "Grandeurs hors limites",
        "parcels": "Lots",
        "stones": "Pierres",
        "carats": "Carats",
        "value": "Valeur (US$)",
        "verdicts": "Avis",
        "decisions": "Décisions",
        "statuses": "État de la revue",
        "open_items": "Points ouverts (non approuvés par deux experts)",
        "no_open": "Aucun point ouvert.",
        "flags": "Alertes",
        "no_flags": "aucune",
        "history_flags": "Mois signalés par les cartes de contrôle",
        "parcel": "Lot",
        "certificate": "Certificat KP",
        "declared_origin": "Origine déclarée",
        "subprefecture": "Sous-préfecture",
        "compliance": "Statut à la date d'émission",
        "verdict": "Avis",
        "status": "État",
        "by": "Par",
        "when": "Quand",
        "reason": "Motif",
        "decision": "Décision",
        "versions": "Modèle / base de référence / seuils derrière les avis",
        "photos": "Photos",
        "limits": "limites",
        "centre": "centre",
        "tolerances": "Tolérances des contrôles",
        "caveat": (
            "Les cartes de contrôle signalent les mois qui s'écartent des mois précédents du même "
            "exportateur ; un signal appelle un examen, ce n'est pas une conclusion. Les avis portent "
            "sur des lots entiers : aucune méthode ne prouve l'origine d'un diamant isolé (GIA, Gems & "
            "Gemology, automne 2022)."
        ),
        "carats_per_stone": "Carats par pierre",
        "usd_per_ct": "US$ par carat",
        "gem_share": "Part de qualité gemme",
        "size_distance": "Tailles : distance à l'empreinte de référence (Hellinger)",
        "foreign_fraction": "Fraction étrangère estimée (lot médian)",
        "verdict_counts": "Lots non « compatibles » (nombre d'avis)",
        "rule_text": (
            "Les limites d'un mois viennent des seuls mois précédents du même exportateur (au moins "
            "{min_months}, au plus {window}). Carats par pierre, US$/ct, part gemme, distance des "
            "tailles et fraction étrangère : centre = médiane de ces mois ; dispersion = le plus grand "
            "de 1,4826 x leur écart absolu médian et de la médiane de leurs erreurs types (pierres et "
            "lots) ; limites = centre +- {k} x dispersion (distance des tailles et fraction étrangère : "
            "limite haute seulement). Nombre d'avis : x lots non « compatibles » sur n, signalé quand la "
            "probabilité binomiale d'en avoir x ou plus au taux des mois précédents (X+1)/(N+2) est "
            "inférieure à {alpha} ; la ligne pointillée est le plus petit tel nombre. Distance des "
            "tailles : distance de Hellinger des classes de taille du mois à l'empreinte de référence "
            "de la zone (sinon aux mois précédents réunis). Points rouges : mois signalés."
        ),
        "compliant": "zone conforme",
        "not_compliant": "NON conforme",
        "unknown_place": "absente de la liste de conformité",
        "pending": "en attente",
        "approved": "approuvé",
        "held": "retenu",
        "referred": "transmis",
        "approve": "approuver",
        "hold": "retenir",
        "refer": "transmettre",
    },
}

_METRICS = ("carats_per_stone", "usd_per_ct", "gem_share", "size_distance", "foreign_fraction")


def review_words(lang: str) -> dict[str, str]:
    """Return the review pages' wording in ``lang`` (``en`` or ``fr``)."""
    if lang not in LANGUAGES:
        from ..exceptions import InputError, Problem

        raise InputError(
            f"language must be one of {', '.join(LANGUAGES)}",
            [Problem(None, None, "lang", lang, "unknown language")],
        )
    return _WORDS[lang]


def _fmt(x: Any, nd: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    if isinstance(x, float):
        return f"{x:,.{nd}f}"
    return str(x)


def _svg_chart(
    months: Sequence[Mapping[str, Any]], metric: str, title: str, all_months: Sequence[str]
) -> str:
    """One control chart: the series, its limits band and flagged months, as inline SVG."""
    w, h, left, right, top, bottom = 520, 170, 52, 12, 22, 34
    xs = {m: i for i, m in enumerate(all_months)}
    pts, lows, highs = [], [], []
    for m in months:
        if metric == "verdicts":
            y = float(m["not_consistent"])
            lim = m["limits"].get("verdicts")
            hi = lim.get("upper") if lim else None  # the smallest count the binomial rule flags
            lo = None
        else:
            y = m["values"].get(metric, math.nan)
            lim = m["limits"].get(metric)
            hi, lo = (lim["upper"], lim["lower"]) if lim else (None, None)
        flagged = metric in m["flags"]
        pts.append((xs[m["month"]], y, flagged, m["month"]))
        if hi is not None:
            highs.append((xs[m["month"]], hi))
            lows.append((xs[m["month"]], lo if lo is not None else (0.0 if metric == "verdicts" else None)))
    vals = (
        [p[1] for p in pts if math.isfinite(p[1])]
        + [v for _, v in highs]
        + [v for _, v in lows if v is not None]
    )
    if not vals:
        return ""
    ymin, ymax = min(vals + [0.0]) if metric != "usd_per_ct" else min(vals), max(vals)
    if ymax - ymin < 1e-9:
        ymax = ymin + 1.0
    pad = 0.08 * (ymax - ymin)
    ymin, ymax = ymin - pad, ymax + pad
    n = max(len(all_months) - 1, 1)

    def X(i: float) -> float:
        return left + (w - left - right) * i / n

    def Y(v: float) -> float:
        return top + (h - top - bottom) * (1 - (v - ymin) / (ymax - ymin))

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        f'role="img" aria-label="{escape(title)}" class="chart">',
        f'<text x="{left}" y="14" font-size="12" font-weight="bold">{escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{w - left - right}" height="{h - top - bottom}" fill="#fafafa" '
        'stroke="#999"/>',
    ]
    if highs:
        upper = " ".join(f"{X(i):.1f},{Y(v):.1f}" for i, v in highs)
        out.append(f'<polyline points="{upper}" fill="none" stroke="#c62828" stroke-dasharray="4,3"/>')
        lower = [(i, v) for i, v in lows if v is not None]
        if lower and metric != "verdicts":
            out.append(
                '<polyline points="'
                + " ".join(f"{X(i):.1f},{Y(v):.1f}" for i, v in lower)
                + '" fill="none" stroke="#c62828" stroke-dasharray="4,3"/>'
            )
    line = [(i, v) for i, v, _, _ in pts if math.isfinite(v)]
    if line:
        out.append(
            '<polyline points="'
            + " ".join(f"{X(i):.1f},{Y(v):.1f}" for i, v in line)
            + '" fill="none" stroke="#1f5fa8" stroke-width="2"/>'
        )
    for i, v, flagged, month in pts:
        if not math.isfinite(v):
            continue
        colour, r = ("#c62828", 6) if flagged else ("#1f5fa8", 3)
        out.append(
            f'<circle cx="{X(i):.1f}" cy="{Y(v):.1f}" r="{r}" fill="{colour}" '
            f'class="{"flagged" if flagged else "point"}"><title>{escape(month)}: {_fmt(v)}</title></circle>'
        )
    for v in (ymin + pad, ymax - pad):
        out.append(
            f'<text x="{left - 4}" y="{Y(v) + 4:.1f}" font-size="10" text-anchor="end">{_fmt(v, 2)}</text>'
        )
    step = max(1, math.ceil(len(all_months) / 6))
    for j, lab in enumerate(all_months):
        if j % step == 0:
            out.append(
                f'<text x="{X(j):.1f}" y="{h - 18}" font-size="10" text-anchor="middle">{escape(lab)}</text>'
            )
    out.append("</svg>")
    return "".join(out)


def _render(template: str, w: Mapping[str, str], lang: str, synthetic: bool, **context: Any) -> str:
    """Render a review page template with its words, language and SYNTHETIC flag."""
    return (
        _environment()
        .get_template(template)
        .render(lang=lang, w=w, synthetic=synthetic, metric_name=lambda m: w.get(m, m), **context)
    )


def render_history(history: Mapping[str, Any], *, lang: str = "en") -> str:
    """Render :meth:`Register.history`'s result as a self-contained HTML page of control charts."""
    w = review_words(lang)
    all_months = history["months"]
    series = []
    for s in history["series"]:
        charts = [_svg_chart(s["months"], m, w[m], all_months) for m in _METRICS]
        charts.append(_svg_chart(s["months"], "verdicts", w["verdict_counts"], all_months))
        series.append(
            {
                "exporter": s["exporter"],
                "charts": [c for c in charts if c],
                "flagged": [m for m in s["months"] if m["flags"]],
            }
        )
    selection = {k: v for k, v in history.get("selection", {}).items() if v}
    return _render(
        "review_history.html.j2",
        w,
        lang,
        history["synthetic"],
        history=history,
        series=series,
        selection=", ".join(f"{k} = {v}" for k, v in selection.items()) or w["all"],
        rule_text=w["rule_text"].format(**history["rule"]),
    )


def render_month_report(report: Mapping[str, Any], *, lang: str = "en") -> str:
    """Render :meth:`Register.month_report`'s result as the month's self-contained HTML summary."""
    w = review_words(lang)
    return _render("review_month.html.j2", w, lang, report["synthetic"], r=report, fmt=_fmt)
