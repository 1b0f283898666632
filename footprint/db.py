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
from ._io import atomic_write_bytes, guard_outputs, write_csv
from ._schema import Field
from .exceptions import InputError, OutputError, Problem, StoreError, UsageError
from .store import DEFAULT_LOCK_TIMEOUT, GRIDS, ReferenceStore

__all__ = [
    "ACCEPT_UNVERIFIED",
    "GRIDS",
    "ReferenceStore",
    "add",
    "add_field",
    "check_store",
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
        stored = store.stones() if stones is not None else None
    batch = build_batch(stones=stones, spectra=spectra, kind=kind, assortments=assortments,
                        manifest=manifest, images=images,
                        by=by, replace=replace, reason=reason, extra_fields=extra,
                        known_sample_ids=known, synthetic=synthetic, n_jobs=n_jobs)
    if stored is not None and batch.stones is not None and len(stored):
        _warn_near_duplicates(stored, batch.stones, batch.report, os.fspath(path))
    if derive:
        _derive(batch, n_jobs)
    with ReferenceStore.open(path, "a", lock_timeout=lock_timeout) as store:
        return store.commit(batch)


def _warn_near_duplicates(stored: pd.DataFrame, new: pd.DataFrame, report: ProcessingReport,
                          store: str) -> None:
    """Warn when a group name of the batch differs from one in the store only by case, accents or spacing."""
    from .ingest import GROUP_FIELDS, name_key

    for name in GROUP_FIELDS:
        if name not in stored.columns or name not in new.columns:
            continue
        existing: dict[str, set[str]] = {}
        for value in stored[name].dropna().unique():
            existing.setdefault(name_key(str(value)), set()).add(str(value))
        for value in new[name].dropna().unique():
            text = str(value)
            close = existing.get(name_key(text), set()) - {text}
            if close:
                report.warnings.append(
                    f"field '{name}': '{text}' in this batch differs only by case, accents or spacing from "
                    f"{', '.join(repr(c) for c in sorted(close))} already in {store}; they are kept as "
                    f"different {name} values - correct the file if they are the same")


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
    if not str(sample_id).strip():
        raise UsageError("SAMPLE_ID: empty sample id")
    if extract_images is not None:
        _check_image_folder(Path(extract_images), Path(path))
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
        out["extracted"] = _extract(images, Path(extract_images), Path(path))
    return out


def _check_image_folder(folder: Path, store: Path) -> None:
    if str(folder).strip() == "":
        raise OutputError("--extract-images: empty path")
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"--extract-images {folder} is a file, not a folder; refusing to overwrite it "
                          "(give a folder: the photos are written into it)")
    if not folder.parent.is_dir():
        raise OutputError(f"--extract-images {folder}: the folder {folder.parent} does not exist "
                          "(create it first)")
    guard_outputs({"--extract-images": folder}, {"DB": store}, directories=["--extract-images"])


def _extract(images: list[Any], folder: Path, store: Path) -> list[str]:
    _check_image_folder(folder, store)
    folder.mkdir(exist_ok=True)
    written = []
    for img in images:
        ext = ".png" if img.mime_type == "image/png" else ".jpg"
        target = folder / f"{img.sample_id}_{img.view}_{img.sha256[:8]}{ext}"
        guard_outputs({"--extract-images": target}, {"DB": store})
        atomic_write_bytes(target, img.data)
        written.append(str(target))
    return written


def export(path: PathLike, out_csv: PathLike, *, force: bool = False) -> Path:
    """Write the current stone records to a CSV file (first line ``# SYNTHETIC`` when synthetic).

    Text cells a spreadsheet would run as formulas are neutralised
    (:func:`footprint._io.write_csv`); the file is written atomically.

    Parameters
    ----------
    path : str or Path
        The store.
    out_csv : str or Path
        The CSV to write; never the store itself.
    force : bool
        Replace an existing file (``--force``).

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    OutputError
        ``out_csv`` is the store, its folder is missing, or it exists without ``force``.
    """
    out = Path(out_csv)
    guard_outputs({"OUT": out}, {"DB": path}, force=force)
    with ReferenceStore.open(path) as store:
        frame = store.stones()
        synthetic = store.is_synthetic
    write_csv(frame, out, comment="SYNTHETIC data: not real stones" if synthetic else None)
    return out


def verify(path: PathLike, *, seal: bool = False, by: str = "",
           lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> dict[str, Any]:
    """Verify checksums, schema, cross-table references, the audit log and the content seals.

    Parameters
    ----------
    path : str or Path
        The store.
    seal : bool
        For a legacy store (written before content seals): after the older
        checks pass, record its content as the first seal (``--seal``).
    by : str
        Who seals it (audit log).
    lock_timeout : float
        Seconds to wait for another writer (with ``seal``).

    Returns
    -------
    dict
        ``ok``, ``checked``, ``sealed``, ``chain`` and, for a legacy store, ``legacy`` (what to do).

    Raises
    ------
    StoreIntegrityError
        Listing every problem found; each changed dataset is named with the
        commit that wrote it.
    """
    if seal:
        with ReferenceStore.open(path) as store:
            sealed = store.is_sealed
        if not sealed:
            with ReferenceStore.open(path, "a", lock_timeout=lock_timeout) as store:
                store.seal(by=by)
    with ReferenceStore.open(path) as store:
        return store.verify()


#: The option that lets train and classify use a store that fails verification.
ACCEPT_UNVERIFIED = "--accept-unverified-store"


def check_store(path: PathLike, *, accept_unverified: bool = False,
                option: str = ACCEPT_UNVERIFIED) -> dict[str, Any]:
    """Verify a store before a model is trained on it or a report drawn from it; return its identity.

    Parameters
    ----------
    path : str or Path
        The store.
    accept_unverified : bool
        Go on with a store that fails verification (the failure is returned,
        for the audit, instead of raised).
    option : str
        The command-line option that sets ``accept_unverified``, for messages.

    Returns
    -------
    dict
        ``path``, ``sha256`` and ``size_bytes`` of the file, ``content_hash``,
        ``chain`` (seal digest, None for a legacy store), ``sealed``,
        ``verified``, ``accepted_unverified``, ``problems`` (when not
        verified) and ``warnings`` (to show and record).

    Raises
    ------
    StoreIntegrityError
        The store fails verification and ``accept_unverified`` is false.
    """
    from ._audit import file_sha256
    from .exceptions import StoreIntegrityError

    p = Path(path)
    if not p.is_file():
        raise StoreError(f"{path}: no such store")
    identity: dict[str, Any] = {"path": os.fspath(path), "sha256": file_sha256(p),
                                "size_bytes": p.stat().st_size}
    warnings: list[str] = []
    with ReferenceStore.open(path) as store:
        identity.update(content_hash=store.content_hash(), chain=store.chain_head(), sealed=store.is_sealed)
        try:
            result = store.verify()
        except StoreIntegrityError as exc:
            problems = [str(x) for x in getattr(exc, "problems", [str(exc)])]
            if not accept_unverified:
                more = f"; ... ({len(problems)} in all)" if len(problems) > 3 else ""
                first = "; ".join(problems[:3]) + more
                raise StoreIntegrityError(
                    f"{path}: verification failed: {first}; refusing to use it (see `footprint db verify "
                    f"{path}`), or pass {option} to proceed anyway (recorded in the audit)") from None
            identity.update(verified=False, accepted_unverified=True, problems=problems[:50])
            warnings.append(f"{path}: used although it FAILS verification ({option}): "
                            + "; ".join(problems[:5]))
        else:
            identity.update(verified=True, accepted_unverified=False)
            if result.get("legacy"):
                warnings.append(str(result["legacy"]))
    identity["warnings"] = warnings
    for warning in warnings:
        logger.warning(warning)
    return identity


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
