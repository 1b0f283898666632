"""P-values against size-tabulated parcel nulls (footprint.model._nulls)."""

from __future__ import annotations

import numpy as np
import pytest

from footprint.model._nulls import fit_growth, grown_null_p_values, null_p_values, scaled_null_p_values

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


def _growing(rng: np.random.Generator, n: float, count: int, lam: float) -> np.ndarray:
    """A mixed-test-like statistic: a chi-square(1) part, 0 half the time, plus a misfit growing like n."""
    return np.where(rng.random(count) < 0.5, 0.0, rng.chisquare(1, count)) + lam * n * rng.chisquare(1, count)


def test_growth_fitted_on_small_sizes_keeps_big_parcels_at_their_level() -> None:
    rng = np.random.default_rng(3)
    lam = 2e-4
    measured = np.array([25.0, 100.0, 400.0, 800.0])
    # Ten "folds" per size, twenty parcels each: the fold means the calibration fits the slope on.
    means = [np.array([_growing(rng, n, 20, lam).mean() for _ in range(10)]) for n in measured]
    tables = [np.sort(np.concatenate([_growing(rng, n, 400, lam) for n in measured[: k + 1]]))
              for k in range(len(measured))]
    growth = fit_growth(measured, means, float(np.mean(tables[-1])))
    assert growth[0] == 800.0 and growth[2] > 0
    for size in (5000.0, 10000.0):
        fresh = _growing(rng, size, 3000, lam)
        p_grown = grown_null_p_values(fresh, np.full(len(fresh), size), measured, tables, growth)
        p_flat = null_p_values(fresh, np.full(len(fresh), size), measured, tables)
        # the table of 800 stones read as it is flags far too many big genuine parcels; stretched, alpha
        assert np.mean(p_flat < 0.02) > 0.05
        assert np.mean(p_grown < 0.02) <= 0.02 + 0.01
    # at and below the measured sizes nothing changes
    small = _growing(rng, 400.0, 200, lam)
    n400 = np.full(len(small), 400.0)
    assert np.array_equal(grown_null_p_values(small, n400, measured, tables, growth),
                          null_p_values(small, n400, measured, tables))


def test_growth_is_never_negative_and_none_reads_the_tables() -> None:
    rng = np.random.default_rng(4)
    measured = np.array([25.0, 100.0, 400.0])
    shrinking = [np.array([1.0 - 1e-3 * n + rng.normal(0, 0.01) for _ in range(10)]) for n in measured]
    growth = fit_growth(measured, shrinking, 0.5)
    assert growth[2] == 0.0
    tables = [np.sort(rng.chisquare(1, 300)) for _ in measured]
    stats, sizes = rng.chisquare(1, 40), rng.uniform(25, 9000, 40)
    assert np.array_equal(grown_null_p_values(stats, sizes, measured, tables, None),
                          null_p_values(stats, sizes, measured, tables))
    # no growth: above the largest measured size its table is read as it is
    assert np.allclose(grown_null_p_values(stats, sizes, measured, tables, growth),
                       null_p_values(stats, np.minimum(sizes, 400.0), measured, tables))
