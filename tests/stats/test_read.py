"""Readers of PROD and TRADE: real KPCS magnitudes, every broken rule named by file, row, field."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from footprint.exceptions import SchemaError
from footprint.stats import read_production, read_trade

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "kp-statistics" / "production_public.csv"


def test_real_kpcs_production_figures_read_with_their_magnitudes() -> None:
    # KPCS production figures (shared/kp-statistics, republished by the Natural Diamond Council and others).
    prod = read_production(REAL)
    assert len(prod) == 77
    row = prod[(prod["participant"] == "CAF") & (prod["period"] == "2022")].iloc[0]
    assert row["carats"] == pytest.approx(118_044) and pd.isna(row["value_usd"])  # value not published
    cod = prod[(prod["participant"] == "COD") & (prod["period"] == "2023")].iloc[0]
    nam = prod[(prod["participant"] == "NAM") & (prod["period"] == "2023")].iloc[0]
    assert cod["value_usd"] / cod["carats"] < 10 < 500 < nam["value_usd"] / nam["carats"]


def test_every_broken_rule_is_reported_with_file_row_field(table) -> None:
    path = table(
        "bad.csv",
        [
            ("CAF", "2020-Q1", "export", "ARE", 100, 20000, 2),
            ("cf", "2020-Q5", "exp", "CAF", -1, "abc", 1.5),
            ("CAF", "2020", "export", "ARE", 10, 100, 1),
            ("CAF", "2020-Q1", "export", "ARE", 100, 20000, 2),
            ("XXX", "2021-H3", "import", "XXX", 0, 50, 1),
        ],
    )
    with pytest.raises(SchemaError) as info:
        read_trade(path)
    found = {(p.row, p.field) for p in info.value.problems}
    assert {
        (2, "participant"),
        (2, "period"),
        (2, "flow"),
        (2, "carats"),
        (2, "value_usd"),
        (2, "certificates"),
        (3, "period"),
        (4, "period"),
        (5, "participant"),
        (5, "period"),
        (5, "value_usd"),
    } <= found
    text = str(info.value)
    assert "bad.csv, row 4, field 'period'" in text and "duplicate of row 1" in text
    assert "overlaps row 1" in text
    assert all(p.file == str(path) for p in info.value.problems)


def test_missing_column_and_empty_table(table, tmp_path: Path) -> None:
    no_flow = tmp_path / "noflow.csv"
    no_flow.write_text("participant,period,partner,carats,value_usd,certificates\nCAF,2020,ARE,1,1,1\n")
    with pytest.raises(SchemaError, match="flow"):
        read_trade(no_flow)
    empty = tmp_path / "empty.csv"
    empty.write_text("participant,period,carats,value_usd\n")
    with pytest.raises(SchemaError, match="no data rows"):
        read_production(empty)


def test_xlsx_semicolon_and_eur_are_read(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "Participant": ["EUR", "ind"],
            "Period": ["2021-Q1", "2021-Q2"],
            "Flow": ["import", "export"],
            "Partner": ["BWA", "EUR"],
            "Carats": [10.5, 3],
            "Value (USD)": [1000, 300],
            "Certificates": [1, 1],
        }
    )
    xlsx = tmp_path / "trade.xlsx"
    frame.to_excel(xlsx, index=False)
    out = read_trade(xlsx)
    assert list(out["participant"]) == ["EUR", "IND"] and out["carats"].tolist() == [10.5, 3.0]
    semi = tmp_path / "prod.csv"
    semi.write_text("# SYNTHETIC\nparticipant;period;carats;value_usd\nCAF;2022-H1;60000,5;12000000\n")
    prod = read_production(semi)
    assert prod["carats"].iloc[0] == pytest.approx(60000.5) and prod.attrs["synthetic"] is True
