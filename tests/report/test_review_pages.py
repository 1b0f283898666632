"""The review register's history and month pages, in English and French (and in headless Chromium)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from footprint.report import render_history, render_month_report
from footprint.review import ControlRule, control_charts

REPO = Path(__file__).resolve().parents[2]


def _parcel(month: str, exporter: str, price: float, j: int = 0, verdict: str = "consistent") -> dict:
    return {
        "parcel_id": f"P-{exporter}-{month}-{j}",
        "kp_certificate": f"CF-{exporter}-{month}",
        "exporter": exporter,
        "month": month,
        "zone": "CAR-West",
        "declared_zone": "CAR-West",
        "declared_origin": "Berbérati",
        "subprefecture": "Berberati",
        "compliance": "compliant",
        "compliance_ref": "SYNTHETIC example",
        "n_stones": 100,
        "carats": 25.0,
        "value_usd": 25.0 * price,
        "carats_measured": False,
        "mass_sq_sum": None,
        "n_quality": 100,
        "n_gem": 72,
        "size_counts": [5, 20, 30, 25, 15, 4, 1],
        "verdict": verdict,
        "foreign_fraction": 0.0,
        "foreign_fraction_lo": 0.0,
        "foreign_fraction_hi": 0.1,
        "synthetic": True,
        "status": "pending",
        "approvers": [],
        "flags": [],
        "decisions": [],
        "photos": [],
        "usd_per_ct": price,
    }


@pytest.fixture(scope="module")
def pages() -> dict:
    rng = np.random.default_rng(1)
    parcels = [
        _parcel(
            f"2024-{k + 1:02d}",
            e,
            230 * float(np.exp(0.04 * rng.standard_normal())) * (0.6 if (k, e) == (7, "Alpha") else 1.0),
            j,
        )
        for k in range(10)
        for e in ("Alpha", "Bravo")
        for j in range(3)
    ]
    history = control_charts(parcels, {"CAR-West": [5, 20, 30, 25, 15, 4, 1]}, ControlRule())
    history["selection"], history["register"] = {}, "sqlite:///register.db"
    month = [p for p in parcels if p["month"] == "2024-08"][:2]
    month[0] = {
        **month[0],
        "flags": [{"code": "origin_not_compliant", "detail": "Amada-Gaza"}],
        "compliance": "not_compliant",
        "status": "held",
        "decisions": [
            {
                "decision": "hold",
                "decided_by": "Expert A",
                "decided_at": "2024-08-30T10:00:00+00:00",
                "reason": "declared from a non-compliant sub-prefecture",
            }
        ],
    }
    report = {
        "month": "2024-08",
        "register": "sqlite:///register.db",
        "synthetic": True,
        "n_parcels": 2,
        "n_stones": 200,
        "carats": 50.0,
        "value_usd": 10000.0,
        "verdicts": {"consistent": 2},
        "statuses": {"pending": 1, "approved": 0, "held": 1, "referred": 0},
        "flags": {"origin_not_compliant": 1},
        "parcels": month,
        "open_items": [
            {
                "parcel_id": p["parcel_id"],
                "status": p["status"],
                "approvers": [],
                "flags": [f["code"] for f in p["flags"]],
            }
            for p in month
        ],
        "history_flags": [{"exporter": "Alpha", "flags": ["usd_per_ct"]}],
        "rule": history["rule"],
        "versions": [("abc", "def", "1")],
    }
    assert [(f["exporter"], f["month"]) for f in history["flagged"]] == [("Alpha", "2024-08")]
    return {"history": history, "report": report}


EXPECTED = {
    "en": ["SYNTHETIC", "Monthly export history", "Flagged months", "US$ per carat", "Alpha", "2024-08"],
    "fr": ["SYNTHÉTIQUE", "Historique mensuel", "Mois signalés", "US$ par carat", "Alpha", "2024-08"],
}
EXPECTED_MONTH = {
    "en": ["SYNTHETIC", "Monthly export review 2024-08", "Open items", "NOT compliant", "Expert A", "held"],
    "fr": [
        "SYNTHÉTIQUE",
        "Revue mensuelle des exportations 2024-08",
        "Points ouverts",
        "NON conforme",
        "Expert A",
        "retenu",
    ],
}


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_pages_carry_their_wording_and_charts(pages, lang):
    html = render_history(pages["history"], lang=lang)
    for text in EXPECTED[lang]:
        assert text in html, text
    assert html.count("<svg") == 2 * 6 and html.count('class="flagged"') == 1
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")  # self-contained
    month = render_month_report(pages["report"], lang=lang)
    for text in EXPECTED_MONTH[lang]:
        assert text in month, text


@pytest.mark.chromium
@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_review_pages_in_headless_chromium(pages, render_in_chromium, tmp_path, lang):
    from PIL import Image

    for name, html, expected in (
        ("history", render_history(pages["history"], lang=lang), EXPECTED[lang]),
        ("month", render_month_report(pages["report"], lang=lang), EXPECTED_MONTH[lang]),
    ):
        page = tmp_path / f"{name}_{lang}.html"
        page.write_text(html, encoding="utf-8")
        png, dom = render_in_chromium(page, tmp_path)
        for text in expected:
            assert text in dom, text
        with Image.open(png) as image:
            grey = np.asarray(image.convert("L"))
            top = np.asarray(image.convert("RGB"))[:80]
        assert 0.003 < (grey < 128).mean() < 0.6  # a real page: text and charts on white
        amber = (top[..., 0] > 240) & (top[..., 1] > 230) & (top[..., 2] < 215) & (top[..., 2] > 180)
        assert amber.mean() > 0.05  # the SYNTHETIC banner
        if name == "history":
            assert dom.count("<svg") == 12
            red = np.asarray(Image.open(png).convert("RGB"))
            flagged = (red[..., 0] > 180) & (red[..., 1] < 80) & (red[..., 2] < 80)
            assert flagged.sum() > 50  # the flagged month's red point and the limit lines
