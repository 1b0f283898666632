"""A run keeps its parcel results compactly unless a report needs every column (memory flat in the file)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from footprint.classify._output import ResultParts


def _chunk(k: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(k)
    return pd.DataFrame({
        "parcel_id": [f"P{k}-{i}" for i in range(n)], "n_stones": rng.integers(1, 99, n),
        "verdict": rng.choice(["consistent", "mixed", "unknown_origin"], n), "log10_lr": rng.normal(size=n),
        "top_fields": [f"colour {i}% (CAR-West)" for i in range(n)],
        "site_shares": [[("Nola", 0.5, 0.2, 0.8)]] * n,  # a report-only column
    })


def test_compact_parts_give_back_the_output_columns_and_count_verdicts():
    columns = ["parcel_id", "n_stones", "verdict", "log10_lr", "top_fields", "fit_p"]
    chunks = [_chunk(k, n) for k, n in enumerate([5, 0, 17, 1])]
    compact, frames = ResultParts(columns, frames=False), ResultParts(columns, frames=True)
    for chunk in chunks:
        compact.add(chunk)
        frames.add(chunk)
    expected = pd.concat(chunks, ignore_index=True)
    pd.testing.assert_frame_equal(compact.frame(), expected.reindex(columns=columns))
    pd.testing.assert_frame_equal(frames.frame(columns), compact.frame())
    assert "site_shares" in frames.frame().columns  # the report still gets every column
    assert compact.n_parcels == len(expected)
    assert compact.verdicts == expected["verdict"].value_counts().to_dict()
    assert ResultParts(columns, frames=False).frame().columns.tolist() == columns
