"""Spectra from CSV files: two-column, wide (one row per stone) and long (one row per point).

* two-column: ``x,y`` (header optional) -> one spectrum;
* wide: ``sample_id,<x1>,<x2>,...`` (numeric headers are the axis) -> one spectrum per row;
* long: ``sample_id,x,y`` -> one spectrum per sample_id, points sorted by x.

Units come from the headers when they announce one (``wavenumber (cm-1)``,
``absorbance``, ``%T``) or from leading comment lines (``# x_unit: nm``,
``# y_unit: absorbance``); otherwise the kind's default axis unit (ftir and
raman: 1/cm, uvvis and pl: nm) and absorbance for ftir/uvvis, arbitrary for
others, recorded in ``meta["units_assumed"]``. Each spectrum's ``raw`` holds
the header line plus its own data lines, so it has its own sha256; the
whole file's hash is in ``meta["container_sha256"]``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._types import Spectrum, sha256_hex
from ..exceptions import Problem
from ._jcamp import KINDS, normalise_x_unit, normalise_y_unit

__all__ = ["CsvLayout", "csv_layout", "read_csv_spectra"]

_DEFAULT_X = {"ftir": "1/cm", "raman": "1/cm", "uvvis": "nm", "pl": "nm"}
_DEFAULT_Y = {"ftir": "absorbance", "uvvis": "absorbance"}
_X_NAMES = {"x", "wavenumber", "wavenumbers", "wavelength", "raman shift", "shift", "energy"}
_Y_NAMES = {"y", "absorbance", "transmittance", "intensity", "counts", "%t", "reflectance",
            "absorption coefficient", "signal", "value"}
_UNIT_RE = re.compile(r"^(?P<base>.*?)\s*[\(\[](?P<unit>[^\)\]]*)[\)\]]\s*$")
_META_RE = re.compile(r"^#\s*(?P<key>[A-Za-z_ ]+?)\s*[:=]\s*(?P<value>.*)$")

CsvLayout = str  # "two_column" | "wide" | "long" | "manifest"


def _fold(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", str(text).strip().lower())


def _split(text: str) -> tuple[dict[str, str], list[str], str]:
    """Return (comment settings, data lines, delimiter)."""
    settings: dict[str, str] = {}
    lines = text.splitlines()
    body: list[str] = []
    for line in lines:
        stripped = line.strip()
        if not body and (not stripped or stripped.startswith("#")):
            m = _META_RE.match(stripped)
            if m:
                settings[_fold(m["key"]).replace(" ", "_")] = m["value"].strip()
            elif stripped.lstrip("#").strip().upper().startswith("SYNTHETIC"):
                settings["synthetic"] = "true"
            continue
        if stripped:
            body.append(line)
    header = body[0] if body else ""
    delimiter = max((",", ";", "\t"), key=header.count) if header else ","
    if header and not header.count(delimiter):
        delimiter = ","
    return settings, body, delimiter


def _is_number(text: Any) -> bool:
    try:
        float(str(text).strip())
    except ValueError:
        return False
    return True


def csv_layout(header: Sequence[str]) -> CsvLayout:
    """Classify a CSV header: manifest, wide, long or two-column.

    Raises
    ------
    ValueError
        If the header fits none of the layouts.
    """
    names = [_fold(_UNIT_RE.sub(r"\g<base>", h)) for h in header]
    if names and names[0] in ("sample id", "sample", "id", "stone id"):
        rest = names[1:]
        if rest and rest[0] in ("file", "path", "filename", "spectrum", "spectrum file"):
            return "manifest"
        if len(rest) >= 3 and all(_is_number(h) for h in header[1:]):
            return "wide"
        if len(rest) == 2:
            return "long"
        raise ValueError("a CSV starting with sample_id must be a manifest (sample_id,file), wide "
                         "(sample_id then one numeric column per axis value) or long (sample_id,x,y)")
    if len(header) == 2:
        return "two_column"
    raise ValueError("not a spectrum CSV: expected x,y or sample_id,... columns")


def _units(header: Sequence[str], settings: dict[str, str], kind: str, file: str,
           problems: list[Problem], y_values: np.ndarray) -> tuple[str, str, dict[str, Any]]:
    """Work out x and y units from headers / comment settings / kind defaults."""
    meta: dict[str, Any] = {}
    x_word = settings.get("x_unit")
    y_word = settings.get("y_unit")
    if len(header) >= 2 and not _is_number(header[-1]):
        xm = _UNIT_RE.match(str(header[-2]))
        if x_word is None and xm:
            x_word = xm["unit"]
        ybase = _fold(_UNIT_RE.sub(r"\g<base>", str(header[-1])))
        if y_word is None and ybase not in ("y", "value", "signal"):
            y_word = ybase
    assumed = []
    if x_word is None:
        x_unit = _DEFAULT_X[kind]
        assumed.append(f"x_unit={x_unit}")
    else:
        x_unit = normalise_x_unit(x_word)
    if x_unit not in KINDS[kind]:
        problems.append(Problem(file, None, "x_unit", x_word, f"axis unit '{x_word}' is not one for {kind} "
                                f"spectra (expected one of: {', '.join(KINDS[kind])})"))
    if y_word is None:
        y_unit = _DEFAULT_Y.get(kind, "arbitrary")
        assumed.append(f"y_unit={y_unit}")
    else:
        y_unit, note = normalise_y_unit(y_word, y_values)
        if note:
            meta["y_unit_note"] = note
    if assumed:
        meta["units_assumed"] = ", ".join(assumed)
    return x_unit, y_unit, meta


_MISSING = ("", "nan", "na")


def _cell_text(value: Any) -> str:
    """Return a cell as stripped text; missing (None/NaN) becomes ''."""
    return "" if value is None or value != value else str(value).strip()


def _numeric(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Return (float values, mask of non-numeric non-blank cells) of a block of columns.

    Columns the CSV reader already parsed as numbers are taken as they are (a
    10,000 x 1,800 wide file stays fast); only columns holding some text are
    looked at cell by cell.
    """
    values = np.empty(frame.shape, dtype=float)
    bad = np.zeros(frame.shape, dtype=bool)
    for j in range(frame.shape[1]):
        col = frame.iloc[:, j]
        if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
            values[:, j] = col.to_numpy(dtype=float)
            continue
        text = col.astype(object).map(_cell_text)
        blank = text.str.lower().isin(_MISSING).to_numpy(dtype=bool)
        values[:, j] = np.array(pd.to_numeric(text, errors="coerce"), dtype=float)
        bad[:, j] = np.isnan(values[:, j]) & ~blank
    return values, bad


def _report_bad(frame: pd.DataFrame, bad: np.ndarray, file: str, fields: Sequence[str],
                problems: list[Problem]) -> None:
    for r, c in zip(*np.nonzero(bad), strict=True):
        problems.append(Problem(file, int(r) + 1, fields[c], frame.iat[r, c], "must be a number"))


def _finish(x: np.ndarray, y: np.ndarray, *, file: str, row: int | None, sample_id: str | None,
            problems: list[Problem], allow_missing: bool = False) -> tuple[np.ndarray, np.ndarray] | None:
    """Check and sort one spectrum's points; non-finite points are refused, as JCAMP-DX ones are.

    A wide table (one row per spectrum on a shared axis) may leave cells blank
    where a spectrum does not cover the axis (``allow_missing``); infinite
    values are refused everywhere, and so are missing values of a two-column
    or long file, where every row is one point.
    """
    infinite = np.isinf(x) | np.isinf(y)
    missing = np.isnan(x) | np.isnan(y)
    if infinite.any() or (missing.any() and not allow_missing):
        where = np.flatnonzero(infinite | (missing & (not allow_missing)))
        first = int(where[0])
        what = "an infinite value" if infinite[first] else "a missing (blank or NaN) value"
        problems.append(Problem(file, row, "sample_id" if sample_id else None, sample_id,
                                f"{len(where)} point(s) with non-finite x or y (the first, point "
                                f"{first + 1}, "
                                f"has {what}); spectra must hold finite numbers only"))
        return None
    keep = ~missing
    x, y = x[keep], y[keep]
    if x.size < 2:
        problems.append(Problem(file, row, "sample_id" if sample_id else None, sample_id,
                                "fewer than 2 numeric points"))
        return None
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    if np.any(np.diff(x) == 0):
        dup = float(x[1:][np.diff(x) == 0][0])
        problems.append(Problem(file, row, "x", dup, "the same x value appears twice in one spectrum"))
        return None
    return x, y


def read_csv_spectra(data: bytes, file: str, *, kind: str,
                     problems: list[Problem]) -> tuple[list[Spectrum], dict[str, str], CsvLayout]:
    """Read a two-column, wide or long spectrum CSV.

    Parameters
    ----------
    data : bytes
        The file's bytes.
    file : str
        Path as given (messages, ``Spectrum.source``).
    kind : str
        Spectrum kind (CSV files do not say).
    problems : list of Problem
        Problems are appended here (file, 1-based data row, field, value, rule).

    Returns
    -------
    spectra : list of Spectrum
        ``sample_id`` set for wide and long files, None for two-column files.
    settings : dict
        ``# key: value`` comment settings (``synthetic``...).
    layout : str
        ``"two_column"``, ``"wide"`` or ``"long"`` (``"manifest"`` returns no spectra).
    """
    from ._encoding import decode_text

    text = decode_text(data)
    settings, body, delimiter = _split(str(text))
    if not body:
        problems.append(Problem(file, None, None, None, "the CSV file is empty"))
        return [], settings, "two_column"
    header = [h.strip() for h in body[0].split(delimiter)]
    headerless = all(_is_number(h) for h in header) and len(header) == 2
    try:
        layout = "two_column" if headerless else csv_layout(header)
    except ValueError as exc:
        problems.append(Problem(file, None, None, body[0][:80], str(exc)))
        return [], settings, "two_column"
    if layout == "manifest":
        return [], settings, layout
    first = 0 if headerless else header[0]
    try:
        table = pd.read_csv(io.StringIO("\n".join(body)), sep=delimiter, keep_default_na=False,
                            dtype=None if headerless else {first: object},
                            na_values=["", "nan", "NaN", "NA", "na", "N/A", "n/a"],
                            header=None if headerless else 0, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, csv.Error) as exc:
        problems.append(Problem(file, None, None, None,
                                f"not a readable CSV spectrum table ({' '.join(str(exc).split())})"))
        return [], settings, layout
    container = sha256_hex(data)
    n_before = len(problems)
    synthetic = settings.get("synthetic", "").strip().lower() in ("true", "yes", "1")
    head_line = "" if headerless else body[0] + "\n"
    out: list[Spectrum] = []

    def make(x: np.ndarray, y: np.ndarray, sid: str | None, raw_lines: list[str], row: int | None,
             unit_header: Sequence[str]) -> None:
        x_unit, y_unit, meta = _units(unit_header, settings, kind, file, problems, y)
        meta.update(format=f"CSV ({layout})", container_sha256=container, source_row=row)
        if synthetic:
            meta["synthetic"] = True
        raw = (head_line + "\n".join(raw_lines) + "\n").encode("utf-8")
        out.append(Spectrum(x=x, y=y, x_unit=x_unit, y_unit=y_unit, kind=kind, source=file, raw=raw,
                            meta=meta, sample_id=sid))

    if layout == "two_column":
        values, bad = _numeric(table.iloc[:, :2])
        _report_bad(table.iloc[:, :2], bad, file, ("x", "y"), problems)
        if not bad.any():
            done = _finish(values[:, 0], values[:, 1], file=file, row=None, sample_id=None,
                           problems=problems)
            if done:
                make(*done, None, body[1:] if not headerless else body, None, header)
    elif layout == "wide":
        axis = np.array([float(h) for h in header[1:]])
        values, bad = _numeric(table.iloc[:, 1:])
        _report_bad(table.iloc[:, 1:], bad, file, [f"x={h}" for h in header[1:]], problems)
        sids = table.iloc[:, 0].map(_cell_text)
        for i, sid in enumerate(sids, start=1):
            if not sid:
                problems.append(Problem(file, i, "sample_id", None, "sample_id is required on every row"))
                continue
            if bad[i - 1].any():
                continue
            done = _finish(axis.copy(), values[i - 1], file=file, row=i, sample_id=sid, problems=problems,
                           allow_missing=True)
            if done:
                make(*done, sid, [body[i]], i, ())
    else:  # long
        sids = table.iloc[:, 0].map(_cell_text)
        values, bad = _numeric(table.iloc[:, 1:3])
        _report_bad(table.iloc[:, 1:3], bad, file, ("x", "y"), problems)
        for k in np.flatnonzero(sids.to_numpy() == ""):
            problems.append(Problem(file, int(k) + 1, "sample_id", None,
                                    "sample_id is required on every row"))
        if len(problems) == n_before:
            groups = pd.Series(np.arange(len(sids))).groupby(sids.to_numpy(), sort=False)
            for sid, idx_series in groups:
                idx = idx_series.to_numpy()
                done = _finish(values[idx, 0], values[idx, 1], file=file, row=int(idx[0]) + 1,
                               sample_id=str(sid), problems=problems)
                if done:
                    make(*done, str(sid), [body[r + 1] for r in idx], int(idx[0]) + 1, header)
    return out, settings, layout
