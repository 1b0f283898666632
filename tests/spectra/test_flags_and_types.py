"""Flags (saturated, noisy, poor_fit) and diamond-type rules on constructed spectra."""

from __future__ import annotations

import numpy as np
import pytest

from footprint._types import Spectrum
from footprint.spectra import analyse_spectra, simulate_ftir


def _analyse(x, a, source="case.jdx"):
    spectrum = Spectrum(x=x, y=a, x_unit="1/cm", y_unit="absorbance", kind="ftir", source=source)
    features, problems = analyse_spectra([spectrum])
    assert problems == []
    return features.iloc[0]


def _flags(row) -> set[str]:
    return set(filter(None, row["flags"].split(";")))


def test_clean_spectrum_has_no_flags():
    row = _analyse(*simulate_ftir(200.0, 100.0, thickness_mm=1.0, rng=0))
    assert _flags(row) == set()
    assert row["fit_residual"] < 0.2


def test_thick_nitrogen_rich_stone_is_flagged_saturated_but_kept():
    x, a = simulate_ftir(1200.0, 300.0, thickness_mm=3.0, rng=1, noise_model="transmittance")
    row = _analyse(x, a)
    assert a[(x > 1000) & (x < 1400)].max() > 2.0
    assert "saturated" in _flags(row)
    assert np.isfinite(row["n_total_ppm"]) and row["n_total_ppm"] > 0


def test_noisy_spectrum_is_flagged_noisy():
    row = _analyse(*simulate_ftir(200.0, 100.0, thickness_mm=0.5, noise_sd=0.05, rng=2))
    assert "noisy" in _flags(row)
    assert row["noise_cm1"] > 0.25


def test_unmodelled_band_is_flagged_poor_fit():
    x, a = simulate_ftir(300.0, 100.0, thickness_mm=1.0, rng=3)
    a = a + 0.15 * np.exp(-0.5 * ((x - 1240.0) / 12.0) ** 2)  # no nitrogen centre looks like this
    row = _analyse(x, a)
    assert "poor_fit" in _flags(row)


@pytest.mark.parametrize(("n_a", "n_b", "n_c", "expected"), [
    (0.0, 0.0, 0.0, "IIa"),
    (2.0, 1.0, 0.0, "IIa"),
    (0.0, 0.0, 80.0, "Ib"),
    (300.0, 5.0, 0.0, "IaA"),
    (200.0, 200.0, 0.0, "IaAB"),
    (5.0, 300.0, 0.0, "IaB"),
])
def test_type_rules(n_a, n_b, n_c, expected):
    row = _analyse(*simulate_ftir(n_a, n_b, n_c, thickness_mm=1.0, rng=4))
    assert row["diamond_type"] == expected
    if expected == "Ib":
        assert row["n_c_ppm"] == pytest.approx(80.0, rel=0.05)


def test_no_platelet_reports_zero_area_and_no_position():
    row = _analyse(*simulate_ftir(200.0, 100.0, thickness_mm=1.0, rng=5))
    assert row["platelet_area_cm2"] == 0.0
    assert np.isnan(row["platelet_position_cm1"])


def test_single_platelet_peak_is_located():
    row = _analyse(*simulate_ftir(300.0, 200.0, platelet_area_cm2=6.0, platelet_position_cm1=1372.5,
                                  thickness_mm=1.0, rng=6))
    assert row["platelet_position_cm1"] == pytest.approx(1372.5, abs=1.0)
    assert row["platelet_area_cm2"] == pytest.approx(6.0, rel=0.2)
    assert row["platelet_width_cm1"] == pytest.approx(12.0, rel=0.3)


def test_short_spectrum_without_3107_coverage_is_flagged():
    x, a = simulate_ftir(200.0, 100.0, h3107_area_cm2=3.0, rng=7)
    keep = x <= 2900
    row = _analyse(x[keep], a[keep])
    assert np.isnan(row["h3107_area_cm2"])
    assert "no_3107_coverage" in _flags(row)
    assert row["n_total_ppm"] == pytest.approx(300.0, rel=0.05)


def test_coarse_short_spectrum_and_absorption_coefficient_input():
    grid = np.arange(600.0, 3800.0, 3.857)  # 8 cm-1 resolution export, ends below 4000 cm-1
    x, a = simulate_ftir(250.0, 150.0, thickness_mm=1.5, rng=8, x_cm1=grid)
    row = _analyse(x, a)
    assert row["n_total_ppm"] == pytest.approx(400.0, rel=0.05)
    assert row["n_b_percent"] == pytest.approx(37.5, abs=3.0)
    # the same stone given as absorption coefficient (cm-1): no thickness, no saturation flag
    mu = (a - a.min()) * np.log(10.0) / 0.15
    spectrum = Spectrum(x=x, y=mu, x_unit="1/cm", y_unit="absorption_coefficient", kind="ftir", source="mu")
    features, problems = analyse_spectra([spectrum])
    assert problems == []
    assert features["n_total_ppm"].iloc[0] == pytest.approx(400.0, rel=0.05)
    assert "saturated" not in features["flags"].iloc[0]
