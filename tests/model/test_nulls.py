"""P-values against size-tabulated parcel nulls (footprint.model._nulls)."""

from __future__ import annotations

import numpy as np
import pytest

from footprint.model._nulls import null_p_values, scaled_null_p_values

SIZES = np.array([25, 100, 400, 1500, 10000])
COUNTS = (400, 300, 120, 40, 12)  # as short at the big sizes as the calibration's tables


def _null(rng: np.random.Generator, n: float, count: int) -> np.ndarray:
    """Means of ``n`` skewed stone scores: centre 1, spread shrinking like 1/sqrt(n)."""
    return 1.0 + rng.standard_gamma(4.0, size=count) / 2.0 / np.sqrt(n) - 2.0 / np.sqrt(n)


def test_short_tables_still_reach_small_p_values_at_big_sizes() -> None:
    rng = np.random.default_rng(0)
    null = [_null(rng, n, c) for n, c in zip(SIZES, COUNTS, strict=True)]
    far = np.array([1.5, 1.5])  # far out for parcels of 1,500 and 10,000 stones
    sizes = np.array([1500.0, 10000.0])
    assert (null_p_values(far, sizes, SIZES, [np.sort(v) for v in null]) >= 1 / 41 - 1e-12).all()
    assert (scaled_null_p_values(far, sizes, SIZES, null) < 0.005).all()


@pytest.mark.parametrize("size", [25.0, 200.0, 1500.0, 5000.0])
def test_p_values_are_calibrated_or_conservative_on_fresh_null_parcels(size: float) -> None:
    rng = np.random.default_rng(1)
    null = [_null(rng, n, c) for n, c in zip(SIZES, COUNTS, strict=True)]
    fresh = _null(rng, size, 4000)
    p = scaled_null_p_values(fresh, np.full(len(fresh), size), SIZES, null)
    for alpha in (0.01, 0.05, 0.2):
        # at most nominal (plus sampling noise of the short tables), and not uselessly conservative
        assert np.mean(p <= alpha) <= 1.6 * alpha + 0.005
        assert np.mean(p <= alpha) >= 0.25 * alpha


def test_order_of_the_null_values_does_not_matter() -> None:
    rng = np.random.default_rng(2)
    null = [_null(rng, n, c) for n, c in zip(SIZES, COUNTS, strict=True)]
    stats, sizes = rng.normal(1.0, 0.05, 50), rng.uniform(25, 12000, 50)
    shuffled = [rng.permutation(v) for v in null]
    assert np.array_equal(scaled_null_p_values(stats, sizes, SIZES, null),
                          scaled_null_p_values(stats, sizes, SIZES, shuffled))
