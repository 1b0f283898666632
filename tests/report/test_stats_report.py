"""The KP statistics report and questionnaires render in headless Chromium, in English and French."""

from __future__ import annotations

from pathlib import Path

import pytest

from footprint.report import render_questionnaire, render_stats_report
from footprint.stats import SEVERITY_RULES, flow_series, read_production, read_trade, run_checks
from footprint.synth import write_kp_stats


@pytest.fixture(scope="module")
def screened(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("kpstats")
    write_kp_stats(folder, seed=5, n_participants=14, n_years=6, per_check=2)
    prod, trade = read_production(folder / "PROD.csv"), read_trade(folder / "TRADE.csv")
    return prod, trade, run_checks(prod, trade)


@pytest.mark.chromium
@pytest.mark.parametrize(
    ("lang", "words"),
    [("en", ["KP statistics screening", "SYNTHETIC"]), ("fr", ["Examen des statistiques", "SYNTHÉTIQUE"])],
)
def test_stats_report_and_questionnaire_in_chromium(
    screened, render_in_chromium, tmp_path: Path, lang: str, words: list[str]
) -> None:
    prod, trade, found = screened
    assert len(found) > 0
    keys = list(dict.fromkeys(zip(found["participant"], found["flow"], strict=True)))[:4]
    series = {k: flow_series(prod, trade, *k) for k in keys}
    meta = {
        "synthetic": True,
        "severity_rules": {k: list(v) for k, v in SEVERITY_RULES.items()},
        "settings": found.attrs["settings"],
    }
    page = tmp_path / f"report_{lang}.html"
    page.write_text(render_stats_report(found, series, meta=meta, lang=lang), encoding="utf-8")
    png, dom = render_in_chromium(page, tmp_path)
    assert png.stat().st_size > 10_000
    for word in words:
        assert word in dom
    assert dom.count('class="finding"') == len(found)
    assert dom.count("<svg") >= len(keys)
    who = found["participant"].iloc[0]
    q = tmp_path / f"q_{lang}.html"
    q.write_text(
        render_questionnaire(who, found[found["participant"] == who], meta=meta, lang=lang), encoding="utf-8"
    )
    png, dom = render_in_chromium(q, tmp_path)
    assert dom.count('class="anomaly"') == int((found["participant"] == who).sum())
    assert words[1] in dom


def test_stats_report_renders_without_chromium_and_marks_flagged_periods(screened) -> None:
    prod, trade, found = screened
    who, flow = found["participant"].iloc[0], found["flow"].iloc[0]
    html = render_stats_report(found, {(who, flow): flow_series(prod, trade, who, flow)}, lang="en")
    assert html.count('class="finding"') == len(found)
    assert "#c62828" in html  # the flagged-period marker colour in the SVG
