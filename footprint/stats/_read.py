"""Read and validate KP production (PROD) and trade (TRADE) statistics, CSV or XLSX.

The file-level work (encodings, ``,``/``;``/tab delimiters, decimal commas,
leading ``#`` comment lines such as ``# SYNTHETIC``, XLSX workbooks) is done by
the project's one table reader, :mod:`footprint.ingest._table`; this module
checks the cells against the rules of KP statistics. Every problem of a file
is collected and raised together as one
:class:`~footprint.exceptions.SchemaError` naming file, 1-based data row,
field, value and rule.

Rules
-----
- ``participant``, ``partner``: ISO 3166-1 alpha-3 codes (the list ships as
  ``footprint/data/iso3166_alpha3.csv``) or ``EUR`` (the European Union
  reports as one participant); case and surrounding blanks are forgiven;
  a partner must differ from the participant.
- ``period``: ``YYYY``, ``YYYY-H1``/``YYYY-H2`` or ``YYYY-Q1``..``YYYY-Q4``.
- ``flow`` (TRADE): ``export`` or ``import``.
- ``carats``, ``value_usd``, ``certificates``: non-negative numbers
  (certificates whole); ``value_usd`` may be blank in PROD (many published
  production figures give carats only), every other number is required; a
  value with zero carats is refused.
- No two rows may count the same quarter twice for the same participant
  (PROD) or participant, flow and partner (TRADE): an exact repeat is a
  duplicate, ``2020`` next to ``2020-Q1`` is an overlap.
"""

from __future__ import annotations

import csv
import functools
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._batch import ProcessingReport
from ..exceptions import Problem, SchemaError
from ..ingest import parse_number, read_raw_table
from ._periods import label, parse_periods, quarters_covered

__all__ = ["country_codes", "read_production", "read_trade"]

logger = logging.getLogger(__name__)

#: Column names accepted for each field (compared after folding case, blanks and punctuation).
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "participant": ("participant", "country", "reporter", "iso3", "code"),
    "period": ("period", "year", "reporting_period"),
    "flow": ("flow", "trade_flow", "direction"),
    "partner": ("partner", "partner_country", "counterpart"),
    "carats": ("carats", "carat", "ct", "volume_ct", "volume_carats", "carats_ct"),
    "value_usd": ("value_usd", "value", "usd", "value_us", "value_us_", "value_in_usd", "value_usd_"),
    "certificates": (
        "certificates",
        "certificate_count",
        "n_certificates",
        "certificates_count",
        "kp_certificates",
    ),
}
_PROD_FIELDS = ("participant", "period", "carats", "value_usd")
_TRADE_FIELDS = ("participant", "period", "flow", "partner", "carats", "value_usd", "certificates")
_NUMERIC = frozenset({"carats", "value_usd", "certificates"})
_FLOWS = ("export", "import")


@functools.cache
def country_codes() -> dict[str, str]:
    """Return the accepted participant codes: ISO 3166-1 alpha-3 plus ``EUR``, with names."""
    text = resources.files("footprint").joinpath("data/iso3166_alpha3.csv").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    reader = csv.DictReader(lines)
    return {row["code"]: row["name"] for row in reader}


def _fold(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(name).strip().lower()).strip("_")


@functools.cache
def _canonical(header: str) -> str | None:
    folded = _fold(header)
    for name, spellings in _SYNONYMS.items():
        if folded in spellings or folded == name:
            return name
    # "value (US$)", "carats [ct]": drop a unit in brackets
    base = _fold(re.sub(r"[\(\[].*?[\)\]]", "", str(header)))
    for name, spellings in _SYNONYMS.items():
        if base in spellings:
            return name
    return None


@dataclass
class _Context:
    file: str
    kind: str
    problems: list[Problem]
    codes: dict[str, np.ndarray] = dataclass_field(default_factory=dict)
    uniques: dict[str, np.ndarray] = dataclass_field(default_factory=dict)

    def add(self, row: int | None, field: str | None, value: Any, rule: str) -> None:
        if isinstance(value, np.generic):
            value = value.item()
        self.problems.append(Problem(self.file, row, field, value, rule))


def _map_columns(raw: pd.DataFrame, fields: Sequence[str], ctx: _Context) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for header in raw.columns:
        name = _canonical(str(header))
        if name is None or name not in fields:
            continue
        if name in mapping:
            ctx.add(None, name, str(header), f"two columns mean '{name}' ('{mapping[name]}' and '{header}')")
            continue
        mapping[name] = str(header)
    for name in fields:
        if name not in mapping:
            ctx.add(
                None,
                name,
                None,
                f"required column '{name}' is missing (columns found: {', '.join(map(str, raw.columns))})",
            )
    ignored = [str(h) for h in raw.columns if str(h) not in mapping.values()]
    if ignored:
        logger.info("%s: columns ignored: %s", ctx.file, ", ".join(ignored))
    return mapping


def _factor_text(values: pd.Series, fold: str, ctx: _Context, field: str) -> np.ndarray:
    """Normalised text of every cell, computed once per distinct value (``fold``: upper or lower).

    The integer code of each row's normalised text is kept in ``ctx.codes[field]`` (used to find
    duplicate keys without hashing the strings again).
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = [
        ""
        if v is None or (isinstance(v, float) and v != v)
        else (str(v).strip().upper() if fold == "upper" else str(v).strip().lower())
        for v in uniques.tolist()
    ] + [""]
    norm_codes, norm = pd.factorize(np.array(texts, dtype=object))
    ctx.codes[field] = norm_codes[codes].astype(np.int64)  # code -1 (NA) takes the trailing ""
    ctx.uniques[field] = np.asarray(norm, dtype=object)
    return np.asarray(norm, dtype=object)[ctx.codes[field]]


def _codes(values: pd.Series, field: str, ctx: _Context) -> np.ndarray:
    out = _factor_text(values, "upper", ctx, field)
    known = country_codes()
    distinct = ctx.uniques[field]  # the distinct normalised texts, from _factor_text
    bad_codes = [i for i, v in enumerate(distinct.tolist()) if v not in known]
    if not bad_codes:
        return out
    for pos in np.flatnonzero(np.isin(ctx.codes[field], bad_codes)):
        raw = values.iloc[pos]
        cell = out[pos]
        if not cell:
            rule = "required: an ISO 3166-1 alpha-3 code (e.g. CAF) or EUR"
        elif len(cell) == 2:
            rule = "must be an ISO 3166-1 alpha-3 code (three letters, e.g. CAF, not CF) or EUR"
        else:
            rule = "not an ISO 3166-1 alpha-3 code (e.g. CAF, COD, BEL) nor EUR for the European Union"
        ctx.add(int(pos) + 1, field, raw, rule)
    return out


def _numbers(
    values: pd.Series,
    field: str,
    ctx: _Context,
    *,
    decimal_comma: bool,
    required: bool,
    integer: bool = False,
) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        out = values.to_numpy(dtype="float64")
        broken: dict[int, str] = {}
    else:
        out = np.empty(len(values), dtype="float64")
        broken = {}
        for i, cell in enumerate(values.tolist()):
            try:
                out[i] = parse_number(cell, decimal_comma=decimal_comma)
            except ValueError as exc:
                out[i] = np.nan
                broken[i] = str(exc)
    for where, rule in broken.items():
        ctx.add(where + 1, field, values.iloc[where], rule)
    nan = np.isnan(out)
    if required:
        for pos in np.flatnonzero(nan):
            if pos not in broken:
                ctx.add(int(pos) + 1, field, values.iloc[pos], "required: a number (0 if none)")
    with np.errstate(invalid="ignore"):
        for pos in np.flatnonzero(out < 0):
            ctx.add(int(pos) + 1, field, values.iloc[pos], "must not be negative")
        if integer:
            for pos in np.flatnonzero(~nan & (out != np.round(out))):
                ctx.add(int(pos) + 1, field, values.iloc[pos], "must be a whole number of certificates")
    return out


def _overlaps(
    frame: pd.DataFrame,
    keys: Sequence[str],
    period_text: np.ndarray,
    ctx: _Context,
    codes: dict[str, np.ndarray],
) -> None:
    """Report rows that count the same quarter twice for the same key."""
    rows, quarters = quarters_covered(
        frame["year"].to_numpy(), frame["grain"].to_numpy(), frame["part"].to_numpy()
    )
    key = np.zeros(len(frame), dtype=np.int64)
    for k in keys:
        key = key * (int(codes[k].max(initial=0)) + 2) + codes[k]
    combined = key[rows] * 100_000 + (quarters - quarters.min() if len(quarters) else quarters)
    clash = pd.Series(combined).duplicated(keep=False).to_numpy()
    if not clash.any():
        return
    expanded = frame[list(keys)].iloc[rows[clash]].reset_index(drop=True)
    expanded["quarter"] = quarters[clash]
    expanded["row"] = rows[clash]
    seen: set[tuple[int, int]] = set()
    for _, group in expanded.groupby([*keys, "quarter"], sort=False):
        positions = sorted(set(group["row"].tolist()))
        first = positions[0]
        for pos in positions[1:]:
            if (first, pos) in seen:
                continue
            seen.add((first, pos))
            same = period_text[first] == period_text[pos]
            what = ", ".join(f"{k} {frame[k].iloc[pos]}" for k in keys)
            rule = (
                f"duplicate of row {first + 1} ({what}, period {period_text[pos]})"
                if same
                else f"overlaps row {first + 1} (period {period_text[first]}) for {what}: "
                "the same quarter would be counted twice"
            )
            ctx.add(pos + 1, "period", period_text[pos], rule)


def _read(path: str | os.PathLike[str], kind: str, sheet: str | int | None) -> pd.DataFrame:
    file = os.fspath(path)
    fields = _PROD_FIELDS if kind == "production" else _TRADE_FIELDS
    report = ProcessingReport()
    raw, comments, delimiter = read_raw_table(
        Path(path), file, sheet, report, lambda h: _canonical(str(h)) in _NUMERIC
    )
    for warning in report.warnings:
        logger.warning("%s", warning)
    raw.columns = [str(c) for c in raw.columns]
    ctx = _Context(file, kind, [])
    mapping = _map_columns(raw, fields, ctx)
    if ctx.problems:
        raise SchemaError(f"{file}: not a KP {kind} statistics table", ctx.problems)
    if len(raw) == 0:
        raise SchemaError(
            f"{file}: no data rows",
            [Problem(file, None, None, None, "the table has a header but no data rows")],
        )
    decimal_comma = delimiter == ";"
    out: dict[str, Any] = {"participant": _codes(raw[mapping["participant"]], "participant", ctx)}
    year, grain, part, bad = parse_periods(raw[mapping["period"]])
    for where, rule in bad.items():
        ctx.add(where + 1, "period", raw[mapping["period"]].iloc[where], rule)
    if kind == "trade":
        flow = _factor_text(raw[mapping["flow"]], "lower", ctx, "flow")
        for pos in np.flatnonzero(~np.isin(flow, _FLOWS)):
            ctx.add(int(pos) + 1, "flow", raw[mapping["flow"]].iloc[pos], "must be 'export' or 'import'")
        out["flow"] = flow
        out["partner"] = _codes(raw[mapping["partner"]], "partner", ctx)
        for pos in np.flatnonzero(out["partner"] == out["participant"]):
            if out["partner"][pos]:
                ctx.add(
                    int(pos) + 1,
                    "partner",
                    raw[mapping["partner"]].iloc[pos],
                    "a participant does not trade with itself: partner must differ from participant",
                )
    out["carats"] = _numbers(
        raw[mapping["carats"]], "carats", ctx, decimal_comma=decimal_comma, required=True
    )
    out["value_usd"] = _numbers(
        raw[mapping["value_usd"]], "value_usd", ctx, decimal_comma=decimal_comma, required=kind == "trade"
    )
    if kind == "trade":
        out["certificates"] = _numbers(
            raw[mapping["certificates"]],
            "certificates",
            ctx,
            decimal_comma=decimal_comma,
            required=True,
            integer=True,
        )
    with np.errstate(invalid="ignore"):
        for pos in np.flatnonzero((out["carats"] == 0) & (out["value_usd"] > 0)):
            ctx.add(
                int(pos) + 1,
                "value_usd",
                raw[mapping["value_usd"]].iloc[pos],
                "a value with zero carats: give the carats, or 0 for both",
            )
    frame = pd.DataFrame(out)
    frame["year"], frame["grain"], frame["part"] = year, grain, part
    frame["row"] = np.arange(1, len(frame) + 1)
    period_text = label(year, grain, part)
    good_period = np.ones(len(frame), dtype=bool)
    good_period[list(bad)] = False
    keys = ["participant"] if kind == "production" else ["participant", "flow", "partner"]
    valid = good_period.copy()
    for k in keys:
        valid &= out[k] != ""
    subset = frame if valid.all() else frame[valid].reset_index(drop=True)
    _overlaps(
        subset,
        keys,
        period_text[valid],
        _RowShift(ctx, np.flatnonzero(valid)),
        {k: ctx.codes[k][valid] for k in keys},
    )
    if ctx.problems:
        ordered = sorted(ctx.problems, key=lambda p: -1 if p.row is None else p.row)
        raise SchemaError(f"{file}: the KP {kind} statistics break the rules", ordered)
    frame["period"] = period_text
    for k in ("participant", "flow", "partner"):  # categorical: the checks work on the integer codes
        if k in ctx.codes:
            frame[k] = pd.Categorical.from_codes(ctx.codes[k], categories=ctx.uniques[k])
    synthetic = any(c.upper().startswith("SYNTHETIC") for c in comments)
    frame.attrs.update(file=file, synthetic=synthetic, kind=kind)
    logger.info("read %d %s rows from %s", len(frame), kind, file)
    columns = [
        "participant",
        "period",
        *(["flow", "partner"] if kind == "trade" else []),
        "carats",
        "value_usd",
        *(["certificates"] if kind == "trade" else []),
        "year",
        "grain",
        "part",
        "row",
    ]
    return frame[columns]


class _RowShift(_Context):
    """A context view whose row numbers are positions in a subset of the table."""

    def __init__(self, ctx: _Context, positions: np.ndarray) -> None:
        super().__init__(ctx.file, ctx.kind, ctx.problems)
        self._positions = positions

    def add(self, row: int | None, field: str | None, value: Any, rule: str) -> None:  # noqa: D102
        real = None if row is None else int(self._positions[row - 1]) + 1
        rule = re.sub(r"row (\d+)", lambda m: f"row {int(self._positions[int(m[1]) - 1]) + 1}", rule)
        super().add(real, field, value, rule)


def read_production(path: str | os.PathLike[str], *, sheet: str | int | None = None) -> pd.DataFrame:
    """Read and validate a PROD table: ``participant, period, carats, value_usd``.

    Parameters
    ----------
    path : path-like
        ``.csv`` (UTF-8 or cp1252; ``,`` ``;`` or tab delimited; leading
        ``#`` lines allowed, ``# SYNTHETIC`` marks synthetic data) or ``.xlsx``.
        Other columns (e.g. ``source``) are ignored.
    sheet : str or int, optional
        XLSX sheet; default the first.

    Returns
    -------
    DataFrame
        ``participant, period, carats, value_usd`` (float64; ``value_usd`` NaN
        where not given), then ``year, grain, part`` (see
        :func:`~footprint.stats._periods.parse_periods`) and ``row`` (1-based
        data row in the file). ``attrs``: ``file``, ``synthetic``, ``kind``.

    Raises
    ------
    SchemaError
        Listing every problem (file, row, field, value, rule).
    """
    return _read(path, "production", sheet)


def read_trade(path: str | os.PathLike[str], *, sheet: str | int | None = None) -> pd.DataFrame:
    """Read and validate a TRADE table.

    Columns ``participant, period, flow, partner, carats, value_usd,
    certificates``: one row per participant, period, flow (``export`` or
    ``import``) and partner.

    Parameters
    ----------
    path : path-like
        ``.csv`` or ``.xlsx`` (as for :func:`read_production`).
    sheet : str or int, optional
        XLSX sheet; default the first.

    Returns
    -------
    DataFrame
        The seven columns (numbers float64), then ``year, grain, part, row``.
        ``attrs``: ``file``, ``synthetic``, ``kind``.

    Raises
    ------
    SchemaError
        Listing every problem (file, row, field, value, rule).
    """
    return _read(path, "trade", sheet)
