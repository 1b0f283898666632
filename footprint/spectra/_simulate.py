"""The forward model of a diamond FTIR spectrum, for synthetic data and tests.

Absorption coefficient (cm-1) = c C + a A + x X + b B + d D (QUIDDIT component
shapes) + the type IIa intrinsic spectrum (1995 cm-1 = 11.94 cm-1) + a
pseudo-Voigt platelet (B') peak + a 3107 cm-1 hydrogen peak (and, optionally,
its 4496 cm-1 companion). Decadic absorbance = absorption coefficient x
thickness (cm) / ln(10), plus a sloping / curved baseline and Gaussian noise.
Everything made here is SYNTHETIC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from ._components import PPM_PER_CM1, component_matrix, intrinsic
from ._peaks import pseudo_voigt

__all__ = ["FTIRTruth", "instrument_grid", "simulate_ftir", "simulate_from_truth"]

#: Default instrument axis: 4 cm-1 resolution zero-filled to a 1.9285 cm-1 step
#: (a common FTIR export), 400 to 4800 cm-1 so the 4496 cm-1 companion fits.
DEFAULT_STEP_CM1 = 1.9285
DEFAULT_X_RANGE_CM1 = (400.0, 4800.0)
_H3107_FWHM_CM1 = 5.0
_H4496_FWHM_CM1 = 12.0


def instrument_grid(step_cm1: float = DEFAULT_STEP_CM1,
                    x_range_cm1: tuple[float, float] = DEFAULT_X_RANGE_CM1) -> np.ndarray:
    """Return an ascending instrument-like wavenumber axis, cm-1."""
    lo, hi = x_range_cm1
    return lo + step_cm1 * np.arange(int(np.floor((hi - lo) / step_cm1)) + 1)


@dataclass(frozen=True)
class FTIRTruth:
    """The known composition and measurement conditions of one synthetic spectrum.

    Parameters
    ----------
    n_a_ppm, n_b_ppm, n_c_ppm : float
        Nitrogen in A, B and C centres, ppm.
    x_coef, d_coef : float
        Coefficients of the X and D component shapes (cm-1 scale, no ppm factor).
    platelet_area_cm2, platelet_position_cm1, platelet_fwhm_cm1, platelet_eta : float
        Platelet (B') peak: integrated absorption coefficient (cm-2), centre and
        FWHM (cm-1), Lorentzian fraction of the pseudo-Voigt.
    h3107_area_cm2 : float
        Integrated absorption coefficient of the 3107 cm-1 peak, cm-2.
    h4496_fraction : float
        Area of the 4496 cm-1 companion relative to the 3107 cm-1 peak.
    thickness_mm : float
        Optical path length, mm.
    baseline : tuple of float
        Absorbance baseline ``b0 + b1 t + b2 t**2`` with ``t = (x - 400) / 1000``.
    noise_sd : float
        Standard deviation of the Gaussian noise, absorbance units (at zero absorbance
        for ``noise_model="transmittance"``).
    noise_model : {"absorbance", "transmittance"}
        Additive noise on absorbance, or on transmittance (then strongly absorbing
        regions get noisier and saturate, as on a real detector).
    """

    n_a_ppm: float
    n_b_ppm: float
    n_c_ppm: float = 0.0
    x_coef: float = 0.0
    d_coef: float = 0.0
    platelet_area_cm2: float = 0.0
    platelet_position_cm1: float = 1365.0
    platelet_fwhm_cm1: float = 12.0
    platelet_eta: float = 0.5
    h3107_area_cm2: float = 0.0
    h4496_fraction: float = 0.0
    thickness_mm: float = 1.0
    baseline: tuple[float, float, float] = (0.05, 0.02, 0.01)
    noise_sd: float = 0.002
    noise_model: Literal["absorbance", "transmittance"] = "absorbance"

    @property
    def n_total_ppm(self) -> float:
        """Total nitrogen, ppm."""
        return self.n_a_ppm + self.n_b_ppm + self.n_c_ppm

    @property
    def n_b_percent(self) -> float:
        """%B = 100 [N_B] / ([N_A] + [N_B]); NaN when there is no aggregated nitrogen."""
        aggregated = self.n_a_ppm + self.n_b_ppm
        return 100.0 * self.n_b_ppm / aggregated if aggregated > 0 else float("nan")

    def to_dict(self) -> dict[str, Any]:
        """Return the parameters and derived totals as a flat mapping."""
        out = asdict(self)
        out["baseline"] = list(self.baseline)
        out["n_total_ppm"] = self.n_total_ppm
        out["n_b_percent"] = self.n_b_percent
        return out


def absorption_coefficient(truth: FTIRTruth, x_cm1: np.ndarray) -> np.ndarray:
    """Return the noise-free absorption coefficient (cm-1) of ``truth`` on ``x_cm1``."""
    coefs = np.array([truth.n_c_ppm / PPM_PER_CM1["C"], truth.n_a_ppm / PPM_PER_CM1["A"], truth.x_coef,
                      truth.n_b_ppm / PPM_PER_CM1["B"], truth.d_coef])
    mu = intrinsic(x_cm1) + component_matrix(x_cm1) @ coefs
    if truth.platelet_area_cm2 > 0:
        mu += truth.platelet_area_cm2 * pseudo_voigt(x_cm1, truth.platelet_position_cm1,
                                                     truth.platelet_fwhm_cm1, truth.platelet_eta)
    if truth.h3107_area_cm2 > 0:
        mu += truth.h3107_area_cm2 * pseudo_voigt(x_cm1, 3107.0, _H3107_FWHM_CM1, 0.8)
        if truth.h4496_fraction > 0:
            mu += truth.h4496_fraction * truth.h3107_area_cm2 * pseudo_voigt(
                x_cm1, 4496.0, _H4496_FWHM_CM1, 0.5)
    return mu


def simulate_from_truth(truth: FTIRTruth, *, rng: np.random.Generator | int | None = None,
                        x_cm1: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return the SYNTHETIC spectrum ``(x_cm1, absorbance)`` described by ``truth``.

    Parameters
    ----------
    truth : FTIRTruth
        Composition and measurement conditions.
    rng : Generator, int or None
        Noise source (or its seed).
    x_cm1 : ndarray of shape (n_points,), optional
        Ascending axis; :func:`instrument_grid` when omitted.

    Returns
    -------
    x_cm1 : ndarray of shape (n_points,)
        Wavenumber, cm-1, ascending.
    absorbance : ndarray of shape (n_points,)
        Decadic absorbance.
    """
    rng = np.random.default_rng(rng)
    x = instrument_grid() if x_cm1 is None else np.asarray(x_cm1, dtype=np.float64)
    mu = absorption_coefficient(truth, x)
    t = (x - 400.0) / 1000.0
    b0, b1, b2 = truth.baseline
    absorbance = mu * (truth.thickness_mm / 10.0) / np.log(10.0) + b0 + b1 * t + b2 * t * t
    if truth.noise_model == "transmittance":
        # Detector noise is additive in transmittance; near-opaque regions then clip.
        trans = 10.0 ** -absorbance + rng.normal(0.0, truth.noise_sd * np.log(10.0), x.size)
        absorbance = -np.log10(np.clip(trans, 1e-4, None))
    else:
        absorbance = absorbance + rng.normal(0.0, truth.noise_sd, x.size)
    return x, absorbance


def simulate_ftir(n_a_ppm: float, n_b_ppm: float, n_c_ppm: float = 0.0, platelet_area_cm2: float = 0.0,
                  platelet_position_cm1: float = 1365.0, h3107_area_cm2: float = 0.0,
                  thickness_mm: float = 1.0, baseline: Sequence[float] = (0.05, 0.02, 0.01),
                  noise_sd: float = 0.002, rng: np.random.Generator | int | None = None, *,
                  platelet_fwhm_cm1: float = 12.0, platelet_eta: float = 0.5, x_coef: float = 0.0,
                  d_coef: float = 0.0, h4496_fraction: float = 0.0,
                  noise_model: Literal["absorbance", "transmittance"] = "absorbance",
                  x_cm1: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Simulate one SYNTHETIC diamond FTIR absorbance spectrum.

    Parameters
    ----------
    n_a_ppm, n_b_ppm, n_c_ppm : float
        Nitrogen in A, B and C centres, ppm.
    platelet_area_cm2 : float, default=0
        Integrated absorption coefficient of the platelet (B') peak, cm-2.
    platelet_position_cm1 : float, default=1365
        Platelet peak centre, cm-1 (natural range 1358 to 1380).
    h3107_area_cm2 : float, default=0
        Integrated absorption coefficient of the 3107 cm-1 hydrogen peak, cm-2.
    thickness_mm : float, default=1
        Optical path length, mm.
    baseline : sequence of 3 floats, default=(0.05, 0.02, 0.01)
        Absorbance ``b0 + b1 t + b2 t**2`` with ``t = (x - 400) / 1000``: offset,
        slope and curvature, as scattering from rough faces gives.
    noise_sd : float, default=0.002
        Gaussian noise standard deviation, absorbance units.
    rng : Generator, int or None
        Noise source (or its seed).
    platelet_fwhm_cm1, platelet_eta, x_coef, d_coef, h4496_fraction, noise_model, x_cm1
        See :class:`FTIRTruth`; ``x_cm1`` defaults to :func:`instrument_grid`.

    Returns
    -------
    x_cm1 : ndarray of shape (n_points,)
        Wavenumber, cm-1, ascending.
    absorbance : ndarray of shape (n_points,)
        Decadic absorbance.

    See Also
    --------
    simulate_from_truth : the same from an :class:`FTIRTruth`, which tests compare against.
    """
    b = tuple(float(v) for v in baseline)
    if len(b) != 3:
        raise ValueError(f"baseline must have 3 coefficients (offset, slope, curvature), got {len(b)}")
    truth = FTIRTruth(n_a_ppm=n_a_ppm, n_b_ppm=n_b_ppm, n_c_ppm=n_c_ppm, x_coef=x_coef, d_coef=d_coef,
                      platelet_area_cm2=platelet_area_cm2, platelet_position_cm1=platelet_position_cm1,
                      platelet_fwhm_cm1=platelet_fwhm_cm1, platelet_eta=platelet_eta,
                      h3107_area_cm2=h3107_area_cm2, h4496_fraction=h4496_fraction,
                      thickness_mm=thickness_mm, baseline=b,  # type: ignore[arg-type]
                      noise_sd=noise_sd, noise_model=noise_model)
    return simulate_from_truth(truth, rng=rng, x_cm1=x_cm1)
