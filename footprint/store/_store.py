"""The HDF5 reference store: one self-describing file, atomic batch commits.

The file layout is described in :mod:`footprint.store._format`, how a batch is
committed atomically in :mod:`footprint.store._write`; a batch is planned
(:mod:`footprint.store._plan`) before anything is written, and
:meth:`ReferenceStore.verify` is in :mod:`footprint.store._verify`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from .._batch import Batch, ProcessingReport
from .._schema import Field
from ..exceptions import (
    Problem,
    SchemaError,
    StoreError,
)
from ._format import (
    _TMP_MARK,
    DEFAULT_LOCK_TIMEOUT,
    FORMAT_NAME,
    _append,
    _column_attrs,
    _fsync_path,
    _read,
    _table_len,
    _tool_version,
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
from ._reads import StoreReader
from ._verify import verify_parts
from ._write import (
    _append_audit,
    _check_versions,
    _counts,
    _integrity_error,
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

class ReferenceStore(StoreReader):
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
