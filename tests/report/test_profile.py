"""Footprint summaries and ``footprint profile`` against hand-counted ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from footprint._profile import footprint_vector, lot_vectors, nearest_lots, summarise
from footprint.cli import app


def test_summarise_counts_match_a_hand_made_frame() -> None:
    stones = pd.DataFrame(
        {
            "sample_id": ["a", "b", "c", "d", "e"],
            "lot_id": ["L1", "L1", "L2", "L2", None],
            "mass_ct": [0.1, 0.2, np.nan, 2.0, 0.05],
            "sieve_class": ["dtc:+1", "dtc:+7", "mm:3.00", None, "dtc:+23"],
            "colour": ["colourless", "colourless", "brown", None, "green"],
            "coating": pd.array([True, False, None, True, True], dtype="boolean"),
            "resorption": pd.array([0, 3, 3, None, 1], dtype="Int64"),
            "n_total_ppm": [10.0, 520.0, np.nan, 2000.0, 75.0],
            "n_b_percent": [50.0, 0.0, np.nan, 100.0, np.nan],
        }
    )
    s = summarise(stones, label="x")
    assert s["n_stones"] == 5 and s["n_lots"] == 2
    assert s["total_ct"] == pytest.approx(2.35)
    assert s["mass"]["n"] == 4 and sum(s["mass"]["counts"]) == 4
    assert s["mass"]["median_ct"] == pytest.approx(0.15)
    # +1 is "-2 (fine)"; +7 melee; 3.00 mm is sieve 13 on the DTC axis (+11-15); +23 coarse.
    bands = dict(zip(s["sieve"]["bands"], s["sieve"]["counts"], strict=True))
    assert bands == {
        "-2 (fine)": 1,
        "+2-6.5 (stars)": 0,
        "+6.5-11 (melee)": 1,
        "+11-15": 1,
        "+15-19": 0,
        "+19 (coarse)": 1,
    }
    assert list(s["sieve"]["classes"]) == ["dtc:+1", "dtc:+7", "mm:3.00", "dtc:+23"]  # by aperture
    colour = s["categories"]["colour"]
    assert dict(zip(colour["labels"], colour["counts"], strict=True))["colourless"] == 2
    assert colour["n"] == 4 and colour["lots"] == 2
    assert s["categories"]["coating"]["counts"] == [3, 1]
    assert s["categories"]["resorption"]["counts"] == [1, 1, 0, 2]
    # 2000 ppm is clipped into the last bin; 10 and 520 land in their 50-ppm bins.
    counts = s["nitrogen"]["counts"]
    assert counts[0] == 1 and counts[10] == 1 and counts[-1] == 1 and counts[1] == 1
    assert s["n_vs_b"]["n"] == 3
    assert s["categories"]["quality"]["n"] == 0  # column absent: no stones behind it


def test_nearest_lots_finds_the_lot_a_parcel_was_drawn_from(reference_frame: pd.DataFrame) -> None:
    lots = lot_vectors(reference_frame)
    lot_id = lots.index[3]
    parcel = reference_frame[reference_frame["lot_id"] == lot_id]
    found = nearest_lots(summarise(parcel), lots, k=3)
    assert found[0]["lot_id"] == lot_id and found[0]["distance"] == pytest.approx(0.0)
    assert np.isfinite(footprint_vector(summarise(parcel))).sum() > 10


def test_profile_command_writes_html_and_json(
    photo_store: Path, tmp_path: Path, reference_frame: pd.DataFrame
) -> None:
    runner = CliRunner()
    out_json = tmp_path / "west.json"
    result = runner.invoke(app, ["profile", str(photo_store), "--zone", "CAR-West", "--out", str(out_json)])
    assert result.exit_code == 0, result.output
    data = json.loads(out_json.read_text())
    west = reference_frame[reference_frame["zone"] == "CAR-West"]
    assert data["summary"]["n_stones"] == len(west)
    assert data["summary"]["n_lots"] == west["lot_id"].nunique()
    assert data["summary"]["categories"]["morphology"]["n"] == int(west["morphology"].notna().sum())
    assert data["store"]["synthetic"] is True
    assert 0 < len(data["gallery"]) <= 12
    assert all(g["zone"] == "CAR-West" for g in data["gallery"])

    out_html = tmp_path / "site.html"
    result = runner.invoke(
        app, ["profile", str(photo_store), "--site", "Bria", "--out", str(out_html), "--lang", "fr"]
    )
    assert result.exit_code == 0, result.output
    html = out_html.read_text()
    assert "Empreinte de référence" in html and "SYNTHÉTIQUE" in html
    assert html.count("data:image/png;base64,") >= 2  # the panels and at least one gallery photograph
    assert "http://" not in html and "https://" not in html


def test_profile_refuses_an_unknown_zone(photo_store: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["profile", str(photo_store), "--zone", "Atlantis", "--out", str(tmp_path / "x.json")]
    )
    assert result.exit_code == 3
    assert "Atlantis" in result.output and "CAR-West" in result.output
