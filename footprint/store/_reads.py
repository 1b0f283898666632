"""Reading the reference store: records, their history, spectra, images, the audit log.

:class:`StoreReader` holds every read of the open file; :class:`~._store.ReferenceStore`
adds opening, locking, committing and verifying on top of it. Reads never change the file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from .._batch import DERIVED_FTIR_COLUMNS
from .._schema import FIELDS, Field
from .._types import ImageRecord, Spectrum
from ..exceptions import InputError, Problem
from ._format import (
    _DERIVED_TEXT,
    _IMAGE_COLS,
    _SPECTRA_COLS,
    _STONE_META,
    GRIDS,
    _decode_stone_column,
    _decode_text,
    _is_missing,
    _json_dumps,
    _read,
    _table_len,
    grid_for,
)
from ._write import _empty_storage, _hash_frame, _plain

__all__ = ["StoreReader"]


class StoreReader:
    """Every read of an open store file (the base of :class:`~._store.ReferenceStore`)."""

    path: Path

    @property
    def _f(self) -> h5py.File:
        raise NotImplementedError  # the open file, provided by ReferenceStore

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
