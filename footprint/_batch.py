"""The unit of work the store commits: one validated batch of lab input.

Readers in :mod:`footprint.ingest` build a :class:`Batch`; the FTIR code may
add derived features to it; :meth:`footprint.store.ReferenceStore.commit`
lands it whole or not at all, and records its :class:`ProcessingReport` and
:class:`SourceFile` list in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ._types import ImageRecord, Spectrum
from .exceptions import InputError, Problem

__all__ = ["DERIVED_FTIR_COLUMNS", "Batch", "ProcessingReport", "SourceFile"]

#: Columns of the derived-FTIR table (one row per FTIR spectrum), shared by
#: :mod:`footprint.spectra` (which computes it), the store (which keeps it
#: beside the raw spectrum) and the model features (which read it).
DERIVED_FTIR_COLUMNS: tuple[str, ...] = (
    "sample_id",            # str
    "spectrum_sha256",      # str, sha256 of the raw file the values come from
    "n_c_ppm",              # float, ppm
    "n_a_ppm",              # float, ppm
    "n_b_ppm",              # float, ppm
    "n_total_ppm",          # float, ppm
    "n_b_percent",          # float, % (NaN when no aggregated N)
    "diamond_type",         # str: IaA | IaAB | IaB | Ib | IIa | IIb
    "platelet_position_cm1",  # float, cm-1 (NaN when no peak)
    "platelet_area_cm2",    # float, cm-2
    "platelet_width_cm1",   # float, cm-1 (FWHM)
    "h3107_area_cm2",       # float, cm-2
    "fit_residual",         # float, RMS residual of the one-phonon fit, cm-1
    "flags",                # str, ';'-joined: saturated, noisy, poor_fit, ...
    "recipe",               # str, JSON: steps, parameters, package versions
)


@dataclass(frozen=True)
class SourceFile:
    """One input file of a batch, for the audit log.

    Parameters
    ----------
    path : str
        Path as the user gave it.
    sha256 : str
        SHA-256 of the file's bytes.
    role : str
        ``"stones"``, ``"spectrum"``, ``"manifest"``, ``"image"``.
    size_bytes : int
        File size.
    """

    path: str
    sha256: str
    role: str
    size_bytes: int


@dataclass
class ProcessingReport:
    """What happened to a batch, shown to the user after ``db add``.

    ``steps`` counts each named check (``require_sample_id``,
    ``harmonize_columns``, ``derive_sieve_band``...) in the order they ran.
    ``added``/``unchanged``/``replaced`` are filled in by the store at commit.
    """

    rows_read: int = 0
    added: int = 0
    unchanged: int = 0
    replaced: int = 0
    rejected: int = 0
    spectra_read: int = 0
    images_read: int = 0
    steps: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    rejections: list[str] = field(default_factory=list)

    def count(self, step: str, n: int = 1) -> None:
        """Add ``n`` to the counter of ``step`` (creating it in run order)."""
        self.steps[step] = self.steps.get(step, 0) + n

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping."""
        return {
            "rows_read": self.rows_read, "added": self.added, "unchanged": self.unchanged,
            "replaced": self.replaced, "rejected": self.rejected, "spectra_read": self.spectra_read,
            "images_read": self.images_read, "steps": dict(self.steps),
            "warnings": list(self.warnings), "rejections": list(self.rejections),
        }


def reason_problem(replace: bool, reason: str | None) -> Problem | None:
    """Check the one rule for replacing records: ``replace`` needs a ``reason``.

    Parameters
    ----------
    replace : bool
        Whether different records may replace stored ones.
    reason : str or None
        Why.

    Returns
    -------
    Problem or None
        The problem to report, or None when the rule holds.
    """
    if replace and not str(reason or "").strip():
        return Problem(None, None, "reason", reason, "--replace needs --reason: why records change")
    return None


@dataclass
class Batch:
    """A validated batch of stones, spectra and images, ready to commit.

    Parameters
    ----------
    stones : DataFrame
        One row per ``sample_id``; columns are canonical schema field names
        (plus registered custom fields), typed as the schema says: numbers as
        float64 with NaN for "not measured", integers as nullable Int64,
        booleans as nullable boolean, text/category/date/sieve as object
        strings or None.
    spectra : list of Spectrum
        Each with ``sample_id`` and ``kind`` set, and its raw file bytes.
    images : list of ImageRecord
        Decoded-and-validated photographs.
    sources : list of SourceFile
        Every input file, hashed.
    report : ProcessingReport
        Counts and messages of the checks that ran.
    derived_ftir : DataFrame or None
        Features derived from the FTIR spectra at ingest, with columns
        :data:`DERIVED_FTIR_COLUMNS`.
    synthetic : bool
        True when the data is synthetic; the store's audit entry says so.
    by : str
        Who is adding the batch.
    replace : bool
        Allow a different record under an existing ``sample_id`` (a new version).
    reason : str or None
        Why records are replaced; required with ``replace``.
    """

    stones: pd.DataFrame
    spectra: list[Spectrum] = field(default_factory=list)
    images: list[ImageRecord] = field(default_factory=list)
    sources: list[SourceFile] = field(default_factory=list)
    report: ProcessingReport = field(default_factory=ProcessingReport)
    derived_ftir: pd.DataFrame | None = None
    synthetic: bool = False
    by: str = ""
    replace: bool = False
    reason: str | None = None

    def __post_init__(self) -> None:
        problem = reason_problem(self.replace, self.reason)
        if problem is not None:  # a batch that breaks the rule cannot exist, so the store need not check
            raise InputError("--replace needs --reason", [problem])
