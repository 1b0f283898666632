"""HTML pages of ``footprint stats check``: the screening report and draft questionnaires.

Both are rendered with jinja2 from the findings table (:func:`footprint.stats.run_checks`)
and the participants' series (:func:`footprint.stats.flow_series`); the plots are
matplotlib SVG embedded inline, so one file is the whole page. English and French.
Nothing time-dependent is written into a page.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._pages import _environment

__all__ = ["STATS_WORDS", "render_questionnaire", "render_stats_report", "stats_figure"]

STATS_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "KP statistics screening",
        "q_title": "Data anomaly questionnaire (draft)",
        "synthetic": "SYNTHETIC: these statistics are synthetic; not real figures",
        "draft": "DRAFT for the KP statistics working group: to be reviewed before it is sent",
        "summary": "Summary",
        "inputs": "Inputs",
        "findings": "Findings",
        "by_check": "Findings per check",
        "participant": "Participant",
        "period": "Period",
        "check": "Check",
        "partner": "Partner",
        "observed": "Observed",
        "expected": "Expected",
        "score": "Score",
        "severity": "Severity",
        "detail": "Detail",
        "flow": "Flow",
        "none": "No anomaly found.",
        "plots": "Series of the flagged participants",
        "plot_caption": "Own figures (solid) and partners' mirror figures (dashed); flagged periods in red.",
        "carats": "carats",
        "usd_per_ct": "US$/ct",
        "settings": "Thresholds used (estimates: the KP publishes none)",
        "rules": "Checks and severity rules",
        "q_intro": (
            "The screening of the KP statistics found the figures below unusual. Please check them "
            "and answer each question; where a figure is wrong, send the corrected figure."
        ),
        "q_question": "Question",
        "q_answer": "Answer",
        "q_figures": "Figures",
        "export": "exports",
        "import": "imports",
        "production": "production",
        "check_mirror": "Mirror trade: partners' reports of the same trade differ",
        "check_unit_value": "Unit value (US$/ct) unlike own history and partners' reports",
        "check_balance": "Exports beyond production plus imports",
        "check_jump": "Change beyond normal variation",
        "check_missing": "No figures where partners report trade",
        "check_certificates": "Certificates: implausible per-certificate figures or counts that disagree",
        "ask_mirror": (
            "Your figures and your partner's for this trade differ. Please check the shipments "
            "and certificates of this period with {partner} and explain the difference "
            "(timing, valuation, error) or send corrected figures."
        ),
        "ask_unit_value": (
            "The value per carat of this flow is unlike your other periods and unlike what "
            "your partners report. Please explain (assortment, valuation method, error)."
        ),
        "ask_balance": (
            "Your exports this year exceed your production plus imports by more than a stock "
            "change would explain. Please give the stock at the start and end of the year and "
            "the origin of the goods exported."
        ),
        "ask_jump": (
            "This figure changes from the previous periods beyond your usual variation. Please "
            "explain the change (new mine, closure, stock release, error)."
        ),
        "ask_missing": (
            "Partners report trade with you in this period but your statistics have no figures "
            "for it. Please send the figures, or explain why there are none."
        ),
        "ask_certificates": (
            "The number of certificates for this trade is implausible or differs from your "
            "partner's count. Please check the certificates issued or received."
        ),
        "score_help": "Score: comparable within a check (see the rules below).",
    },
    "fr": {
        "title": "Examen des statistiques du Processus de Kimberley",
        "q_title": "Questionnaire sur les anomalies de données (projet)",
        "synthetic": "SYNTHÉTIQUE : ces statistiques sont synthétiques ; ce ne sont pas des chiffres réels",
        "draft": "PROJET pour le groupe de travail sur les statistiques du PK : à revoir avant envoi",
        "summary": "Résumé",
        "inputs": "Données",
        "findings": "Constats",
        "by_check": "Constats par contrôle",
        "participant": "Participant",
        "period": "Période",
        "check": "Contrôle",
        "partner": "Partenaire",
        "observed": "Observé",
        "expected": "Attendu",
        "score": "Score",
        "severity": "Gravité",
        "detail": "Détail",
        "flow": "Flux",
        "none": "Aucune anomalie trouvée.",
        "plots": "Séries des participants signalés",
        "plot_caption": (
            "Chiffres déclarés (trait plein) et chiffres miroirs des partenaires (tirets) ; "
            "périodes signalées en rouge."
        ),
        "carats": "carats",
        "usd_per_ct": "US$/ct",
        "settings": "Seuils utilisés (estimations : le PK n'en publie pas)",
        "rules": "Contrôles et règles de gravité",
        "q_intro": (
            "L'examen des statistiques du PK a relevé les chiffres ci-dessous comme inhabituels. "
            "Veuillez les vérifier et répondre à chaque question ; si un chiffre est erroné, "
            "envoyez le chiffre corrigé."
        ),
        "q_question": "Question",
        "q_answer": "Réponse",
        "q_figures": "Chiffres",
        "export": "exportations",
        "import": "importations",
        "production": "production",
        "check_mirror": "Commerce miroir : les déclarations des partenaires pour le même commerce diffèrent",
        "check_unit_value": (
            "Valeur unitaire (US$/ct) éloignée de l'historique et des déclarations des partenaires"
        ),
        "check_balance": "Exportations supérieures à la production plus les importations",
        "check_jump": "Variation au-delà de la variation habituelle",
        "check_missing": "Aucun chiffre alors que des partenaires déclarent un commerce",
        "check_certificates": (
            "Certificats : chiffres par certificat invraisemblables ou nombres qui ne concordent pas"
        ),
        "ask_mirror": (
            "Vos chiffres et ceux de votre partenaire pour ce commerce diffèrent. Veuillez vérifier "
            "avec {partner} les expéditions et certificats de la période et expliquer l'écart "
            "(décalage, évaluation, erreur) ou envoyer des chiffres corrigés."
        ),
        "ask_unit_value": (
            "La valeur par carat de ce flux est éloignée de vos autres périodes et de ce que "
            "déclarent vos partenaires. Veuillez l'expliquer (assortiment, méthode d'évaluation, "
            "erreur)."
        ),
        "ask_balance": (
            "Vos exportations de l'année dépassent votre production plus vos importations au-delà "
            "de ce qu'une variation de stock expliquerait. Veuillez indiquer le stock en début et "
            "en fin d'année et l'origine des diamants exportés."
        ),
        "ask_jump": (
            "Ce chiffre change par rapport aux périodes précédentes au-delà de votre variation "
            "habituelle. Veuillez expliquer ce changement (nouvelle mine, fermeture, déstockage, "
            "erreur)."
        ),
        "ask_missing": (
            "Des partenaires déclarent un commerce avec vous pour cette période, mais vos "
            "statistiques n'ont aucun chiffre. Veuillez envoyer les chiffres ou expliquer leur "
            "absence."
        ),
        "ask_certificates": (
            "Le nombre de certificats de ce commerce est invraisemblable ou diffère de celui de "
            "votre partenaire. Veuillez vérifier les certificats émis ou reçus."
        ),
        "score_help": "Score : comparable au sein d'un contrôle (voir les règles ci-dessous).",
    },
}

_SCORE_WORDS = {
    "mirror": "robust z of the log ratio exporter/importer",
    "unit_value": "robust z of log US$/ct against own history",
    "balance": "relative excess: exports / (production + imports) - 1",
    "jump": "change in noise units (ruptures PELT change point)",
    "missing": "share of normal trade unreported",
    "certificates": "distance in doublings (log2 ratio)",
}


def _render(template: str, lang: str, meta: Mapping[str, Any], **context: Any) -> str:
    """Render a stats page template with ``lang``'s words, the SYNTHETIC flag and inputs of ``meta``."""
    return (
        _environment()
        .get_template(template)
        .render(
            w=STATS_WORDS[lang],
            lang=lang,
            synthetic=bool(meta.get("synthetic")),
            inputs=sorted((meta.get("inputs") or {}).items()),
            **context,
        )
    )


def _words(lang: str) -> dict[str, str]:
    """Return the page words of ``lang``, refusing an unknown language."""
    if lang not in STATS_WORDS:
        from ..exceptions import InputError, Problem

        raise InputError("unknown report language", [Problem(None, None, "lang", lang, "must be en or fr")])
    return STATS_WORDS[lang]


def stats_figure(series: pd.DataFrame, flagged: Sequence[str], *, title: str, lang: str = "en") -> str:
    """Draw one participant flow: carats and US$/ct over time, flagged periods marked; inline SVG.

    Parameters
    ----------
    series : DataFrame
        :func:`footprint.stats.flow_series` output.
    flagged : sequence of str
        Period labels to mark (a year marks all its periods).
    title : str
        Figure title.
    lang : {"en", "fr"}
        Axis wording.

    Returns
    -------
    str
        An ``<svg>`` element (no XML header), deterministic for the same input.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    w = STATS_WORDS[lang]
    x = np.arange(len(series))
    periods = series["period"].astype(str).tolist()
    marks = [i for i, p in enumerate(periods) if p in flagged or p.split("-")[0] in flagged]
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 2.8))
    with np.errstate(divide="ignore", invalid="ignore"):
        partner_uv = series["partner_value_usd"] / series["partner_carats"]
    for ax, own, partner, label in (
        (axes[0], series["carats"], series["partner_carats"], w["carats"]),
        (axes[1], series["usd_per_ct"], partner_uv, w["usd_per_ct"]),
    ):
        ax.plot(x, own.to_numpy(dtype=float), "-o", color="#1f5fa8", ms=3, lw=1.2)
        if np.isfinite(partner.to_numpy(dtype=float)).any():
            ax.plot(x, partner.to_numpy(dtype=float), "--", color="#777777", lw=1.0)
        if marks:
            ax.plot(x[marks], own.to_numpy(dtype=float)[marks], "o", ms=8, mfc="none", mec="#c62828", mew=2)
        ax.set_ylabel(label)
        step = max(1, len(x) // 10)
        ax.set_xticks(x[::step])
        ax.set_xticklabels(periods[::step], rotation=45, ha="right", fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    buffer = io.StringIO()
    matplotlib.rcParams["svg.hashsalt"] = "footprint"
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _num(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return "–"
    return f"{number:,.0f}" if abs(number) >= 100 else f"{number:,.2f}"


def _rows(anomalies: pd.DataFrame, lang: str) -> list[dict[str, Any]]:
    w = STATS_WORDS[lang]
    rows = []
    for r in anomalies.to_dict("records"):
        rows.append(
            {
                **r,
                "observed": _num(r["observed"]),
                "expected": _num(r["expected"]),
                "score": f"{float(r['score']):.2f}",
                "flow_words": w.get(str(r.get("flow")), r.get("flow")),
                "check_words": w[f"check_{r['check']}"],
                "question": w[f"ask_{r['check']}"].format(partner=r.get("partner") or ""),
            }
        )
    return rows


def render_stats_report(
    anomalies: pd.DataFrame,
    series: Mapping[tuple[str, str], pd.DataFrame],
    *,
    meta: Mapping[str, Any] | None = None,
    lang: str = "en",
    max_plots: int = 60,
) -> str:
    """Render the screening report: summary, a plot per flagged participant and flow, the findings table.

    Parameters
    ----------
    anomalies : DataFrame
        :func:`footprint.stats.run_checks` output.
    series : mapping
        ``(participant, flow)`` to :func:`footprint.stats.flow_series`.
    meta : mapping, optional
        ``synthetic`` (bool), ``inputs`` (name to path and sha256), ``settings``,
        ``severity_rules``.
    lang : {"en", "fr"}
        Page language.
    max_plots : int
        Most plots drawn (the most severe first); the table lists every finding.

    Returns
    -------
    str
        The HTML page.
    """
    w = _words(lang)
    meta = dict(meta or {})
    plots = []
    for (who, flow), frame in list(series.items())[:max_plots]:
        sub = anomalies[(anomalies["participant"] == who) & (anomalies["flow"] == flow)]
        flagged = sorted(set(sub["period"].astype(str)))
        title = f"{who}: {w.get(flow, flow)} ({', '.join(sorted(set(sub['check'])))})"
        plots.append({"title": title, "svg": stats_figure(frame, flagged, title=title, lang=lang)})
    counts = anomalies.attrs.get("counts") or anomalies["check"].value_counts().to_dict()
    severity = anomalies["severity"].value_counts().to_dict() if len(anomalies) else {}
    return _render(
        "stats.html.j2",
        lang,
        meta,
        rows=_rows(anomalies, lang),
        plots=plots,
        counts=[{"check": c, "words": w[f"check_{c}"], "n": int(n)} for c, n in counts.items()],
        severity={k: int(v) for k, v in severity.items()},
        n_participants=int(anomalies["participant"].nunique()) if len(anomalies) else 0,
        settings=sorted((meta.get("settings") or {}).items()),
        rules=[
            {"check": c, "words": w[f"check_{c}"], "score": _SCORE_WORDS[c], "medium": m, "high": h}
            for c, (m, h) in (meta.get("severity_rules") or {}).items()
        ],
        truncated=len(series) > max_plots,
        max_plots=max_plots,
    )


def render_questionnaire(
    participant: str,
    anomalies: pd.DataFrame,
    *,
    meta: Mapping[str, Any] | None = None,
    lang: str = "en",
    name: str | None = None,
) -> str:
    """Render the draft questionnaire for one participant: each anomaly, its figures and the question.

    Parameters
    ----------
    participant : str
        Participant code.
    anomalies : DataFrame
        Findings that concern it (as participant, or as partner of a mirror finding).
    meta : mapping, optional
        ``synthetic`` (bool), ``inputs``.
    lang : {"en", "fr"}
        Language.
    name : str, optional
        The participant's name.

    Returns
    -------
    str
        The HTML page.
    """
    _words(lang)  # an unknown language is refused before anything is rendered
    return _render(
        "stats_questionnaire.html.j2",
        lang,
        dict(meta or {}),
        participant=participant,
        name=name or participant,
        rows=_rows(anomalies, lang),
    )
