"""Price books: US$ per carat by size class, quality and colour.

A price book is a CSV (``#`` comment lines allowed; ``# SYNTHETIC`` marks a
synthetic one) with the columns

``size_class``
    Any size-class system (:func:`footprint.ingest.parse_size_class`): the row
    prices stones whose mean mass per stone falls in the class's carat range.
``quality``, ``colour``
    Schema vocabulary words; blank or ``*`` = any.
``usd_per_ct``
    The expected price, US$ per carat (> 0).
``low``, ``high`` (optional)
    The band of acceptable prices, US$ per carat (default: ``usd_per_ct``
    divided and multiplied by 1.25).
``effective_from`` (optional)
    ISO date from which the row applies; for a valuation date, the latest
    row in effect wins.
"""

from __future__ import annotations

import datetime as _dt
import io
import math
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._schema import get_field
from ..exceptions import InputError, Problem

__all__ = ["DEFAULT_BAND", "PriceBook", "read_price_book", "synthetic_price_book_path"]

#: Default band when a row gives no low/high: usd_per_ct / 1.25 to usd_per_ct * 1.25.
DEFAULT_BAND = 1.25
_COLUMNS = ("size_class", "quality", "colour", "usd_per_ct", "low", "high", "effective_from")
_ALIASES = {
    "color": "colour",
    "usd/ct": "usd_per_ct",
    "price": "usd_per_ct",
    "usd per ct": "usd_per_ct",
    "size": "size_class",
    "sieve": "size_class",
    "size class": "size_class",
}


def synthetic_price_book_path() -> Path:
    """Path of the bundled SYNTHETIC price book (``footprint/data/price_book_synthetic.csv``)."""
    return Path(str(resources.files("footprint").joinpath("data/price_book_synthetic.csv")))


@dataclass
class PriceBook:
    """A validated price book.

    Attributes
    ----------
    rows : DataFrame
        size_class, ct_low, ct_high, quality, colour (None = any), usd_per_ct,
        low, high, effective_from.
    name : str
        The file it came from.
    synthetic : bool
        Whether the file is marked SYNTHETIC.
    """

    rows: pd.DataFrame
    name: str
    synthetic: bool = False
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def as_of(self, date: str | None) -> PriceBook:
        """Return the rows in effect on ``date`` (ISO; None: today): per key, the latest row not after it."""
        day = date or _dt.date.today().isoformat()
        rows = self.rows[(self.rows["effective_from"].isna()) | (self.rows["effective_from"] <= day)]
        rows = rows.sort_values("effective_from", na_position="first", kind="stable")
        rows = rows.drop_duplicates(["size_class", "quality", "colour"], keep="last").sort_index()
        return PriceBook(rows, self.name, self.synthetic)

    def _index(self) -> tuple[list[str], np.ndarray, np.ndarray, dict[Any, tuple[float, float, float]]]:
        """Size classes in book order with their carat ranges, and (size, quality, colour) -> prices."""
        if "index" not in self._cache:
            rows = self.rows
            labels = list(dict.fromkeys(rows["size_class"]))
            first = rows.drop_duplicates("size_class").set_index("size_class")
            table: dict[Any, tuple[float, float, float]] = {}
            records = rows[["size_class", "quality", "colour", "usd_per_ct", "low", "high"]].to_numpy(object)
            by_size: dict[str, list[Any]] = {}
            for rec in records:
                by_size.setdefault(rec[0], []).append(rec)
            for label, part in by_size.items():
                qualities = [None, *dict.fromkeys(r[1] for r in part if r[1] is not None)]
                colours = [None, *dict.fromkeys(r[2] for r in part if r[2] is not None)]
                for q in qualities:
                    for c in colours:
                        sub = part
                        for k, value in ((1, q), (2, c)):
                            if value is not None:
                                exact = [r for r in sub if r[k] == value]
                                sub = exact or [r for r in sub if r[k] is None]
                        if sub:
                            table[(label, q, c)] = (
                                float(np.mean([r[3] for r in sub])),
                                float(min(r[4] for r in sub)),
                                float(max(r[5] for r in sub)),
                            )
            self._cache["index"] = (
                labels,
                first.loc[labels, "ct_low"].to_numpy(dtype=float),
                first.loc[labels, "ct_high"].to_numpy(dtype=float),
                table,
            )
        return self._cache["index"]  # type: ignore[return-value]

    def price(
        self, ct_per_stone: float, quality: str | None, colour: str | None, size_class: str | None = None
    ) -> tuple[float, float, float]:
        """US$/ct (mid, low, high) for stones of that mean mass, quality and colour (NaN: no row).

        The size row is the one named ``size_class`` if the book has it and
        ``ct_per_stone`` lies in its range, else the first whose carat range
        holds ``ct_per_stone`` (stones above every
        range take the largest class). An unknown quality or colour (None),
        or one the book has no row for, averages the matching rows (mid) and
        spans their bands (low, high).
        """
        labels, lows, highs, table = self._index()
        label = size_class if size_class in labels else None
        if label is not None and ct_per_stone == ct_per_stone:
            k = labels.index(label)
            if not lows[k] * 0.98 <= ct_per_stone <= highs[k] * 1.02:
                label = None  # e.g. an open top sieve holding much larger stones: price by the mean mass
        if label is None and ct_per_stone == ct_per_stone:
            inside = np.flatnonzero((lows <= ct_per_stone) & (ct_per_stone < highs))
            if len(inside):
                label = labels[int(inside[0])]
            elif ct_per_stone >= lows.max():
                label = labels[int(np.argmax(lows))]
        if label is None:
            return (math.nan, math.nan, math.nan)
        for key in (
            (label, quality, colour),
            (label, quality, None),
            (label, None, colour),
            (label, None, None),
        ):
            if key in table:
                return table[key]
        return (math.nan, math.nan, math.nan)


def read_price_book(path: str | os.PathLike[str]) -> PriceBook:
    """Read and validate a price book CSV (see the module notes).

    Raises
    ------
    InputError
        Listing every problem (file, row, field, value, rule).
    """
    from ..ingest import decode_text, parse_size_class

    file = os.fspath(path)
    try:  # the project's one encoding detection: UTF-8 (BOM or not), UTF-16 from Excel, legacy code pages
        text = str(decode_text(Path(path).read_bytes()))
    except FileNotFoundError:
        raise InputError(
            f"{file}: no such file", [Problem(file, None, None, None, "file not found")]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{file}: not readable", [Problem(file, None, None, None, f"cannot read: {exc}")]
        ) from None
    comments = [line for line in text.splitlines() if line.lstrip().startswith("#")]
    body = "".join(line for line in text.splitlines(keepends=True) if not line.lstrip().startswith("#"))
    try:
        raw = pd.read_csv(
            io.StringIO(body), dtype=str, keep_default_na=False, na_filter=False, skipinitialspace=True
        )
    except (ValueError, pd.errors.ParserError) as exc:
        raise InputError(
            f"{file}: not a readable table", [Problem(file, None, None, None, f"cannot read: {exc}")]
        ) from None
    mapping = {}
    problems: list[Problem] = []
    for column in raw.columns:
        key = str(column).strip().lower().replace("_", " ")
        name = _ALIASES.get(key, key.replace(" ", "_"))
        if name not in _COLUMNS:
            problems.append(
                Problem(
                    file, 0, str(column), None, f"unknown column; price books have: {', '.join(_COLUMNS)}"
                )
            )
        mapping[column] = name
    raw = raw.rename(columns=mapping)
    for required in ("size_class", "usd_per_ct"):
        if required not in raw.columns:
            problems.append(Problem(file, 0, required, None, "column required"))
    if problems:
        raise InputError(f"{file}: the price book breaks its format", problems)
    if not len(raw):
        raise InputError(
            f"{file}: the price book has no rows", [Problem(file, None, None, None, "no data rows")]
        )
    records = []
    for i, rec in enumerate(raw.to_dict("records")):
        row = i + 1
        out: dict[str, Any] = {}
        try:
            size = parse_size_class(rec["size_class"])
            out.update(size_class=size.label, ct_low=size.ct_low, ct_high=size.ct_high)
        except InputError as exc:
            problems.append(Problem(file, row, "size_class", rec["size_class"], str(exc)))
        for name in ("quality", "colour"):
            value = str(rec.get(name, "") or "").strip()
            if value in ("", "*"):
                out[name] = None
            elif value.lower().replace(" ", "_") in get_field(name).vocabulary:
                out[name] = value.lower().replace(" ", "_")
            else:
                problems.append(
                    Problem(
                        file,
                        row,
                        name,
                        value,
                        f"must be one of: {', '.join(get_field(name).vocabulary)} (or * for any)",
                    )
                )
        prices = {}
        for name in ("usd_per_ct", "low", "high"):
            value = str(rec.get(name, "") or "").strip()
            if not value:
                prices[name] = math.nan
                continue
            try:
                prices[name] = float(value.replace(",", ""))
                if not (prices[name] > 0 and math.isfinite(prices[name])):
                    raise ValueError
            except ValueError:
                problems.append(Problem(file, row, name, value, "must be a number > 0 (US$ per carat)"))
                prices[name] = math.nan
        mid = prices["usd_per_ct"]
        if not str(rec.get("usd_per_ct", "")).strip():
            problems.append(Problem(file, row, "usd_per_ct", "", "required"))
        low = prices["low"] if math.isfinite(prices["low"]) else mid / DEFAULT_BAND
        high = prices["high"] if math.isfinite(prices["high"]) else mid * DEFAULT_BAND
        if math.isfinite(mid) and not low <= mid <= high:
            problems.append(Problem(file, row, "low", f"{low:g}-{high:g}", "needs low <= usd_per_ct <= high"))
        out.update(usd_per_ct=mid, low=low, high=high)
        day = str(rec.get("effective_from", "") or "").strip()
        if day:
            try:
                day = _dt.date.fromisoformat(day).isoformat()
            except ValueError:
                problems.append(Problem(file, row, "effective_from", day, "must be an ISO date (YYYY-MM-DD)"))
        out["effective_from"] = day or None
        records.append(out)
    if problems:
        raise InputError(f"{file}: the price book breaks its format", problems)
    rows = pd.DataFrame.from_records(records)
    keys = rows[["size_class", "quality", "colour", "effective_from"]].astype(str)
    duplicated = keys.duplicated()
    if duplicated.any():
        k = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise InputError(
            f"{file}: the price book breaks its format",
            [
                Problem(
                    file,
                    k + 1,
                    "size_class",
                    rows["size_class"].iloc[k],
                    "duplicate of an earlier row (same size class, quality, colour and date)",
                )
            ],
        )
    synthetic = any("SYNTHETIC" in line.upper() for line in comments)
    return PriceBook(rows, file, synthetic)
