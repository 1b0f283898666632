"""Bring a parsed spectrum onto its kind's canonical axis and ordinate.

Every conversion is recorded as a sentence in :attr:`CanonicalSpectrum.steps`
so the recipe stored with derived values says exactly what was done to the
lab's numbers (µm to cm-1, %T to absorbance, axis reversed, ...).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from .._types import Spectrum
from ..exceptions import Problem, SpectrumError

__all__ = ["CANONICAL_X_UNIT", "CanonicalSpectrum", "to_canonical"]

logger = logging.getLogger(__name__)

#: Canonical axis unit of each spectrum kind.
CANONICAL_X_UNIT: dict[str, str] = {"ftir": "1/cm", "uvvis": "nm", "pl": "nm", "raman": "1/cm"}

#: Kinds whose canonical ordinate is decadic absorbance.
_ABSORBANCE_KINDS = frozenset({"ftir", "uvvis"})

#: Smallest transmittance kept when converting to absorbance; below it the
#: detector sees nothing and absorbance is capped at -log10 of this (4 AU).
_MIN_TRANSMITTANCE = 1e-4

# Spellings met in lab files and JCAMP-DX headers, mapped to the normalised words
# of :class:`footprint._types.Spectrum` (the reader normalises most already).
_X_SYNONYMS: dict[str, str] = {
    "1/cm": "1/cm", "cm-1": "1/cm", "cm^-1": "1/cm", "cm**-1": "1/cm", "wavenumber": "1/cm",
    "wavenumbers": "1/cm", "wavenumbers (cm-1)": "1/cm", "cm⁻¹": "1/cm", "1 / cm": "1/cm",
    "um": "um", "µm": "um", "μm": "um", "micrometers": "um", "micrometres": "um", "microns": "um",
    "micrometer": "um", "micron": "um",
    "nm": "nm", "nanometers": "nm", "nanometres": "nm", "nanometer": "nm",
}
_Y_SYNONYMS: dict[str, str] = {
    "absorbance": "absorbance", "a": "absorbance", "abs": "absorbance", "absorbance units": "absorbance",
    "transmittance": "transmittance", "t": "transmittance",
    "percent_transmittance": "percent_transmittance", "%t": "percent_transmittance",
    "% transmittance": "percent_transmittance", "%transmittance": "percent_transmittance",
    "percent transmittance": "percent_transmittance",
    "absorption_coefficient": "absorption_coefficient", "absorption coefficient": "absorption_coefficient",
    "arbitrary": "arbitrary", "arbitrary units": "arbitrary", "a.u.": "arbitrary", "au": "arbitrary",
    "counts": "counts", "intensity": "counts",
}


@dataclass
class CanonicalSpectrum:
    """A spectrum on its kind's canonical axis, ascending, with its conversion record.

    Parameters
    ----------
    x : ndarray of shape (n_points,)
        Strictly ascending axis in ``x_unit`` (ftir and raman: cm-1; uvvis and pl: nm).
    y : ndarray of shape (n_points,)
        Ordinate: decadic absorbance for ftir/uvvis (or absorption coefficient in
        cm-1 when the lab supplied that, see ``y_unit``), otherwise as given.
    x_unit : str
        ``"1/cm"`` or ``"nm"``.
    y_unit : str
        ``"absorbance"``, ``"absorption_coefficient"`` or the input's unit.
    kind : str
        Spectrum kind (``"ftir"`` when the input had none).
    source : str
        Where the spectrum came from (for messages).
    sample_id : str or None
        Stone the spectrum belongs to.
    steps : list of str
        One sentence per conversion applied, in order.
    """

    x: np.ndarray
    y: np.ndarray
    x_unit: str
    y_unit: str
    kind: str
    source: str = ""
    sample_id: str | None = None
    steps: list[str] = field(default_factory=list)


def _normalise_word(word: str | None, synonyms: dict[str, str]) -> str:
    key = (word or "").strip().lower()
    return synonyms.get(key, key)


def _refuse(spectrum: Spectrum, field_name: str, value: object, rule: str) -> SpectrumError:
    problem = Problem(file=spectrum.source or None, row=None, field=field_name, value=value, rule=rule)
    return SpectrumError(f"{spectrum.source or 'spectrum'}: not usable", [problem])


def _convert_axis(spectrum: Spectrum, x: np.ndarray, kind: str, steps: list[str]) -> np.ndarray:
    """Return the axis in the kind's canonical unit, or raise for impossible units."""
    unit = _normalise_word(spectrum.x_unit, _X_SYNONYMS)
    target = CANONICAL_X_UNIT[kind]
    if unit == target:
        return x
    if np.any(x <= 0) and unit in {"um", "nm", "1/cm"}:
        raise _refuse(spectrum, "x_unit", spectrum.x_unit,
                      f"axis has zero or negative values, impossible in {unit}")
    if target == "1/cm":
        if kind == "raman":
            # A Raman shift cannot be rebuilt from wavelengths without the laser line.
            raise _refuse(spectrum, "x_unit", spectrum.x_unit,
                          "Raman spectra must be given as Raman shift in cm-1")
        if unit == "um":
            steps.append("axis converted from micrometres to wavenumber: x_cm1 = 10000 / x_um")
            return 1e4 / x
        if unit == "nm":
            steps.append("axis converted from nanometres to wavenumber: x_cm1 = 1e7 / x_nm")
            return 1e7 / x
    else:  # nm
        if unit == "um":
            steps.append("axis converted from micrometres to nanometres: x_nm = 1000 x_um")
            return 1e3 * x
        if unit == "1/cm":
            steps.append("axis converted from wavenumber to wavelength: x_nm = 1e7 / x_cm1")
            return 1e7 / x
    raise _refuse(spectrum, "x_unit", spectrum.x_unit,
                  f"a {kind} spectrum needs an axis in cm-1, micrometres or nanometres")


def _looks_like_percent(y: np.ndarray) -> bool:
    finite = y[np.isfinite(y)]
    return finite.size > 0 and 1.5 < float(np.max(finite)) <= 110.0


def _convert_ordinate(spectrum: Spectrum, y: np.ndarray, kind: str,
                      steps: list[str]) -> tuple[np.ndarray, str]:
    """Return the ordinate as absorbance (ftir/uvvis) with its unit word."""
    unit = _normalise_word(spectrum.y_unit, _Y_SYNONYMS)
    if kind not in _ABSORBANCE_KINDS:
        return y, unit or "arbitrary"
    if unit == "absorbance":
        return y, "absorbance"
    if unit == "absorption_coefficient":
        steps.append("ordinate kept as absorption coefficient (cm-1), proportional to absorbance")
        return y, "absorption_coefficient"
    if unit == "transmittance" and _looks_like_percent(y):
        # Labs often label %T files "TRANSMITTANCE"; a fraction cannot exceed ~1.
        steps.append("ordinate labelled transmittance but ranges to "
                     f"{np.nanmax(y):.3g}: read as percent transmittance")
        unit = "percent_transmittance"
    if unit in {"transmittance", "percent_transmittance"}:
        fraction = y / 100.0 if unit == "percent_transmittance" else y
        n_low = int(np.sum(fraction < _MIN_TRANSMITTANCE))
        if unit == "percent_transmittance":
            steps.append("ordinate converted from percent transmittance: A = -log10(%T / 100)")
        else:
            steps.append("ordinate converted from transmittance: A = -log10(T)")
        if n_low:
            steps.append(f"{n_low} points with transmittance below {_MIN_TRANSMITTANCE:g} "
                         f"capped at absorbance {-np.log10(_MIN_TRANSMITTANCE):g}")
        with np.errstate(invalid="ignore"):
            return -np.log10(np.clip(fraction, _MIN_TRANSMITTANCE, None)), "absorbance"
    if unit in {"", "arbitrary"}:
        steps.append(f"ordinate unit {spectrum.y_unit!r} not stated: read as absorbance")
        return y, "absorbance"
    raise _refuse(spectrum, "y_unit", spectrum.y_unit,
                  f"a {kind} spectrum needs absorbance or transmittance, not {spectrum.y_unit!r}")


def to_canonical(spectrum: Spectrum) -> CanonicalSpectrum:
    """Convert a parsed spectrum to its kind's canonical units, ascending axis.

    Parameters
    ----------
    spectrum : Spectrum
        As read from the lab file. ``kind=None`` is treated as ``"ftir"``.

    Returns
    -------
    CanonicalSpectrum
        Ascending axis in cm-1 (ftir, raman) or nm (uvvis, pl); absorbance for
        ftir/uvvis; ``steps`` lists every conversion applied.

    Raises
    ------
    SpectrumError
        Unknown kind, an axis unit that cannot be converted (Hz, ppm, seconds,
        m/z...), an ordinate that is not absorbance or transmittance for an
        absorption spectrum, mismatched lengths or fewer than 10 finite points.
    """
    kind = (spectrum.kind or "ftir").lower()
    if kind not in CANONICAL_X_UNIT:
        raise _refuse(spectrum, "kind", spectrum.kind,
                      f"spectrum kind must be one of {sorted(CANONICAL_X_UNIT)}")
    x = np.asarray(spectrum.x, dtype=np.float64).ravel()
    y = np.asarray(spectrum.y, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise _refuse(spectrum, "y", f"{y.size} values for {x.size} axis points",
                      "axis and ordinate must have the same length")
    steps: list[str] = []
    keep = np.isfinite(x) & np.isfinite(y)
    if not keep.all():
        steps.append(f"{int((~keep).sum())} non-finite points dropped")
        x, y = x[keep], y[keep]
    if x.size < 10:
        raise _refuse(spectrum, "y", f"{x.size} finite points", "a spectrum needs at least 10 finite points")
    x = _convert_axis(spectrum, x, kind, steps)
    y, y_unit = _convert_ordinate(spectrum, y, kind, steps)
    order = np.argsort(x, kind="stable")
    if not np.all(order == np.arange(x.size)):
        descending = bool(np.all(np.diff(x) <= 0))
        steps.append("axis reversed to ascending order" if descending else "axis sorted ascending")
        x, y = x[order], y[order]
    duplicate = np.diff(x) == 0
    if duplicate.any():
        # Repeated axis values break interpolation; keep the first of each.
        keep = np.concatenate([[True], ~duplicate])
        steps.append(f"{int(duplicate.sum())} repeated axis values dropped")
        x, y = x[keep], y[keep]
    logger.debug("%s: canonical %s spectrum, steps: %s", spectrum.source, kind, steps)
    return CanonicalSpectrum(x=x, y=y, x_unit=CANONICAL_X_UNIT[kind], y_unit=y_unit, kind=kind,
                             source=spectrum.source, sample_id=spectrum.sample_id, steps=steps)
