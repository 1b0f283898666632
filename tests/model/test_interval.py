"""The foreign-fraction interval's per-size factors and the held-out top-ups they are fitted on."""

from __future__ import annotations

import numpy as np
import pytest


def test_interval_factor_interpolates_in_log_size_and_old_models_load():
    from footprint.model._parcel import ParcelCalibration, interval_factor, widen_interval

    table = (np.array([100.0, 400.0, 1600.0]), np.array([1.2, 1.0, 0.8]))
    got = interval_factor(np.array([25, 100, 200, 400, 800, 1600, 6000]), table)
    # Constant beyond the table; halfway in log n between 100 and 400 at 200, between 400 and 1,600 at 800.
    np.testing.assert_allclose(got, [1.2, 1.2, 1.1, 1.0, 0.9, 0.8, 0.8])
    assert np.array_equal(interval_factor(np.array([50, 5000]), None), np.ones(2))
    # The factor scales each side's widened half-width (and may narrow it).
    est, low, high = np.array([0.2, 0.2]), np.array([0.15, 0.15]), np.array([0.3, 0.3])
    lo, hi = widen_interval(est, low, high, 0.0, 0.9, factor=np.array([2.0, 0.5]))
    np.testing.assert_allclose(lo, [0.10, 0.175])
    np.testing.assert_allclose(hi, [0.40, 0.25])
    # Stored in the artefact's parts, read back; a model saved before the table loads with factor 1.
    cal = ParcelCalibration(2.0, 1.0, 0.0, 1.0, np.array([25]), [np.zeros(3)], [np.zeros(3)],
                            interval_table=table)
    back = ParcelCalibration.from_parts(cal.to_parts())
    np.testing.assert_allclose(back.interval_factor(np.array([200])), [1.1])
    parts = cal.to_parts()
    parts.pop("interval_table")
    old = ParcelCalibration.from_parts(parts)
    assert old.interval_table is None and old.interval_factor(np.array([200]))[0] == 1.0


def _reference_layout(n_lots_per_site: int = 6, lot_size: int = 40):
    # Two zones, two sites each, lots of 40 stones; fold k holds lot k of every site (mod 3).
    site, lots, fold = [], [], []
    for s in range(4):
        for k in range(n_lots_per_site):
            site += [s] * lot_size
            lots += [f"s{s}-l{k}"] * lot_size
            fold += [k % 3] * lot_size
    return np.array(site), np.array(lots), np.array(fold)


@pytest.mark.parametrize("size", [100, 200])
def test_held_out_top_up_parts_take_each_lot_once(size):
    from footprint.model._interval_calibration import _draw_lots, _fold_pools
    from footprint.model._parcel import zone_lots

    site, lots, fold = _reference_layout()
    site_zone = np.array([0, 0, 1, 1])
    zone = site_zone[site]
    folds = [np.flatnonzero(fold == k) for k in range(3)]
    pools = _fold_pools(folds, zone, [0, 1], size)
    rng = np.random.default_rng(1)
    for pool in pools:
        # Each pool holds enough of every zone, and is one fold where one fold does (160 stones per zone).
        assert all((pool == z).sum() >= size for z in (0, 1))
        assert len(np.unique(fold[pool >= 0])) == (1 if size <= 160 else 2)
        for _ in range(20):
            part = _draw_lots(zone_lots(lots, pool, site, 0), size, rng, np.array([0.5, 0.5, 0.5, 0.5]))
            assert len(part) == size and len(np.unique(part)) == size  # no stone (so no lot) twice
            assert np.all(zone[part] == 0) and np.all(pool[part] == 0)
