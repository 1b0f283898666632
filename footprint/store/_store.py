"""The HDF5 reference store: one self-describing file, atomic batch commits.

The file layout is described in :mod:`footprint.store._format`, how a batch is
committed atomically in :mod:`footprint.store._write`; a batch is planned
(:mod:`footprint.store._plan`) before anything is written, and
:meth:`ReferenceStore.verify` is in :mod:`footprint.store._verify`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from .._batch import DERIVED_FTIR_COLUMNS, Batch, ProcessingReport
from .._schema import FIELDS, Field
from .._types import ImageRecord, Spectrum
from ..exceptions import (
    InputError,
    Problem,
    SchemaError,
    StoreError,
)
from ._format import (
    _DERIVED_TEXT,
    _IMAGE_COLS,
    _SPECTRA_COLS,
    _STONE_META,
    _TMP_MARK,
    DEFAULT_LOCK_TIMEOUT,
    FORMAT_NAME,
    GRIDS,
    _append,
    _column_attrs,
    _decode_stone_column,
    _decode_text,
    _fsync_path,
    _is_missing,
    _json_dumps,
    _read,
    _table_len,
    _tool_version,
    grid_for,
)
from ._integrity import (
    LEGACY_MESSAGE,
    audit_cell,
    chain_head,
    is_sealed,
    seal_last_commit,
    seal_legacy,
    verify_seals,
)
from ._plan import plan_batch
from ._verify import verify_parts
from ._write import (
    _append_audit,
    _check_versions,
    _counts,
    _empty_storage,
    _hash_frame,
    _integrity_error,
    _plain,
    _release_writer_lock,
    _set_json,
    _temp_path,
    _verify_datasets,
    _write_plan,
    _write_skeleton,
    _writer_lock,
    whoami,
)

__all__ = ["ReferenceStore"]

logger = logging.getLogger(__name__)

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
                    _append_audit(fh, "init", by or whoami(), synthetic=False, entry={
                        "kind": "init", "rows": {}, "report": {}, "sources": []})
                    seal_last_commit(fh)
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
            "sealed": self.is_sealed,
            "chain": self.chain_head(),
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
            verify_parts(self, problems, checked)
        except (KeyError, ValueError, IndexError, json.JSONDecodeError) as exc:
            problems.append(f"structure: {type(exc).__name__}: {exc}")
        try:
            seal_problems, seals = verify_seals(f)
        except (KeyError, ValueError, IndexError, TypeError, json.JSONDecodeError) as exc:
            seal_problems, seals = [f"integrity: the seals cannot be read ({type(exc).__name__}: {exc})"], {
                "sealed": True, "seals": 0, "chain": None}
        problems.extend(seal_problems)
        checked["seals"] = int(seals["seals"])
        if problems:
            raise _integrity_error(self.path, problems)
        result: dict[str, Any] = {"ok": True, "path": str(self.path), "checked": checked,
                                  "sealed": bool(seals["sealed"]), "chain": seals["chain"]}
        if not seals["sealed"]:
            result["legacy"] = LEGACY_MESSAGE.format(path=self.path)
        return result

    @property
    def is_sealed(self) -> bool:
        """Whether the store records content seals (False: written before they existed)."""
        return is_sealed(self._f)

    def chain_head(self) -> str | None:
        """Return the digest that seals the whole store's history (None for a legacy store)."""
        return chain_head(self._f)

    def seal(self, *, by: str = "") -> str:
        """Seal a legacy store: verify it with the older checks, then record its content as the first seal.

        Returns
        -------
        str
            The new chain digest.

        Raises
        ------
        StoreIntegrityError
            If the older checks fail (nothing is sealed).
        StoreError
            If the store is already sealed or not opened for writing.
        """
        self._require_writer()
        if self.is_sealed:
            raise StoreError(f"{self.path}: already sealed; nothing to do")
        self.verify()

        def change(fh: h5py.File) -> None:
            seq = _append_audit(fh, "seal", by or whoami(), synthetic=False, entry={
                "kind": "seal", "rows": {}, "report": {}, "sources": [],
                "note": "content digests recorded for a store written before they existed"})
            seal_legacy(fh, seq=seq, when_utc=audit_cell(fh, "when_utc"), by=by or whoami())

        self._transaction(change)
        return str(self.chain_head())

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
        plan = plan_batch(self, batch)
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
        self._transaction(lambda fh: _write_plan(fh, plan, batch.by or whoami(),
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
            _append_audit(fh, "add_field", by or whoami(), synthetic=False,
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
                sealed = is_sealed(fh)  # a legacy store stays legacy until `db verify --seal`
                change(fh)
                if sealed:
                    seal_last_commit(fh)
            _fsync_path(tmp)
            os.replace(tmp, self.path)
            _fsync_path(self.path.parent, directory=True)
        finally:
            if tmp.exists():
                tmp.unlink()
        self._reopen()
