"""The reference store's HDF5 format: constants, column encodings, dataset helpers, integrity checks.

File layout (format version 1)
------------------------------
Everything is plain HDF5 that any language can read: numbers are float64 /
int64 / int8 datasets, text is fixed-length UTF-8 (``h5py.string_dtype``,
``""`` = not recorded), byte blobs are ``uint8`` datasets addressed by
offset/length columns, and metadata are JSON text. No pickles. Every dataset is
chunked with gzip and the fletcher32 checksum filter::

    /                       attrs: format, format_version, schema_version, created_utc, tool_version
    /stones/<field>         one column per schema field (+ custom fields); attrs kind, unit, description
    /stones/_batch          audit sequence number of the batch that wrote the row
    /stones/_version        1, 2, ... per sample_id; the highest is the current record
    /stones/_reason         why a version > 1 replaced the previous one
    /spectra/<column>       one row per raw spectrum: sample_id, kind, source, units, sha256,
                            offsets into /spectra_data, canonical conversion steps, _batch
    /spectra_data/raw       original file bytes, concatenated (uint8)
    /spectra_data/x         parsed axes as read (float64); an axis shared by several spectra
                            of a batch is stored once (x_offset points to it)
    /spectra_data/y         parsed values as read (float64), concatenated (y_offset)
    /spectra_data/meta      header metadata, UTF-8 JSON, concatenated (uint8)
    /resampled/<kind>/grid  the kind's common grid (attr unit)
    /resampled/<kind>/values   float32 (n, n_grid), NaN outside a spectrum's range
    /resampled/<kind>/spectrum_row   row of /spectra each resampled row comes from
    /derived_ftir/<column>  DERIVED_FTIR_COLUMNS + _batch, one row per FTIR spectrum
    /images/<column>        sample_id, view, mime_type, sha256, source, width, height, offset,
                            length, _batch
    /images_data/bytes      encoded image bytes, concatenated (uint8)
    /meta/custom_fields     JSON list of custom Field definitions
    /audit/<column>         seq, kind, when_utc, by, synthetic, entry (JSON): one row per batch

Integers in the stone table are stored as float64 (NaN = not measured) and
booleans as int8 (-1 = not recorded); the column's ``kind`` attribute says how
to read them back.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from .._json import json_default
from .._schema import Field
from .._types import ImageRecord, Spectrum

__all__: list[str] = []

logger = logging.getLogger(__name__)


#: Value of the root ``format`` attribute that marks a footprint store.
FORMAT_NAME = "footprint-reference-store"
#: Layout version this code writes; it reads every version in ``_READABLE_FORMATS``.
FORMAT_VERSION = 1
_READABLE_FORMATS = frozenset({1})

#: Seconds a writer waits for another writer's lock before giving up.
DEFAULT_LOCK_TIMEOUT = 60.0

#: Common grids per spectrum kind: (start, stop, step, unit). FTIR covers the
#: one-phonon (N, platelet) and hydrogen (3107 cm-1) regions; UV-Vis the N3 /
#: 480 nm / 550 nm bands up to the NIR; PL the usual 405-nm to 633-nm laser
#: emission windows; Raman the first-order line (1332 cm-1) and second order.
GRIDS: dict[str, tuple[float, float, float, str]] = {
    "ftir": (400.0, 4000.0, 2.0, "1/cm"),
    "uvvis": (200.0, 1100.0, 1.0, "nm"),
    "pl": (400.0, 1000.0, 0.5, "nm"),
    "raman": (100.0, 3500.0, 1.0, "1/cm (Raman shift)"),
}

#: Relative and absolute gap beyond which a derived FTIR value is reported as
#: disagreeing with the lab-supplied one (processing-report warning).
_DISCREPANCY_REL = 0.25
_DISCREPANCY_ABS = {"n_total_ppm": 25.0, "n_a_ppm": 25.0, "n_b_ppm": 25.0, "n_b_percent": 10.0}

_GZIP_LEVEL = 1  # level 1: most of gzip's gain on text/regular axes at a fraction of the cost
_ROW_CHUNK = 8192
_BLOB_CHUNK = 1 << 20
_TMP_MARK = ".tmp-"

_STONE_META = ("_batch", "_version", "_reason")
_SPECTRA_COLS = (
    "sample_id", "kind", "source", "x_unit", "y_unit", "sha256", "raw_offset", "raw_length",
    "x_offset", "y_offset", "n_points", "meta_offset", "meta_length", "canonical_steps", "_batch",
)
_IMAGE_COLS = (
    "sample_id", "view", "mime_type", "sha256", "source", "width", "height", "offset", "length",
    "_batch",
)
_DERIVED_TEXT = frozenset({"sample_id", "spectrum_sha256", "diamond_type", "flags", "recipe"})
_AUDIT_COLS = ("seq", "kind", "when_utc", "by", "synthetic", "entry")


def grid_for(kind: str) -> np.ndarray | None:
    """Return the common grid of a spectrum kind (see :data:`GRIDS`), or ``None``.

    Parameters
    ----------
    kind : str
        ``"ftir"``, ``"uvvis"``, ``"pl"`` or ``"raman"``.

    Returns
    -------
    ndarray of shape (n_grid,) or None
        Grid points in the kind's canonical unit; ``None`` for kinds without one.
    """
    spec = GRIDS.get(kind)
    if spec is None:
        return None
    start, stop, step, _ = spec
    n = int(round((stop - start) / step)) + 1
    return start + step * np.arange(n, dtype=np.float64)


# ---------------------------------------------------------------------------
# column encoding
# ---------------------------------------------------------------------------

def _utc_now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _tool_version() -> str:
    from .._version import __version__

    return __version__


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _encode_text(values: Iterable[Any]) -> np.ndarray:
    """Encode text values as a fixed-width UTF-8 byte array (missing -> b'')."""
    series = values.astype(object) if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    if not len(series):
        return np.zeros(0, dtype="S1")
    head = series.iloc[:1000]
    if head.nunique() > len(head) // 2:  # identifiers: encode each value
        missing = series.isna().to_numpy()
        return np.array([b"" if m else str(v).encode("utf-8")
                         for v, m in zip(series.tolist(), missing, strict=True)], dtype=bytes)
    # categories and repeated text: encode each distinct value once (codes -1 = missing -> b"")
    codes, uniques = pd.factorize(series)
    table = np.array([str(u).encode("utf-8") for u in uniques] + [b""], dtype=bytes)
    return table[codes]


def _decode_text(raw: np.ndarray) -> np.ndarray:
    """Decode a fixed-width byte array into an object array of str/None."""
    if raw.size == 0:
        return np.empty(0, dtype=object)
    try:
        # numpy decodes ASCII in C; fall back to per-item UTF-8 for the rest
        out = raw.astype("U").astype(object)
    except UnicodeDecodeError:
        out = np.array([b.decode("utf-8") for b in raw], dtype=object)
    out[raw == b""] = None
    return out


def _dataset_kwargs(dtype: np.dtype, chunks: tuple[int, ...]) -> dict[str, Any]:
    kw: dict[str, Any] = dict(chunks=chunks, compression="gzip", compression_opts=_GZIP_LEVEL,
                              fletcher32=True)
    if dtype.kind in "fiu" and dtype.itemsize > 1:
        kw["shuffle"] = True  # byte shuffling lets gzip compress numbers
    return kw


def _append(group: h5py.Group, name: str, values: np.ndarray, attrs: dict[str, Any] | None = None) -> None:
    """Append ``values`` to the 1-D (or row-wise 2-D) dataset ``group[name]``, creating/widening it."""
    values = np.asarray(values)
    if values.dtype.kind in "SO":
        _append_text(group, name, values, attrs)
        return
    if name not in group:
        if values.ndim == 1:
            chunk = _BLOB_CHUNK if values.dtype == np.uint8 else _ROW_CHUNK
            chunks: tuple[int, ...] = (chunk,)
        else:
            row_bytes = int(np.prod(values.shape[1:])) * values.dtype.itemsize
            chunks = (max(1, min(256, _BLOB_CHUNK // max(row_bytes, 1))), *values.shape[1:])
        ds = group.create_dataset(name, shape=(0, *values.shape[1:]), maxshape=(None, *values.shape[1:]),
                                  dtype=values.dtype, **_dataset_kwargs(values.dtype, chunks))
        for key, val in (attrs or {}).items():
            ds.attrs[key] = val
    ds = group[name]
    if len(values) == 0:
        return
    start = ds.shape[0]
    ds.resize((start + len(values), *ds.shape[1:]))
    ds[start:] = values.astype(ds.dtype, copy=False)


def _append_text(group: h5py.Group, name: str, values: np.ndarray, attrs: dict[str, Any] | None) -> None:
    encoded = values if values.dtype.kind == "S" else _encode_text(values)
    width = max(encoded.dtype.itemsize, 1)
    if name in group:
        ds = group[name]
        if width <= ds.dtype.itemsize:
            if len(encoded):
                start = ds.shape[0]
                ds.resize((start + len(encoded),))
                ds[start:] = encoded.astype(ds.dtype)
            return
        # A longer string than the column holds: rewrite the column wider
        # (cheap: we are writing a private copy of the file anyway).
        old = ds[()]
        keep = dict(ds.attrs)
        del group[name]
        encoded = np.concatenate([old.astype(f"S{width}"), encoded.astype(f"S{width}")])
        attrs = {**keep, **(attrs or {})}
    width = 1 << (width - 1).bit_length()  # headroom: powers of two limit rewrites
    dtype = h5py.string_dtype("utf-8", width)
    chunk = max(64, min(_ROW_CHUNK, (64 << 10) // width))
    ds = group.create_dataset(name, data=encoded.astype(dtype), maxshape=(None,),
                              **_dataset_kwargs(np.dtype(f"S{width}"), (chunk,)))
    for key, val in (attrs or {}).items():
        ds.attrs[key] = val


def _table_len(group: h5py.Group) -> int:
    for name in group:
        return int(group[name].shape[0])
    return 0


def _read(group: h5py.Group, name: str, rows: np.ndarray | slice | None = None) -> np.ndarray:
    ds = group[name]
    raw = ds[()] if rows is None else ds[rows]
    if ds.dtype.kind == "S":
        return _decode_text(raw)
    return raw


def _json_dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, default=json_default)


def _fsync_path(path: Path, directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------
# stone columns <-> schema kinds
# ---------------------------------------------------------------------------

def _storage_of(fld: Field) -> str:
    if fld.kind in ("number", "integer"):
        return "float64"
    if fld.kind == "boolean":
        return "int8"
    return "utf8"


def _encode_stone_column(fld: Field, series: pd.Series) -> np.ndarray:
    storage = _storage_of(fld)
    if storage == "float64":
        return pd.to_numeric(series, errors="raise").astype("float64").to_numpy(na_value=np.nan)
    if storage == "int8":
        boolean = series.astype("boolean")
        out = np.full(len(series), -1, dtype=np.int8)
        known = ~boolean.isna().to_numpy()
        out[known] = boolean.to_numpy(dtype=bool, na_value=False)[known].astype(np.int8)
        return out
    return _encode_text(series.tolist())


def _decode_stone_column(fld: Field, raw: np.ndarray) -> pd.Series:
    if fld.kind == "integer":
        return pd.Series(raw, dtype="float64").astype("Int64")
    if fld.kind == "number":
        return pd.Series(raw, dtype="float64")
    if fld.kind == "boolean":
        out = pd.array(raw == 1, dtype="boolean")
        out[raw < 0] = pd.NA
        return pd.Series(out)
    return pd.Series(raw, dtype=object)


def _column_attrs(fld: Field) -> dict[str, Any]:
    missing = {"float64": "NaN", "int8": "-1", "utf8": "empty string"}[_storage_of(fld)]
    return {"field_kind": fld.kind, "unit": fld.unit, "description": fld.description,
            "missing": missing, "group": fld.group}


def _same(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Element-wise equality where two missing values are equal."""
    if old.dtype.kind == "S" or new.dtype.kind == "S":
        return old == new  # byte strings of any widths compare by content
    if old.dtype.kind == "f" or new.dtype.kind == "f":
        old_f, new_f = old.astype("float64"), new.astype("float64")
        return (old_f == new_f) | (np.isnan(old_f) & np.isnan(new_f))
    return old == new


# ---------------------------------------------------------------------------
# the plan of a commit: everything computed before the file is touched
# ---------------------------------------------------------------------------

@dataclass
class _Plan:
    stones: dict[str, np.ndarray] = field(default_factory=dict)
    spectra: list[tuple[Spectrum, np.ndarray | None, list[str]]] = field(default_factory=list)
    derived: pd.DataFrame | None = None
    images: list[ImageRecord] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        n_stones = len(next(iter(self.stones.values()))) if self.stones else 0
        n_derived = 0 if self.derived is None else len(self.derived)
        return n_stones == 0 and not self.spectra and not self.images and n_derived == 0


