"""What a classify run writes: result columns, the CSV writer, the model identity, :class:`ClassifyRun`."""

from __future__ import annotations

import io
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._io import FORMULA_PREFIXES, write_csv

__all__ = [
    "DEFAULT_MAX_DETAIL",
    "VALUE_RESULT_COLUMNS",
    "WHY_RESULT_COLUMNS",
    "ClassifyRun",
    "ReportInputs",
    "result_columns",
    "stone_columns",
]

#: Parcels drawn in full (figures, nearest lots) per report; the rest are in the summary table.
DEFAULT_MAX_DETAIL = 100

logger = logging.getLogger(__name__)

# -- the run ------------------------------------------------------------------------


class ResultParts:
    """The parcel results of a run, chunk by chunk, in file order, in memory that does not grow with the file.

    A report renders every parcel from every column, so its parts are kept as
    frames. Otherwise each chunk's rows (the output columns only) are kept
    pickled and zlib-compressed (tens of bytes a parcel, where the frame held
    over a kilobyte: 200,000 parcels of a 5-million-stone file held 300 MB)
    and rebuilt only when :attr:`ClassifyRun.results` is read; the verdict
    counts are kept as the chunks arrive.

    Parameters
    ----------
    columns : list of str
        The output columns.
    frames : bool
        Keep whole frames (every column, for a report).
    """

    def __init__(self, columns: Sequence[str], *, frames: bool) -> None:
        self.columns = list(columns)
        self.frames = frames
        self.verdicts: dict[str, int] = {}
        self.n_parcels = 0
        self._parts: list[Any] = []

    def add(self, frame: pd.DataFrame) -> None:
        """Keep one chunk's result rows."""
        import pickle
        import zlib

        for verdict, count in frame["verdict"].astype(str).value_counts(sort=False).items():
            self.verdicts[str(verdict)] = self.verdicts.get(str(verdict), 0) + int(count)
        self.n_parcels += len(frame)
        if self.frames:
            self._parts.append(frame)
        else:
            rows = frame.reindex(columns=self.columns)
            self._parts.append(zlib.compress(pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL), 1))

    def frame(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Every kept row as one frame (``columns``: default every kept column)."""
        import pickle
        import zlib

        # Only this process's own pickles (never a file): loading them runs nothing foreign.
        parts = [p if isinstance(p, pd.DataFrame) else pickle.loads(zlib.decompress(p))  # noqa: S301
                 for p in self._parts]
        out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=self.columns)
        return out.reindex(columns=list(columns)) if columns is not None else out


@dataclass
class ClassifyRun:
    """The outcome of :func:`classify`.

    Attributes
    ----------
    results : DataFrame
        One row per parcel (the output columns), in file order; built from
        the run's compact parts when first read.
    n_parcels : int
        Parcels classified.
    verdicts : dict
        Parcels per verdict.
    n_stones : int
        Stones read.
    exit_code : int
        0 when every parcel is ``consistent``, 6 when any needs expert review.
    outputs : list of Path
        Files written (results, stones, report, audit record).
    audit : Path
        The run's audit record.
    synthetic : bool
        Whether the model, its store or the stones file is synthetic.
    warnings : list of str
        Warnings raised during the run.
    """

    parts: ResultParts
    n_stones: int
    exit_code: int
    outputs: list[Path]
    audit: Path
    synthetic: bool
    warnings: list[str]
    stones_path: Path | None = None
    _results: pd.DataFrame | None = None

    @property
    def results(self) -> pd.DataFrame:
        """One row per parcel (the output columns), in file order."""
        if self._results is None:
            self._results = self.parts.frame(self.parts.columns)
        return self._results

    @property
    def n_parcels(self) -> int:
        """Parcels classified."""
        return self.parts.n_parcels

    @property
    def verdicts(self) -> dict[str, int]:
        """Parcels per verdict."""
        return dict(self.parts.verdicts)


@dataclass
class ReportInputs:
    """Everything the classify report shows, gathered by :func:`classify` for a report renderer.

    :func:`classify` writes the page with the ``render_report`` function it is
    given (:func:`footprint.report.render_classify_report`), so this package
    does not import the report layer above it.

    Attributes
    ----------
    results : DataFrame
        One row per parcel (the output columns), in file order.
    zones : list of str
        The model's zones.
    summaries : dict
        Parcel id to its footprint summary.
    parcels : DataFrame or None
        The parcels file, when given.
    reference : dict
        Reference footprints, sizes, lots and thumbnails (empty without a store).
    identity : dict
        The model's identity (manifest hashes, versions, directory).
    store_meta : dict
        The reference store used for the page (path, content hash, match).
    thresholds : dict
        The model's decision thresholds.
    synthetic : bool
        Whether the model, its store or the stones file is synthetic.
    lang : str
        Page language.
    max_detail : int or None
        Parcels given a full section; ``None`` for the renderer's default.
    parcel_photos : dict or None
        Parcel id to data URIs of its own photographs (``classify(images=...)``).
    thin_zones : dict or None
        The model's thin reference zones (manifest ``training.thin_zones``:
        zone to stones, lots and evidence widening), noted in the report.
    """

    results: pd.DataFrame
    zones: list[str]
    summaries: Mapping[str, Any]
    parcels: pd.DataFrame | None
    reference: Mapping[str, Any]
    identity: Mapping[str, Any]
    store_meta: Mapping[str, Any]
    thresholds: Mapping[str, Any]
    synthetic: bool
    lang: str
    max_detail: int | None
    parcel_photos: Mapping[str, list[str]] | None = None
    thin_zones: Mapping[str, Any] | None = None


#: Parcel photos shown per parcel in the report, and their size (px).
PARCEL_PHOTOS_SHOWN, PARCEL_PHOTO_PX = 6, 96


def parcel_photos(folder: str | os.PathLike[str], parcel_ids: Sequence[str]) -> dict[str, list[str]]:
    """Return up to :data:`PARCEL_PHOTOS_SHOWN` photos per parcel as PNG data URIs (thumbnails).

    A picture belongs to the parcel whose id starts its file name (the
    longest such id); pictures that cannot be decoded are skipped with a
    warning in the log.
    """
    import base64

    from PIL import Image, UnidentifiedImageError

    from ..exceptions import InputError, Problem

    path = Path(folder)
    if not path.is_dir():
        raise InputError(f"{folder}: no such folder", [Problem(str(folder), None, "images", None,
                                                               "must be a folder of parcel photographs")])
    ids = sorted(set(parcel_ids), key=len, reverse=True)
    out: dict[str, list[str]] = {}
    for p in sorted(path.iterdir()):
        if p.suffix.lower() not in (".png", ".jpg", ".jpeg", ".tif", ".tiff"):
            continue
        pid = next((i for i in ids if p.name.startswith(i)), None)
        if pid is None or len(out.get(pid, [])) >= PARCEL_PHOTOS_SHOWN:
            continue
        try:
            with Image.open(p) as image:
                image.thumbnail((PARCEL_PHOTO_PX, PARCEL_PHOTO_PX))
                buffer = io.BytesIO()
                image.convert("RGB").save(buffer, format="PNG")
        except (OSError, UnidentifiedImageError) as exc:
            logger.warning("%s: not a readable picture, left out of the report (%s)", p, exc)
            continue
        encoded = base64.b64encode(buffer.getvalue()).decode()
        out.setdefault(pid, []).append("data:image/png;base64," + encoded)
    return out


#: Parcel result columns added when a price book is given (issue 14).
VALUE_RESULT_COLUMNS: tuple[str, ...] = (
    "expected_value_usd", "expected_value_lo", "expected_value_hi", "declared_value_usd", "value_ratio",
    "value_flag", "valuation_method",
)


#: Parcel result columns that say why (issue 12): the mixed test's p-value, every flag raised, the declared
#: (or best) zone's sites the parcel resembles with shares and 90% intervals, and the three fields that move
#: the evidence most. Results files written before them lack them; readers treat them as optional.
WHY_RESULT_COLUMNS: tuple[str, ...] = ("mixed_p", "fit_p", "flags", "typical_sites", "top_fields")


def result_columns(zones: Sequence[str]) -> list[str]:
    """Return the parcel result columns for a model's zones, in order.

    ``parcel_id, n_stones, declared_zone, verdict, best_zone, p_<zone>...,
    log10_lr, foreign_fraction, foreign_fraction_lo, foreign_fraction_hi,
    novelty_p``, then :data:`WHY_RESULT_COLUMNS` (``mixed_p, fit_p, flags,
    typical_sites, top_fields``).
    """
    return [
        "parcel_id",
        "n_stones",
        "declared_zone",
        "verdict",
        "best_zone",
        *[f"p_{z}" for z in zones],
        "log10_lr",
        "foreign_fraction",
        "foreign_fraction_lo",
        "foreign_fraction_hi",
        "novelty_p",
        *WHY_RESULT_COLUMNS,
    ]


def stone_columns(zones: Sequence[str]) -> list[str]:
    """Return the per-stone result columns for a model's zones, in order.

    ``p_foreign`` is the stone's posterior probability of being foreign to its
    parcel's declared (or best) zone, at the parcel's mixture fit.
    """
    return ["parcel_id", "sample_id", "best_zone", *[f"p_{z}" for z in zones], "novelty_p", "p_foreign"]


def _write_csv(frame: pd.DataFrame, fh: Any, header: bool) -> None:
    # %.6g: six significant digits are far beyond what the evidence supports,
    # and a fixed format keeps re-runs byte-identical across platforms. Text a
    # spreadsheet would run as a formula (a parcel id "=HYPERLINK(...)") is
    # neutralised by the one writer every CSV output goes through.
    write_csv(frame, fh, header=header, float_format="%.6g", lineterminator="\n")


def _csv_lines(frame: pd.DataFrame) -> str:
    """Return the CSV lines of ``frame`` without header, formatted as :func:`_write_csv` does.

    Result frames (floats, integers, plain text) are formatted here directly,
    five times faster than ``DataFrame.to_csv``, which formats every float
    through a Python call of its own; anything else (text that needs quoting,
    other dtypes) goes through ``to_csv`` itself. Both give the same bytes.
    """
    columns = [_csv_cells(frame[name]) for name in frame.columns]
    if any(cells is None for cells in columns):
        buffer = io.StringIO()
        _write_csv(frame, buffer, False)
        return buffer.getvalue()
    return "".join(",".join(row) + "\n" for row in zip(*columns, strict=True)) if len(frame) else ""


#: Characters that make the csv module quote a cell (delimiter, quote, line ends).
_NEEDS_QUOTES = re.compile(r'[,"\r\n]')
#: A cell starting like a spreadsheet formula (:data:`footprint._io.FORMULA_PREFIXES`), in cells joined by
#: line ends (cells without line ends: each one starts after one).
_FORMULA_START = re.compile("\n[" + "".join(re.escape(c) for c in FORMULA_PREFIXES) + "]")


def _csv_cells(column: pd.Series) -> list[str] | None:
    """Return a column's cells as ``to_csv(float_format="%.6g")`` writes them, or None if not plain.

    Floats: ``"%.6g" % value``, empty when missing; integers: ``str``; text:
    the text itself, empty when missing, and None (let pandas write the frame)
    as soon as one cell would need quoting, starts like a spreadsheet formula
    or is not text.
    """
    dtype = column.dtype
    if dtype == np.float64:
        # The % operator, as pandas applies a float_format string (missing values: "").
        return ["" if value != value else "%.6g" % value  # noqa: UP031
                for value in column.to_numpy().tolist()]
    if dtype == np.int64:
        return [str(value) for value in column.to_numpy().tolist()]
    if dtype.kind == "O" or isinstance(dtype, pd.StringDtype):
        cells = ["" if value is None or (isinstance(value, float) and value != value) else value
                 for value in column.to_numpy(dtype=object).tolist()]
        if not all(type(cell) is str for cell in cells) or _NEEDS_QUOTES.search("".join(cells)) \
                or _FORMULA_START.search("\n" + "\n".join(cells)):
            return None  # quoting or formula neutralising: the slow, complete writer
        return cells
    return None


_IDENTITY_KEYS = (
    "format",
    "label",
    "fingerprint",
    "model_file",
    "model_sha256",
    "footprint_version",
    "schema_version",
    "synthetic",
    "thresholds_version",
    "saved_utc",
    "zones",
    "source",
    "packages",
)


def _model_identity(model: Any, model_dir: str) -> dict[str, Any]:
    """Return the manifest entries that identify a model (hashes, versions, training store)."""
    manifest = dict(getattr(model, "manifest", {}) or {})
    keep = {k: manifest[k] for k in _IDENTITY_KEYS if k in manifest}
    keep["directory"] = os.fspath(model_dir)
    return keep


def _is_synthetic(model: Any) -> bool:
    manifest = getattr(model, "manifest", {}) or {}
    flags = [
        manifest.get("synthetic"),
        (manifest.get("store") or {}).get("synthetic")
        if isinstance(manifest.get("store"), Mapping)
        else None,
        getattr(model, "synthetic", None),
    ]
    return any(bool(f) for f in flags if f is not None)


