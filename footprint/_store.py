"""The HDF5 reference store: one self-describing file, atomic batch commits.

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

Commits
-------
A killed h5py writer can corrupt a file in place, so the live file is never
written. A commit copies the live file to a temporary file in the same
directory, appends the batch there, fsyncs it, and atomically renames it onto
the live path (``os.replace``), then fsyncs the directory. Readers open the
live path and always see a whole committed state; a writer killed at any
moment leaves either the old file or the new one, plus at worst a stale
temporary file that the next writer removes. The copy makes a commit cost
O(size of the store) in bytes copied (sequential I/O, about 1 GB/s); batches
are appended, never rewritten, so reading stays proportional to the data.
One writer at a time holds ``<store>.lock`` (filelock); a second writer waits
up to its timeout, then fails with :class:`StoreLockedError` naming the holder.
"""

from __future__ import annotations

import datetime as _dt
import getpass
import hashlib
import json
import logging
import os
import secrets
import shutil
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from ._batch import DERIVED_FTIR_COLUMNS, Batch, ProcessingReport
from ._schema import FIELDS, SCHEMA_VERSION, Field
from ._types import ImageRecord, Spectrum, sha256_hex
from .exceptions import (
    DuplicateRecordError,
    InputError,
    Problem,
    SchemaError,
    SpectrumError,
    StoreError,
    StoreIntegrityError,
    StoreLockedError,
    StoreVersionError,
)

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "GRIDS",
    "ReferenceStore",
    "grid_for",
]

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
    from ._version import __version__

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
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, default=_json_default)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (bytes, bytearray)):
        return obj.decode("utf-8", "replace")
    if isinstance(obj, (_dt.date, _dt.datetime)):
        return obj.isoformat()
    return str(obj)


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


def _canonical(spectrum: Spectrum) -> Any:
    """Convert to the kind's canonical units (footprint.spectra.to_canonical)."""
    from .spectra import to_canonical

    return to_canonical(spectrum)


def _resample(spectrum: Spectrum, grid: np.ndarray) -> tuple[np.ndarray, list[str]]:
    canon = _canonical(spectrum)
    x = np.asarray(canon.x, dtype=np.float64)
    y = np.asarray(canon.y, dtype=np.float64)
    finite = np.isfinite(x) & np.isfinite(y)
    x, y = x[finite], y[finite]
    if x.size < 2:
        raise SpectrumError("spectrum has fewer than two finite points",
                            [Problem(spectrum.source, None, "x", x.size, "needs >= 2 finite points")])
    order = np.argsort(x, kind="stable")
    values = np.interp(grid, x[order], y[order], left=np.nan, right=np.nan)
    steps = [*list(getattr(canon, "steps", [])), "linear interpolation onto the common grid, NaN outside"]
    return values.astype(np.float32), steps


# ---------------------------------------------------------------------------
# the store
# ---------------------------------------------------------------------------

class ReferenceStore:
    """The reference database: one HDF5 file, read by everyone, written by one.

    Open with :meth:`open` (``mode="r"`` to read, ``"a"`` to commit batches
    under the writer lock) and use as a context manager. Create an empty store
    with :meth:`create`.

    Parameters
    ----------
    path : str or Path
        The store file.
    mode : {"r", "a"}
        Read only, or read + write (takes the writer lock).
    lock_timeout : float
        Seconds to wait for another writer's lock (mode ``"a"``).
    """

    def __init__(self, path: str | os.PathLike[str], mode: str = "r",
                 lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        if mode not in ("r", "a"):
            raise ValueError(f"mode must be 'r' or 'a', not {mode!r}")
        self.path = Path(path)
        self.mode = mode
        self.lock_timeout = lock_timeout
        self._lock: Any = None
        self._file: h5py.File | None = None
        if not self.path.exists():
            raise StoreError(f"{self.path}: no such store (create it with `footprint db init {self.path}`)")
        if mode == "a":
            self._acquire_lock()
            self._remove_stale_temps()
        try:
            self._reopen()
        except BaseException:
            self.close()
            raise

    # -- life cycle ---------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike[str], mode: str = "r", *,
             lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> ReferenceStore:
        """Open a store (see the class docstring); use as a context manager."""
        return cls(path, mode, lock_timeout)

    @classmethod
    def create(cls, path: str | os.PathLike[str], *, by: str = "",
               lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> Path:
        """Create an empty store at ``path`` (atomically); refuse to overwrite one.

        Returns
        -------
        Path
            The path of the new store.
        """
        path = Path(path)
        if path.parent and not path.parent.exists():
            raise StoreError(f"{path}: directory {path.parent} does not exist")
        lock = _writer_lock(path, lock_timeout)
        try:
            if path.exists():
                raise StoreError(f"{path}: already exists; refusing to overwrite a store")
            tmp = _temp_path(path)
            try:
                with h5py.File(tmp, "w", track_order=True) as fh:
                    _write_skeleton(fh)
                    _append_audit(fh, "init", by or _whoami(), synthetic=False, entry={
                        "kind": "init", "rows": {}, "report": {}, "sources": []})
                _fsync_path(tmp)
                os.replace(tmp, path)
                _fsync_path(path.parent if str(path.parent) else Path("."), directory=True)
            finally:
                if tmp.exists():
                    tmp.unlink()
        finally:
            _release_writer_lock(lock, path)
        return path

    def _reopen(self) -> None:
        if self._file is not None:
            self._file.close()
        try:
            self._file = h5py.File(self.path, "r")
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot be opened as HDF5 ({exc})") from None
        _check_versions(self._file, self.path)

    def close(self) -> None:
        """Close the file and release the writer lock."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._lock is not None:
            _release_writer_lock(self._lock, self.path)
            self._lock = None

    def __enter__(self) -> ReferenceStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def _f(self) -> h5py.File:
        if self._file is None:
            raise StoreError(f"{self.path}: store is closed")
        return self._file

    def _acquire_lock(self) -> None:
        self._lock = _writer_lock(self.path, self.lock_timeout)

    def _remove_stale_temps(self) -> None:
        for stale in self.path.parent.glob(f".{self.path.name}{_TMP_MARK}*"):
            logger.info("removing stale temporary file %s left by an interrupted writer", stale)
            stale.unlink(missing_ok=True)

    # -- reading ------------------------------------------------------------

    @property
    def format_version(self) -> int:
        """Layout version of the open file."""
        return int(self._f.attrs["format_version"])

    @property
    def schema_version(self) -> int:
        """Field-registry version the file was written with."""
        return int(self._f.attrs["schema_version"])

    def custom_fields(self) -> list[Field]:
        """Return the custom fields registered in this store, in registration order."""
        ds = self._f["meta/custom_fields"]
        text = ds[0].decode("utf-8") if ds.shape[0] else "[]"
        return [Field.from_dict(d) for d in json.loads(text)]

    def fields(self) -> list[Field]:
        """Return every stone field: schema v1 then the custom ones."""
        return [*FIELDS, *self.custom_fields()]

    def _stone_rows(self) -> int:
        return _table_len(self._f["stones"])

    def _latest_mask(self) -> tuple[np.ndarray, np.ndarray]:
        ids = _read(self._f["stones"], "sample_id") if self._stone_rows() else np.empty(0, dtype=object)
        latest = ~pd.Series(ids).duplicated(keep="last").to_numpy()
        return ids, latest

    def _latest_rows(self) -> np.ndarray | None:
        """Rows of the current versions, in order of each stone's first addition (None: all rows)."""
        ids, latest = self._latest_mask()
        rows = np.flatnonzero(latest)
        if rows.size == latest.size:
            return None
        codes, _ = pd.factorize(ids)
        return rows[np.argsort(codes[rows], kind="stable")]

    def stones(self, *, history: bool = False) -> pd.DataFrame:
        """Return the stone table: the latest version of every record.

        Parameters
        ----------
        history : bool
            Return every version instead, with ``_batch``, ``_version`` and
            ``_reason`` columns.

        Returns
        -------
        DataFrame
            Columns: the schema fields then the custom fields, typed as in a
            :class:`~footprint._batch.Batch` (float64 with NaN, Int64,
            boolean, object str/None).
        """
        group = self._f["stones"]
        fields = self.fields()
        if not self._stone_rows():
            empty: dict[str, Any] = {f.name: _decode_stone_column(f, _empty_storage(f)) for f in fields}
            if history:
                empty.update(_batch=pd.Series(dtype="int64"), _version=pd.Series(dtype="int64"),
                             _reason=pd.Series(dtype=object))
            return pd.DataFrame(empty)
        rows = None if history else self._latest_rows()
        data: dict[str, Any] = {}
        for fld in fields:
            raw = group[fld.name][()]
            if rows is not None:
                raw = raw[rows]
            if raw.dtype.kind == "S":
                raw = _decode_text(raw)
            data[fld.name] = _decode_stone_column(fld, raw)
        if history:
            for name in _STONE_META:
                data[name] = _read(group, name)
        return pd.DataFrame(data, copy=False)

    def sample_ids(self) -> set[str]:
        """Return the set of sample_ids in the store."""
        if not self._stone_rows():
            return set()
        return set(_read(self._f["stones"], "sample_id").tolist())

    def history(self, sample_id: str) -> list[dict[str, Any]]:
        """Return every version of one record, oldest first, with who/when/why.

        Raises
        ------
        InputError
            If the store holds no record ``sample_id``.
        """
        group = self._f["stones"]
        ids = _read(group, "sample_id") if self._stone_rows() else np.empty(0, dtype=object)
        rows = np.flatnonzero(ids == sample_id)
        if rows.size == 0:
            raise InputError(f"no stone '{sample_id}' in {self.path}",
                             [Problem(str(self.path), None, "sample_id", sample_id, "not in the store")])
        audit = {e["seq"]: e for e in self.audit_log()}
        out = []
        for row in rows:
            record = {}
            for fld in self.fields():
                value = _read(group, fld.name, slice(int(row), int(row) + 1))
                value = _decode_stone_column(fld, value).iloc[0]
                record[fld.name] = None if _is_missing(value) else _plain(value)
            batch = int(group["_batch"][row])
            entry = audit.get(batch, {})
            reason = _read(group, "_reason", slice(int(row), int(row) + 1))[0]
            out.append({"version": int(group["_version"][row]), "batch": batch,
                        "when_utc": entry.get("when_utc"), "by": entry.get("by"),
                        "reason": reason, "record": record})
        return out

    def derived_ftir(self) -> pd.DataFrame:
        """Return the derived-FTIR table: one row per FTIR spectrum, :data:`DERIVED_FTIR_COLUMNS`."""
        group = self._f["derived_ftir"]
        n = _table_len(group)
        data = {}
        for col in DERIVED_FTIR_COLUMNS:
            values = _read(group, col) if n and col in group else np.empty(
                0, dtype=object if col in _DERIVED_TEXT else np.float64)
            # text stays object str/None (pandas would otherwise infer its "str" dtype, NaN for None)
            data[col] = pd.Series(values, dtype=object if col in _DERIVED_TEXT else np.float64)
        return pd.DataFrame(data)[list(DERIVED_FTIR_COLUMNS)]

    def _spectra_table(self, columns: Sequence[str] = _SPECTRA_COLS) -> pd.DataFrame:
        group = self._f["spectra"]
        if not _table_len(group):
            return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
        return pd.DataFrame({c: _read(group, c) for c in columns})

    def spectra_matrix(self, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return every spectrum of ``kind`` resampled to the kind's common grid.

        Returns
        -------
        sample_ids : ndarray of shape (n,)
            Stone of each row (a stone may have several spectra).
        grid : ndarray of shape (n_grid,)
            Grid in the kind's canonical unit (:data:`GRIDS`).
        values : ndarray of shape (n, n_grid)
            float64 values; NaN where a spectrum does not cover the grid.
        """
        grid = grid_for(kind)
        if grid is None:
            raise InputError(f"no common grid for spectrum kind '{kind}' (known: {', '.join(GRIDS)})")
        path = f"resampled/{kind}"
        if path not in self._f or self._f[path]["values"].shape[0] == 0:
            return np.empty(0, dtype=object), grid, np.empty((0, grid.size))
        group = self._f[path]
        rows = group["spectrum_row"][()]
        ids = _read(self._f["spectra"], "sample_id")[rows]
        return ids, group["grid"][()], group["values"][()].astype(np.float64)

    def spectra(self, sample_id: str | None = None, kind: str | None = None) -> list[Spectrum]:
        """Return raw spectra (original bytes, parsed axis and values, metadata).

        Parameters
        ----------
        sample_id : str, optional
            Only this stone's spectra.
        kind : str, optional
            Only this kind.
        """
        table = self._spectra_table()
        mask = np.ones(len(table), dtype=bool)
        if sample_id is not None:
            mask &= (table["sample_id"] == sample_id).to_numpy()
        if kind is not None:
            mask &= (table["kind"] == kind).to_numpy()
        data = self._f["spectra_data"]
        out = []
        for _, row in table[mask].iterrows():
            r0, rn = int(row["raw_offset"]), int(row["raw_length"])
            x0, y0, xn = int(row["x_offset"]), int(row["y_offset"]), int(row["n_points"])
            m0, mn = int(row["meta_offset"]), int(row["meta_length"])
            meta = json.loads(data["meta"][m0:m0 + mn].tobytes().decode("utf-8")) if mn else {}
            out.append(Spectrum(
                x=data["x"][x0:x0 + xn], y=data["y"][y0:y0 + xn], x_unit=row["x_unit"] or "",
                y_unit=row["y_unit"] or "", kind=row["kind"], source=row["source"] or "",
                raw=data["raw"][r0:r0 + rn].tobytes(), meta=meta, sample_id=row["sample_id"]))
        return out

    def images(self, sample_id: str | None = None) -> list[ImageRecord]:
        """Return stored photographs (all, or one stone's)."""
        group = self._f["images"]
        if not _table_len(group):
            return []
        table = pd.DataFrame({c: _read(group, c) for c in _IMAGE_COLS})
        if sample_id is not None:
            table = table[table["sample_id"] == sample_id]
        blob = self._f["images_data/bytes"]
        return [ImageRecord(sample_id=r["sample_id"], view=r["view"] or "default",
                            mime_type=r["mime_type"], source=r["source"] or "",
                            data=blob[int(r["offset"]):int(r["offset"]) + int(r["length"])].tobytes(),
                            width=int(r["width"]), height=int(r["height"]))
                for _, r in table.iterrows()]

    def audit_log(self) -> list[dict[str, Any]]:
        """Return the audit log: one entry per batch (and per schema change), oldest first."""
        group = self._f["audit"]
        if not _table_len(group):
            return []
        return [json.loads(text) for text in _read(group, "entry")]

    @property
    def is_synthetic(self) -> bool:
        """True when any batch in the store was synthetic data."""
        group = self._f["audit"]
        return bool(_table_len(group)) and bool((group["synthetic"][()] == 1).any())

    def content_hash(self) -> str:
        """Return a SHA-256 of the logical content (records, spectra, images, fields).

        The hash ignores file layout, compression, batch boundaries and the
        audit log's timestamps: two stores holding the same record versions,
        spectra, derived values, images and custom fields hash the same.
        Model manifests record it to tie a model to the data it learnt from.
        """
        digest = hashlib.sha256()
        digest.update(f"footprint-content/schema{self.schema_version}\n".encode())
        digest.update(_json_dumps([f.to_dict() for f in self.custom_fields()]).encode())
        hist = self.stones(history=True).drop(columns=["_batch"])
        hist = hist.sort_values(["sample_id", "_version"], kind="stable")
        _hash_frame(digest, "stones", hist)
        spectra = self._spectra_table(("sample_id", "kind", "sha256", "x_unit", "y_unit"))
        _hash_frame(digest, "spectra", spectra.sort_values(["sample_id", "kind", "sha256"], kind="stable"))
        derived = self.derived_ftir().sort_values(["sample_id", "spectrum_sha256"], kind="stable")
        _hash_frame(digest, "derived_ftir", derived)
        if _table_len(self._f["images"]):
            group = self._f["images"]
            imgs = pd.DataFrame({c: _read(group, c) for c in ("sample_id", "view", "mime_type", "sha256")})
            _hash_frame(digest, "images", imgs.sort_values(["sample_id", "view", "sha256"], kind="stable"))
        return digest.hexdigest()

    def info(self) -> dict[str, Any]:
        """Return a summary: counts per zone/site/lot, coverage per field, spectra and images per kind."""
        stones = self.stones()
        n = len(stones)
        coverage = {}
        for fld in self.fields():
            if fld.name == "sample_id":
                continue
            measured = int(stones[fld.name].notna().sum()) if n else 0
            coverage[fld.name] = {"measured": measured, "fraction": (measured / n) if n else 0.0,
                                  "unit": fld.unit, "custom": fld.group == "custom"}
        spectra = self._spectra_table(("sample_id", "kind"))
        images_n = _table_len(self._f["images"])
        image_views = ({str(k): int(v) for k, v in
                        pd.Series(_read(self._f["images"], "view")).value_counts().items()}
                       if images_n else {})
        audit = self.audit_log()
        return {
            "path": str(self.path),
            "format": FORMAT_NAME,
            "format_version": self.format_version,
            "schema_version": self.schema_version,
            "synthetic": self.is_synthetic,
            "content_hash": self.content_hash(),
            "stones": n,
            "record_versions": self._stone_rows(),
            "zones": _counts(stones, "zone"),
            "sites": _counts(stones, "site"),
            "lots": _counts(stones, "lot_id"),
            "coverage": coverage,
            "spectra": {str(k): int(v) for k, v in spectra["kind"].value_counts().items()},
            "stones_with_spectra": int(spectra["sample_id"].nunique()) if len(spectra) else 0,
            "derived_ftir_rows": _table_len(self._f["derived_ftir"]),
            "images": images_n,
            "image_views": image_views,
            "custom_fields": [f.name for f in self.custom_fields()],
            "batches": sum(1 for e in audit if e.get("kind") == "batch"),
            "last_change_utc": audit[-1]["when_utc"] if audit else None,
            "created_utc": str(self._f.attrs.get("created_utc", "")),
        }

    # -- verification -------------------------------------------------------

    def verify(self) -> dict[str, Any]:
        """Check checksums, schema, references between tables and the audit log.

        Returns
        -------
        dict
            ``{"ok": True, "checked": {...}}`` with what was checked.

        Raises
        ------
        StoreIntegrityError
            Listing every problem found (its ``problems`` attribute holds them).
        """
        problems: list[str] = []
        checked: dict[str, int] = {}
        f = self._f
        _verify_datasets(f, problems, checked)
        if problems:  # unreadable data: the checks below would only repeat it
            raise _integrity_error(self.path, problems)
        try:
            self._verify_stones(problems, checked)
            ids = self.sample_ids()
            self._verify_spectra(ids, problems, checked)
            self._verify_images(ids, problems, checked)
            self._verify_derived(problems, checked)
            self._verify_audit(problems, checked)
        except (KeyError, ValueError, IndexError, json.JSONDecodeError) as exc:
            problems.append(f"structure: {type(exc).__name__}: {exc}")
        if problems:
            raise _integrity_error(self.path, problems)
        return {"ok": True, "path": str(self.path), "checked": checked}

    def _verify_stones(self, problems: list[str], checked: dict[str, int]) -> None:
        group = self._f["stones"]
        n = self._stone_rows()
        checked["stone_versions"] = n
        fields = self.fields()
        for name in [f.name for f in fields] + list(_STONE_META):
            if name not in group:
                problems.append(f"stones: column '{name}' missing")
            elif group[name].shape[0] != n:
                problems.append(f"stones: column '{name}' has {group[name].shape[0]} rows, expected {n}")
        if problems or not n:
            return
        hist = self.stones(history=True)
        if (hist["sample_id"].isna()).any():
            problems.append("stones: a record has an empty sample_id")
        for fld in fields:
            col = hist[fld.name]
            if fld.kind == "category":
                bad = set(col.dropna().unique()) - set(fld.vocabulary)
                if bad:
                    problems.append(f"stones: field '{fld.name}' holds words outside its vocabulary: "
                                    f"{sorted(bad)[:5]}")
            elif fld.kind in ("number", "integer"):
                for value in col.dropna().unique():
                    rule = fld.check(float(value))
                    if rule:
                        problems.append(f"stones: field '{fld.name}' value {value!r}: {rule}")
                        break
        versions = hist.groupby("sample_id", sort=False)["_version"].agg(list)
        for sid, seq in versions.items():
            if list(seq) != list(range(1, len(seq) + 1)):
                problems.append(f"stones: '{sid}' has versions {list(seq)}, expected 1..{len(seq)}")
        no_reason = hist[(hist["_version"] > 1) & hist["_reason"].isna()]
        for sid in no_reason["sample_id"].head(10):
            problems.append(f"stones: '{sid}' has a replaced version without a reason")

    def _verify_spectra(self, ids: set[str], problems: list[str], checked: dict[str, int]) -> None:
        table = self._spectra_table()
        checked["spectra"] = len(table)
        if not len(table):
            return
        data = self._f["spectra_data"]
        raw = data["raw"][()]
        n_x, n_y = data["x"].shape[0], data["y"].shape[0]
        for row in table.itertuples(index=False):
            where = f"spectrum of '{row.sample_id}' ({row.source})"
            if row.sample_id not in ids:
                problems.append(f"{where}: points to a stone that does not exist")
            r0, rn = int(row.raw_offset), int(row.raw_length)
            if r0 < 0 or r0 + rn > raw.size:
                problems.append(f"{where}: raw bytes out of range")
            elif sha256_hex(raw[r0:r0 + rn].tobytes()) != row.sha256:
                problems.append(f"{where}: raw bytes do not match their sha256 {row.sha256}")
            if int(row.x_offset) + int(row.n_points) > n_x or int(row.y_offset) + int(row.n_points) > n_y:
                problems.append(f"{where}: parsed values out of range")
        for kind in self._f["resampled"]:
            group = self._f["resampled"][kind]
            rows = group["spectrum_row"][()]
            if rows.size and (rows.min() < 0 or rows.max() >= len(table)):
                problems.append(f"resampled/{kind}: points to a spectrum that does not exist")
            elif rows.size and not (table["kind"].to_numpy()[rows] == kind).all():
                problems.append(f"resampled/{kind}: a row comes from a spectrum of another kind")
            if group["values"].shape[0] != rows.size:
                problems.append(f"resampled/{kind}: values and spectrum_row differ in length")
            grid = grid_for(kind)
            if grid is not None and not np.array_equal(group["grid"][()], grid):
                problems.append(f"resampled/{kind}: grid differs from the documented grid")

    def _verify_images(self, ids: set[str], problems: list[str], checked: dict[str, int]) -> None:
        group = self._f["images"]
        n = _table_len(group)
        checked["images"] = n
        if not n:
            return
        blob = self._f["images_data/bytes"][()]
        for row in pd.DataFrame({c: _read(group, c) for c in _IMAGE_COLS}).itertuples(index=False):
            where = f"image of '{row.sample_id}' ({row.source})"
            if row.sample_id not in ids:
                problems.append(f"{where}: points to a stone that does not exist")
            o, n_bytes = int(row.offset), int(row.length)
            if o < 0 or o + n_bytes > blob.size:
                problems.append(f"{where}: bytes out of range")
            elif sha256_hex(blob[o:o + n_bytes].tobytes()) != row.sha256:
                problems.append(f"{where}: bytes do not match their sha256 {row.sha256}")

    def _verify_derived(self, problems: list[str], checked: dict[str, int]) -> None:
        derived = self.derived_ftir()
        checked["derived_ftir"] = len(derived)
        if not len(derived):
            return
        spectra = self._spectra_table(("sample_id", "sha256"))
        known = set(zip(spectra["sample_id"], spectra["sha256"], strict=True))
        for sid, sha in zip(derived["sample_id"], derived["spectrum_sha256"], strict=True):
            if (sid, sha) not in known:
                problems.append(f"derived_ftir: row for '{sid}' points to no stored spectrum ({sha})")

    def _verify_audit(self, problems: list[str], checked: dict[str, int]) -> None:
        entries = self.audit_log()
        checked["audit_entries"] = len(entries)
        seqs = [e.get("seq") for e in entries]
        if seqs != list(range(len(entries))):
            problems.append(f"audit: sequence numbers are {seqs[:10]}..., expected 0, 1, 2, ...")
        tables = {"stones": self._f["stones"], "spectra": self._f["spectra"],
                  "images": self._f["images"], "derived_ftir": self._f["derived_ftir"]}
        for name, group in tables.items():
            batches = group["_batch"][()] if _table_len(group) else np.empty(0, dtype=np.int64)
            actual = pd.Series(batches).value_counts().to_dict()
            for entry in entries:
                claimed = int(entry.get("rows", {}).get(name, 0))
                got = int(actual.pop(entry["seq"], 0))
                if claimed != got:
                    problems.append(f"audit: batch {entry['seq']} claims {claimed} {name} rows, "
                                    f"the table holds {got}")
            for seq, count in actual.items():
                problems.append(f"audit: {count} {name} rows come from batch {seq}, which has no entry")

    # -- writing ------------------------------------------------------------

    def _require_writer(self) -> None:
        if self.mode != "a" or self._lock is None:
            raise StoreError(f"{self.path}: opened read-only; open with mode='a' to write")

    def commit(self, batch: Batch) -> ProcessingReport:
        """Land a batch whole or not at all; fill in and return its processing report.

        Identical records already in the store are counted as unchanged; a
        batch that changes nothing leaves the file untouched. A record that
        differs from the stored one needs ``batch.replace`` and a reason.

        Raises
        ------
        InputError
            Unknown columns, duplicate ids, spectra or images of unknown stones.
        DuplicateRecordError
            A different record under an existing sample_id without replace.
        """
        self._require_writer()
        plan = self._plan(batch)
        report = batch.report
        report.added = plan.counts["stones_added"]
        report.replaced = plan.counts["stones_replaced"]
        report.unchanged = plan.counts["stones_unchanged"]
        if plan.empty:
            report.count("store_no_change")
            logger.info("nothing new in this batch: the store is unchanged")
            return report
        entry = {
            "kind": "batch", "tool_version": _tool_version(), "replace": bool(batch.replace),
            "reason": batch.reason, "synthetic": bool(batch.synthetic),
            "sources": [{"path": s.path, "sha256": s.sha256, "role": s.role, "size_bytes": s.size_bytes}
                        for s in batch.sources],
            "counts": dict(plan.counts), "report": report.to_dict(),
        }
        self._transaction(lambda fh: _write_plan(fh, plan, batch.by or _whoami(),
                                                 bool(batch.synthetic), entry))
        return report

    def add_field(self, fld: Field, *, by: str = "") -> Field:
        """Register a custom numeric field (a schema change, logged in the audit).

        Raises
        ------
        SchemaError
            If the name clashes with an existing field or is not a valid identifier.
        """
        self._require_writer()
        existing = {f.name for f in self.fields()}
        if not fld.name.isidentifier() or fld.name != fld.name.lower() or fld.name.startswith("_"):
            raise SchemaError("invalid field name", [Problem(None, None, "name", fld.name,
                                                             "use lower_case letters, digits and _")])
        if fld.name in existing:
            raise SchemaError("field already exists", [Problem(None, None, "name", fld.name,
                                                               "a field of that name is registered")])
        if fld.kind != "number":
            raise SchemaError("custom fields are numeric", [Problem(None, None, "kind", fld.kind,
                                                                    "custom fields must be 'number'")])
        new_fields = [*self.custom_fields(), fld]

        def change(fh: h5py.File) -> None:
            _set_json(fh["meta"], "custom_fields", [f.to_dict() for f in new_fields])
            n = _table_len(fh["stones"])
            _append(fh["stones"], fld.name, np.full(n, np.nan), _column_attrs(fld))
            _append_audit(fh, "add_field", by or _whoami(), synthetic=False,
                          entry={"kind": "add_field", "field": fld.to_dict(), "rows": {},
                                 "tool_version": _tool_version()})

        self._transaction(change)
        return fld

    def _transaction(self, change: Callable[[h5py.File], None]) -> None:
        """Apply ``change`` to a private copy, then swap it in atomically."""
        tmp = _temp_path(self.path)
        try:
            shutil.copyfile(self.path, tmp)
            with h5py.File(tmp, "r+") as fh:
                change(fh)
            _fsync_path(tmp)
            os.replace(tmp, self.path)
            _fsync_path(self.path.parent, directory=True)
        finally:
            if tmp.exists():
                tmp.unlink()
        self._reopen()

    def _plan(self, batch: Batch) -> _Plan:
        if batch.replace and not (batch.reason and batch.reason.strip()):
            raise InputError("--replace needs --reason", [Problem(None, None, "reason", batch.reason,
                                                                  "say why the records are replaced")])
        plan = _Plan()
        stones_file = next((s.path for s in batch.sources if s.role == "stones"), None)
        batch_ids = self._plan_stones(batch, plan, stones_file)
        known = self.sample_ids() | batch_ids
        self._plan_spectra(batch, plan, known)
        self._plan_derived(batch, plan)
        self._plan_images(batch, plan, known)
        return plan

    def _plan_stones(self, batch: Batch, plan: _Plan, file: str | None) -> set[str]:
        stones = batch.stones if batch.stones is not None else pd.DataFrame({"sample_id": []})
        fields = {f.name: f for f in self.fields()}
        problems = [Problem(file, None, col, None, "not a schema field nor a registered custom field "
                            "(register it with `footprint db fields --add`)")
                    for col in stones.columns if col not in fields]
        if "sample_id" not in stones.columns:
            problems.append(Problem(file, None, "sample_id", None, "column is required"))
        if problems:
            raise SchemaError("the batch has columns the store does not know", problems)
        ids = stones["sample_id"]
        empty = ids.isna().to_numpy() | (ids.astype(str).str.strip() == "").to_numpy()
        bad = [Problem(file, int(i) + 1, "sample_id", ids.iloc[i], "required, must not be empty")
               for i in np.flatnonzero(empty)]
        dup = ids[ids.duplicated(keep=False) & ids.notna()]
        bad += [Problem(file, int(i) + 1, "sample_id", v, "appears more than once in the batch")
                for i, v in zip(np.flatnonzero(ids.duplicated(keep=False) & ids.notna()), dup, strict=True)]
        if bad:
            raise InputError("the batch's sample_ids are not usable", bad)
        stones = stones.reset_index(drop=True)
        _check_values(stones, fields, file)
        encoded = {name: (_encode_stone_column(fld, stones[name]) if name in stones.columns
                          else _empty_storage(fld, len(stones)))
                   for name, fld in fields.items()}
        new_ids = stones["sample_id"].astype(str).to_numpy(dtype=object)
        status = np.zeros(len(stones), dtype=np.int8)  # 0 new, 1 unchanged, 2 changed
        version = np.ones(len(stones), dtype=np.int64)
        if self._stone_rows() and len(stones):
            self._compare(new_ids, encoded, fields, status, version)
        changed = np.flatnonzero(status == 2)
        if changed.size and not batch.replace:
            raise DuplicateRecordError(
                "records differ from the stored ones under the same sample_id", [
                    Problem(file, int(i) + 1, "sample_id", new_ids[i],
                            "a different record already exists; use --replace --reason TEXT "
                            "to store a corrected version") for i in changed])
        keep = status != 1
        plan.stones = {name: arr[keep] for name, arr in encoded.items()}
        plan.stones["_version"] = version[keep]
        reason = batch.reason if batch.replace else None
        plan.stones["_reason"] = _encode_text([reason if s == 2 else None for s in status[keep]])
        plan.counts.update(stones_added=int((status == 0).sum()), stones_unchanged=int((status == 1).sum()),
                           stones_replaced=int(changed.size))
        return set(new_ids.tolist())

    def _compare(self, new_ids: np.ndarray, encoded: dict[str, np.ndarray], fields: dict[str, Field],
                 status: np.ndarray, version: np.ndarray) -> None:
        """Mark rows of the batch unchanged (1) or changed (2) against the latest stored versions."""
        group = self._f["stones"]
        ids, latest = self._latest_mask()
        rows = np.flatnonzero(latest)
        index = pd.Index(ids[rows])
        pos = index.get_indexer(new_ids)
        present = np.flatnonzero(pos >= 0)
        if not present.size:
            return
        stored_rows = rows[pos[present]]
        same = np.ones(present.size, dtype=bool)
        for name in fields:
            stored = group[name][()][stored_rows]
            same &= _same(stored, encoded[name][present])
        status[present] = np.where(same, 1, 2)
        version[present] = group["_version"][()][stored_rows] + 1

    def _plan_spectra(self, batch: Batch, plan: _Plan, known: set[str]) -> None:
        stored = self._spectra_table(("sample_id", "sha256"))
        existing = set(zip(stored["sample_id"], stored["sha256"], strict=True))
        problems: list[Problem] = []
        seen: set[tuple[str, str]] = set()
        added = unchanged = 0
        grid_cache = {kind: grid_for(kind) for kind in GRIDS}
        for spec in batch.spectra:
            if spec.sample_id is None or spec.sample_id not in known:
                problems.append(Problem(spec.source, None, "sample_id", spec.sample_id,
                                        "spectrum of a stone that is neither in the batch nor the store"))
                continue
            if not spec.kind:
                problems.append(Problem(spec.source, None, "kind", spec.kind, "spectrum kind is not set"))
                continue
            key = (spec.sample_id, spec.sha256)
            if key in existing or key in seen:
                unchanged += 1
                continue
            seen.add(key)
            grid = grid_cache.get(spec.kind)
            values: np.ndarray | None = None
            steps: list[str] = []
            if grid is not None:
                try:
                    values, steps = _resample(spec, grid)
                except SpectrumError as exc:
                    problems += exc.problems or [Problem(spec.source, None, "x_unit", spec.x_unit, str(exc))]
                    continue
            else:
                batch.report.warnings.append(
                    f"{spec.source}: no common grid for kind '{spec.kind}'; kept raw only")
            plan.spectra.append((spec, values, steps))
            added += 1
        if problems:
            raise SpectrumError("spectra cannot be stored", problems)
        plan.counts.update(spectra_added=added, spectra_unchanged=unchanged)

    def _plan_derived(self, batch: Batch, plan: _Plan) -> None:
        derived = batch.derived_ftir
        plan.counts["derived_added"] = 0
        if derived is None or not len(derived):
            return
        missing = [c for c in DERIVED_FTIR_COLUMNS if c not in derived.columns]
        if missing:
            raise InputError(f"derived FTIR table lacks columns {missing}")
        # rows for spectra landing now, and for stored spectra that have no derived row yet
        # (added earlier without derivation); never a second row for the same spectrum
        targets = {(s.sample_id, s.sha256) for s, _, _ in plan.spectra}
        stored = self._spectra_table(("sample_id", "sha256"))
        targets |= set(zip(stored["sample_id"], stored["sha256"], strict=True))
        have = self.derived_ftir()
        targets -= set(zip(have["sample_id"], have["spectrum_sha256"], strict=True))
        keys = list(zip(derived["sample_id"], derived["spectrum_sha256"], strict=True))
        rows = np.array([key in targets for key in keys], dtype=bool)
        rows &= ~pd.Series(keys, dtype=object).duplicated().to_numpy()
        plan.derived = derived.loc[rows, list(DERIVED_FTIR_COLUMNS)].reset_index(drop=True)
        plan.counts["derived_added"] = len(plan.derived)
        self._warn_discrepancies(batch, plan.derived)

    def _warn_discrepancies(self, batch: Batch, derived: pd.DataFrame) -> None:
        """Warn where derived FTIR values disagree with the lab's own figures (both are kept)."""
        ids = derived["sample_id"].astype(str)
        columns = list(_DISCREPANCY_ABS)
        frames = []
        if batch.stones is not None and len(batch.stones):
            frames.append(batch.stones.set_index("sample_id").reindex(columns=columns))
        in_batch = set(frames[0].index) if frames else set()
        if self._stone_rows() and not set(ids) <= in_batch:
            stored = self.stones().set_index("sample_id").reindex(columns=columns)
            frames.append(stored[~stored.index.isin(in_batch)])
        if not frames:
            return
        lab = pd.concat(frames)
        messages = []
        for col, tol in _DISCREPANCY_ABS.items():
            lab_v = pd.to_numeric(lab[col].reindex(ids)).to_numpy(dtype=np.float64, na_value=np.nan)
            ftir_v = pd.to_numeric(derived[col]).to_numpy(dtype=np.float64, na_value=np.nan)
            with np.errstate(invalid="ignore"):
                bad = np.abs(lab_v - ftir_v) > np.maximum(tol, _DISCREPANCY_REL * np.abs(lab_v))
            messages += [(i, f"{ids.iloc[i]}: {col} from the lab is {lab_v[i]:g}, the FTIR derivation "
                             f"gives {ftir_v[i]:g}; both kept, please check") for i in np.flatnonzero(bad)]
        messages.sort(key=lambda m: m[0])
        batch.report.warnings += [m for _, m in messages[:50]]
        if len(messages) > 50:
            batch.report.warnings.append(f"... and {len(messages) - 50} more lab/FTIR discrepancies")

    def _plan_images(self, batch: Batch, plan: _Plan, known: set[str]) -> None:
        existing: set[tuple[str, str, str]] = set()
        group = self._f["images"]
        if _table_len(group):
            existing = set(zip(_read(group, "sample_id"), _read(group, "view"), _read(group, "sha256"),
                               strict=True))
        problems = []
        unchanged = 0
        for img in batch.images:
            if img.sample_id not in known:
                problems.append(Problem(img.source, None, "sample_id", img.sample_id,
                                        "image of a stone that is neither in the batch nor the store"))
                continue
            key = (img.sample_id, img.view, img.sha256)
            if key in existing:
                unchanged += 1
                continue
            existing.add(key)
            plan.images.append(img)
        if problems:
            raise InputError("images cannot be stored", problems)
        plan.counts.update(images_added=len(plan.images), images_unchanged=unchanged)


# ---------------------------------------------------------------------------
# helpers of the writer
# ---------------------------------------------------------------------------

def _whoami() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid{os.getuid()}"


def _temp_path(path: Path) -> Path:
    return path.parent / f".{path.name}{_TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}"


def _writer_lock(path: Path, timeout: float) -> Any:
    from filelock import FileLock, Timeout

    lock = FileLock(f"{path}.lock", timeout=timeout)
    owner = Path(f"{path}.lock.owner")
    try:
        lock.acquire()
    except Timeout:
        holder = owner.read_text(encoding="utf-8").strip() if owner.exists() else "unknown"
        raise StoreLockedError(
            f"{path}: another writer has held the lock for more than {timeout:g} s "
            f"(holder: {holder}); try again later or raise the lock timeout") from None
    owner.write_text(f"pid {os.getpid()} on {socket.gethostname()} by {_whoami()} since {_utc_now()}\n",
                     encoding="utf-8")
    return lock


def _release_writer_lock(lock: Any, path: Path) -> None:
    # The owner note goes first, while we still hold the lock, so it never names a past writer.
    Path(f"{path}.lock.owner").unlink(missing_ok=True)
    lock.release()


def _write_skeleton(fh: h5py.File) -> None:
    fh.attrs["format"] = FORMAT_NAME
    fh.attrs["format_version"] = FORMAT_VERSION
    fh.attrs["schema_version"] = SCHEMA_VERSION
    fh.attrs["created_utc"] = _utc_now()
    fh.attrs["tool_version"] = _tool_version()
    fh.attrs["description"] = ("footprint rough-diamond reference store; layout documented in "
                               "footprint/_store.py (format_version 1)")
    for name in ("stones", "spectra", "spectra_data", "resampled", "derived_ftir", "images",
                 "images_data", "meta", "audit"):
        fh.create_group(name, track_order=True)
    _set_json(fh["meta"], "custom_fields", [])
    stones = fh["stones"]
    for fld in FIELDS:
        _append(stones, fld.name, _empty_storage(fld), _column_attrs(fld))
    _append(stones, "_batch", np.zeros(0, dtype=np.int64), {"description": "audit seq of the batch"})
    _append(stones, "_version", np.zeros(0, dtype=np.int64), {"description": "record version, from 1"})
    _append(stones, "_reason", np.zeros(0, dtype="S1"), {"description": "why this version replaced "
                                                                       "the previous one"})


def _empty_storage(fld: Field, n: int = 0) -> np.ndarray:
    storage = _storage_of(fld)
    if storage == "float64":
        return np.full(n, np.nan)
    if storage == "int8":
        return np.full(n, -1, dtype=np.int8)
    return np.zeros(n, dtype="S1")


def _set_json(group: h5py.Group, name: str, obj: Any) -> None:
    if name in group:
        del group[name]
    text = _json_dumps(obj).encode("utf-8")
    _append_text(group, name, np.array([text], dtype=bytes), {"content_type": "application/json"})


def _append_audit(fh: h5py.File, kind: str, by: str, *, synthetic: bool, entry: dict[str, Any]) -> int:
    group = fh["audit"]
    seq = _table_len(group)
    when = _utc_now()
    entry = {**entry, "seq": seq, "kind": kind, "by": by, "when_utc": when, "synthetic": synthetic,
             "tool_version": _tool_version()}
    columns = {"seq": np.array([seq], dtype=np.int64), "kind": _encode_text([kind]),
               "when_utc": _encode_text([when]), "by": _encode_text([by]),
               "synthetic": np.array([1 if synthetic else 0], dtype=np.int8),
               "entry": _encode_text([_json_dumps(entry)])}
    for name in _AUDIT_COLS:
        _append(group, name, columns[name])
    return seq


def _write_plan(fh: h5py.File, plan: _Plan, by: str, synthetic: bool, entry: dict[str, Any]) -> None:
    seq = _table_len(fh["audit"])
    rows: dict[str, int] = {}
    # stones
    n_st = len(plan.stones["sample_id"])
    if n_st:
        stones = fh["stones"]
        fields = {f.name: f for f in (*FIELDS, *_custom_from_file(fh))}
        for name, values in plan.stones.items():
            attrs = _column_attrs(fields[name]) if name in fields else None
            _append(stones, name, values, attrs)
        _append(stones, "_batch", np.full(n_st, seq, dtype=np.int64))
    rows["stones"] = n_st
    rows["spectra"] = _write_spectra(fh, plan.spectra, seq)
    rows["derived_ftir"] = _write_derived(fh, plan.derived, seq)
    rows["images"] = _write_images(fh, plan.images, seq)
    _append_audit(fh, "batch", by, synthetic=synthetic, entry={**entry, "rows": rows})


def _custom_from_file(fh: h5py.File) -> list[Field]:
    ds = fh["meta/custom_fields"]
    return [Field.from_dict(d) for d in json.loads(ds[0].decode("utf-8"))] if ds.shape[0] else []


def _write_spectra(fh: h5py.File, items: list[tuple[Spectrum, np.ndarray | None, list[str]]],
                   seq: int) -> int:
    if not items:
        return 0
    data, table = fh["spectra_data"], fh["spectra"]
    raw_start = data["raw"].shape[0] if "raw" in data else 0
    x_start = data["x"].shape[0] if "x" in data else 0
    y_start = data["y"].shape[0] if "y" in data else 0
    meta_start = data["meta"].shape[0] if "meta" in data else 0
    row_start = _table_len(table)
    raws = [bytes(s.raw) for s, _, _ in items]
    metas = [_json_dumps(s.meta).encode("utf-8") for s, _, _ in items]
    lens = np.array([len(r) for r in raws], dtype=np.int64)
    mlens = np.array([len(m) for m in metas], dtype=np.int64)
    npts = np.array([np.asarray(s.x).size for s, _, _ in items], dtype=np.int64)
    _append(data, "raw", np.frombuffer(b"".join(raws), dtype=np.uint8), {"content": "original file bytes"})
    _append(data, "meta", np.frombuffer(b"".join(metas), dtype=np.uint8),
            {"content_type": "application/json; charset=utf-8"})
    axes, x_offsets = _distinct_axes([np.asarray(s.x, dtype=np.float64) for s, _, _ in items])
    _append(data, "x", axes, {"content": "parsed axes as read, each distinct axis once (spectra "
                                         "measured on the same axis share it); unit in /spectra/x_unit"})
    _append(data, "y", np.concatenate([np.asarray(s.y, dtype=np.float64) for s, _, _ in items]),
            {"content": "parsed values as read; unit in /spectra/y_unit"})
    cols: dict[str, np.ndarray] = {
        "sample_id": _encode_text([s.sample_id for s, _, _ in items]),
        "kind": _encode_text([s.kind for s, _, _ in items]),
        "source": _encode_text([s.source for s, _, _ in items]),
        "x_unit": _encode_text([s.x_unit for s, _, _ in items]),
        "y_unit": _encode_text([s.y_unit for s, _, _ in items]),
        "sha256": _encode_text([sha256_hex(r) for r in raws]),
        "raw_offset": raw_start + np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64),
        "raw_length": lens,
        "x_offset": x_start + x_offsets,
        "y_offset": y_start + np.concatenate([[0], np.cumsum(npts)[:-1]]).astype(np.int64),
        "n_points": npts,
        "meta_offset": meta_start + np.concatenate([[0], np.cumsum(mlens)[:-1]]).astype(np.int64),
        "meta_length": mlens,
        "canonical_steps": _encode_text([_json_dumps(steps) for _, _, steps in items]),
        "_batch": np.full(len(items), seq, dtype=np.int64),
    }
    for name in _SPECTRA_COLS:
        _append(table, name, cols[name])
    by_kind: dict[str, list[int]] = {}
    rows: dict[str, list[np.ndarray]] = {}
    for i, (spec, values, _) in enumerate(items):
        if values is not None:
            by_kind.setdefault(str(spec.kind), []).append(i)
            rows.setdefault(str(spec.kind), []).append(values)
    for kind, idx in by_kind.items():
        group = fh["resampled"].require_group(kind)
        grid = grid_for(kind)
        assert grid is not None  # only kinds with a grid were resampled
        if "grid" not in group:
            _append(group, "grid", grid, {"unit": GRIDS[kind][3]})
        _append(group, "values", np.stack(rows[kind]).astype(np.float32),
                {"unit": "canonical y unit of the kind (see spectra.to_canonical)", "missing": "NaN"})
        _append(group, "spectrum_row", row_start + np.asarray(idx, dtype=np.int64))
    return len(items)


def _distinct_axes(axes: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate the distinct axes once each; return them and each spectrum's offset."""
    seen: dict[bytes, int] = {}
    parts: list[np.ndarray] = []
    offsets = np.empty(len(axes), dtype=np.int64)
    size = 0
    for i, x in enumerate(axes):
        key = hashlib.sha1(x.tobytes(), usedforsecurity=False).digest() + x.size.to_bytes(8, "little")
        if key not in seen:
            seen[key] = size
            parts.append(x)
            size += x.size
        offsets[i] = seen[key]
    return (np.concatenate(parts) if parts else np.zeros(0)), offsets


def _write_derived(fh: h5py.File, derived: pd.DataFrame | None, seq: int) -> int:
    if derived is None or not len(derived):
        return 0
    group = fh["derived_ftir"]
    for col in DERIVED_FTIR_COLUMNS:
        if col in _DERIVED_TEXT:
            _append(group, col, _encode_text(derived[col].tolist()))
        else:
            _append(group, col, pd.to_numeric(derived[col]).astype("float64").to_numpy(na_value=np.nan))
    _append(group, "_batch", np.full(len(derived), seq, dtype=np.int64))
    return len(derived)


def _write_images(fh: h5py.File, images: list[ImageRecord], seq: int) -> int:
    if not images:
        return 0
    blob = fh["images_data"]
    start = blob["bytes"].shape[0] if "bytes" in blob else 0
    lens = np.array([len(i.data) for i in images], dtype=np.int64)
    _append(blob, "bytes", np.frombuffer(b"".join(bytes(i.data) for i in images), dtype=np.uint8))
    cols = {
        "sample_id": _encode_text([i.sample_id for i in images]),
        "view": _encode_text([i.view for i in images]),
        "mime_type": _encode_text([i.mime_type for i in images]),
        "sha256": _encode_text([i.sha256 for i in images]),
        "source": _encode_text([i.source for i in images]),
        "width": np.array([i.width for i in images], dtype=np.int64),
        "height": np.array([i.height for i in images], dtype=np.int64),
        "offset": start + np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64),
        "length": lens,
        "_batch": np.full(len(images), seq, dtype=np.int64),
    }
    for name in _IMAGE_COLS:
        _append(fh["images"], name, cols[name])
    return len(images)


# ---------------------------------------------------------------------------
# helpers of the reader
# ---------------------------------------------------------------------------

def _check_versions(fh: h5py.File, path: Path) -> None:
    fmt = fh.attrs.get("format")
    if isinstance(fmt, bytes):
        fmt = fmt.decode()
    if fmt != FORMAT_NAME:
        raise StoreVersionError(f"{path}: not a footprint reference store (format attribute {fmt!r})")
    try:
        version = int(fh.attrs["format_version"])
        schema = int(fh.attrs["schema_version"])
    except (KeyError, TypeError, ValueError):
        raise StoreVersionError(f"{path}: format or schema version missing or unreadable") from None
    if version not in _READABLE_FORMATS:
        newer = version > max(_READABLE_FORMATS)
        raise StoreVersionError(
            f"{path}: store format version {version} is "
            f"{'newer than' if newer else 'unknown to'} this footprint "
            f"(reads {', '.join(map(str, sorted(_READABLE_FORMATS)))}); "
            + ("upgrade footprint to open it" if newer else "it cannot be read"))
    if schema > SCHEMA_VERSION or schema < 1:
        raise StoreVersionError(
            f"{path}: schema version {schema} is {'newer than' if schema > SCHEMA_VERSION else 'unknown to'}"
            f" this footprint (schema v{SCHEMA_VERSION}); upgrade footprint to open it")


def _check_values(stones: pd.DataFrame, fields: dict[str, Field], file: str | None) -> None:
    """Re-check every value against its field (ingest did; a hand-built batch may not have)."""
    problems: list[Problem] = []
    for name in stones.columns:
        fld = fields[name]
        col = stones[name]
        if fld.kind in ("number", "integer"):
            numeric = pd.to_numeric(col, errors="coerce")
            bad_type = numeric.isna() & col.notna()
            problems += [Problem(file, int(i) + 1, name, col.iloc[i], "must be a number")
                         for i in np.flatnonzero(bad_type.to_numpy())[:50]]
            values = numeric.astype("float64").to_numpy(na_value=np.nan)
        elif fld.kind == "category":
            values = col.to_numpy(dtype=object)
        else:
            continue
        for value in pd.unique(values[~pd.isna(values)]) if len(values) else []:
            rule = fld.check(float(value) if fld.kind != "category" else value)
            if rule:
                rows = np.flatnonzero(values == value)[:10]
                problems += [Problem(file, int(i) + 1, name, value, rule) for i in rows]
    if problems:
        raise SchemaError("the batch has values the schema does not allow", problems)


def _verify_datasets(fh: h5py.File, problems: list[str], checked: dict[str, int]) -> None:
    """Read every dataset fully, so that fletcher32 checks every chunk."""
    names: list[str] = []
    fh.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
    for name in names:
        ds = fh[name]
        try:
            if ds.nbytes < (64 << 20) or ds.chunks is None:
                ds[()]
            else:  # big datasets chunk by chunk, to bound memory
                for sel in ds.iter_chunks():
                    ds[sel]
        except (OSError, RuntimeError) as exc:
            problems.append(f"{name}: checksum or read failure ({str(exc).splitlines()[0]})")
    checked["datasets"] = len(names)


def _integrity_error(path: Path, problems: list[str]) -> StoreIntegrityError:
    shown = problems[:50]
    more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
    err = StoreIntegrityError(f"{path}: verification failed ({len(problems)} problem(s)):\n"
                              + "\n".join(f"  - {p}" for p in shown) + more)
    err.problems = list(problems)  # type: ignore[attr-defined]
    return err


def _counts(frame: pd.DataFrame, col: str) -> dict[str, int]:
    if not len(frame) or col not in frame:
        return {}
    return {str(k): int(v) for k, v in frame[col].fillna("(none)").value_counts().sort_index().items()}


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _hash_frame(digest: Any, name: str, frame: pd.DataFrame) -> None:
    """Feed a frame column by column into ``digest`` in a layout-independent way."""
    digest.update(f"\n[{name}:{len(frame)}]".encode())
    for col in sorted(frame.columns):
        series = frame[col]
        if series.isna().all():
            continue  # an all-missing column (e.g. a new custom field) adds no content
        digest.update(f"\n<{col}>".encode())
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            values = pd.to_numeric(series).astype("float64").to_numpy(na_value=np.nan)
            values = np.where(np.isnan(values), np.nan, values + 0.0)  # one NaN and one zero
            digest.update(np.ascontiguousarray(values, dtype="<f8").tobytes())
        else:
            digest.update("\x1f".join("\x00" if _is_missing(v) else str(v) for v in series).encode())

