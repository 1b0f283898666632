"""classify says why a parcel got its verdict (issue 12): result and stone columns, the report's why block."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from footprint.classify import WHY_RESULT_COLUMNS, result_columns, stone_columns
from footprint.cli import app


@pytest.fixture(scope="module")
def why_run(model_dir: Path, site_parcels, reference_store: Path, tmp_path_factory) -> dict:
    stones_csv, parcels_csv, truth = site_parcels
    out = tmp_path_factory.mktemp("why-run")
    args = [
        "classify",
        model_dir,
        stones_csv,
        "--parcels",
        parcels_csv,
        "--out",
        out / "results.csv",
        "--stones-out",
        out / "stones.csv",
        "--report",
        out / "report.html",
        "--db",
        reference_store,
        "--max-detail",
        "8",
        "-q",
    ]
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 6, result.output
    return {"out": out, "truth": truth}


def test_result_columns_in_order_with_sane_values(why_run):
    results = pd.read_csv(why_run["out"] / "results.csv", keep_default_na=False, na_values=[""])
    assert list(results.columns) == result_columns(["CAR-East", "CAR-West"])
    assert list(results.columns[-len(WHY_RESULT_COLUMNS) :]) == list(WHY_RESULT_COLUMNS)
    assert results["mixed_p"].between(0, 1).all()
    merged = results.merge(why_run["truth"], on="parcel_id")
    west = merged[merged["zone"] == "CAR-West"]
    east = merged[merged["zone"] == "CAR-East"]
    # a West site's parcel names its own site first among the declared zone's sites
    for _, row in west.iterrows():
        assert row["typical_sites"].split(" ")[0] == row["site"], row["typical_sites"]
        assert re.fullmatch(r"([A-Za-z-]+ \d+% \(\d+-\d+%\)(; )?)+", row["typical_sites"])
    # flags: every non-consistent East parcel says why; the fields of East goods declared West point East
    assert (east["flags"].fillna("") != "").all()
    assert east["top_fields"].str.contains(r"\(CAR-East\)").all()
    assert west["top_fields"].str.count("%").eq(3).all()


def test_stone_results_carry_p_foreign(why_run):
    stones = pd.read_csv(why_run["out"] / "stones.csv")
    assert list(stones.columns) == stone_columns(["CAR-East", "CAR-West"])
    zone = stones["parcel_id"].map(
        dict(zip(why_run["truth"]["parcel_id"], why_run["truth"]["zone"], strict=True))
    )
    assert stones["p_foreign"].between(0, 1).all()
    # stones of East parcels declared West are far more likely foreign than West stones
    assert (
        stones.loc[zone == "CAR-East", "p_foreign"].mean()
        > stones.loc[zone == "CAR-West", "p_foreign"].mean() + 0.3
    )


def test_report_has_a_why_block_per_detailed_parcel(why_run):
    html = (why_run["out"] / "report.html").read_text(encoding="utf-8")
    truth = why_run["truth"]
    assert html.count('<div class="why" id="why-') == len(truth) == 8
    assert "Fields that move the evidence most (CAR-West against CAR-East)" in html
    assert "flags at most 1 in 100 genuine parcels" in html
    assert "Sites of CAR-West the parcel resembles" in html
    # a mixed parcel lists its stones most likely foreign, with their sample ids
    if "Stones most likely foreign" in html:
        block = html[html.index("Stones most likely foreign") :]
        assert re.search(r"<td>[^<]+</td><td class=\"num\">[01]\.\d{3}</td>", block)
