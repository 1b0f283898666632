"""Read and check what ``review add`` takes: certificates, classify results, parcels, stones, photos.

All validation of these files happens here and raises one
:class:`~footprint.exceptions.InputError` naming file, row and field for every
problem found; the register only stores what passed.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import InputError, Problem, SchemaError

__all__ = [
    "CERTIFICATE_COLUMNS",
    "HS_CODES",
    "SIZE_EDGES_CT",
    "Certificates",
    "ClassifyResults",
    "Measured",
    "read_certificates",
    "read_measured",
    "read_parcel_sheet",
    "read_photos",
    "read_results",
]

#: Columns of a certificates file (``parcel_id`` may be added to link parcels without a parcels sheet).
CERTIFICATE_COLUMNS = (
    "kp_certificate",
    "issued_on",
    "expires_on",
    "exporter",
    "importer_country",
    "hs_code",
    "carats",
    "n_stones",
    "value_usd",
    "declared_origin",
)
#: Harmonised System codes of rough diamonds and what the quality mix must be.
HS_CODES = {"7102.10": "unsorted", "7102.21": "industrial", "7102.31": "gem"}
#: Size classes (ct) of the register's size distributions: mass bins doubling from 0.05 ct.
SIZE_EDGES_CT = (0.0, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, math.inf)


def _hs(text: str) -> str | None:
    digits = re.sub(r"\D", "", text)
    if len(digits) != 6:
        return None
    code = f"{digits[:4]}.{digits[4:]}"
    return code if code in HS_CODES else None


@dataclass
class Certificates:
    """A checked certificates file: one record per row (``row`` is the 1-based data row)."""

    file: str
    sha256: str
    records: list[dict[str, Any]]
    synthetic: bool


def read_certificates(path: str | os.PathLike[str]) -> Certificates:
    """Read and check a certificates CSV.

    Columns: ``kp_certificate, issued_on, expires_on, exporter,
    importer_country, hs_code, carats, n_stones, value_usd,
    declared_origin`` (a site or sub-prefecture), and optionally
    ``parcel_id`` (the parcel the certificate covers, when no parcels sheet
    links them). Dates are ISO ``YYYY-MM-DD``; HS codes 7102.10 (unsorted),
    7102.21 (industrial) or 7102.31 (gem), written with or without the dot.

    Raises
    ------
    SchemaError
        Naming file, row, field and value of every problem.
    """
    from .._audit import file_sha256
    from ..ingest import parse_date, parse_number, read_plain_table

    table = read_plain_table(path, required=CERTIFICATE_COLUMNS, what="certificates file")
    file = table.file
    problems: list[Problem] = []
    records: list[dict[str, Any]] = []
    for i, rec in enumerate(table.frame.to_dict("records"), start=1):
        out: dict[str, Any] = {"row": i, "parcel_id": rec.get("parcel_id") or None}
        for col in ("kp_certificate", "exporter", "importer_country", "declared_origin"):
            if not rec[col]:
                problems.append(Problem(file, i, col, None, "must not be blank"))
            out[col] = rec[col]
        for col in ("issued_on", "expires_on"):
            try:
                out[col] = parse_date(rec[col])
                if out[col] is None:
                    problems.append(Problem(file, i, col, None, "must not be blank (ISO date YYYY-MM-DD)"))
            except ValueError as exc:
                problems.append(Problem(file, i, col, rec[col], str(exc)))
        code = _hs(rec["hs_code"])
        if code is None:
            problems.append(
                Problem(
                    file,
                    i,
                    "hs_code",
                    rec["hs_code"],
                    "must be a rough-diamond HS code: 7102.10 (unsorted), 7102.21 (industrial) "
                    "or 7102.31 (gem)",
                )
            )
        out["hs_code"] = code
        for col, whole in (("carats", False), ("n_stones", True), ("value_usd", False)):
            try:
                value = parse_number(rec[col])
            except ValueError as exc:
                problems.append(Problem(file, i, col, rec[col], str(exc)))
                continue
            if math.isnan(value) or value <= 0:
                problems.append(Problem(file, i, col, rec[col], "must be a positive number"))
            elif whole and not float(value).is_integer():
                problems.append(Problem(file, i, col, rec[col], "must be a whole number"))
            out[col] = int(value) if whole and not math.isnan(value) else value
        records.append(out)
    if not records:
        problems.append(Problem(file, None, None, None, "no certificate rows"))
    if problems:
        raise SchemaError(f"{file}: certificates with errors", problems)
    return Certificates(file, file_sha256(path), records, table.synthetic)


@dataclass
class ClassifyResults:
    """A ``classify`` results file and the run audit beside it."""

    file: str
    sha256: str
    frame: pd.DataFrame
    audit: dict[str, Any]
    model_fingerprint: str
    model_version: str
    store_hash: str | None
    thresholds_version: str
    synthetic: bool


def _float_or_none(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def read_results(path: str | os.PathLike[str]) -> ClassifyResults:
    """Read ``classify``'s results CSV and its audit record (``RESULTS.audit.json``).

    The audit gives the model fingerprint, package version, reference store
    hash and thresholds version stored with every parcel; the results file's
    SHA-256 must be the one the audit recorded (a results file edited after
    the run is refused).

    Raises
    ------
    InputError
        When a column or the audit is missing, or the file does not match its audit.
    """
    from .._audit import audit_path, file_sha256
    from ..classify import WHY_RESULT_COLUMNS, result_columns
    from ..ingest import read_plain_table

    # the columns classify writes for every model (the per-zone probability columns aside); the "why"
    # columns (mixed_p, fit_p, flags, typical_sites, top_fields) are optional: older results files lack them
    required = tuple(c for c in result_columns(()) if c not in WHY_RESULT_COLUMNS)
    table = read_plain_table(path, required=required, what="classify results file")
    file = table.file
    apath = Path(audit_path(path))
    if not apath.is_file():
        raise InputError(
            f"{file}: no run audit beside the results",
            [
                Problem(
                    str(apath),
                    None,
                    None,
                    None,
                    "the audit written by footprint classify is needed (model, store and "
                    "threshold versions are taken from it)",
                )
            ],
        )
    try:
        audit = json.loads(apath.read_text(encoding="utf-8"))
        model = audit["model"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"{apath}: not a classify audit record",
            [Problem(str(apath), None, None, None, f"unreadable audit: {exc}")],
        ) from None
    sha = file_sha256(path)
    recorded = [o.get("sha256") for o in (audit.get("outputs") or {}).values() if isinstance(o, Mapping)]
    if sha not in recorded:
        raise InputError(
            f"{file}: does not match its run audit",
            [
                Problem(
                    file,
                    None,
                    None,
                    sha[:16],
                    f"the file's SHA-256 is not one of the outputs recorded in {apath.name}: it "
                    "was changed after footprint classify wrote it",
                )
            ],
        )
    frame = table.frame
    problems: list[Problem] = []
    for i, pid in enumerate(frame["parcel_id"], start=1):
        if not pid:
            problems.append(Problem(file, i, "parcel_id", None, "must not be blank"))
    dup = frame["parcel_id"][frame["parcel_id"].duplicated()]
    problems += [Problem(file, int(i) + 1, "parcel_id", v, "appears twice") for i, v in dup.items()]
    if problems:
        raise SchemaError(f"{file}: results with errors", problems)
    thresholds = audit.get("thresholds") or {}
    source = model.get("source") or {}
    return ClassifyResults(
        file=file,
        sha256=sha,
        frame=frame,
        audit=audit,
        model_fingerprint=str(model.get("fingerprint", "")),
        model_version=str(model.get("footprint_version", "")),
        store_hash=source.get("content_hash"),
        thresholds_version=str(thresholds.get("version", model.get("thresholds_version", ""))),
        synthetic=bool(model.get("synthetic")) or bool(source.get("synthetic")) or table.synthetic,
    )


def read_parcel_sheet(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read the parcels sheet given to classify.

    Columns ``parcel_id, kp_certificate`` and optionally ``declared_value_usd``.
    """
    from ..ingest import parse_number, read_plain_table

    table = read_plain_table(path, required=("parcel_id", "kp_certificate"), what="parcels sheet")
    frame = table.frame
    problems = [
        Problem(table.file, i, "kp_certificate", None, "must not be blank")
        for i, v in enumerate(frame["kp_certificate"], start=1)
        if not v
    ]
    if "declared_value_usd" in frame.columns:
        values = []
        for i, v in enumerate(frame["declared_value_usd"], start=1):
            try:
                values.append(parse_number(v))
            except ValueError as exc:
                problems.append(Problem(table.file, i, "declared_value_usd", v, str(exc)))
                values.append(math.nan)
        frame = frame.assign(declared_value_usd=values)
    if problems:
        raise SchemaError(f"{table.file}: parcels sheet with errors", problems)
    return frame


@dataclass
class Measured:
    """What the stones file says of each parcel: counts, carats, quality and size classes."""

    sha256: str
    by_parcel: dict[str, dict[str, Any]] = field(default_factory=dict)


def read_measured(path: str | os.PathLike[str]) -> Measured:
    """Summarise the parcels' stones file (the one given to classify) per parcel.

    Per parcel: stones, stones weighed and their carats (and the sum of
    squared masses, for the standard error of carats per stone), stones with
    a quality class and how many are gem and industrial, and counts on the
    register's size classes :data:`SIZE_EDGES_CT`.
    """
    from .._audit import file_sha256
    from ..ingest import read_stones_table

    stones, _ = read_stones_table(path, reference=False, keep_columns=("parcel_id",))
    out = Measured(file_sha256(path))
    mass = pd.to_numeric(stones.get("mass_ct"), errors="coerce") if "mass_ct" in stones else None
    quality = stones["quality"].astype("object") if "quality" in stones else None
    edges = np.asarray(SIZE_EDGES_CT)
    for pid, idx in stones.groupby("parcel_id", sort=False).indices.items():
        rec: dict[str, Any] = {"n_stones": int(len(idx))}
        if mass is not None:
            m = mass.to_numpy(dtype=float)[idx]
            m = m[np.isfinite(m) & (m > 0)]
            rec.update(
                n_weighed=int(m.size),
                carats=float(m.sum()),
                mass_sq_sum=float((m**2).sum()),
                size_counts=np.histogram(m, bins=edges)[0].astype(int).tolist(),
            )
        if quality is not None:
            q = quality.to_numpy()[idx]
            known = np.array([isinstance(v, str) and v != "" for v in q])
            rec.update(
                n_quality=int(known.sum()),
                n_gem=int(sum(v == "gem" for v in q)),
                n_industrial=int(sum(v == "industrial" for v in q)),
            )
        out.by_parcel[str(pid)] = rec
    return out


def read_photos(directory: str | os.PathLike[str], parcel_ids: list[str]) -> dict[str, list[tuple[str, str]]]:
    """Match the pictures in a folder to parcels by name (the file name starts with the parcel id).

    Returns
    -------
    dict
        parcel id -> list of (file name, SHA-256); the register keeps the
        names and hashes, not the pictures.
    """
    from .._audit import file_sha256

    folder = Path(directory)
    if not folder.is_dir():
        raise InputError(
            f"{directory}: no such folder",
            [Problem(str(directory), None, "photos", None, "must be a folder of pictures")],
        )
    ids = sorted(parcel_ids, key=len, reverse=True)
    out: dict[str, list[tuple[str, str]]] = {}
    for p in sorted(folder.iterdir()):
        if p.suffix.lower() not in (".png", ".jpg", ".jpeg", ".tif", ".tiff") or not p.is_file():
            continue
        for pid in ids:
            if p.name.startswith(pid):
                out.setdefault(pid, []).append((p.name, file_sha256(p)))
                break
    return out
