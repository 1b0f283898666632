"""The SYNTHETIC export parcels declare values the bundled SYNTHETIC price book can check."""

from __future__ import annotations

import numpy as np

from footprint.synth import generate_parcels, load_params
from footprint.valuation import cells_from_stones, read_price_book, synthetic_price_book_path, value_parcels


def test_honest_declarations_pass_and_misdeclared_ones_are_flagged() -> None:
    stones, parcels = generate_parcels(load_params(), seed=4, n_parcels=80, size_range=(50, 300))
    book = read_price_book(synthetic_price_book_path()).as_of(None)
    out = value_parcels(cells_from_stones(stones), book, parcels).set_index("parcel_id")
    factor = parcels.set_index("parcel_id")["truth_value_factor"].loc[out.index].to_numpy()
    flag = out["value_flag"].to_numpy()
    honest, under = factor == 1.0, factor < 1.0
    assert honest.sum() >= 50 and under.sum() >= 3
    assert np.mean(flag[honest] != "inside") <= 0.15
    assert np.mean(flag[under] == "under") >= 0.8
    assert "SYNTHETIC" in " ".join(stones["notes"].astype(str).unique())
