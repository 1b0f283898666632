"""Single-value parsers of the stone table: numbers (decimal comma), integers, booleans, dates, words."""

from __future__ import annotations

import datetime as _dt
import difflib
import math
import re
from typing import Any

import numpy as np
import pandas as pd

from .._schema import Field

__all__ = ["MISSING_WORDS", "parse_boolean", "parse_category", "parse_date", "parse_integer", "parse_number"]


#: Words that mean "not measured" in a numeric column (compared case-folded).
MISSING_WORDS = frozenset({"", "na", "n/a", "nan", "nd", "n.d.", "-", "--", "null"})

_TRUE = frozenset({"true", "yes", "y", "t", "1"})
_FALSE = frozenset({"false", "no", "n", "f", "0"})

#: Spelling variants accepted for vocabulary words (after case/space folding).
#: Only spellings of the same word: anything that changes meaning is an error.
_VOCABULARY_ALIASES = {
    "colorless": "colourless",
    "gray": "grey",
    "light_gray": "grey",
    "light_grey": "grey",
}

#: Unit spellings accepted in a column header, per schema unit.
_UNIT_SPELLINGS: dict[str, frozenset[str]] = {
    "ct": frozenset({"ct", "cts", "carat", "carats"}),
    "ppm": frozenset({"ppm", "at ppm", "atomic ppm", "ppma"}),
    "%": frozenset({"%", "percent", "pct"}),
    "cm-1": frozenset({"cm-1", "1/cm", "cm^-1", "cm 1"}),
    "cm-2": frozenset({"cm-2", "cm^-2", "cm 2"}),
    "permil": frozenset({"permil", "per mil", "‰", "o/oo", "per mille"}),
}

_UNIT_IN_HEADER = re.compile(r"^(?P<base>.*?)\s*[\(\[](?P<unit>[^\)\]]*)[\)\]]\s*$")

#: sample_id characters: they become file names (spectra, images) and HDF5 keys.
_SAMPLE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")
_COUNTRY_RE = re.compile(r"^[A-Z]{3}$")
_BAD_ID_SCAN = re.compile(r"^(?![A-Za-z0-9][A-Za-z0-9._\-]{0,63}$)", re.M)


# -- single-value parsers ---------------------------------------------------------
# Each returns the parsed value, or raises ValueError with the broken rule.

def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # XLSX gives 3.0 for a cell typed 3
    return str(value).strip()


def parse_number(value: Any, *, decimal_comma: bool = False) -> float:
    """Parse one numeric cell; blank and "not measured" words give NaN.

    Parameters
    ----------
    value : Any
        Cell content (str from CSV, float/int from XLSX).
    decimal_comma : bool
        Accept ``0,52`` as 0.52 (files written with ``;`` as delimiter).

    Raises
    ------
    ValueError
        If the cell is not a number.
    """
    if isinstance(value, bool):
        raise ValueError("must be a number")
    if isinstance(value, (int, float, np.integer, np.floating)):
        out = float(value)
    else:
        text = _text(value)
        if text.casefold() in MISSING_WORDS:
            return math.nan
        if decimal_comma and text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")
        try:
            out = float(text)
        except ValueError:
            if text.count(",") == 1 and "." not in text and not decimal_comma:
                raise ValueError("must be a number with '.' as decimal separator "
                                 "(or save the file with ';' between columns)") from None
            raise ValueError("must be a number (blank if not measured)") from None
    if math.isinf(out):
        raise ValueError("must be a finite number")
    return out


def parse_integer(value: Any, *, decimal_comma: bool = False) -> float:
    """Parse one integer cell (``2``, ``2.0``); NaN when blank.

    Raises
    ------
    ValueError
        If the cell is not a whole number.
    """
    out = parse_number(value, decimal_comma=decimal_comma)
    if not math.isnan(out) and not float(out).is_integer():
        raise ValueError("must be a whole number")
    return out


def parse_boolean(value: Any) -> bool | None:
    """Parse true/false/yes/no/1/0 (any case); ``None`` when blank.

    Raises
    ------
    ValueError
        For any other word.
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    text = _text(value).casefold()
    if text in ("", "na", "n/a", "nan"):
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("must be true or false (also yes/no, 1/0)")


def parse_date(value: Any) -> str | None:
    """Parse an ISO 8601 date ``YYYY-MM-DD``; ``None`` when blank.

    Raises
    ------
    ValueError
        If the cell is not an ISO date (``12/03/2021`` is ambiguous, so refused).
    """
    if isinstance(value, (_dt.datetime, pd.Timestamp)):
        return value.date().isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    text = _text(value)
    if not text:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError("must be an ISO date YYYY-MM-DD (e.g. 2021-03-12)")
    try:
        return _dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise ValueError("is not a calendar date (YYYY-MM-DD)") from None


def _fold_word(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", text.strip()).casefold()


def parse_category(value: Any, f: Field) -> str | None:
    """Map a vocabulary word to its canonical spelling; ``None`` when blank.

    Case, spaces and hyphens are folded (``"Light Yellow"`` -> ``light_yellow``,
    ``"iaab"`` -> ``IaAB``); a few spelling variants are accepted
    (``colorless``, ``gray``).

    Raises
    ------
    ValueError
        If the word is not in the field's vocabulary; the message suggests close words.
    """
    text = _text(value)
    if not text:
        return None
    folded = _fold_word(text)
    by_folded = {w.casefold(): w for w in f.vocabulary}
    folded = _VOCABULARY_ALIASES.get(folded, folded)
    if folded in by_folded:
        return by_folded[folded]
    close = difflib.get_close_matches(folded, list(by_folded), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(by_folded[c]) for c in close)}?" if close else ""
    raise ValueError(f"unknown word; allowed: {', '.join(f.vocabulary)}{hint}")
