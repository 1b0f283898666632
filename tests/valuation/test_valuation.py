"""Price books, expected against declared values, and ``footprint value``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from footprint.cli import app
from footprint.exceptions import InputError
from footprint.valuation import (
    cells_from_stones,
    read_price_book,
    synthetic_price_book_path,
    value_parcels,
)

BOOK = """size_class,quality,colour,usd_per_ct,low,high,effective_from
dtc:+11,gem,colourless,200,160,250,2024-01-01
dtc:+11,gem,colourless,220,180,270,2025-01-01
dtc:+11,industrial,*,10,,,
ct:1-2,gem,,900,700,1100,
"""


@pytest.fixture
def book(tmp_path: Path):
    path = tmp_path / "book.csv"
    path.write_text(BOOK, encoding="utf-8")
    return read_price_book(path)


def test_effective_dates_wildcards_and_default_band(book) -> None:
    assert book.as_of("2024-06-30").price(0.18, "gem", "colourless") == (200.0, 160.0, 250.0)
    assert book.as_of("2025-06-30").price(0.18, "gem", "colourless") == (220.0, 180.0, 270.0)
    mid, low, high = book.as_of("2025-06-30").price(0.18, "industrial", "brown")  # '*' colour
    assert (mid, low, high) == pytest.approx((10.0, 8.0, 12.5))  # default band /1.25 .. x1.25
    assert book.as_of("2025-06-30").price(1.5, "gem", "yellow")[0] == 900.0  # blank colour = any
    assert np.isnan(book.as_of("2025-06-30").price(0.05, "gem", "colourless")[0])  # no row for that size


def test_price_book_errors_name_row_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "size_class,quality,colour,usd_per_ct,low\n+11,gem,pink,200,300\nxx,shiny,,-5,\n", encoding="utf-8"
    )
    with pytest.raises(InputError) as info:
        read_price_book(bad)
    found = {(p.row, p.field) for p in info.value.problems}
    assert {(1, "colour"), (1, "low"), (2, "size_class"), (2, "quality"), (2, "usd_per_ct")} <= found


def test_the_synthetic_price_book_is_labelled_and_rises_with_size_and_quality() -> None:
    path = synthetic_price_book_path()
    assert "SYNTHETIC" in path.read_text(encoding="utf-8").splitlines()[0]
    book = read_price_book(path).as_of(None)
    assert book.synthetic
    gem = [book.price(m, "gem", "colourless")[0] for m in (0.02, 0.1, 0.5, 1.0, 4.0)]
    assert all(b > 1.5 * a for a, b in zip(gem, gem[1:], strict=False))  # steeply rising per carat
    assert (
        book.price(0.5, "gem", "colourless")[0]
        > book.price(0.5, "near_gem", "colourless")[0]
        > book.price(0.5, "industrial", "colourless")[0]
    )


def test_flags_under_over_inside_and_incomplete(book) -> None:
    book = book.as_of("2024-06-30")
    stones = pd.DataFrame(
        {
            "parcel_id": ["A", "A", "B", "C", "D", "D"],
            "mass_ct": [0.18, 0.18, 0.18, 0.18, 0.18, np.nan],
            "sieve_class": ["dtc:+11"] * 5 + [None],
            "quality": ["gem"] * 6,
            "colour": ["colourless"] * 6,
        }
    )
    cells = cells_from_stones(stones)
    parcels = pd.DataFrame(
        {
            "parcel_id": ["A", "B", "C", "D"],
            "declared_value_usd": [0.36 * 200, 0.18 * 200 * 0.7, 0.18 * 200 * 1.3, 100.0],
            "valuation_method": ["price book", "tender", None, "government valuator"],
        }
    )
    out = value_parcels(cells, book, parcels).set_index("parcel_id")
    assert out.loc["A", "expected_value_usd"] == pytest.approx(72.0)
    assert (out.loc["A", "expected_value_lo"], out.loc["A", "expected_value_hi"]) == pytest.approx(
        (57.6, 90.0)
    )
    assert out["value_flag"].to_dict() == {"A": "inside", "B": "under", "C": "over", "D": "incomplete"}
    assert out.loc["D", "n_unvalued"] == 1  # no mass, no sieve: counted, never silently left out
    assert out.loc["B", "value_ratio"] == pytest.approx(0.7)
    assert out.loc["A", "valuation_method"] == "price book"


def test_unvalued_stones_take_what_the_total_carats_leave(book) -> None:
    """Stones without mass or size class weigh what the valued ones leave of the declared total."""
    book = book.as_of("2024-06-30")
    one = {"mass_ct": [0.18] * 9 + [np.nan], "sieve_class": ["dtc:+11"] * 9 + [None]}
    stones = pd.DataFrame(
        {
            "parcel_id": [p for p in "EFG" for _ in range(10)],
            "mass_ct": one["mass_ct"] * 3,
            "sieve_class": one["sieve_class"] * 3,
            "quality": ["gem"] * 30,
            "colour": ["colourless"] * 30,
        }
    )
    parcels = pd.DataFrame(
        {
            "parcel_id": ["E", "F", "G"],
            "declared_value_usd": [2.0 * 200, 2.0 * 200 * 0.6, 50.0],
            "total_carats": [2.0, 2.0, 1.0],  # G: the valued stones alone outweigh the total
        }
    )
    out = value_parcels(cells_from_stones(stones), book, parcels).set_index("parcel_id")
    assert out.loc["E", "expected_value_usd"] == pytest.approx(400.0)
    assert out.loc["E", "carats"] == pytest.approx(2.0) and bool(out.loc["E", "carats_estimated"])
    assert out.loc["E", "n_unvalued"] == 1  # still counted
    assert out["value_flag"].to_dict() == {"E": "inside", "F": "under", "G": "incomplete"}


def test_without_a_total_unvalued_stones_are_worth_the_mean_valued_stone(book) -> None:
    book = book.as_of("2024-06-30")
    n = 10  # H: one stone of ten without mass or sieve; K: three of ten, above the 20% limit
    stones = pd.DataFrame(
        {
            "parcel_id": ["H"] * n + ["K"] * n,
            "mass_ct": [0.18] * (n - 1) + [np.nan] + [0.18] * (n - 3) + [np.nan] * 3,
            "sieve_class": ["dtc:+11"] * (n - 1) + [None] + ["dtc:+11"] * (n - 3) + [None] * 3,
            "quality": ["gem"] * 2 * n,
            "colour": ["colourless"] * 2 * n,
        }
    )
    parcels = pd.DataFrame({"parcel_id": ["H", "K"], "declared_value_usd": [n * 0.18 * 200 * 1.3, 1.0]})
    out = value_parcels(cells_from_stones(stones), book, parcels).set_index("parcel_id")
    assert out.loc["H", "expected_value_usd"] == pytest.approx(n * 0.18 * 200)
    assert bool(out.loc["H", "carats_estimated"]) and out.loc["H", "n_unvalued"] == 1
    assert out["value_flag"].to_dict() == {"H": "over", "K": "incomplete"}


def test_cells_without_carats_use_the_class_mass_range(book) -> None:
    cells = pd.DataFrame(
        {
            "parcel_id": ["A"],
            "size_class": ["ct:1-2"],
            "quality": ["gem"],
            "colour": [None],
            "n_stones": [2],
            "carats": [np.nan],
            "mass_ct": [np.nan],
        }
    )
    out = value_parcels(cells, book.as_of(None)).iloc[0]
    assert out["carats"] == pytest.approx(3.0) and bool(out["carats_estimated"])
    assert out["expected_value_lo"] == pytest.approx(2.0 * 700) and out["expected_value_hi"] == pytest.approx(
        4.0 * 1100
    )


def test_value_command_writes_flags_and_labels_synthetic(tmp_path: Path) -> None:
    assortment = tmp_path / "a.csv"
    assortment.write_text(
        "parcel_id,size_class,quality,colour,n_stones,carats\n"
        "A,dtc:+11,gem,colourless,100,18\nB,gr:4,gem,colourless,10,10\n",
        encoding="utf-8",
    )
    book = read_price_book(synthetic_price_book_path()).as_of(None)
    a_value = 18 * book.price(0.18, "gem", "colourless", "dtc:+11")[0]
    parcels = tmp_path / "p.csv"
    parcels.write_text(
        f"parcel_id,declared_value_usd,valuation_method\nA,{a_value:.2f},price book\nB,1,tender\n",
        encoding="utf-8",
    )
    out = tmp_path / "v.csv"
    result = CliRunner().invoke(
        app,
        [
            "value",
            "--price-book",
            str(synthetic_price_book_path()),
            "--assortment",
            str(assortment),
            "--parcels",
            str(parcels),
            "--out",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 6, result.output  # B is declared far under
    payload = json.loads(result.stdout)
    flags = {p["parcel_id"]: p["value_flag"] for p in payload["parcels"]}
    assert flags == {"A": "inside", "B": "under"} and payload["summary"]["synthetic"] is True
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# SYNTHETIC") and "tender" in text
    again = CliRunner().invoke(
        app,
        [
            "value",
            "--price-book",
            str(synthetic_price_book_path()),
            "--assortment",
            str(assortment),
            "--out",
            str(assortment),
        ],
    )
    # never writes over one of its inputs
    assert again.exit_code == 2 and "same file as the input --assortment" in again.output
    both = CliRunner().invoke(
        app,
        [
            "value",
            str(assortment),
            "--price-book",
            str(synthetic_price_book_path()),
            "--assortment",
            str(assortment),
            "--out",
            str(tmp_path / "x.csv"),
        ],
    )
    assert both.exit_code == 3 and "Traceback" not in both.output


def test_value_output_neutralises_formulas_and_refuses_a_missing_folder(tmp_path: Path) -> None:
    assortment = tmp_path / "a.csv"
    assortment.write_text(
        "parcel_id,size_class,quality,colour,n_stones,carats\n=HYPERLINK(\"x\"),dtc:+11,gem,colourless,100,18\n",
        encoding="utf-8",
    )
    out = tmp_path / "v.csv"
    args = ["value", "--price-book", str(synthetic_price_book_path()), "--assortment", str(assortment)]
    result = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert result.exit_code in (0, 6), result.output
    cells = list(csv.reader(out.read_text(encoding="utf-8").splitlines()[2:]))
    assert cells[0][0] == "'=HYPERLINK(\"x\")"  # inert in a spreadsheet
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "no" / "v.csv")])
    assert result.exit_code == 2 and "does not exist" in result.output
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--valuation-date", "2025-02-30"])
    assert result.exit_code == 3 and "valuation_date" in result.output
