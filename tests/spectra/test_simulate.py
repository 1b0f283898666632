"""The forward model is physically what it claims (Beer-Lambert, ppm factors, peak areas)."""

from __future__ import annotations

import numpy as np
import pytest

from footprint.spectra import (
    IIA_AT_1995_CM1,
    FTIRTruth,
    instrument_grid,
    simulate_from_truth,
    simulate_ftir,
)
from footprint.spectra._components import component_matrix, intrinsic


def test_intrinsic_is_scaled_to_11_94_at_1995():
    assert intrinsic(np.array([1995.0]))[0] == pytest.approx(IIA_AT_1995_CM1, rel=1e-12)


def test_component_files_match_reference_data(repo_root):
    for name in ("CAXBD.csv", "typeIIa.csv"):
        assert (repo_root / "footprint" / "data" / name).read_bytes() == (
            repo_root / "reference_data" / name).read_bytes()


def test_absorbance_is_decadic_beer_lambert_with_baseline():
    x = np.array([1995.0, 3000.0])
    thickness = 1.7
    _, a = simulate_ftir(0.0, 0.0, thickness_mm=thickness, baseline=(0.1, 0.2, 0.05), noise_sd=0.0, x_cm1=x)
    t = (x - 400.0) / 1000.0
    expected = intrinsic(x) * (thickness / 10.0) / np.log(10.0) + 0.1 + 0.2 * t + 0.05 * t * t
    np.testing.assert_allclose(a, expected, rtol=1e-12)


def test_ppm_factors_fix_the_one_phonon_absorption():
    x = np.array([1282.0, 1130.0])
    _, a = simulate_ftir(16.5, 0.0, thickness_mm=10.0 * np.log(10.0), baseline=(0, 0, 0), noise_sd=0.0,
                         x_cm1=x)
    # thickness chosen so absorbance == absorption coefficient; A shape is 1 at 1282 cm-1.
    np.testing.assert_allclose(a[0], 1.0 + intrinsic(x[:1])[0], rtol=1e-4)
    _, b = simulate_ftir(0.0, 79.4, thickness_mm=10.0 * np.log(10.0), baseline=(0, 0, 0), noise_sd=0.0,
                         x_cm1=x)
    np.testing.assert_allclose(b - intrinsic(x), component_matrix(x)[:, 3], rtol=1e-9)


def test_peak_areas_integrate_to_their_parameters():
    x = np.arange(1000.0, 4500.0, 0.25)
    kw = dict(thickness_mm=10.0 * np.log(10.0), baseline=(0, 0, 0), noise_sd=0.0, x_cm1=x)
    _, base = simulate_ftir(0.0, 0.0, **kw)
    _, with_peaks = simulate_ftir(0.0, 0.0, platelet_area_cm2=4.0, platelet_position_cm1=1370.0,
                                  h3107_area_cm2=2.0, **kw)
    extra = with_peaks - base
    platelet = np.trapezoid(extra[(x > 1000) & (x < 2000)], x[(x > 1000) & (x < 2000)])
    hydrogen = np.trapezoid(extra[x > 2500], x[x > 2500])
    assert platelet == pytest.approx(4.0, rel=0.02)  # Lorentzian tails outside the range
    assert hydrogen == pytest.approx(2.0, rel=0.02)
    assert x[np.argmax(extra * (x < 2000))] == pytest.approx(1370.0, abs=0.25)


def test_noise_and_grid():
    x = instrument_grid()
    assert x[0] == 400.0 and x[-1] > 4000.0
    truth = FTIRTruth(n_a_ppm=100.0, n_b_ppm=50.0, noise_sd=0.01)
    _, a1 = simulate_from_truth(truth, rng=1)
    _, a2 = simulate_from_truth(truth, rng=1)
    _, clean = simulate_from_truth(FTIRTruth(n_a_ppm=100.0, n_b_ppm=50.0, noise_sd=0.0))
    np.testing.assert_array_equal(a1, a2)
    assert np.std(a1 - clean) == pytest.approx(0.01, rel=0.1)
    assert truth.n_total_ppm == 150.0
    assert truth.n_b_percent == pytest.approx(100.0 / 3.0)


def test_transmittance_noise_model_clips_opaque_regions():
    _, a = simulate_ftir(3000.0, 0.0, thickness_mm=5.0, noise_sd=0.002, rng=0, noise_model="transmittance")
    assert a.max() <= 4.0 + 1e-9
