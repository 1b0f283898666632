"""``footprint stats check`` through CliRunner, on a small SYNTHETIC set and on the real KPCS production."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from footprint.cli import app
from footprint.synth import write_kp_stats

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "kp-statistics" / "production_public.csv"


def test_check_writes_anomalies_report_and_questionnaires(tmp_path: Path) -> None:
    write_kp_stats(tmp_path / "set", seed=3, n_participants=16, n_years=6, per_check=2)
    out = tmp_path / "out" / "ANOMALIES.csv"
    out.parent.mkdir()  # outputs go into existing folders (the questionnaires folder is created)
    before = (tmp_path / "set" / "TRADE.csv").read_bytes()
    result = CliRunner().invoke(
        app,
        [
            "stats",
            "check",
            "--production",
            str(tmp_path / "set" / "PROD.csv"),
            "--trade",
            str(tmp_path / "set" / "TRADE.csv"),
            "--out",
            str(out),
            "--report",
            str(tmp_path / "out" / "r.html"),
            "--questionnaires",
            str(tmp_path / "out" / "q"),
            "--lang",
            "fr",
            "--json",
        ],
    )
    assert result.exit_code == 6, result.output  # ran, and found anomalies to follow up
    summary = json.loads(result.stdout)
    assert summary["synthetic"] is True and summary["findings"] > 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# SYNTHETIC")
    found = pd.read_csv(out, comment="#")
    assert list(found.columns) == [
        "participant",
        "period",
        "check",
        "partner",
        "observed",
        "expected",
        "score",
        "severity",
        "detail",
    ]
    assert len(found) == summary["findings"]
    assert (tmp_path / "set" / "TRADE.csv").read_bytes() == before  # inputs untouched
    pages = sorted((tmp_path / "out" / "q").glob("questionnaire_*_fr.html"))
    assert len(pages) >= found["participant"].nunique()
    assert "SYNTHÉTIQUE" in (tmp_path / "out" / "r.html").read_text(encoding="utf-8")


def test_bad_input_exits_3_and_output_onto_input_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "TRADE.csv"
    bad.write_text(
        "participant,period,flow,partner,carats,value_usd,certificates\nCAF,2020-Q9,export,ARE,1,1,1\n"
    )
    result = CliRunner().invoke(
        app, ["stats", "check", "--trade", str(bad), "--out", str(tmp_path / "a.csv")]
    )
    assert result.exit_code == 3
    assert "row 1" in result.output and "period" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(app, ["stats", "check", "--production", str(REAL), "--out", str(REAL)])
    assert result.exit_code == 2 and "same file as the input --production" in result.output
    assert not (tmp_path / "a.csv").exists()  # a failed run publishes nothing


def test_real_kpcs_production_passes_the_production_side_checks_sensibly(tmp_path: Path) -> None:
    # KPCS figures (shared/kp-statistics): magnitudes from 92 ct (Mali) to 45 Mct (Russia), US$/ct 7 to 600.
    out = tmp_path / "real.csv"
    result = CliRunner().invoke(
        app, ["stats", "check", "--production", str(REAL), "--out", str(out), "--json"]
    )
    assert result.exit_code == 6, result.output  # one anomaly found
    found = pd.read_csv(out, comment="#", keep_default_na=False)
    assert not out.read_text().startswith("# SYNTHETIC")
    # Argyle (Australia) closed in late 2020: 10.9 Mct then 0 is the one jump a screener must raise.
    jumps = found[found["check"] == "jump"]
    assert ("AUS", "2021") in set(zip(jumps["participant"], jumps["period"].astype(str), strict=True))
    # The big producers' COVID-year dip and recovery (Botswana 24.4 -> 16.9 -> 22.9 Mct) is not an anomaly,
    # and two orders of magnitude between producers' US$/ct is no reason to flag anyone.
    assert not set(found["participant"]) & {"BWA", "RUS", "CAN", "AGO", "NAM", "COD"}
    assert set(found["check"]) <= {"jump", "unit_value"}


def test_nothing_found_exits_0_with_a_header_only_table(tmp_path: Path) -> None:
    trade = tmp_path / "TRADE.csv"
    lines = ["participant,period,flow,partner,carats,value_usd,certificates"]
    for i in range(8):
        period = f"{2020 + i // 4}-Q{i % 4 + 1}"
        lines += [f"CAF,{period},export,ARE,10000,2000000,3", f"ARE,{period},import,CAF,10000,2000000,3"]
    trade.write_text("\n".join(lines) + "\n")
    out = tmp_path / "ANOMALIES.csv"
    result = CliRunner().invoke(app, ["stats", "check", "--trade", str(trade), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines() == [
        "participant,period,check,partner,observed,expected,score,severity,detail"
    ]
    assert "0 finding(s)" in result.stdout


def test_a_failed_run_publishes_no_output_and_keeps_the_previous_one(tmp_path: Path, monkeypatch) -> None:
    import footprint.report

    write_kp_stats(tmp_path / "set", seed=3, n_participants=16, n_years=6, per_check=2)
    out, report, folder = tmp_path / "ANOMALIES.csv", tmp_path / "r.html", tmp_path / "q"
    out.write_text("previous run\n", encoding="utf-8")

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(footprint.report, "render_questionnaire", broken)
    result = CliRunner().invoke(
        app,
        ["stats", "check", "--trade", str(tmp_path / "set" / "TRADE.csv"), "--out", str(out), "--report",
         str(report), "--questionnaires", str(folder)],
    )
    assert result.exit_code == 3 and "No space left" in result.output and "Traceback" not in result.output
    assert out.read_text(encoding="utf-8") == "previous run\n"  # not replaced by a partial run
    assert not report.exists() and not folder.exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporaries left
