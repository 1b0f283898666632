"""The classify report's "why" block (issue 12), thin-zone notes and the lot-to-lot bands on the panels."""

from __future__ import annotations

import base64
import html
import io
import re

import numpy as np
import pandas as pd
import pytest

from footprint._profile import BAND_BLOCKS, lot_bands, summarise
from footprint.report import render_report

ZONES = ["CAR-East", "CAR-West"]
THRESHOLDS = {"version": "2", "mixed_alpha": 0.01, "unknown_alpha": 0.01, "consistent_log10_lr": 1.0}


def _results() -> pd.DataFrame:
    base = {
        "parcel_id": ["W-1", "M-2", "O-3"],
        "n_stones": [400, 300, 100],
        "declared_zone": ["CAR-West", "CAR-West", "CAR-West"],
        "verdict": ["consistent", "mixed", "consistent"],
        "best_zone": ["CAR-West"] * 3,
        "p_CAR-East": [0.0, 0.01, 0.1],
        "p_CAR-West": [1.0, 0.99, 0.9],
        "log10_lr": [30.0, 4.2, 2.0],
        "foreign_fraction": [0.0, 0.3, 0.0],
        "foreign_fraction_lo": [0.0, 0.2, 0.0],
        "foreign_fraction_hi": [0.05, 0.4, 0.1],
        "novelty_p": [0.6, 0.09, 0.5],
    }
    why = {
        "mixed_p": [0.8, 0.0042, 0.5],
        "flags": ["", "mixed", ""],
        "typical_sites": [
            "Nola 55% (35-75%); Berberati 45% (25-65%)",
            "Boda 100% (100-100%)",
            "Carnot 90% (70-100%)",
        ],
        "alternative_zone": ["CAR-East"] * 3,
        "site_shares": [
            [("Nola", 0.55, 0.35, 0.75), ("Berberati", 0.45, 0.25, 0.65)],
            [("Boda", 1.0, 1.0, 1.0), ("Nola", 0.0, 0.0, 0.0)],
            None,
        ],
    }
    return pd.DataFrame({**base, **why})


@pytest.fixture(scope="module")
def inputs(reference_frame: pd.DataFrame) -> dict:
    west = reference_frame[reference_frame["zone"] == "CAR-West"]
    summaries = {}
    for k, pid in enumerate(["W-1", "M-2", "O-3"]):
        summary = summarise(west.sample(60, random_state=k), label=pid)
        summary["why"] = {
            "target": "CAR-West",
            "alternative": "CAR-East",
            "fields": [
                {"field": "log1p_n_total_ppm", "log10": 12.0, "share": 0.48, "supports": "CAR-West"},
                {"field": "morphology", "log10": -5.25, "share": 0.21, "supports": "CAR-East"},
            ],
            "foreign_stones": [{"sample_id": f"{pid}-s{i}", "p_foreign": 0.9 - 0.05 * i} for i in range(10)],
        }
        summaries[pid] = summary
    reference = {
        "by_zone": {z: summarise(g, label=z) for z, g in reference_frame.groupby("zone")},
        "bands": lot_bands(reference_frame, min_stones=5),
    }
    meta = {
        "synthetic": True,
        "thresholds": THRESHOLDS,
        "thin_zones": {"CAR-East": {"stones": 40, "lots": 2, "widening": 1.7}},
    }
    return {"summaries": summaries, "reference": reference, "meta": meta}


def _render(
    inputs: dict, lang: str, results: pd.DataFrame | None = None, *, figures: bool = False, **kw
) -> str:
    # Footprint panels (a second each) only where a test looks at them.
    reference = inputs["reference"] if figures else {}
    return render_report(
        _results() if results is None else results,
        zones=ZONES,
        parcel_summaries=inputs["summaries"],
        reference=reference,
        meta=inputs["meta"],
        lang=lang,
        **kw,
    )


def _block(html: str, pid: str) -> str:
    start = html.index(f'id="why-{pid}"')
    return html[start : html.index('id="why-', start + 10) if 'id="why-' in html[start + 10 :] else len(html)]


def test_why_block_in_english(inputs):
    html = _render(inputs, "en")
    consistent, mixed, plain = _block(html, "W-1"), _block(html, "M-2"), _block(html, "O-3")
    assert "Why this opinion" in consistent
    assert "Fields that move the evidence most (CAR-West against CAR-East)" in consistent
    assert "log1p_n_total_ppm" in consistent and "48%" in consistent and "+12.00" in consistent
    assert "morphology" in consistent and "21%" in consistent and "-5.25" in consistent
    assert "Sites of CAR-West the parcel resembles" in consistent
    assert "Nola" in consistent and "55%" in consistent and "(35–75%)" in consistent
    # the tests in words, with the error rate the expert reads
    assert "Foreign-stone test: p = 0.0042" in mixed
    assert "flags at most 1 in 100 genuine parcels" in mixed
    assert (
        "Flags raised: <strong>mixed</strong>" in mixed
        and "Flags raised: <strong>none</strong>" in consistent
    )
    # the stones most likely foreign: listed for the mixed parcel only, all ten, with their sample ids
    assert "Stones most likely foreign to CAR-West" in mixed
    assert all(f"M-2-s{i}</td>" in mixed for i in range(10))
    assert "Stones most likely foreign" not in consistent and "W-1-s0" not in consistent
    # without site records (older results), the typical_sites text stands in
    assert "Carnot 90% (70-100%)" in plain


def test_why_block_in_french(inputs):
    html = _render(inputs, "fr")
    mixed = _block(html, "M-2")
    assert "Pourquoi cet avis" in mixed
    assert "Test des pierres étrangères : p = 0.0042" in mixed
    assert "au plus 1 lot authentique sur 100" in mixed
    assert "Pierres les plus probablement étrangères à CAR-West" in mixed
    assert (
        "Signalements : <strong>mélangé</strong>" in mixed
        or "Signalements: <strong>mélangé</strong>" in mixed
    )


def test_thin_zone_note_at_the_top_and_where_it_matters(inputs):
    html = _render(inputs, "en")
    note = "Reference zone CAR-East is thin: 40 stones from 2 lot(s); its evidence was widened x1.70"
    assert html.index(note) < html.index("Batch summary")
    assert note in _block(html, "W-1")  # CAR-East is the alternative the parcel was weighed against
    assert "La zone de référence CAR-East est peu fournie : 40 pierres de 2 lot(s)" in _render(inputs, "fr")


def test_results_without_why_columns_still_render(inputs):
    old = _results().drop(columns=["mixed_p", "flags", "typical_sites", "site_shares", "alternative_zone"])
    html = _render(
        {
            **inputs,
            "summaries": {
                k: {kk: vv for kk, vv in v.items() if kk != "why"} for k, v in inputs["summaries"].items()
            },
        },
        "en",
        old,
    )
    assert "Why this opinion" in html and "No site shares for this parcel." in html
    assert "Foreign-stone test" not in html


def test_lot_bands_hold_the_reference_lots(reference_frame):
    bands = lot_bands(reference_frame, min_stones=5)
    west = bands["CAR-West"]
    assert set(west) == set(BAND_BLOCKS)
    n_west_lots = reference_frame.loc[reference_frame["zone"] == "CAR-West", "lot_id"].nunique()
    assert west["colour"]["n_lots"] == n_west_lots
    for block in west.values():
        lo, hi = np.array(block["lo"]), np.array(block["hi"])
        assert lo.shape == hi.shape and (lo <= hi + 1e-12).all() and (hi <= 1).all() and (lo >= 0).all()
    # the band brackets the per-lot shares: for colour, 80% of lots inside bin by bin (10-90% quantiles)
    lots = reference_frame[reference_frame["zone"] == "CAR-West"].groupby("lot_id")
    vocab = summarise(reference_frame)["categories"]["colour"]["labels"]
    share = np.array(
        [[np.mean(g["colour"] == v) / max(g["colour"].notna().mean(), 1e-9) for v in vocab] for _, g in lots]
    )
    inside = (share >= np.array(west["colour"]["lo"]) - 1e-3) & (
        share <= np.array(west["colour"]["hi"]) + 1e-3
    )
    assert 0.7 <= inside.mean() <= 0.95
    assert lot_bands(reference_frame.drop(columns=["lot_id"])) == {}


def test_panels_draw_the_band(inputs):
    from PIL import Image

    html = _render(inputs, "en", figures=True, max_detail=1)
    figures = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert figures
    plain = _render(
        {**inputs, "reference": {**inputs["reference"], "bands": {}}}, "en", figures=True, max_detail=1
    )
    assert re.findall(r'src="data:image/png;base64,([^"]+)"', plain)[0] != figures[0]
    with Image.open(io.BytesIO(base64.b64decode(figures[0]))) as image:
        assert image.size[0] > 500


def test_classify_report_inputs_carry_the_models_thin_zones(inputs):
    from footprint.classify import ReportInputs
    from footprint.report import render_classify_report

    run = ReportInputs(
        _results(),
        ZONES,
        inputs["summaries"],
        None,
        {},
        {"fingerprint": "f" * 8},
        {},
        THRESHOLDS,
        True,
        "en",
        3,
        None,
        {"CAR-West": {"stones": 30, "lots": 1, "widening": 2.5, "widening_measured": False}},
    )
    html = render_classify_report(run)
    note = "Reference zone CAR-West is thin: 30 stones from 1 lot(s); its evidence was widened x2.50"
    assert html.count(note) == 1 + 3  # the top of the page and each parcel declared CAR-West


def test_version_3_splits_the_unknown_origin_budget_between_the_two_tests(inputs):
    """Thresholds v3: stone-by-stone and population tests at half the budget each, read as 1 in 100 together."""
    v3 = {**THRESHOLDS, "version": "3"}
    results = _results().assign(fit_p=[0.7, np.nan, 0.0031])
    page = html.unescape(_render({**inputs, "meta": {**inputs["meta"], "thresholds": v3}}, "en", results))
    consistent, mixed, low_fit = _block(page, "W-1"), _block(page, "M-2"), _block(page, "O-3")
    assert ("Unknown-origin test, stone by stone: p = 0.6. A parcel is flagged unknown origin when p < 0.005 "
            "or the population test's p < 0.005: together at most 1 in 100 genuine parcels") in consistent
    assert "Population test (do the stones, taken together, fit a mixture" in consistent
    assert "p = 0.7, flagged when p < 0.005." in consistent
    assert "p = 0.0031, flagged when p < 0.005." in low_fit
    # no fit p-value (an older model, or an assortment-only parcel): the stone test holds the whole budget
    assert "Population test" not in mixed
    assert "Unknown-origin test: p = 0.09. A parcel is flagged unknown origin when p < 0.01" in mixed


def test_version_4_states_the_mixed_level_of_the_parcels_size(inputs):
    """Thresholds v4: 0.02 from 50 stones, 0.01 below; each parcel's sentence gives its own level."""
    v4 = {**THRESHOLDS, "version": "4", "mixed_alpha": 0.02, "mixed_alpha_small": 0.01,
          "small_parcel_stones": 50}
    results = _results().assign(n_stones=[400, 30, 100])
    page = html.unescape(_render({**inputs, "meta": {**inputs["meta"], "thresholds": v4}}, "en", results))
    assert "flagged mixed when p < 0.02: the test flags at most 1 in 50 genuine parcels" in _block(page, "W-1")
    assert "flagged mixed when p < 0.01: the test flags at most 1 in 100 genuine parcels" in _block(page, "M-2")
