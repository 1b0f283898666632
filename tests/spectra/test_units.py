"""Unit, direction and transmittance conversions of :func:`footprint.spectra.to_canonical`."""

from __future__ import annotations

import numpy as np
import pytest

from footprint._types import Spectrum
from footprint.exceptions import SpectrumError
from footprint.spectra import simulate_ftir, to_canonical


@pytest.fixture
def reference() -> tuple[np.ndarray, np.ndarray]:
    return simulate_ftir(300.0, 100.0, thickness_mm=1.2, noise_sd=0.0)


def _spectrum(x: np.ndarray, y: np.ndarray, x_unit: str, y_unit: str, kind: str | None = "ftir") -> Spectrum:
    return Spectrum(x=x, y=y, x_unit=x_unit, y_unit=y_unit, kind=kind, source="test.jdx")


def test_absorbance_in_wavenumber_ascending_is_unchanged(reference):
    x, a = reference
    c = to_canonical(_spectrum(x, a, "1/cm", "absorbance"))
    np.testing.assert_array_equal(c.x, x)
    np.testing.assert_array_equal(c.y, a)
    assert c.steps == []
    assert (c.x_unit, c.y_unit, c.kind) == ("1/cm", "absorbance", "ftir")


@pytest.mark.parametrize(("x_unit", "to_axis"), [("um", lambda x: 1e4 / x), ("µm", lambda x: 1e4 / x),
                                                 ("nm", lambda x: 1e7 / x), ("cm-1", lambda x: x)])
@pytest.mark.parametrize(("y_unit", "to_y"), [("absorbance", lambda a: a),
                                              ("transmittance", lambda a: 10.0 ** -a),
                                              ("percent_transmittance", lambda a: 100.0 * 10.0 ** -a),
                                              ("%T", lambda a: 100.0 * 10.0 ** -a)])
@pytest.mark.parametrize("reverse", [False, True])
def test_every_unit_and_direction_gives_the_same_spectrum(reference, x_unit, to_axis, y_unit, to_y, reverse):
    x, a = reference
    xs, ys = to_axis(x), to_y(a)
    if reverse:
        xs, ys = xs[::-1], ys[::-1]
    c = to_canonical(_spectrum(xs, ys, x_unit, y_unit))
    np.testing.assert_allclose(c.x, x, rtol=1e-12)
    np.testing.assert_allclose(c.y, a, atol=1e-9)
    assert np.all(np.diff(c.x) > 0)
    text = " ".join(c.steps)
    if x_unit in ("um", "µm"):
        assert "micrometres" in text
    if y_unit != "absorbance":
        assert "transmittance" in text


def test_percent_values_labelled_transmittance_are_read_as_percent(reference):
    x, a = reference
    c = to_canonical(_spectrum(x, 100.0 * 10.0 ** -a, "1/cm", "transmittance"))
    np.testing.assert_allclose(c.y, a, atol=1e-9)
    assert any("percent" in s for s in c.steps)


def test_zero_transmittance_is_capped_and_recorded():
    x = np.linspace(400, 4000, 100)
    t = np.full(100, 0.5)
    t[10] = 0.0
    c = to_canonical(_spectrum(x, t, "1/cm", "transmittance"))
    assert c.y[10] == pytest.approx(4.0)
    assert any("capped" in s for s in c.steps)


def test_non_finite_points_are_dropped_and_recorded(reference):
    x, a = reference
    a = a.copy()
    a[[5, 50]] = np.nan
    c = to_canonical(_spectrum(x, a, "1/cm", "absorbance"))
    assert c.x.size == x.size - 2
    assert any("non-finite" in s for s in c.steps)


@pytest.mark.parametrize(("x_unit", "y_unit", "field"), [
    ("hz", "absorbance", "x_unit"), ("ppm", "absorbance", "x_unit"), ("s", "absorbance", "x_unit"),
    ("1/cm", "counts", "y_unit"), ("1/cm", "kubelka_munk", "y_unit"),
])
def test_impossible_units_are_refused_naming_field_and_value(reference, x_unit, y_unit, field):
    x, a = reference
    with pytest.raises(SpectrumError) as info:
        to_canonical(_spectrum(x, a, x_unit, y_unit))
    problem = info.value.problems[0]
    assert problem.field == field
    assert problem.file == "test.jdx"
    assert str(problem.value) in (x_unit, y_unit)


def test_other_kinds_get_their_canonical_axis():
    nm = np.linspace(200.0, 800.0, 50)
    c = to_canonical(_spectrum(1e7 / nm, np.ones(50), "1/cm", "absorbance", kind="uvvis"))
    np.testing.assert_allclose(c.x, nm)
    assert c.x_unit == "nm"
    with pytest.raises(SpectrumError):
        to_canonical(_spectrum(nm, np.ones(50), "nm", "counts", kind="raman"))
    with pytest.raises(SpectrumError):
        to_canonical(_spectrum(nm, np.ones(50), "nm", "absorbance", kind="nmr"))


def test_mismatched_lengths_and_tiny_spectra_are_refused():
    with pytest.raises(SpectrumError):
        to_canonical(_spectrum(np.arange(20.0), np.arange(19.0), "1/cm", "absorbance"))
    with pytest.raises(SpectrumError):
        to_canonical(_spectrum(np.arange(5.0), np.arange(5.0), "1/cm", "absorbance"))
