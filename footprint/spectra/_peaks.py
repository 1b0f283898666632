"""Peak shapes and the platelet / 3107 cm-1 hydrogen peak measurements."""

from __future__ import annotations

import numpy as np

__all__ = ["pseudo_voigt"]

_GAUSS_NORM = np.sqrt(4.0 * np.log(2.0) / np.pi)


def pseudo_voigt(x: np.ndarray, position: float | np.ndarray, fwhm: float | np.ndarray,
                 eta: float | np.ndarray = 0.5) -> np.ndarray:
    """Return an area-normalised pseudo-Voigt profile.

    Parameters
    ----------
    x : ndarray of shape (n_points,)
        Axis, cm-1.
    position, fwhm : float or ndarray broadcastable against ``x``
        Centre and full width at half maximum, cm-1.
    eta : float or ndarray, default=0.5
        Lorentzian fraction (0 = Gaussian, 1 = Lorentzian).

    Returns
    -------
    ndarray
        Profile with unit area (cm-1 axis), so ``area * pseudo_voigt(...)`` is an
        absorption coefficient when ``area`` is in cm-2.
    """
    dx = np.asarray(x, dtype=np.float64) - position
    gauss = _GAUSS_NORM / fwhm * np.exp(-4.0 * np.log(2.0) * (dx / fwhm) ** 2)
    half = 0.5 * np.asarray(fwhm, dtype=np.float64)
    lorentz = half / (np.pi * (dx ** 2 + half ** 2))
    return eta * lorentz + (1.0 - eta) * gauss
