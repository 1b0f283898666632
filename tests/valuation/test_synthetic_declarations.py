"""The SYNTHETIC export parcels declare values the bundled SYNTHETIC price book can check."""

from __future__ import annotations

import numpy as np
import pandas as pd

from footprint.ingest import parse_size_class
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


def test_the_bundled_book_is_the_generator_price_shape_at_nominal_carats() -> None:
    """One shape, two uses: the CSV book and the generator's declared values cannot drift apart."""
    shape = load_params().price_shape
    rows = pd.read_csv(synthetic_price_book_path(), comment="#")
    nominal = np.array([parse_size_class(v).ct_nominal for v in rows["size_class"]])
    expected = shape.usd_per_ct(nominal, rows["quality"].to_numpy(), rows["colour"].to_numpy())
    np.testing.assert_allclose(rows["usd_per_ct"], expected, rtol=0, atol=0.006)
    np.testing.assert_allclose(rows["low"], rows["usd_per_ct"] / shape.band_factor, atol=0.011)
    np.testing.assert_allclose(rows["high"], rows["usd_per_ct"] * shape.band_factor, atol=0.011)
    # the shape rises steeply with size and quality, as rough price books do
    assert shape.exponent > 0.5 and shape.quality["gem"] > 10 * shape.quality["industrial"]
