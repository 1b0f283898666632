"""Non-diamond spectra (real JCAMP-DX files, constructed cases) are refused, never fitted."""

from __future__ import annotations

import numpy as np
import pytest

from footprint._types import Spectrum
from footprint.spectra import analyse_files, analyse_spectra, simulate_ftir


def test_real_non_diamond_jcamp_files_are_all_refused(shared_dir):
    root = shared_dir / "jcamp-dx"
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".jdx", ".dx", ".jcm"))
    assert len(files) > 50
    features, problems, read = analyse_files(files, n_jobs=1)
    assert len(features) == 0
    refused_files = {p.file for p in problems}
    assert refused_files == {str(f) for f in read}
    assert all(p.rule for p in problems)
    # the mid-IR gas spectra in absorbance pass the reader: the diamond test itself refuses them
    two_phonon = [p for p in problems if "two-phonon" in p.rule]
    assert len(two_phonon) >= 20


def _spectrum(x, y, **kw):
    base = dict(x_unit="1/cm", y_unit="absorbance", kind="ftir", source="case.jdx")
    base.update(kw)
    return Spectrum(x=x, y=y, **base)


@pytest.mark.parametrize("case", ["uv_range", "no_two_phonon", "transmittance_as_absorbance", "nmr_units",
                                  "uvvis_kind", "flat"])
def test_constructed_non_diamond_cases_are_refused(case):
    x, a = simulate_ftir(200.0, 100.0, rng=0)
    if case == "uv_range":
        spectrum = _spectrum(np.linspace(200, 800, 600), np.ones(600), x_unit="nm")
    elif case == "no_two_phonon":
        spectrum = _spectrum(x[x < 1700], a[x < 1700])
    elif case == "transmittance_as_absorbance":
        spectrum = _spectrum(x, 10.0 ** -a)
    elif case == "nmr_units":
        spectrum = _spectrum(np.linspace(0, 12, 600), np.ones(600), x_unit="ppm")
    elif case == "uvvis_kind":
        spectrum = _spectrum(x, a, kind="uvvis")
    else:
        spectrum = _spectrum(x, np.full_like(x, 0.2) + np.random.default_rng(0).normal(0, 0.002, x.size))
    features, problems = analyse_spectra([spectrum])
    assert len(features) == 0
    assert len(problems) == 1 and problems[0].file == "case.jdx" and problems[0].rule


def test_refusal_does_not_stop_the_good_spectra():
    x, a = simulate_ftir(200.0, 100.0, rng=0)
    good = _spectrum(x, a, source="good.jdx")
    bad = _spectrum(x, np.zeros_like(x), source="bad.jdx")
    features, problems = analyse_spectra([bad, good, bad])
    assert list(features["source"]) == ["good.jdx"]
    assert list(features.index) == [1]
    assert [p.file for p in problems] == ["bad.jdx", "bad.jdx"]


def test_arbitrary_input_is_either_fitted_or_refused_never_crashes():
    rng = np.random.default_rng(0)
    for i in range(120):
        n = int(rng.integers(5, 3000))
        x = np.linspace(rng.uniform(100, 900), rng.uniform(1000, 9000), n)
        case = i % 5
        if case == 0:
            y = np.zeros(n)
        elif case == 1:
            y = rng.normal(size=n) * 1e6
        elif case == 2:
            x, y = simulate_ftir(rng.uniform(0, 3000), rng.uniform(0, 3000), thickness_mm=rng.uniform(0.1, 8),
                                 noise_sd=rng.uniform(0, 0.2), rng=i, noise_model="transmittance")
        elif case == 3:
            y = np.where(rng.random(n) < 0.5, np.nan, rng.uniform(0, 1, n))
        else:
            y = rng.uniform(0, 100, n)
        unit = ["absorbance", "transmittance", "percent_transmittance", "absorption_coefficient"][i % 4]
        features, problems = analyse_spectra([_spectrum(x, y, y_unit=unit)])
        assert len(features) + len(problems) >= 1
        if len(features):
            assert np.isfinite(features["n_total_ppm"].iloc[0])
