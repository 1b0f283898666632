"""Writing a batch into the store file: writer lock, temporary copy, datasets, audit entry.

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

import getpass
import hashlib
import json
import logging
import os
import secrets
import socket
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from .._batch import DERIVED_FTIR_COLUMNS
from .._schema import FIELDS, SCHEMA_VERSION, Field
from .._types import ImageRecord, Spectrum, sha256_hex
from ..exceptions import (
    Problem,
    SchemaError,
    StoreIntegrityError,
    StoreLockedError,
    StoreVersionError,
)
from ._format import (
    _AUDIT_COLS,
    _DERIVED_TEXT,
    _IMAGE_COLS,
    _READABLE_FORMATS,
    _SPECTRA_COLS,
    _TMP_MARK,
    FORMAT_NAME,
    FORMAT_VERSION,
    GRIDS,
    _append,
    _append_text,
    _column_attrs,
    _encode_text,
    _is_missing,
    _json_dumps,
    _Plan,
    _storage_of,
    _table_len,
    _tool_version,
    _utc_now,
    grid_for,
)

__all__: list[str] = []

logger = logging.getLogger(__name__)


def whoami() -> str:
    """Return the login name recorded in the audit log (``uid<N>`` when the system has none)."""
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
    owner.write_text(f"pid {os.getpid()} on {socket.gethostname()} by {whoami()} since {_utc_now()}\n",
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


