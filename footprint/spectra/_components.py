"""The reference component spectra (QUIDDIT 3, Speich & Kohn 2020), loaded once.

``footprint/data/CAXBD.csv`` holds the one-phonon shapes of the C, A, X, B and
D centres (400 to 1400 cm-1); ``footprint/data/typeIIa.csv`` a nitrogen-free
type IIa diamond (399 to 7001 cm-1), rescaled here so that its absorption
coefficient at 1995 cm-1 is exactly :data:`IIA_AT_1995_CM1`.
"""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np

__all__ = [
    "COMPONENT_NAMES",
    "IIA_AT_1995_CM1",
    "PPM_PER_CM1",
    "component_matrix",
    "intrinsic",
]

#: Order of the nitrogen component columns in ``CAXBD.csv``.
COMPONENT_NAMES: tuple[str, ...] = ("C", "A", "X", "B", "D")

#: ppm of nitrogen per unit fitted coefficient (QUIDDIT and the wider literature).
PPM_PER_CM1: dict[str, float] = {"C": 25.0, "A": 16.5, "B": 79.4}

#: Absorption coefficient of intrinsic diamond at 1995 cm-1, cm-1 (the usual convention).
IIA_AT_1995_CM1 = 11.94


def _read_csv(name: str) -> np.ndarray:
    with resources.files("footprint").joinpath("data", name).open("rb") as handle:
        return np.loadtxt(handle, delimiter=",", dtype=np.float64)


@functools.lru_cache(maxsize=1)
def _caxbd() -> np.ndarray:
    return _read_csv("CAXBD.csv")


@functools.lru_cache(maxsize=1)
def _type_iia() -> np.ndarray:
    table = _read_csv("typeIIa.csv")
    scale = IIA_AT_1995_CM1 / np.interp(1995.0, table[:, 0], table[:, 1])
    return np.column_stack([table[:, 0], table[:, 1] * scale])


def component_matrix(x_cm1: np.ndarray) -> np.ndarray:
    """Return the C, A, X, B, D shapes interpolated onto ``x_cm1``.

    Parameters
    ----------
    x_cm1 : ndarray of shape (n_points,)
        Ascending wavenumbers, cm-1.

    Returns
    -------
    ndarray of shape (n_points, 5)
        Columns in :data:`COMPONENT_NAMES` order, absorption coefficient (cm-1)
        per unit coefficient; zero outside 400 to 1400 cm-1.
    """
    table = _caxbd()
    x = np.asarray(x_cm1, dtype=np.float64)
    return np.column_stack([np.interp(x, table[:, 0], table[:, i], left=0.0, right=0.0)
                            for i in range(1, 6)])


def intrinsic(x_cm1: np.ndarray) -> np.ndarray:
    """Return the type IIa intrinsic absorption coefficient (cm-1) on ``x_cm1``.

    Scaled to :data:`IIA_AT_1995_CM1` at 1995 cm-1; zero outside 399 to 7001 cm-1.
    """
    table = _type_iia()
    return np.interp(np.asarray(x_cm1, dtype=np.float64), table[:, 0], table[:, 1], left=0.0, right=0.0)
