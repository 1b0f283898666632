"""Write SYNTHETIC FTIR spectra as JCAMP-DX 5.01 files.

The data section is ``##XYDATA=(X++(Y..Y))`` in AFFN (plain decimal numbers):
each line starts with the abscissa of its first ordinate, which is
``FIRSTX + i * DELTAX``, so the axis must be equally spaced. The file carries
``##$SYNTHETIC=TRUE`` and a title saying SYNTHETIC, which ingest detects.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["jcamp_text"]

_PER_LINE = 8  # ordinates per data line: keeps lines well under the 80-character limit


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def jcamp_text(x_cm1: np.ndarray, absorbance: np.ndarray, *, sample_id: str,
               extra: Mapping[str, str] | None = None) -> str:
    """Return a JCAMP-DX 5.01 infrared absorbance spectrum as text.

    Parameters
    ----------
    x_cm1 : ndarray of shape (n_points,)
        Equally spaced wavenumbers, cm-1 (ascending or descending).
    absorbance : ndarray of shape (n_points,)
        Decadic absorbance.
    sample_id : str
        Stone the spectrum belongs to (title and ``##$SAMPLE ID``).
    extra : mapping of str to str, optional
        More ``##$LABEL=value`` lines (user-defined labels start with ``$``).

    Returns
    -------
    str
        The file text, one line per label or data line, newline-terminated.

    Raises
    ------
    ValueError
        If the axis is not equally spaced or the arrays differ in length.
    """
    x = np.asarray(x_cm1, dtype=np.float64)
    y = np.asarray(absorbance, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or x.size < 2:
        raise ValueError("x and y must be 1-D arrays of the same length (>= 2 points)")
    step = (x[-1] - x[0]) / (x.size - 1)
    if not np.allclose(np.diff(x), step, rtol=1e-6, atol=1e-9):
        raise ValueError("JCAMP-DX X++(Y..Y) needs an equally spaced axis")
    header = [
        f"##TITLE=SYNTHETIC FTIR absorbance spectrum of {sample_id} (not a real measurement)",
        "##JCAMP-DX=5.01",
        "##DATA TYPE=INFRARED SPECTRUM",
        "##ORIGIN=footprint synth: SYNTHETIC data from footprint.spectra.simulate_ftir",
        "##OWNER=SYNTHETIC (public domain)",
        "##$SYNTHETIC=TRUE",
        f"##$SAMPLE ID={sample_id}",
        "##SAMPLE DESCRIPTION=SYNTHETIC rough diamond",
        "##SPECTROMETER/DATA SYSTEM=footprint.spectra.simulate_ftir (SYNTHETIC)",
        "##RESOLUTION=4",
    ]
    header += ["##$" + f"{k.upper()}={v}" for k, v in (extra or {}).items()]
    header += [
        "##XUNITS=1/CM",
        "##YUNITS=ABSORBANCE",
        "##XFACTOR=1",
        "##YFACTOR=1",
        f"##FIRSTX={x[0]:.10g}",
        f"##LASTX={x[-1]:.10g}",
        f"##DELTAX={step:.10g}",
        f"##FIRSTY={_fmt(y[0])}",
        f"##MINY={_fmt(y.min())}",
        f"##MAXY={_fmt(y.max())}",
        f"##NPOINTS={x.size}",
        "##XYDATA=(X++(Y..Y))",
    ]
    lines = []
    for start in range(0, y.size, _PER_LINE):
        chunk = y[start:start + _PER_LINE]
        abscissa = x[0] + start * step
        lines.append(" ".join([f"{abscissa:.6f}", *(_fmt(v) for v in chunk)]))
    return "\n".join([*header, *lines, "##END="]) + "\n"
