"""Read and check the optional parcels file of a classify run (CSV or XLSX)."""

from __future__ import annotations

import csv
import io
import math
import os
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._text import sniff_delimiter, squash
from ..exceptions import InputError, Problem
from ._encoding import decode_text

__all__ = ["PARCEL_COLUMNS", "read_parcels"]

#: Columns of the optional parcels file.
PARCEL_COLUMNS: tuple[str, ...] = (
    "parcel_id",
    "declared_zone",
    "kp_certificate",
    "exporter",
    "declared_value_usd",
    "cleaning_state",
    # issue 14: a described subsample (sampling weight = total / described carats) and the valuation method
    "described_carats",
    "total_carats",
    "valuation_method",
)
_CLEANING_STATES = ("unwashed", "acid_rinsed", "acid_boiled")
_PARCEL_HEADERS = frozenset({"parcel id", "parcel", "parcel no", "parcel number", "parcelid"})


def _nfc(text: str) -> str:
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def read_parcels(path: str | os.PathLike[str], zones: Sequence[str] | None) -> pd.DataFrame:
    """Read and check the optional parcels file.

    Parameters
    ----------
    path : path
        CSV or XLSX with ``parcel_id`` (required) and any of
        ``declared_zone, kp_certificate, exporter, declared_value_usd,
        cleaning_state, described_carats, total_carats, valuation_method``.
    zones : sequence of str or None
        The model's reference zones: a declared zone must be one of them
        (None: not checked, for ``footprint value``).

    Returns
    -------
    DataFrame
        All :data:`PARCEL_COLUMNS` (missing ones as None), ``declared_value_usd``,
        ``described_carats`` and ``total_carats`` as float (NaN when blank).

    Raises
    ------
    InputError
        Listing every problem (file, row, field, value, rule).
    """
    file = os.fspath(path)
    try:
        if Path(path).suffix.lower() in (".xlsx", ".xlsm"):
            raw = pd.read_excel(path, dtype=str, keep_default_na=False, na_filter=False)
        else:
            text = str(decode_text(Path(path).read_bytes()))  # UTF-16 from Excel, cp1252...
            body = "".join(
                line for line in text.splitlines(keepends=True) if not line.lstrip().startswith("#")
            )
            delimiter = sniff_delimiter(body.splitlines()[0] if body.strip() else ",")
            raw = pd.read_csv(
                io.StringIO(body),
                sep=delimiter,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skipinitialspace=True,
            )
    except FileNotFoundError:
        raise InputError(
            f"{file}: no such file", [Problem(file, None, None, None, "file not found")]
        ) from None
    except (ValueError, OSError, pd.errors.ParserError, csv.Error) as exc:
        raise InputError(
            f"{file}: not a readable table", [Problem(file, None, None, None, f"cannot read: {exc}")]
        ) from None
    mapping = {}
    for column in raw.columns:
        key = squash(str(column)).replace(" ", "_")
        if key in PARCEL_COLUMNS:
            mapping[column] = key
        elif squash(str(column)) in _PARCEL_HEADERS:
            mapping[column] = "parcel_id"
    raw = raw.rename(columns=mapping)
    problems: list[Problem] = []
    unknown = [c for c in raw.columns if c not in PARCEL_COLUMNS]
    for column in unknown:
        problems.append(
            Problem(
                file, 0, str(column), None, f"unknown column; parcels files have: {', '.join(PARCEL_COLUMNS)}"
            )
        )
    if "parcel_id" not in raw.columns:
        problems.append(Problem(file, 0, "parcel_id", None, "column required"))
        raise InputError(f"{file}: the parcels file breaks its format", problems)
    out = pd.DataFrame({c: raw[c].astype(str).str.strip().map(_nfc) if c in raw.columns else ""
                        for c in PARCEL_COLUMNS})
    seen: dict[str, int] = {}
    values = np.full(len(out), np.nan)
    carats = {name: np.full(len(out), np.nan) for name in ("described_carats", "total_carats")}
    for i, rec in enumerate(out.to_dict("records")):
        row = i + 1
        pid = rec["parcel_id"]
        if not pid:
            problems.append(Problem(file, row, "parcel_id", "", "required"))
        elif pid in seen:
            problems.append(Problem(file, row, "parcel_id", pid, f"duplicate of row {seen[pid]}"))
        else:
            seen[pid] = row
        zone = rec["declared_zone"]
        if zone and zones is not None and zone not in zones:
            problems.append(
                Problem(
                    file,
                    row,
                    "declared_zone",
                    zone,
                    f"must be one of the model's reference zones: {', '.join(zones)}",
                )
            )
        value = rec["declared_value_usd"]
        if value:
            try:
                values[i] = float(value.replace(",", ""))
                if not values[i] >= 0 or not math.isfinite(values[i]):
                    raise ValueError
            except ValueError:
                problems.append(
                    Problem(file, row, "declared_value_usd", value, "must be a number >= 0 (USD)")
                )
        for name in ("described_carats", "total_carats"):
            carats[name][i] = _positive(rec[name], file, row, name, problems)
        state = rec["cleaning_state"]
        if state and state not in _CLEANING_STATES:
            problems.append(
                Problem(file, row, "cleaning_state", state, f"must be one of: {', '.join(_CLEANING_STATES)}")
            )
    if problems:
        raise InputError(f"{file}: the parcels file breaks its format", problems)
    out = out.replace("", None)
    out["declared_value_usd"] = values
    for name, column in carats.items():
        out[name] = column
    return out


def _positive(text: str, file: str, row: int, name: str, problems: list[Problem]) -> float:
    """Return a parcels-file carat figure: NaN when blank, else a number > 0 (else a problem is added)."""
    if not text:
        return math.nan
    try:
        value = float(text.replace(",", ""))
        if not (value > 0 and math.isfinite(value)):
            raise ValueError
    except ValueError:
        problems.append(Problem(file, row, name, text, "must be a number > 0 (carats)"))
        return math.nan
    return value


