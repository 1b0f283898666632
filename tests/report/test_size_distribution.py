"""Summaries of assortments: % carats and % stones per size class, totals that count missing masses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from footprint._profile import summarise
from footprint.report import render_report


def _cells() -> pd.DataFrame:
    # Two cells of one parcel, as read_assortment gives them (one row per cell, n_stones, carats).
    return pd.DataFrame(
        {
            "parcel_id": ["P", "P", "P"],
            "sample_id": ["P/cell1", "P/cell2", "P/cell3"],
            "size_class": ["dtc:+11", "gr:4", "dtc:+5"],
            "sieve_class": ["dtc:+11", None, "dtc:+5"],
            "quality": ["gem", "near_gem", "gem"],
            "colour": ["colourless", "brown", None],
            "n_stones": [100, 4, 6],
            "carats": [18.0, 4.2, np.nan],
            "stone_weight": [100.0, 4.0, 6.0],
            "mass_ct": [0.18, 1.05, np.nan],
        }
    )


def test_assortment_summary_counts_stones_and_carats_per_class() -> None:
    s = summarise(_cells(), label="P")
    assert s["n_stones"] == 110 and s["n_no_mass"] == 6
    assert s["total_ct"] == pytest.approx(22.2) and s["mass"]["n"] == 104
    assert s["mass"]["mean_ct"] == pytest.approx(22.2 / 104)  # over the weighed stones, not all 110
    classes = s["size"]["classes"]
    assert list(classes) == ["dtc:+5", "dtc:+11", "gr:4"]  # by carats per stone, in the input's own system
    assert classes["dtc:+11"]["pct_carats"] == pytest.approx(100 * 18 / 22.2, abs=0.01)
    assert classes["gr:4"]["pct_stones"] == pytest.approx(100 * 4 / 110, abs=0.01)
    assert classes["dtc:+5"]["n_no_mass"] == 6 and classes["dtc:+5"]["carats"] == 0
    quality = dict(
        zip(s["categories"]["quality"]["labels"], s["categories"]["quality"]["counts"], strict=True)
    )
    assert quality["gem"] == 106 and quality["near_gem"] == 4
    assert s["categories"]["colour"]["n"] == 104
    # The sieve-band panels: stones per band, and the weighed carats per band (% of carats).
    bands = dict(zip(s["sieve"]["bands"], s["sieve"]["counts"], strict=True))
    carats = dict(zip(s["sieve"]["bands"], s["sieve"]["carats"], strict=True))
    assert bands["+11-15"] == 100 and bands["+2-6.5 (stars)"] == 6
    assert carats["+11-15"] == pytest.approx(18.0) and carats["+2-6.5 (stars)"] == 0.0
    assert s["sieve"]["n_carats"] == 100


def test_a_grainer_without_carats_is_not_counted_as_weighed() -> None:
    cells = _cells()
    cells.loc[1, "carats"] = np.nan  # gr:4 keeps its nominal mass_ct for the model, but nobody weighed it
    s = summarise(cells)
    assert s["n_no_mass"] == 10 and s["total_ct"] == pytest.approx(18.0)


def test_report_totals_say_how_many_stones_had_no_mass() -> None:
    stones = pd.DataFrame(
        {"parcel_id": ["Q"] * 4, "sample_id": list("abcd"), "mass_ct": [0.5, 0.5, np.nan, np.nan]}
    )
    results = pd.DataFrame(
        [
            {
                "parcel_id": "Q",
                "n_stones": 4,
                "declared_zone": "CAR-West",
                "verdict": "consistent",
                "best_zone": "CAR-West",
                "p_CAR-West": 0.9,
                "p_CAR-East": 0.1,
                "log10_lr": 1.5,
                "foreign_fraction": 0.0,
                "foreign_fraction_lo": 0.0,
                "foreign_fraction_hi": 0.2,
                "novelty_p": 0.5,
            }
        ]
    )
    parcels = pd.DataFrame({"parcel_id": ["Q"], "declared_value_usd": [400.0], "total_carats": [np.nan]})
    html = render_report(
        results, zones=["CAR-East", "CAR-West"], parcel_summaries={"Q": summarise(stones)}, parcels=parcels
    )
    # The old report: total 1.00 ct, mean 0.25 ct (1 ct / 4 stones) and 400 USD/ct: all overstated or wrong.
    assert "1.00 ct (2 of 4 stones weighed" in html and "0.500 ct" in html
    assert "400 USD/ct" not in html and "not computed: 2 of 4 stones have no mass" in html
    parcels["total_carats"] = [2.0]  # the whole parcel's carats from the parcels file: $/ct on that
    html = render_report(
        results, zones=["CAR-East", "CAR-West"], parcel_summaries={"Q": summarise(stones)}, parcels=parcels
    )
    assert "200 USD/ct" in html and "2.00 ct" in html


def test_profile_page_shows_sizes_and_missing_masses() -> None:
    from footprint.report import render_profile

    stones = pd.DataFrame({"sample_id": list("abcd"), "zone": ["Z"] * 4, "mass_ct": [0.5, 0.2, np.nan, 1.0],
                           "sieve_class": ["dtc:+11", "dtc:+15", "dtc:+9", None]})
    html = render_profile({"summary": summarise(stones, label="Z"), "selection": {"label": "Z"},
                           "store": {"synthetic": True, "path": "x", "content_hash": "h"}, "gallery": []})
    assert "1.70 ct (3 of 4 stones weighed" in html and "0.567 ct" in html
    assert "% carats" in html and "71.43" in html  # +11: 0.5 of the 0.7 classed carats
    assert "1 stones have no size class" in html
