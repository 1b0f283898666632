"""The reference database, as Python functions named like the ``footprint db`` commands.

Each function opens the store, does one thing, and closes it::

    from footprint import db
    db.init("ref.h5")
    report = db.add("ref.h5", stones="stones.csv", spectra="spectra/", kind="ftir", by="A. Lab")
    db.info("ref.h5")["zones"]
    db.verify("ref.h5")

For repeated reads (training, classification) open a
:class:`~footprint.store.ReferenceStore` once instead.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pandas as pd

from ._batch import Batch, ProcessingReport
from ._schema import Field
from .exceptions import InputError, Problem
from .store import DEFAULT_LOCK_TIMEOUT, GRIDS, ReferenceStore

__all__ = [
    "GRIDS",
    "ReferenceStore",
    "add",
    "add_field",
    "export",
    "fields",
    "info",
    "init",
    "list_samples",
    "show",
    "verify",
]

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]


def init(path: PathLike, *, by: str = "") -> Path:
    """Create an empty reference store.

    Parameters
    ----------
    path : str or Path
        New store file; an existing file is never overwritten.
    by : str
        Who creates it (audit log).

    Returns
    -------
    Path
        The store's path.

    Raises
    ------
    StoreError
        If the file exists or its directory does not.
    """
    return ReferenceStore.create(path, by=by)


def add(path: PathLike, *, stones: PathLike | None = None, spectra: PathLike | None = None,
        kind: str = "ftir", assortments: PathLike | None = None, manifest: PathLike | None = None,
        images: PathLike | None = None,
        by: str, replace: bool = False, reason: str | None = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT, n_jobs: int = -1, derive: bool = True,
        synthetic: bool | None = None) -> ProcessingReport:
    """Read lab files, validate them, and commit them to the store as one batch.

    The steps: :func:`footprint.ingest.build_batch` reads and cross-checks
    every file (all problems reported together), then for FTIR spectra
    :func:`footprint.spectra.derive_ftir_features` derives nitrogen and
    hydrogen features, then the store commits the batch atomically under the
    writer lock. Nothing is written when any step fails.

    Parameters
    ----------
    path : str or Path
        The store.
    stones : str or Path, optional
        CSV or XLSX stone table.
    spectra : str or Path, optional
        A spectrum file, a folder of JCAMP-DX files, or a wide/long CSV.
    kind : str
        Spectrum kind of ``spectra`` (``ftir``, ``uvvis``, ``pl``, ``raman``).
    assortments : str or Path, optional
        Reference lots described by assortment (``lot_id, zone, size_class,
        n_stones, carats`` and categorical fields), stored as one record per
        stone (see :func:`footprint.ingest.expand_reference_cells`).
    manifest : str or Path, optional
        CSV ``sample_id,file`` mapping spectrum files to stones.
    images : str or Path, optional
        Folder of PNG/JPEG photographs named ``<sample_id>[_<view>].<ext>``.
    by : str
        Who adds the batch (audit log).
    replace : bool
        Store different records under existing sample_ids as new versions.
    reason : str, optional
        Why (required with ``replace``).
    lock_timeout : float
        Seconds to wait for another writer.
    n_jobs : int
        Processes for parsing and feature derivation (-1: all cores).
    derive : bool
        Derive FTIR features (default); ``False`` stores spectra only.
    synthetic : bool, optional
        Mark the batch synthetic; ``None`` detects it from the files.

    Returns
    -------
    ProcessingReport
        Rows read, added, unchanged, replaced, rejected and why, warnings.
    """
    from .ingest import build_batch

    with ReferenceStore.open(path, "r") as store:
        known = frozenset(store.sample_ids())
        extra = tuple(store.custom_fields())
    batch = build_batch(stones=stones, spectra=spectra, kind=kind, assortments=assortments,
                        manifest=manifest, images=images,
                        by=by, replace=replace, reason=reason, extra_fields=extra,
                        known_sample_ids=known, synthetic=synthetic, n_jobs=n_jobs)
    if derive:
        _derive(batch, n_jobs)
    with ReferenceStore.open(path, "a", lock_timeout=lock_timeout) as store:
        return store.commit(batch)


def _derive(batch: Batch, n_jobs: int) -> None:
    ftir = [s for s in batch.spectra if s.kind == "ftir"]
    if not ftir:
        return
    from .spectra import derive_ftir_features

    batch.derived_ftir = derive_ftir_features(ftir, n_jobs=n_jobs)
    batch.report.count("derive_ftir_features", len(ftir))


def info(path: PathLike) -> dict[str, Any]:
    """Summarise a store: counts per zone, site and lot, coverage, spectra, images, versions, hash."""
    with ReferenceStore.open(path) as store:
        return store.info()


def list_samples(path: PathLike, zone: str | None = None) -> pd.DataFrame:
    """Return the current stone records, optionally only those of one zone."""
    with ReferenceStore.open(path) as store:
        frame = store.stones()
    if zone is not None:
        frame = frame[frame["zone"] == zone].reset_index(drop=True)
    return frame


def show(path: PathLike, sample_id: str, *, extract_images: PathLike | None = None) -> dict[str, Any]:
    """Return everything about one stone: record, version history, spectra, derived features, images.

    Parameters
    ----------
    path : str or Path
        The store.
    sample_id : str
        The stone.
    extract_images : str or Path, optional
        Folder to write the stone's photographs to (created if missing).

    Raises
    ------
    InputError
        If the store holds no such stone.
    """
    with ReferenceStore.open(path) as store:
        history = store.history(sample_id)
        spectra = store.spectra(sample_id)
        derived = store.derived_ftir()
        images = store.images(sample_id)
        synthetic = store.is_synthetic
    derived = derived[derived["sample_id"] == sample_id]
    out: dict[str, Any] = {
        "sample_id": sample_id,
        "synthetic": synthetic,
        "record": history[-1]["record"],
        "version": history[-1]["version"],
        "history": history,
        "spectra": [{"kind": s.kind, "source": s.source, "sha256": s.sha256, "x_unit": s.x_unit,
                     "y_unit": s.y_unit, "n_points": int(s.x.size),
                     "x_min": float(s.x.min()) if s.x.size else None,
                     "x_max": float(s.x.max()) if s.x.size else None, "meta": s.meta} for s in spectra],
        "derived_ftir": derived.to_dict(orient="records"),
        "images": [{"view": i.view, "mime_type": i.mime_type, "sha256": i.sha256, "source": i.source,
                    "width": i.width, "height": i.height, "bytes": len(i.data)} for i in images],
    }
    if extract_images is not None:
        out["extracted"] = _extract(images, Path(extract_images))
    return out


def _extract(images: list[Any], folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for img in images:
        ext = ".png" if img.mime_type == "image/png" else ".jpg"
        target = folder / f"{img.sample_id}_{img.view}_{img.sha256[:8]}{ext}"
        target.write_bytes(img.data)
        written.append(str(target))
    return written


def export(path: PathLike, out_csv: PathLike) -> Path:
    """Write the current stone records to a CSV file (first line ``# SYNTHETIC`` when synthetic).

    Returns
    -------
    Path
        The written file.
    """
    out = Path(out_csv)
    with ReferenceStore.open(path) as store:
        frame = store.stones()
        synthetic = store.is_synthetic
    with out.open("w", encoding="utf-8", newline="") as fh:
        if synthetic:
            fh.write("# SYNTHETIC data: not real stones\n")
        frame.to_csv(fh, index=False)
    return out


def verify(path: PathLike) -> dict[str, Any]:
    """Verify checksums, schema, cross-table references and the audit log.

    Raises
    ------
    StoreIntegrityError
        Listing every problem found.
    """
    with ReferenceStore.open(path) as store:
        return store.verify()


def fields(path: PathLike) -> list[Field]:
    """Return every stone field of a store: schema v1 then the custom ones."""
    with ReferenceStore.open(path) as store:
        return store.fields()


def add_field(path: PathLike, name: str, unit: str, description: str, minimum: float | None = None,
              maximum: float | None = None, *, by: str = "",
              lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> Field:
    """Register a custom numeric field (e.g. a LA-ICP-MS trace element) in a store.

    Parameters
    ----------
    path : str or Path
        The store.
    name : str
        Field name (lower_case identifier, not an existing field).
    unit : str
        Unit of the values ("ppm", "ppb", ...).
    description : str
        What the value means.
    minimum, maximum : float, optional
        Inclusive range checked at ingest.
    by : str
        Who registers it (audit log).
    lock_timeout : float
        Seconds to wait for another writer.

    Returns
    -------
    Field
        The registered field.
    """
    if minimum is not None and maximum is not None and minimum > maximum:
        raise InputError("field range is empty", [Problem(None, None, "minimum", minimum,
                                                          f"must be <= maximum {maximum}")])
    fld = Field(name=name, kind="number", description=description, unit=unit, minimum=minimum,
                maximum=maximum, group="custom")
    with ReferenceStore.open(path, "a", lock_timeout=lock_timeout) as store:
        return store.add_field(fld, by=by)
