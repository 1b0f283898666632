"""Plain data records passed between ingest, the store and the FTIR code.

These are the contracts between modules: readers produce them, the store
persists them, and the spectral code consumes them. They hold data only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["REPORT_LANGUAGES", "ImageRecord", "Spectrum", "sha256_hex"]

#: Languages of reports and pages (``--lang``); :mod:`footprint.report` holds the wording.
REPORT_LANGUAGES: tuple[str, ...] = ("en", "fr")


def sha256_hex(data: bytes) -> str:
    """Return the lowercase hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


@dataclass
class Spectrum:
    """One spectrum as read from an instrument file, before any processing.

    Parameters
    ----------
    x : ndarray of shape (n_points,)
        Axis values as parsed, in ``x_unit`` and in file order.
    y : ndarray of shape (n_points,)
        Ordinate values as parsed, in ``y_unit``.
    x_unit : str
        Normalised axis unit: ``"1/cm"``, ``"um"``, ``"nm"``, or the file's
        own word when it is none of those.
    y_unit : str
        Normalised ordinate unit: ``"absorbance"``, ``"transmittance"``
        (fraction 0..1), ``"percent_transmittance"``, ``"absorption_coefficient"``
        (cm-1), ``"counts"``, ``"arbitrary"``, or the file's own word.
    kind : str or None
        Spectrum kind: ``"ftir"``, ``"uvvis"``, ``"raman"``, ``"pl"``, ...
    source : str
        File name or path it was read from (for messages).
    raw : bytes
        The original file's bytes, kept verbatim in the store.
    meta : dict
        Instrument and header metadata (JCAMP-DX labels and the like).
    sample_id : str or None
        Stone the spectrum belongs to, once mapped.
    """

    x: np.ndarray
    y: np.ndarray
    x_unit: str
    y_unit: str
    kind: str | None
    source: str
    raw: bytes = b""
    meta: dict[str, Any] = field(default_factory=dict)
    sample_id: str | None = None

    @property
    def sha256(self) -> str:
        """SHA-256 of the original file bytes."""
        return sha256_hex(self.raw)


@dataclass
class ImageRecord:
    """One photograph of a stone.

    Parameters
    ----------
    sample_id : str
        Stone shown.
    view : str
        View label ("top", "side", "default", ...).
    mime_type : str
        ``image/png`` or ``image/jpeg``.
    data : bytes
        Encoded image bytes, kept verbatim.
    source : str
        File it was read from.
    width, height : int
        Pixel size, from decoding (a file that does not decode is refused).
    """

    sample_id: str
    view: str
    mime_type: str
    data: bytes
    source: str
    width: int = 0
    height: int = 0

    @property
    def sha256(self) -> str:
        """SHA-256 of the encoded image bytes."""
        return sha256_hex(self.data)
