"""ANOMALIES.csv: formula-safe cells, atomic writes, never onto an input."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from footprint.exceptions import OutputError
from footprint.stats import ANOMALY_COLUMNS, write_anomalies


def _anomalies(detail: str) -> pd.DataFrame:
    row = dict.fromkeys(ANOMALY_COLUMNS, "")
    row.update(participant="CAF", period="2020-Q1", check="mirror", partner="ARE", observed=-0.5,
               expected=12.0, score=7.25, severity="high", detail=detail)
    return pd.DataFrame([row])


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_cells_a_spreadsheet_would_run_are_neutralised(tmp_path: Path, cell: str) -> None:
    out = tmp_path / "ANOMALIES.csv"
    write_anomalies(_anomalies(cell), out)
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["detail"] == "'" + cell.replace("\r", "\n")  # a lone CR would split the row
    assert rows[0]["observed"] == "-0.5"  # numbers stay numbers
    assert rows[0]["participant"] == "CAF"  # plain text unchanged


def test_output_onto_an_input_is_refused_and_nothing_half_written(tmp_path: Path) -> None:
    src = tmp_path / "TRADE.csv"
    src.write_text("keep me\n")
    with pytest.raises(OutputError, match="same file as the input"):
        write_anomalies(_anomalies("x"), src, inputs=[src])
    assert src.read_text() == "keep me\n"
    out = tmp_path / "a.csv"
    write_anomalies(_anomalies("x"), out, inputs=[src])
    assert not list(tmp_path.glob(".*partial"))
    assert out.read_text().splitlines()[0] == ",".join(ANOMALY_COLUMNS)
