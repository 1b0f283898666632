"""Tempering of the zone evidence: the design-effect form and its per-size refit on held-out parcels.

SYNTHETIC numbers only (no reference set needed).
"""

from __future__ import annotations

import numpy as np
import pytest


def _parcels(rng: np.random.Generator, n: int, scale: float, true_tau: float) -> tuple[np.ndarray, np.ndarray]:
    """Zone log-likelihoods of ``n`` two-zone parcels whose best weight is ``true_tau``.

    The margin ``m`` is drawn as ``scale * |N(1, 1)|``-ish; the truth is zone 0 with probability
    ``sigmoid(true_tau * m)``, so ``tau = true_tau`` is the maximum-likelihood weight.
    """
    m = scale * rng.normal(1.0, 1.0, n)
    truth = (rng.random(n) >= 1.0 / (1.0 + np.exp(-true_tau * m))).astype(int)
    return np.column_stack([m, np.zeros(n)]), truth


def test_table_interpolates_and_continues_the_form():
    from footprint.model._parcel import tempering

    tau0, rho = 0.9, 0.001
    table = (np.array([5.0, 25.0]), np.array([0.8, 1.0]))
    sizes = np.array([1.0, 5.0, 25.0, 11.18033988749895, 25.0001, 50.0, 1000.0, 35.35533905932738])
    got = tempering(sizes, tau0, rho, table)
    assert got[0] == pytest.approx(0.8) and got[1] == pytest.approx(0.8) and got[2] == pytest.approx(1.0)
    assert got[3] == pytest.approx(0.9)  # halfway in log n
    form = tempering(sizes, tau0, rho)
    # Above the table: continuous at its last size, back to the form one doubling later, the form beyond.
    assert got[4] == pytest.approx(1.0, abs=1e-4)
    assert got[5] == pytest.approx(form[5]) and got[6] == pytest.approx(form[6])
    assert got[7] == pytest.approx(form[7] * np.sqrt(1.0 / form[2]))  # half a doubling: half the ratio in log
    # The evidence a parcel carries, n tau(n), still grows with its size.
    grid = np.geomspace(1, 10_000, 400)
    assert np.all(np.diff(grid * tempering(grid, tau0, rho, table)) > 0)
    # No table, or an empty one: the form alone.
    assert np.array_equal(tempering(np.array([3.0, 40.0]), tau0, rho),
                          tempering(np.array([3.0, 40.0]), tau0, rho, (np.array([]), np.array([]))))


def test_calibration_round_trip_keeps_the_table():
    from footprint.model._parcel import ParcelCalibration

    cal = ParcelCalibration(2.0, 0.9, 0.001, 1.0, np.array([25]), [np.zeros(3)], [np.zeros(3)],
                            tau_table=(np.array([1.0, 25.0]), np.array([0.85, 0.97])))
    back = ParcelCalibration.from_parts(cal.to_parts())
    sizes = np.array([1.0, 10.0, 25.0, 400.0])
    assert np.array_equal(back.tempering(sizes), cal.tempering(sizes))
    assert back.tempering(np.array([25.0]))[0] == pytest.approx(0.97)
    # A model saved before the table existed: the form alone.
    parts = cal.to_parts()
    parts.pop("tau_table")
    old = ParcelCalibration.from_parts(parts)
    assert old.tau_table is None
    assert np.allclose(old.tempering(sizes), 0.9 / (1.0 + 0.001 * (sizes - 1.0)))


def test_per_size_refit_follows_each_size_and_skips_separable_ones():
    from footprint.model._parcel_calibration import _fit_tempering

    rng = np.random.default_rng(3)
    blocks = [(1, 3000, 1.0, 0.7), (5, 3000, 2.0, 0.7), (25, 3000, 3.0, 1.0),
              (400, 300, 200.0, 1.0)]  # the last one: every parcel told apart but one, confidently wrong
    zl, sizes, truth = [], [], []
    for n, count, scale, tau in blocks:
        z, t = _parcels(rng, count, scale, tau)
        if n == 400:
            t = np.zeros(count, dtype=int)
            z[:, 0] = np.abs(z[:, 0]) + 50.0
            z[0, 0] = -30.0  # one confident error would ask for a tiny weight: too few to refit on
        zl.append(z)
        sizes.append(np.full(count, n))
        truth.append(t)
    tau0, rho, (at, taus) = _fit_tempering(np.vstack(zl), np.concatenate(sizes), np.concatenate(truth))
    # One form cannot give 0.7 at 1 and 5 stones and 1.0 at 25; the table does, per size.
    assert list(at) == [1.0, 5.0, 25.0]
    assert taus[0] == pytest.approx(0.7, abs=0.08) and taus[1] == pytest.approx(0.7, abs=0.08)
    assert taus[2] == pytest.approx(1.0, abs=0.06)
    assert np.all(taus <= 1.0)
