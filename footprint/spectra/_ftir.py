"""Diamond FTIR spectra to nitrogen features, for many spectra at once.

The method is the established one (QUIDDIT; Speich & Kohn 2020, Computers &
Geosciences 144:104558), arranged so that one batch of spectra is processed
with a few matrix products instead of one optimiser run per spectrum:

1. ``require_canonical``: units to cm-1 and absorbance, ascending (see :func:`to_canonical`).
2. ``require_mid_ir_range``: the axis covers the one- and two-phonon regions.
3. ``harmonize_grid``: resample onto one common grid (linear interpolation).
4. ``require_two_phonon``: the intrinsic type IIa spectrum plus a quadratic must
   explain the 1800-2700 cm-1 region; otherwise it is not a diamond mid-IR spectrum.
5. ``derive_baseline``: pybaselines' weighted polynomial fit to the spectrum minus
   the intrinsic part, on regions where nothing else absorbs.
6. ``derive_absorption_coefficient``: scale the corrected spectrum so the fitted
   intrinsic two-phonon absorption has 11.94 cm-1 at 1995 cm-1 (thickness need not
   be known), then subtract the intrinsic spectrum.
7. ``derive_nitrogen``: non-negative least squares of the one-phonon region on the
   C, A, X, B, D shapes plus an offset; [N_C] = 25 c, [N_A] = 16.5 a, [N_B] = 79.4 b.
8. ``derive_platelet``: pseudo-Voigt + constant fit of the platelet (B') peak on what
   the nitrogen fit leaves, alternated with step 7 so a broad peak's tail does not
   leak into the nitrogen components.
9. ``derive_h3107``: 3107 cm-1 peak area from a pseudo-Voigt fit above a local
   straight baseline (a peak fit has about half the noise of a plain integration).
10. ``derive_flags``: saturated, noisy, poor_fit; ``derive_type``: diamond type.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._batch import DERIVED_FTIR_COLUMNS
from .._types import Spectrum, sha256_hex
from ..exceptions import Problem, SpectrumError
from ._baseline import poly_baseline_operator
from ._components import COMPONENT_NAMES, IIA_AT_1995_CM1, component_matrix, intrinsic
from ._fit import batched_lstsq, batched_nnls
from ._peaks import PlateletPeakFitter, pseudo_voigt
from ._units import to_canonical

__all__ = [
    "FEATURE_COLUMNS", "FTIRMethod", "PreparedSpectrum", "RECIPE_VERSION", "fit_grid", "prepare_spectrum",
]

logger = logging.getLogger(__name__)

Window = tuple[float, float]

_NOMINAL_PATH_CM = 0.1

#: Version of the derivation recipe; bumped whenever the method changes its numbers.
RECIPE_VERSION = "ftir-1"

#: Columns of :func:`analyse_spectra`: the derived-FTIR columns plus diagnostics.
FEATURE_COLUMNS: tuple[str, ...] = (*DERIVED_FTIR_COLUMNS, "source", "thickness_mm_est", "x_coef",
                                    "d_coef", "noise_cm1", "one_phonon_max_absorbance")


@dataclass(frozen=True)
class FTIRMethod:
    """Every parameter of the method; recorded in each result's recipe.

    Thresholds marked *estimate* are this package's choices, not literature values.

    Parameters
    ----------
    grid_start_cm1, grid_step_cm1, grid_stop_cm1 : float
        Common grid all spectra are resampled onto, cm-1.
    min_upper_cm1 : float
        A spectrum must reach at least this wavenumber (the two-phonon region's end).
    coverage_steps_cm1 : tuple of float
        Upper limits a spectrum's coverage is rounded down to; spectra sharing one
        share a baseline operator.
    two_phonon_cm1, two_phonon_exclude_cm1 : window, tuple of windows
        Scaling region and its exclusions (atmospheric CO2 near 2350 cm-1).
    min_two_phonon_explained, max_two_phonon_misfit : float
        Diamond test (*estimate*): share of the 1800-2700 cm-1 variance (beyond a
        quadratic and the measured white noise) the intrinsic shape must explain, and
        the largest RMS misfit beyond the noise relative to the fitted two-phonon height
        at 1995 cm-1.
    baseline_poly_order : int
        Order of pybaselines' polynomial baseline.
    baseline_cm1, baseline_exclude_cm1 : window, tuple of windows
        Where the baseline is fitted (after subtracting the intrinsic spectrum), and
        the exclusions: the two-phonon region, CO2, C-H stretches, the 3107 cm-1 peak.
    one_phonon_cm1 : window
        Nitrogen fit region; it stops below the platelet peak.
    platelet_cm1, platelet_positions_cm1, platelet_fwhms_cm1, platelet_eta : ...
        Platelet fit window, candidate centres (start, stop, step) and widths, and
        the pseudo-Voigt Lorentzian fraction.
    platelet_min_snr : float
        A platelet peak counts when its area exceeds this many standard errors (5, not 3:
        the best of several hundred candidate shapes is kept, so noise alone often
        reaches 3) and its centre is not at the edge of the candidate range.
    platelet_passes : int
        Alternations of the nitrogen and platelet fits (the platelet's tail is removed
        from the nitrogen window before the next nitrogen fit).
    h3107_cm1, h3107_positions_cm1, h3107_fwhms_cm1, h3107_eta : ...
        Fit window of the 3107 cm-1 peak (pseudo-Voigt + straight line), candidate
        centres (start, stop, step), widths, and the Lorentzian fraction (*estimate*:
        the VN3H line is close to Lorentzian). The peak counts above 3 standard errors.
    noise_cm1 : tuple of windows
        Regions where the noise is estimated (second differences, robust scale).
    saturation_absorbance : float
        One-phonon absorbance above which points are excluded from the fit and the
        spectrum flagged ``saturated`` (*estimate*, the usual detector linearity limit).
    noisy_cm1 : float
        Noise (absorption coefficient, per point) above which a spectrum is flagged
        ``noisy`` (*estimate*).
    poor_fit_noise_ratio, poor_fit_signal_fraction : float
        ``poor_fit`` when the one-phonon RMS residual exceeds both this multiple of the
        noise and this fraction of the one-phonon peak absorption (*estimate*).
    detection_limit_ppm : float
        Total N below which a stone is type IIa (*estimate*: the usual FTIR limit, 5-20 ppm).
    type_ia_b_percent : (float, float)
        %B below the first is IaA, above the second IaB, between IaAB (*estimate*).
    """

    grid_start_cm1: float = 1000.0
    grid_step_cm1: float = 2.0
    grid_stop_cm1: float = 3980.0
    min_upper_cm1: float = 2800.0
    coverage_steps_cm1: tuple[float, ...] = (3980.0, 3600.0, 3200.0, 2800.0)
    two_phonon_cm1: Window = (1800.0, 2700.0)
    two_phonon_exclude_cm1: tuple[Window, ...] = ((2280.0, 2400.0),)
    min_two_phonon_explained: float = 0.6
    max_two_phonon_misfit: float = 0.25
    baseline_poly_order: int = 2
    baseline_cm1: Window = (1425.0, 3980.0)
    baseline_exclude_cm1: tuple[Window, ...] = ((1800.0, 2700.0), (2800.0, 3000.0), (3040.0, 3200.0))
    one_phonon_cm1: Window = (1000.0, 1345.0)
    platelet_cm1: Window = (1330.0, 1420.0)
    platelet_positions_cm1: tuple[float, float, float] = (1350.0, 1392.0, 2.0)
    platelet_fwhms_cm1: tuple[float, ...] = (3.0, 4.0, 5.0, 6.5, 8.0, 10.0, 12.5, 15.0, 18.0, 22.0, 27.0,
                                             33.0)
    platelet_eta: float = 0.5
    platelet_min_snr: float = 5.0
    platelet_passes: int = 2
    h3107_cm1: Window = (3056.0, 3160.0)
    h3107_positions_cm1: tuple[float, float, float] = (3103.0, 3111.0, 1.0)
    h3107_fwhms_cm1: tuple[float, ...] = (2.5, 3.0, 4.0, 5.0, 6.5, 8.0, 10.0, 13.0)
    h3107_eta: float = 0.8
    noise_cm1: tuple[Window, ...] = ((1430.0, 1790.0), (3220.0, 3980.0))
    saturation_absorbance: float = 2.0
    noisy_cm1: float = 0.25
    poor_fit_noise_ratio: float = 2.5
    poor_fit_signal_fraction: float = 0.02
    detection_limit_ppm: float = 10.0
    type_ia_b_percent: tuple[float, float] = (10.0, 90.0)

    @property
    def grid(self) -> np.ndarray:
        """The common grid, cm-1."""
        n = int(round((self.grid_stop_cm1 - self.grid_start_cm1) / self.grid_step_cm1)) + 1
        return self.grid_start_cm1 + self.grid_step_cm1 * np.arange(n)

    def to_dict(self) -> dict[str, Any]:
        """Return the parameters as a JSON-ready mapping."""
        return asdict(self)


@dataclass
class PreparedSpectrum:
    """One spectrum checked and resampled onto the method's grid.

    Parameters
    ----------
    y : ndarray of shape (n_grid,)
        Absorbance on :attr:`FTIRMethod.grid` (edge values beyond the coverage).
    upper_cm1 : float
        Coverage class: the largest of :attr:`FTIRMethod.coverage_steps_cm1` the axis reaches.
    sample_id, source, sha256 : str
        Identity of the spectrum.
    steps : list of str
        Conversions applied, for the recipe.
    noise_abs : float
        White noise per measured point (absorbance), estimated on the file's own
        sampling before resampling (interpolation would hide part of it); NaN when
        the flat regions hold too few points.
    """

    y: np.ndarray
    upper_cm1: float
    sample_id: str
    source: str
    sha256: str
    steps: list[str] = field(default_factory=list)
    noise_abs: float = float("nan")


def _in(x: np.ndarray, window: Window, exclude: tuple[Window, ...] = ()) -> np.ndarray:
    mask = (x >= window[0]) & (x <= window[1])
    for lo, hi in exclude:
        mask &= ~((x >= lo) & (x <= hi))
    return mask


def _span(x: np.ndarray, window: Window) -> slice:
    """Return the slice of ascending ``x`` inside ``window`` (inclusive)."""
    return slice(int(np.searchsorted(x, window[0], side="left")),
                 int(np.searchsorted(x, window[1], side="right")))


def _refusal(source: str, field_name: str, value: object, rule: str) -> SpectrumError:
    return SpectrumError(f"{source}: not a usable diamond mid-IR spectrum",
                         [Problem(file=source, row=None, field=field_name, value=value, rule=rule)])


def _second_difference_sigma(y: np.ndarray) -> np.ndarray:
    """White-noise sigma from the mean absolute second difference along the last axis.

    For Gaussian noise the second difference has sd sqrt(6) sigma and its mean absolute
    value is sqrt(2 / pi) times that; a smooth signal contributes almost nothing.
    """
    d2 = np.diff(y, n=2, axis=-1)
    return np.sqrt(np.pi / 2.0) * np.mean(np.abs(d2), axis=-1) / np.sqrt(6.0)


def _point_noise(x: np.ndarray, y: np.ndarray, method: FTIRMethod) -> float:
    """Noise per measured point in the quietest flat region (NaN if none has 10 points)."""
    sigmas = [float(_second_difference_sigma(y[(x >= lo) & (x <= hi)]))
              for lo, hi in method.noise_cm1 if np.sum((x >= lo) & (x <= hi)) >= 10]
    return min(sigmas) if sigmas else float("nan")


def prepare_spectrum(spectrum: Spectrum, method: FTIRMethod | None = None) -> PreparedSpectrum:
    """Check units and range of one spectrum and resample it onto the common grid.

    Parameters
    ----------
    spectrum : Spectrum
        As read from the lab file (``kind`` ``"ftir"`` or ``None``).
    method : FTIRMethod, optional
        Method parameters; the defaults when omitted.

    Returns
    -------
    PreparedSpectrum

    Raises
    ------
    SpectrumError
        Not an FTIR spectrum, impossible units, or an axis that does not cover
        the one-phonon (1000-1400 cm-1) and two-phonon (1800-2700 cm-1) regions.
    """
    method = method or FTIRMethod()
    source = spectrum.source or (spectrum.sample_id or "spectrum")
    if spectrum.kind not in (None, "ftir"):
        raise _refusal(source, "kind", spectrum.kind,
                       "only FTIR (mid-infrared) spectra can give nitrogen features")
    canonical = to_canonical(spectrum)
    x, y = canonical.x, canonical.y
    if canonical.y_unit == "absorption_coefficient":
        # The method rescales against the two-phonon region anyway; a nominal path keeps
        # the absorbance-based saturation test from firing on cm-1 values.
        y = y * (_NOMINAL_PATH_CM / np.log(10.0))
        canonical.steps.append("absorption coefficient converted to the absorbance of a nominal "
                               f"{10 * _NOMINAL_PATH_CM:g} mm path (the scale is refitted on the two-phonon "
                               "region; saturation cannot be judged)")
    lo, hi = float(x[0]), float(x[-1])
    tolerance = 2.0 * method.grid_step_cm1
    if lo > method.grid_start_cm1 + tolerance or hi < method.min_upper_cm1 - tolerance:
        hint = ""
        if lo > 5000:
            hint = " (that is near-infrared or UV-Vis light, not the mid-infrared)"
        raise _refusal(source, "x", f"{lo:.6g} to {hi:.6g} cm-1",
                       f"a diamond mid-IR spectrum must cover {method.grid_start_cm1:g} to "
                       f"{method.min_upper_cm1:g} cm-1 (one- and two-phonon regions){hint}")
    n_one_phonon = int(np.sum((x >= 1000.0) & (x <= 1400.0)))
    if n_one_phonon < 40:
        raise _refusal(source, "x", f"{n_one_phonon} points in 1000-1400 cm-1",
                       "the one-phonon region needs at least 40 points (10 cm-1 spacing or finer)")
    upper = max((u for u in method.coverage_steps_cm1 if u <= hi + tolerance), default=method.min_upper_cm1)
    y_grid = np.interp(method.grid, x, y)
    steps = [*canonical.steps,
             "resampled by linear interpolation onto "
             f"{method.grid_start_cm1:g}-{method.grid_stop_cm1:g} cm-1 at {method.grid_step_cm1:g} cm-1"]
    noise_abs = _point_noise(x, y, method)
    sample_id = spectrum.sample_id or Path(source).stem
    sha = spectrum.sha256 if spectrum.raw else sha256_hex(
        np.ascontiguousarray(spectrum.x, dtype=np.float64).tobytes()
        + np.ascontiguousarray(spectrum.y, dtype=np.float64).tobytes())
    return PreparedSpectrum(y=y_grid, upper_cm1=float(upper), sample_id=sample_id, source=source,
                            sha256=sha, steps=steps, noise_abs=noise_abs)


@dataclass
class _Design:
    """Everything about the grid that does not depend on the spectra (built once)."""

    method: FTIRMethod
    x: np.ndarray = field(init=False)
    iia: np.ndarray = field(init=False)
    comps: np.ndarray = field(init=False)
    two_phonon: np.ndarray = field(init=False)
    one_phonon: np.ndarray = field(init=False)
    platelet: np.ndarray = field(init=False)
    low: slice = field(init=False)
    tp: slice = field(init=False)
    tp_keep: np.ndarray = field(init=False)
    h3107: slice = field(init=False)
    one_in_low: slice = field(init=False)
    platelet_in_low: slice = field(init=False)
    flag_in_low: slice = field(init=False)
    one_phonon_flag: np.ndarray = field(init=False)
    platelet_fitter: PlateletPeakFitter = field(init=False)
    h3107_fitter: PlateletPeakFitter = field(init=False)

    def __post_init__(self) -> None:
        m = self.method
        self.x = m.grid
        self.iia = intrinsic(self.x)
        self.comps = component_matrix(self.x)
        self.two_phonon = _in(self.x, m.two_phonon_cm1, m.two_phonon_exclude_cm1)
        self.one_phonon = _in(self.x, m.one_phonon_cm1)
        self.one_phonon_flag = _in(self.x, (1000.0, 1400.0))
        self.platelet = _in(self.x, m.platelet_cm1)
        # Contiguous blocks (slices are views: no copies of the big batch arrays).
        self.low = _span(self.x, (m.grid_start_cm1, max(m.platelet_cm1[1], 1400.0)))
        self.tp = _span(self.x, m.two_phonon_cm1)
        self.tp_keep = self.two_phonon[self.tp]
        self.h3107 = _span(self.x, m.h3107_cm1)
        low_x = self.x[self.low]
        self.one_in_low = _span(low_x, m.one_phonon_cm1)
        self.platelet_in_low = _span(low_x, m.platelet_cm1)
        self.flag_in_low = _span(low_x, (1000.0, 1400.0))
        start, stop, step = m.platelet_positions_cm1
        positions = np.arange(start, stop + step / 2, step)
        self.platelet_fitter = PlateletPeakFitter(self.x[self.platelet], positions,
                                                  np.asarray(m.platelet_fwhms_cm1), m.platelet_eta)
        start, stop, step = m.h3107_positions_cm1
        self.h3107_fitter = PlateletPeakFitter(self.x[self.h3107], np.arange(start, stop + step / 2, step),
                                               np.asarray(m.h3107_fwhms_cm1), m.h3107_eta, slope=True)

    def baseline_mask(self, upper: float) -> np.ndarray:
        m = self.method
        return _in(self.x, (m.baseline_cm1[0], min(m.baseline_cm1[1], upper)), m.baseline_exclude_cm1)


_DESIGNS: dict[FTIRMethod, _Design] = {}


def _design(method: FTIRMethod) -> _Design:
    if method not in _DESIGNS:
        _DESIGNS[method] = _Design(method)
    return _DESIGNS[method]


def _lstsq_masked(design: np.ndarray, y: np.ndarray, weights: np.ndarray,
                  nonneg: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fit rows without masked points on the shared fast path, the rest weighted."""
    full = weights.all(axis=1)
    coef = np.empty((y.shape[0], design.shape[1]))
    sse = np.empty(y.shape[0])
    for rows, w in ((full, None), (~full, weights[~full].astype(np.float64))):
        if not rows.any():
            continue
        if nonneg is None:
            coef[rows], sse[rows] = batched_lstsq(design, y[rows], w)
        else:
            coef[rows], sse[rows] = batched_nnls(design, y[rows], nonneg, w)
    return coef, sse


def _two_phonon_check(d: _Design, y: np.ndarray,
                      noise: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    """Fit intrinsic + quadratic on the two-phonon region; return scale, usable mask, refusals.

    The shape figures discount the white noise measured in flat regions, so a noisy
    diamond spectrum is not mistaken for a non-diamond one.
    """
    m = d.method
    x2 = d.x[d.two_phonon]
    t = (x2 - 2250.0) / 1000.0
    quad = np.column_stack([np.ones_like(t), t, t * t])
    design = np.column_stack([d.iia[d.two_phonon], quad])
    y2 = y[:, d.two_phonon]
    usable = y2 <= m.saturation_absorbance
    coef, sse = _lstsq_masked(design, y2, usable)
    _, sse_poly = _lstsq_masked(quad, y2, usable)
    n_used = usable.sum(axis=1)
    height = coef[:, 0] * IIA_AT_1995_CM1
    noise_sse = n_used * noise ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        explained = np.where(sse_poly > noise_sse, (sse_poly - sse) / (sse_poly - noise_sse), 0.0)
        misfit = np.sqrt(np.maximum(sse - noise_sse, 0.0) / np.maximum(n_used, 1)) / np.abs(height)
    reasons: list[str | None] = []
    for i in range(y.shape[0]):
        if n_used[i] < 0.3 * y2.shape[1]:
            reasons.append("two-phonon region 1800-2700 cm-1 saturated (absorbance above "
                           f"{m.saturation_absorbance:g} on {y2.shape[1] - n_used[i]} of "
                           f"{y2.shape[1]} points)")
        elif not height[i] > 0:
            reasons.append("no diamond two-phonon absorption at 1800-2700 cm-1 (fitted intrinsic height "
                           f"{height[i]:.3g} absorbance at 1995 cm-1, must be positive; a diamond in "
                           "transmittance labelled as absorbance also looks like this)")
        elif not (explained[i] >= m.min_two_phonon_explained and misfit[i] <= m.max_two_phonon_misfit):
            reasons.append("1800-2700 cm-1 does not have the intrinsic diamond two-phonon shape "
                           f"(shape explains {100 * max(explained[i], 0):.0f}% of the variance, need "
                           f"{100 * m.min_two_phonon_explained:.0f}%; misfit {100 * misfit[i]:.0f}% of its "
                           f"height, limit {100 * m.max_two_phonon_misfit:.0f}%)")
        else:
            reasons.append(None)
    return coef[:, 0], usable, reasons


def _noise(d: _Design, y: np.ndarray, upper: float) -> np.ndarray:
    """Per-point white noise (absorbance) on the grid, from second differences in flat regions.

    The quietest region wins, so a band in one region does not inflate the estimate.
    Used only where the file's own sampling gave no estimate (see :class:`PreparedSpectrum`).
    """
    sigmas = []
    for window in d.method.noise_cm1:
        block = _span(d.x, (window[0], min(window[1], upper)))
        if block.stop - block.start >= 10:
            sigmas.append(_second_difference_sigma(y[:, block]))
    return np.min(np.stack(sigmas), axis=0)


def _platelet_present(platelet: dict[str, np.ndarray], method: FTIRMethod) -> np.ndarray:
    """Significant area, and a centre inside the candidate range (an edge hit is not a peak)."""
    start, stop, step = method.platelet_positions_cm1
    inside = (platelet["position"] > start + step) & (platelet["position"] < stop - step)
    return (platelet["area"] > method.platelet_min_snr * platelet["area_se"]) & inside


def fit_grid(y: np.ndarray, upper_cm1: float, method: FTIRMethod | None = None, *,
             full: bool = False, noise: np.ndarray | None = None) -> dict[str, Any]:
    """Fit a batch of spectra that share the common grid and one coverage class.

    Parameters
    ----------
    y : ndarray of shape (n_spectra, n_grid)
        Decadic absorbance on ``method.grid``.
    upper_cm1 : float
        Coverage class shared by the rows (see :class:`PreparedSpectrum`).
    method : FTIRMethod, optional
        Method parameters.
    full : bool, default=False
        Also return ``mu`` on the whole grid (for plots); otherwise only the
        columns the fit reads are baseline-corrected.
    noise : ndarray of shape (n_spectra,), optional
        Noise per measured point (absorbance) from the original sampling; NaN
        entries, or all when omitted, are estimated on the grid instead.

    Returns
    -------
    dict
        ``refused``: list of reasons (None for accepted rows); every other entry is
        an array over the *accepted* rows (``accepted``: their indices): ``scale``
        (absorbance per cm-1 of absorption coefficient), ``coef`` (n, 6: C, A, X, B,
        D, offset), ``fit_residual`` (cm-1), ``noise_cm1``, ``platelet_*``,
        ``h3107_area``, ``one_phonon_max_absorbance``, ``usable_one_phonon``
        (share of one-phonon points below the saturation limit), ``one_phonon_peak_cm1``,
        and ``x``, ``mu`` (the grid and, per row, the baseline-corrected absorption
        coefficient minus the intrinsic part; both None unless ``full``).
    """
    method = method or FTIRMethod()
    d = _design(method)
    y = np.asarray(y, dtype=np.float64)
    noise_abs = _noise(d, y, upper_cm1)
    if noise is not None:
        noise_abs = np.where(np.isfinite(noise), noise, noise_abs)
    scale0, _, refused = _two_phonon_check(d, y, noise_abs)
    accepted = np.flatnonzero([r is None for r in refused])
    if accepted.size == 0:
        return {"refused": refused, "accepted": accepted}
    y = y[accepted]
    scale0 = scale0[accepted]
    noise_abs = noise_abs[accepted]
    # derive_baseline: pybaselines polynomial on the spectrum minus its intrinsic part, applied
    # block by block (only the blocks later steps read, or the full grid for plots).
    operator = poly_baseline_operator(method.grid_start_cm1, method.grid_step_cm1, d.x.size,
                                      d.baseline_mask(upper_cm1), method.baseline_poly_order)
    anchor = operator.index_
    baseline_coef = operator.coefficients(y[:, anchor]) - scale0[:, None] * operator.coefficients(
        d.iia[None, anchor])

    def corrected(block: slice) -> np.ndarray:
        return y[:, block] - operator.evaluate(baseline_coef, block)

    # derive_absorption_coefficient: rescale against the intrinsic two-phonon absorption.
    y_tp = y[:, d.tp][:, d.tp_keep]
    usable2 = y_tp <= method.saturation_absorbance
    design2 = np.column_stack([d.iia[d.tp][d.tp_keep], np.ones(int(d.tp_keep.sum()))])
    coef2, _ = _lstsq_masked(design2, corrected(d.tp)[:, d.tp_keep], usable2)
    # The corrected-spectrum scale; the preliminary one stands in should it be unusable.
    scale = np.where(np.isfinite(coef2[:, 0]) & (coef2[:, 0] > 0), coef2[:, 0], scale0)
    inv_scale = 1.0 / scale[:, None]
    mu_low = corrected(d.low) * inv_scale - d.iia[None, d.low]
    x_low = d.x[d.low]
    one_phonon, platelet_cols = d.one_in_low, d.platelet_in_low
    mu: np.ndarray | None = None
    x: np.ndarray | None = None
    # derive_nitrogen: non-negative C, A, X, B, D plus a free offset; derive_platelet: peak +
    # line on what the nitrogen fit leaves. A broad platelet peak's tail reaches into the
    # nitrogen window, so the two fits alternate: the fitted peak is removed from the
    # nitrogen window before the nitrogen fit is repeated (method.platelet_passes times).
    comps_low = d.comps[d.low]
    design1 = np.column_stack([comps_low[one_phonon], np.ones(one_phonon.stop - one_phonon.start)])
    usable1 = y[:, d.low][:, one_phonon] <= method.saturation_absorbance
    nonneg = np.array([True] * len(COMPONENT_NAMES) + [False])
    model_pl = np.column_stack([comps_low[platelet_cols], np.ones(platelet_cols.stop - platelet_cols.start)])
    x1 = x_low[one_phonon]
    target1 = mu_low[:, one_phonon]
    for _ in range(method.platelet_passes):
        coef1, sse1 = _lstsq_masked(design1, target1, usable1, nonneg=nonneg)
        platelet = d.platelet_fitter.fit(mu_low[:, platelet_cols] - coef1 @ model_pl.T)
        present = _platelet_present(platelet, method)
        peak = pseudo_voigt(x1[None, :], platelet["position"][:, None], platelet["fwhm"][:, None],
                            method.platelet_eta)
        target1 = mu_low[:, one_phonon] - np.where(present, platelet["area"], 0.0)[:, None] * peak
    coef1, sse1 = _lstsq_masked(design1, target1, usable1, nonneg=nonneg)
    n_used1 = np.maximum(usable1.sum(axis=1), 1)
    # derive_h3107: pseudo-Voigt above a local straight baseline.
    if upper_cm1 >= method.h3107_cm1[1]:
        mu_h = corrected(d.h3107) * inv_scale - d.iia[None, d.h3107]
        h_fit = d.h3107_fitter.fit(mu_h)
        start, stop, step = method.h3107_positions_cm1
        inside = (h_fit["position"] > start + step / 2) & (h_fit["position"] < stop - step / 2)
        h3107 = np.where((h_fit["area"] > 3.0 * h_fit["area_se"]) & inside, h_fit["area"], 0.0)
    else:
        h3107 = np.full(y.shape[0], np.nan)
    if full:
        x = d.x
        mu = corrected(slice(None)) * inv_scale - d.iia[None, :]
    return {
        "refused": refused, "accepted": accepted, "scale": scale, "coef": coef1,
        "fit_residual": np.sqrt(sse1 / n_used1), "noise_cm1": noise_abs / scale,
        "platelet_position": platelet["position"], "platelet_fwhm": platelet["fwhm"],
        "platelet_area": platelet["area"], "platelet_area_se": platelet["area_se"],
        "h3107_area": h3107, "one_phonon_max_absorbance": y[:, d.low][:, d.flag_in_low].max(axis=1),
        "usable_one_phonon": usable1.mean(axis=1),
        "one_phonon_peak_cm1": np.max(np.abs(mu_low[:, one_phonon]), axis=1),
        "mu": mu, "x": x,
    }


def _diamond_type(n_c: np.ndarray, n_a: np.ndarray, n_b: np.ndarray, method: FTIRMethod) -> np.ndarray:
    """Type rules (documented in :class:`FTIRMethod`): IIa, Ib, IaA, IaAB, IaB."""
    total = n_c + n_a + n_b
    with np.errstate(divide="ignore", invalid="ignore"):
        b_percent = 100.0 * n_b / (n_a + n_b)
    low, high = method.type_ia_b_percent
    kinds = np.where(b_percent < low, "IaA", np.where(b_percent > high, "IaB", "IaAB")).astype(object)
    kinds[n_c > n_a + n_b] = "Ib"
    kinds[total < method.detection_limit_ppm] = "IIa"
    return kinds
