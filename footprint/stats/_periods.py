"""Reporting periods of KP statistics: ``YYYY``, ``YYYY-H1``/``H2``, ``YYYY-Q1``..``Q4``.

A period has a *grain* (``"Q"`` quarter, ``"H"`` half-year, ``"Y"`` year) and
covers whole quarters, so a coarser check can aggregate finer periods: a
quarter lies in exactly one half-year and one year. Periods are handled as
integer arrays (year, grain code, part) so that hundreds of thousands of rows
are converted without a Python loop per row.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = [
    "GRAINS",
    "PERIOD_RE",
    "grain_code",
    "index_label",
    "label",
    "parse_periods",
    "period_index",
    "quarters_covered",
]

#: Grains from finest to coarsest; the code of a grain is its position here.
GRAINS: tuple[str, ...] = ("Q", "H", "Y")
#: Quarters per period of each grain.
_QUARTERS = np.array([1, 2, 4])
#: Periods per year of each grain.
_PER_YEAR = np.array([4, 2, 1])

PERIOD_RE = re.compile(r"^\s*(\d{4})(?:\s*-\s*([HhQq])\s*([1-4]))?\s*$")
#: Years accepted in a period (the KPCS started in 2003; older national series exist).
MIN_YEAR, MAX_YEAR = 1990, 2100


def grain_code(grain: str) -> int:
    """Return the integer code of a grain letter (``Q`` 0, ``H`` 1, ``Y`` 2)."""
    return GRAINS.index(grain)


def _parse_one(text: str) -> tuple[int, int, int] | str:
    """Parse one period text into (year, grain code, part) or return the broken rule."""
    match = PERIOD_RE.match(text)
    if not match:
        return "must be a period YYYY, YYYY-H1, YYYY-H2 or YYYY-Q1..YYYY-Q4"
    year = int(match[1])
    if not MIN_YEAR <= year <= MAX_YEAR:
        return f"year must be between {MIN_YEAR} and {MAX_YEAR}"
    if match[2] is None:
        return year, 2, 1
    kind = match[2].upper()
    part = int(match[3])
    if kind == "H" and part > 2:
        return "a half-year is H1 or H2"
    return year, (0 if kind == "Q" else 1), part


def parse_periods(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, str]]:
    """Parse period cells.

    Parameters
    ----------
    values : Series of object
        Period cells as read (text, or numbers for a bare year from XLSX).

    Returns
    -------
    year, grain, part : ndarray of int64, shape (n,)
        Year, grain code (0 quarter, 1 half-year, 2 year) and part (quarter
        1-4, half 1-2, or 1 for a year); 0 where the cell is broken.
    problems : dict
        Row position to the rule the cell breaks.
    """
    inverse, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = [_cell_text(u) for u in uniques.tolist()] + [""]
    inverse = np.where(inverse < 0, len(texts) - 1, inverse)
    table = np.zeros((len(texts), 3), dtype=np.int64)
    bad_codes: dict[int, str] = {}
    for i, text in enumerate(texts):
        result = _parse_one(text)
        if isinstance(result, str):
            bad_codes[i] = result
        else:
            table[i] = result
    rows = table[inverse]
    problems: dict[int, str] = {}
    if bad_codes:
        for pos in np.flatnonzero(np.isin(inverse, list(bad_codes))):
            problems[int(pos)] = bad_codes[int(inverse[pos])]
    return rows[:, 0], rows[:, 1], rows[:, 2], problems


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if value.is_integer():
            return str(int(value))
    return str(value)


def label(year: np.ndarray | int, grain: np.ndarray | int, part: np.ndarray | int) -> np.ndarray:
    """Return the canonical period texts (``2020``, ``2020-H1``, ``2020-Q3``).

    Parameters
    ----------
    year, grain, part : int or array of int
        As :func:`parse_periods` returns them.
    """
    year, grain, part = np.broadcast_arrays(
        np.asarray(year, dtype=np.int64), np.asarray(grain, dtype=np.int64), np.asarray(part, dtype=np.int64)
    )
    key = (year * 10 + grain) * 10 + part
    inverse, uniques = pd.factorize(key.ravel())  # hashing: few distinct periods, many rows
    texts = np.empty(len(uniques), dtype=object)
    for i, k in enumerate(uniques.tolist()):
        y, g, p = k // 100, (k // 10) % 10, k % 10
        texts[i] = str(y) if g == 2 else f"{y}-{'Q' if g == 0 else 'H'}{p}"
    return texts[inverse].reshape(year.shape)


def period_index(
    year: np.ndarray, grain: np.ndarray, part: np.ndarray, target: np.ndarray | int
) -> np.ndarray:
    """Index of each period on the time axis of a coarser or equal grain.

    Parameters
    ----------
    year, grain, part : array of int
        The periods.
    target : int or array of int
        Grain code of the axis; must be >= ``grain`` element-wise (a year
        cannot be placed on a quarterly axis).

    Returns
    -------
    ndarray of int64
        ``year * periods_per_year + (period number - 1)`` on the target axis,
        so consecutive periods differ by one.
    """
    year = np.asarray(year, dtype=np.int64)
    grain = np.asarray(grain, dtype=np.int64)
    part = np.asarray(part, dtype=np.int64)
    target = np.broadcast_to(np.asarray(target, dtype=np.int64), year.shape)
    if np.any(target < grain):
        raise ValueError("a period cannot be placed on a finer time axis")
    first_quarter = (part - 1) * _QUARTERS[grain]  # 0-based quarter of the year the period starts in
    per_target = _QUARTERS[target]
    return year * _PER_YEAR[target] + first_quarter // per_target


def index_label(index: np.ndarray, grain: np.ndarray | int) -> np.ndarray:
    """Inverse of :func:`period_index`: the period texts of axis positions."""
    index = np.asarray(index, dtype=np.int64)
    grain = np.broadcast_to(np.asarray(grain, dtype=np.int64), index.shape)
    per_year = _PER_YEAR[grain]
    return label(index // per_year, grain, index % per_year + 1)


def quarters_covered(year: np.ndarray, grain: np.ndarray, part: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expand periods into the quarters they cover.

    Returns
    -------
    row, quarter : ndarray of int64
        For every covered quarter, the position of the period it came from
        and its quarterly index (``year * 4 + quarter - 1``).
    """
    year = np.asarray(year, dtype=np.int64)
    grain = np.asarray(grain, dtype=np.int64)
    part = np.asarray(part, dtype=np.int64)
    n_q = _QUARTERS[grain]
    row = np.repeat(np.arange(len(year)), n_q)
    start = np.repeat(year * 4 + (part - 1) * n_q, n_q)
    offset = np.arange(len(row)) - np.repeat(np.cumsum(n_q) - n_q, n_q)
    return row, start + offset
