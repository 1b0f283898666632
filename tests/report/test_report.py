"""The classify report: content, wording, self-containment, determinism, and what Chromium shows."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from footprint._profile import lot_vectors, reference_sizes, summarise
from footprint.report import render_report, verdict_text

ZONES = ["CAR-East", "CAR-West"]


def _results() -> pd.DataFrame:
    rows = [
        ("P-1", 50, "CAR-West", "consistent", "CAR-West", 0.03, 0.97, 1.8, 0.02, 0.0, 0.12, 0.6),
        ("P-2", 50, "CAR-West", "inconsistent", "CAR-East", 0.995, 0.005, -2.6, 0.91, 0.7, 1.0, 0.4),
        ("P-3", 60, "CAR-West", "mixed", "CAR-West", 0.2, 0.8, -0.4, 0.3, 0.15, 0.45, 0.5),
        ("P-4", 40, "CAR-East", "unknown_origin", "CAR-East", 0.6, 0.4, 0.2, 0.1, 0.0, 0.5, 0.0004),
        ("P-5", 8, "CAR-West", "inconclusive", "CAR-West", 0.4, 0.6, 0.3, 0.1, 0.0, 0.8, 0.7),
        ("P-6", 30, None, "assigned", "CAR-East", 0.9, 0.1, 1.3, 0.0, 0.0, 0.2, 0.5),
    ]
    cols = [
        "parcel_id",
        "n_stones",
        "declared_zone",
        "verdict",
        "best_zone",
        "p_CAR-East",
        "p_CAR-West",
        "log10_lr",
        "foreign_fraction",
        "foreign_fraction_lo",
        "foreign_fraction_hi",
        "novelty_p",
    ]
    return pd.DataFrame(rows, columns=cols)


@pytest.fixture(scope="module")
def report_inputs(reference_frame: pd.DataFrame) -> dict:
    results = _results()
    rng = np.random.default_rng(0)
    summaries = {}
    for pid, n in zip(results["parcel_id"], results["n_stones"], strict=True):
        # P-1: every stone weighed, so its $/ct is defined (none is computed from a partial total).
        pool = reference_frame[reference_frame["mass_ct"].notna()] if pid == "P-1" else reference_frame
        take = pool.iloc[rng.choice(len(pool), size=n, replace=False)]
        summaries[pid] = summarise(take.assign(custody_ref="BA-2024-0042"), label=pid)
    parcels = pd.DataFrame(
        {
            "parcel_id": results["parcel_id"],
            "declared_zone": results["declared_zone"],
            "kp_certificate": [f"CF-2024-{i:05d}" for i in range(6)],
            "exporter": "Comptoir Test (SYNTHETIC)",
            # P-1: 30 USD/ct, far below the CAR band.
            "declared_value_usd": [summaries["P-1"]["total_ct"] * 30.0] + [None] * 5,
            "cleaning_state": ["acid_rinsed"] * 6,
        }
    )
    reference = {
        "by_zone": {z: summarise(g, label=z) for z, g in reference_frame.groupby("zone")},
        "sizes": reference_sizes(reference_frame),
        "lots": lot_vectors(reference_frame),
        "thumbnails": {},
    }
    meta = {
        "synthetic": True,
        "thresholds": {"version": "1", "consistent_log10_lr": 1.0},
        "provenance": {"model": {"model_sha256": "ab" * 32}, "store": {"content_hash": "cd" * 32}},
    }
    return {
        "results": results,
        "summaries": summaries,
        "parcels": parcels,
        "reference": reference,
        "meta": meta,
    }


def _render(inputs: dict, lang: str, **kw) -> str:
    return render_report(
        inputs["results"],
        zones=ZONES,
        parcel_summaries=inputs["summaries"],
        parcels=inputs["parcels"],
        reference=inputs["reference"],
        meta=inputs["meta"],
        lang=lang,
        **kw,
    )


def test_report_content_in_english(report_inputs: dict) -> None:
    html = _render(report_inputs, "en", max_detail=3)
    assert "SYNTHETIC" in html and "DRAFT" in html
    assert "no study by any method demonstrating unique and measurable" in html
    assert "Consistent with the declared origin (CAR-West (compliant zones))" in html
    assert (
        "Not consistent with the declared origin (CAR-West (compliant zones)); characteristics typical of "
        "CAR-East" in html
    )
    assert "an estimated 30% of the stones are not consistent" in html
    # Every parcel in the summary table, only the first three in detail.
    for pid in ("P-1", "P-2", "P-3", "P-4", "P-5", "P-6"):
        assert f"<td>{pid}</td>" in html
    assert len(re.findall(r'<section class="parcel" id="parcel-', html)) == 3
    assert "CF-2024-00000" in html and "Comptoir Test (SYNTHETIC)" in html
    assert "30 USD/ct" in html and "outside the reference band" in html
    assert "BA-2024-0042" in html  # purchase slip named by the stones
    assert html.count("<th>Expert 1</th>") == 1 and html.count("<th>Expert 2</th>") == 1
    assert "ab" * 32 in html and "cd" * 32 in html and "consistent_log10_lr" in html


def test_report_is_self_contained_and_deterministic(report_inputs: dict) -> None:
    first = _render(report_inputs, "fr", max_detail=1)
    assert first == _render(report_inputs, "fr", max_detail=1)
    assert not re.search(r'(src|href)="(?!data:|#)', first)
    assert "<link" not in first and "<script" not in first
    assert "@media print" in first


def test_french_wording() -> None:
    assert (
        verdict_text("consistent", "fr", declared="CAR-West")
        == "Compatible avec l'origine déclarée (CAR-West)"
    )
    text = verdict_text("inconsistent", "fr", declared="CAR-West", best="CAR-East")
    assert text.startswith("Non compatible") and "caractéristiques typiques de CAR-East" in text


@pytest.mark.chromium
@pytest.mark.slow
@pytest.mark.parametrize(
    "lang, expected",
    [
        (
            "en",
            [
                "SYNTHETIC",
                "DRAFT",
                "Consistent with the declared origin",
                "Not consistent with the declared origin",
                "compliant zones",
                "Expert 2",
            ],
        ),
        (
            "fr",
            [
                "SYNTHÉTIQUE",
                "PROJET",
                "Compatible avec l'origine déclarée",
                "Non compatible avec l'origine",
                "zones conformes",
                "Bordereaux d'achat",
                "mélangé",
                "Expert 2",
            ],
        ),
    ],
)
def test_report_in_headless_chromium(
    report_inputs: dict, render_in_chromium, tmp_path: Path, lang: str, expected: list[str]
) -> None:
    from PIL import Image

    page = tmp_path / f"report_{lang}.html"
    page.write_text(_render(report_inputs, lang, max_detail=2), encoding="utf-8")
    png, dom = render_in_chromium(page, tmp_path)
    for text in expected:
        assert text in dom, text
    with Image.open(png) as image:
        grey = np.asarray(image.convert("L"))
    assert grey.shape == (3000, 1200)
    # Non-blank: a real page has plenty of dark ink (text, bars, figures) and plenty of white.
    dark = (grey < 128).mean()
    assert 0.01 < dark < 0.6
    # The SYNTHETIC banner is drawn at the top in its amber colour.
    with Image.open(png) as image:
        top = np.asarray(image.convert("RGB"))[:80]
    amber = (top[..., 0] > 240) & (top[..., 1] > 230) & (top[..., 2] < 215) & (top[..., 2] > 180)
    assert amber.mean() > 0.05


def test_nearest_lots_show_thumbnails_from_the_store(photo_store: Path) -> None:
    from types import SimpleNamespace

    from footprint._reference import reference_for_report

    reference, meta = reference_for_report(photo_store, SimpleNamespace(manifest={}))
    assert meta["synthetic"] is True and len(meta["content_hash"]) == 64
    assert set(reference["by_zone"]) == {"CAR-East", "CAR-West"}
    results = _results().head(1)
    lot = reference["lots"].index[0]
    first = reference["lots"].loc[lot, "sample_ids"][0]
    # A parcel whose footprint is that lot's: the lot comes first, with its photographs.
    from footprint.store import ReferenceStore

    with ReferenceStore.open(photo_store) as store:
        stones = store.stones()
    summary = summarise(stones[stones["lot_id"] == lot], label="P-1")
    html = render_report(
        results,
        zones=ZONES,
        parcel_summaries={"P-1": summary},
        reference=reference,
        meta={"synthetic": True},
        lang="en",
    )
    assert f"<td>{lot}</td>" in html
    assert f'alt="{first}" title="{first}" src="data:image/png;base64,' in html
