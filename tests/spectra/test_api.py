"""The public API of footprint.spectra is what __all__ says, and representations do not change results."""

from __future__ import annotations

import json

import numpy as np
import pytest

import footprint.spectra as spectra
from footprint._types import Spectrum
from footprint.exceptions import SpectrumError


def test_all_names_exist_and_nothing_public_is_missing():
    assert sorted(spectra.__all__) == sorted(set(spectra.__all__))
    for name in spectra.__all__:
        assert hasattr(spectra, name), name
    modules = type(spectra)
    public = {n for n in dir(spectra)
              if not n.startswith("_") and not isinstance(getattr(spectra, n), modules)}
    assert public <= set(spectra.__all__) | {"annotations"}


def test_same_stone_in_any_representation_gives_the_same_features():
    x, a = spectra.simulate_ftir(320.0, 150.0, platelet_area_cm2=4.0, h3107_area_cm2=2.0, rng=9)
    as_given = Spectrum(x=x, y=a, x_unit="1/cm", y_unit="absorbance", kind="ftir", source="a.jdx")
    as_micrometres = Spectrum(x=(1e4 / x)[::-1], y=(100.0 * 10.0 ** -a)[::-1], x_unit="um",
                              y_unit="percent_transmittance", kind=None, source="b.jdx")
    features, problems = spectra.analyse_spectra([as_given, as_micrometres])
    assert problems == []
    numeric = ["n_total_ppm", "n_a_ppm", "n_b_ppm", "n_b_percent", "platelet_area_cm2", "h3107_area_cm2"]
    np.testing.assert_allclose(features[numeric].iloc[0], features[numeric].iloc[1], rtol=1e-6, atol=1e-6)
    conversions = json.loads(features["recipe"].iloc[1])["conversions"]
    assert any("micrometres" in c for c in conversions) and any("reversed" in c for c in conversions)
    assert json.loads(features["recipe"].iloc[0])["version"] == spectra.RECIPE_VERSION


def test_fit_details_gives_curves_that_add_up():
    x, a = spectra.simulate_ftir(200.0, 100.0, platelet_area_cm2=5.0, rng=1)
    details = spectra.fit_details(Spectrum(x=x, y=a, x_unit="1/cm", y_unit="absorbance", kind="ftir",
                                           source="d.jdx"))
    window = (details["x"] >= 1000) & (details["x"] <= 1345)
    total = sum(details["components"].values()) + details["offset"] + details["platelet"]
    np.testing.assert_allclose(total[window], details["fit"][window])
    assert np.nanmax(np.abs(details["residual"])) < 0.5
    with pytest.raises(SpectrumError):
        spectra.fit_details(Spectrum(x=x, y=np.zeros_like(x), x_unit="1/cm", y_unit="absorbance",
                                     kind="ftir", source="zero.jdx"))


def test_results_do_not_depend_on_the_number_of_threads(make_truth):
    # Stores and model fingerprints hash these numbers: the same files must give the same
    # bits on a 2-core CI machine and on a many-core server.
    rng = np.random.default_rng(11)
    batch = []
    for i in range(700):  # more than one chunk, so the chunking is exercised
        x, a = spectra.simulate_from_truth(make_truth(rng), rng=rng)
        batch.append(Spectrum(x=x, y=a, x_unit="1/cm", y_unit="absorbance", kind="ftir", source=f"s{i}.jdx"))
    serial, _ = spectra.analyse_spectra(batch, n_jobs=1)
    threaded, _ = spectra.analyse_spectra(batch, n_jobs=2)
    every_core, _ = spectra.analyse_spectra(batch, n_jobs=-1)
    assert len(serial) > 600
    for other in (threaded, every_core):
        assert serial.equals(other)
