"""Footprint panels drawn with matplotlib (Agg), embedded as base64 PNG.

The same drawing code serves ``footprint profile`` (reference footprints
only) and the classify report (a parcel over the reference footprints), so
the two always show the same thing the same way. Everything is drawn from
:func:`footprint._profile.summarise` summaries: shares per bin, with the
number of stones and lots behind each curve in the legend.

PNG output is deterministic for the same input (no time stamp or software
tag is written), which keeps re-runs byte-identical.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._profile import CATEGORY_FIELDS, MASS_LOG10_EDGES, NB_PERCENT_EDGES, NITROGEN_EDGES

__all__ = ["CLASSIFY_PANELS", "PROFILE_PANELS", "footprint_figure"]

#: Panels of the parcel-against-reference figure in the classify report.
CLASSIFY_PANELS: tuple[str, ...] = (
    "sieve",
    "sieve_ct",
    "mass",
    "nitrogen_vs_b",
    "colour",
    "morphology",
    "quality",
    "radiation_spots",
    "nitrogen",
    "n_b_percent",
)
#: Panels of a ``footprint profile`` page: the classify ones plus the other summarised categories.
PROFILE_PANELS: tuple[str, ...] = CLASSIFY_PANELS + tuple(
    f for f in CATEGORY_FIELDS if f not in CLASSIFY_PANELS)

_TITLES = {
    "en": {
        "sieve": "Size-frequency by sieve band",
        "sieve_ct": "Carats by sieve band",
        "share_ct": "% of carats",
        "mass": "Mass (ct, log scale)",
        "nitrogen_vs_b": "Total N against %B",
        "colour": "Colour",
        "morphology": "Morphology",
        "quality": "Quality (assortment)",
        "radiation_spots": "Radiation spots",
        "nitrogen": "Total N (ppm)",
        "n_b_percent": "Aggregation %B",
        "fluorescence": "Fluorescence",
        "coating": "Coating",
        "resorption": "Resorption grade",
        "abrasion": "Abrasion grade",
        "diamond_type": "Diamond type",
        "cleaning_state": "Cleaning state",
        "share": "% of stones",
        "parcel": "parcel",
    },
    "fr": {
        "sieve": "Granulométrie par classe de tamis",
        "sieve_ct": "Carats par classe de tamis",
        "share_ct": "% des carats",
        "mass": "Masse (ct, échelle log)",
        "nitrogen_vs_b": "N total contre %B",
        "colour": "Couleur",
        "morphology": "Morphologie",
        "quality": "Qualité (assortiment)",
        "radiation_spots": "Taches de radiation",
        "nitrogen": "N total (ppm)",
        "n_b_percent": "Agrégation %B",
        "fluorescence": "Fluorescence",
        "coating": "Enrobage",
        "resorption": "Degré de résorption",
        "abrasion": "Degré d'abrasion",
        "diamond_type": "Type de diamant",
        "cleaning_state": "État de nettoyage",
        "share": "% des pierres",
        "parcel": "lot",
    },
}

_REFERENCE_COLOURS = ("#1f5fa8", "#d9822b", "#3a9a5b", "#9b59b6", "#8c564b", "#7f7f7f")
_PARCEL_COLOUR = "#111111"


def _block(summary: Mapping[str, Any], panel: str) -> Mapping[str, Any]:
    if panel in ("sieve", "mass", "nitrogen", "n_b_percent"):
        return summary[panel]
    if panel == "sieve_ct":  # % of carats per band, over the weighed stones with a sieve
        sieve = summary["sieve"]
        return {"bands": sieve["bands"], "counts": sieve.get("carats", [0.0] * len(sieve["bands"])),
                "n": sieve.get("n_carats", 0), "lots": None}
    if panel == "nitrogen_vs_b":
        return summary["n_vs_b"]
    return summary["categories"][panel]


def _legend(name: str, block: Mapping[str, Any]) -> str:
    lots = block.get("lots")
    return f"{name} (n={block['n']}" + (f", {lots} lots)" if lots else ")")


def _shares(block: Mapping[str, Any]) -> np.ndarray:
    counts = np.asarray(block["counts"], dtype=float)
    total = counts.sum()
    return 100.0 * counts / total if total > 0 else counts


def _draw_bars(
    ax: Any, labels: Sequence[str], series: list[tuple[str, str, Mapping[str, Any], bool]]
) -> None:
    width = 0.8 / max(len(series), 1)
    x = np.arange(len(labels))
    for i, (name, colour, block, is_parcel) in enumerate(series):
        ax.bar(
            x + (i - (len(series) - 1) / 2) * width,
            _shares(block),
            width=width,
            color=colour,
            label=_legend(name, block),
            alpha=0.95 if is_parcel else 0.8,
            edgecolor="black" if is_parcel else "none",
            linewidth=0.6,
        )
    ax.set_xticks(x)
    ax.set_xticklabels(
        [str(label).replace("_", " ") for label in labels], rotation=35, ha="right", fontsize=7
    )


def _draw_steps(ax: Any, edges: np.ndarray, series: list[tuple[str, str, Mapping[str, Any], bool]]) -> None:
    for name, colour, block, is_parcel in series:
        shares = _shares(block)
        ax.stairs(
            shares,
            edges,
            color=colour,
            label=_legend(name, block),
            linewidth=2.2 if is_parcel else 1.4,
            fill=not is_parcel,
            alpha=1.0 if is_parcel else 0.35,
        )


def _draw_panel(
    ax: Any, panel: str, series: list[tuple[str, str, Mapping[str, Any], bool]], lang: str
) -> None:
    titles = _TITLES[lang]
    ax.set_title(titles[panel], fontsize=9)
    if panel == "nitrogen_vs_b":
        for name, colour, block, is_parcel in series:
            ax.scatter(
                block["n_ppm"],
                block["b_percent"],
                s=14 if is_parcel else 6,
                color=colour,
                alpha=0.9 if is_parcel else 0.35,
                label=_legend(name, block),
                marker="D" if is_parcel else "o",
                linewidths=0,
            )
        ax.set_xlabel("N (ppm)", fontsize=7)
        ax.set_ylabel("%B", fontsize=7)
        ax.set_xlim(0, 1500)
        ax.set_ylim(0, 100)
    elif panel == "mass":
        _draw_steps(ax, MASS_LOG10_EDGES, series)
        ticks = [-2, -1, 0, 1, 2]
        ax.set_xticks(ticks)
        ax.set_xticklabels(["0.01", "0.1", "1", "10", "100"], fontsize=7)
        ax.set_xlim(-2, 1.5)
    elif panel == "nitrogen":
        _draw_steps(ax, NITROGEN_EDGES, series)
    elif panel == "n_b_percent":
        _draw_steps(ax, NB_PERCENT_EDGES, series)
    else:
        labels = series[0][2]["bands"] if panel in ("sieve", "sieve_ct") else series[0][2]["labels"]
        _draw_bars(ax, labels, series)
    if panel != "nitrogen_vs_b":
        ax.set_ylabel(titles["share_ct" if panel == "sieve_ct" else "share"], fontsize=7)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6, frameon=False, loc="upper right")


def _draw_band(ax: Any, panel: str, band: Mapping[str, Any], position: int, n_series: int,
               label: str) -> None:
    """Draw a zone's band of lot-to-lot variation: a shaded step band, or a whisker on each of its bars."""
    lo, hi = 100.0 * np.asarray(band["lo"], dtype=float), 100.0 * np.asarray(band["hi"], dtype=float)
    edges = {"mass": MASS_LOG10_EDGES, "nitrogen": NITROGEN_EDGES, "n_b_percent": NB_PERCENT_EDGES}.get(panel)
    if edges is not None:
        ax.stairs(hi, edges, baseline=lo, fill=True, color="#444444", alpha=0.15, label=label)
        return
    width = 0.8 / max(n_series, 1)
    x = np.arange(len(lo)) + (position - (n_series - 1) / 2) * width
    ax.vlines(x, lo, hi, colors="#222222", linewidth=1.1, label=label)
    ax.scatter(np.concatenate([x, x]), np.concatenate([lo, hi]), marker="_", s=30, color="#222222",
               linewidths=1.1)


def footprint_figure(
    references: Mapping[str, Mapping[str, Any]],
    *,
    parcel: Mapping[str, Any] | None = None,
    parcel_label: str | None = None,
    panels: Sequence[str] = CLASSIFY_PANELS,
    lang: str = "en",
    dpi: int = 72,
    band: Mapping[str, Any] | None = None,
    band_zone: str | None = None,
    band_label: str | None = None,
) -> str:
    """Draw footprint panels and return them as a ``data:image/png;base64`` URI.

    Parameters
    ----------
    references : mapping of str to summary
        Reference footprints (zone or site name to
        :func:`~footprint._profile.summarise` output), drawn as filled
        shapes in a fixed colour order (sorted by name).
    parcel : summary, optional
        A parcel's footprint, drawn on top in black.
    parcel_label : str, optional
        Legend name of the parcel.
    panels : sequence of str
        Which panels, in order (see :data:`CLASSIFY_PANELS`, :data:`PROFILE_PANELS`).
    lang : {"en", "fr"}
        Language of titles and axis labels.
    dpi : int
        Resolution of the PNG.
    band : mapping, optional
        Band of normal lot-to-lot variation of ``band_zone`` (one entry of
        :func:`footprint._profile.lot_bands`): block -> ``lo``/``hi`` shares,
        drawn on the panels that have one (a shaded band on histograms, a
        whisker on that zone's bars).
    band_zone : str, optional
        The reference series the band belongs to.
    band_label : str, optional
        Legend text of the band.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    series = [
        (name, _REFERENCE_COLOURS[i % len(_REFERENCE_COLOURS)], refs, False)
        for i, (name, refs) in enumerate(sorted(references.items()))
    ]
    if parcel is not None:
        series.append((parcel_label or _TITLES[lang]["parcel"], _PARCEL_COLOUR, parcel, True))
    ncols = 3
    nrows = -(-len(panels) // ncols)
    # Figure() rather than pyplot: no global state, safe in worker threads.
    fig = Figure(figsize=(11, 3.1 * nrows), dpi=dpi)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    names = [n for n, _, _, _ in series]
    for ax, panel in zip(axes.flat, panels, strict=False):
        _draw_panel(ax, panel, [(n, c, _block(s, panel), p) for n, c, s, p in series], lang)
        if band and band_zone in names and panel in band:
            _draw_band(ax, panel, band[panel], names.index(band_zone), len(series),
                       band_label or f"10-90% {band_zone}")
            ax.legend(fontsize=6, frameon=False, loc="upper right")
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_axis_off()
    # Fixed margins instead of tight_layout: it would draw the figure twice.
    fig.subplots_adjust(
        left=0.06,
        right=0.99,
        top=1 - 0.35 / (3.1 * nrows),
        bottom=0.9 / (3.1 * nrows),
        wspace=0.25,
        hspace=0.75,
    )
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
