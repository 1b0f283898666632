"""Peak shapes and the platelet / 3107 cm-1 hydrogen peak measurements."""

from __future__ import annotations

import numpy as np

__all__ = ["PlateletPeakFitter", "local_peak_area", "pseudo_voigt"]

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


def _parabola_vertex(x3: np.ndarray, y3: np.ndarray) -> np.ndarray:
    """Vertex abscissa of the parabola through three points per row (clipped to their span)."""
    x0, x1, x2 = x3[:, 0], x3[:, 1], x3[:, 2]
    y0, y1, y2 = y3[:, 0], y3[:, 1], y3[:, 2]
    denom = (x0 - x1) * (x0 - x2) * (x1 - x2)
    a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1))
    b = (x2 * x2 * (y0 - y1) + x1 * x1 * (y2 - y0) + x0 * x0 * (y1 - y2))
    with np.errstate(divide="ignore", invalid="ignore"):
        vertex = np.where((np.abs(denom) > 0) & (a * denom > 0), -b / (2.0 * a), x1)
    return np.clip(vertex, x0, x2)


class PlateletPeakFitter:
    """Fit one pseudo-Voigt peak plus a straight line to many residual spectra.

    A grid search over (position, FWHM) finds each spectrum's best candidate by
    projection (all candidates for all spectra in one matrix product), a
    parabola through the neighbouring residuals refines position and width, and
    a final linear solve gives the area and its standard error.

    Parameters
    ----------
    x : ndarray of shape (n_points,)
        The fit window, cm-1.
    positions : ndarray
        Candidate centres, cm-1, ascending and evenly spaced.
    fwhms : ndarray
        Candidate widths (FWHM), cm-1, ascending.
    eta : float
        Lorentzian fraction of the pseudo-Voigt.
    slope : bool, default=False
        Fit a sloping line under the peak rather than a constant (a broad peak and a
        free slope trade off against each other, so the constant is the default).
    """

    def __init__(self, x: np.ndarray, positions: np.ndarray, fwhms: np.ndarray, eta: float,
                 slope: bool = False) -> None:
        self.x = np.asarray(x, dtype=np.float64)
        self.positions = np.asarray(positions, dtype=np.float64)
        self.fwhms = np.asarray(fwhms, dtype=np.float64)
        self.eta = float(eta)
        self.slope = bool(slope)
        t = (self.x - self.x.mean()) / 100.0
        columns = [np.ones_like(self.x), t] if self.slope else [np.ones_like(self.x)]
        self._background = np.column_stack(columns)
        pos, wid = np.meshgrid(self.positions, self.fwhms, indexing="ij")
        self._pos, self._wid = pos.ravel(), wid.ravel()
        q_all, r_peak = [], []
        for p, w in zip(self._pos, self._wid, strict=True):
            design = np.column_stack([self._background, pseudo_voigt(self.x, p, w, self.eta)])
            q, r = np.linalg.qr(design)
            q_all.append(q)
            r_peak.append(r[-1, -1])
        # (n_points, n_candidates * n_cols): one product projects every spectrum on every candidate.
        self._q = np.concatenate(q_all, axis=1)
        self._r_peak = np.asarray(r_peak)

    def fit(self, residual: np.ndarray) -> dict[str, np.ndarray]:
        """Fit the peak in every row of ``residual`` (absorption coefficient, cm-1).

        Returns
        -------
        dict of ndarray of shape (n_spectra,)
            ``position``, ``fwhm`` (cm-1), ``area`` (cm-2), ``area_se`` (cm-2), ``rms`` (cm-1).
        """
        n, m = residual.shape
        n_pos, n_wid = self.positions.size, self.fwhms.size
        n_cols = self._background.shape[1] + 1
        proj = (residual @ self._q).reshape(n, -1, n_cols)
        sse = np.einsum("nm,nm->n", residual, residual)[:, None] - np.einsum("njk,njk->nj", proj, proj)
        area = proj[:, :, -1] / self._r_peak
        sse = np.where(area > 0, sse, np.inf).reshape(n, n_pos, n_wid)
        best = np.argmin(sse.reshape(n, -1), axis=1)
        ip, iw = np.divmod(best, n_wid)
        rows = np.arange(n)
        ip_c = np.clip(ip, 1, n_pos - 2)
        iw_c = np.clip(iw, 1, n_wid - 2)
        sse_fin = np.where(np.isfinite(sse), sse, np.nanmax(np.where(np.isfinite(sse), sse, 0)) * 10 + 1)
        pos3 = np.stack([self.positions[ip_c - 1], self.positions[ip_c], self.positions[ip_c + 1]], axis=1)
        wid3 = np.stack([self.fwhms[iw_c - 1], self.fwhms[iw_c], self.fwhms[iw_c + 1]], axis=1)
        spos = np.stack([sse_fin[rows, ip_c + k, iw] for k in (-1, 0, 1)], axis=1)
        swid = np.stack([sse_fin[rows, ip, iw_c + k] for k in (-1, 0, 1)], axis=1)
        position = _parabola_vertex(pos3, spos)
        fwhm = _parabola_vertex(wid3, swid)
        # Final linear solve at the refined shape: area, line, and the area's standard error.
        peak = pseudo_voigt(self.x[None, :], position[:, None], fwhm[:, None], self.eta)
        design = np.concatenate([np.broadcast_to(self._background[None], (n, m, n_cols - 1)),
                                 peak[:, :, None]], axis=2)
        gram = np.einsum("nmi,nmj->nij", design, design)
        rhs = np.einsum("nmi,nm->ni", design, residual)
        coef = np.linalg.solve(gram, rhs[..., None])[..., 0]
        fitted = np.einsum("nmi,ni->nm", design, coef)
        rss = np.einsum("nm,nm->n", residual - fitted, residual - fitted)
        sigma2 = rss / max(m - n_cols - 2, 1)
        cov_peak = np.linalg.inv(gram)[:, -1, -1]
        return {"position": position, "fwhm": fwhm, "area": coef[:, -1],
                "area_se": np.sqrt(sigma2 * cov_peak), "rms": np.sqrt(rss / m)}


def local_peak_area(x: np.ndarray, y: np.ndarray, peak: tuple[float, float],
                    left: tuple[float, float], right: tuple[float, float]) -> np.ndarray:
    """Integrate a peak above a straight local baseline, for every row of ``y``.

    Parameters
    ----------
    x : ndarray of shape (n_points,)
        Ascending axis, cm-1.
    y : ndarray of shape (n_spectra, n_points)
        Absorption coefficient, cm-1.
    peak : (float, float)
        Integration window, cm-1.
    left, right : (float, float)
        Windows whose mean levels, at their centres, define the local baseline.

    Returns
    -------
    ndarray of shape (n_spectra,)
        Trapezoid area above the baseline, cm-2.
    """
    in_left = (x >= left[0]) & (x <= left[1])
    in_right = (x >= right[0]) & (x <= right[1])
    in_peak = (x >= peak[0]) & (x <= peak[1])
    x_l, x_r = x[in_left].mean(), x[in_right].mean()
    y_l, y_r = y[:, in_left].mean(axis=1), y[:, in_right].mean(axis=1)
    xp = x[in_peak]
    line = y_l[:, None] + (y_r - y_l)[:, None] * ((xp - x_l) / (x_r - x_l))[None, :]
    above = y[:, in_peak] - line
    return np.sum(0.5 * (above[:, 1:] + above[:, :-1]) * np.diff(xp)[None, :], axis=1)
