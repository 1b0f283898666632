"""Plain AFFN ``(X++(Y..Y))`` JCAMP-DX tables, decoded without ``jcamp``'s per-character parser.

``jcamp.parse`` walks every character in Python, about 2 ms for a 1,801-point
FTIR file, more than the rest of an ingest. A plain AFFN table is a list of
decimal numbers: ``jcamp`` reads the header of such a file, and these functions
split and convert its numbers in C, with the values, axis and X-check messages
``jcamp`` would give (a test checks it on every such file of the JCAMP-DX test
suite). Compressed forms (SQZ, DIF, DUP), ``?`` ordinates and multi-block files
are not handled here (:func:`affn_table` returns None).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

__all__ = ["affn_table", "decode_affn", "label_of"]

#: A plain AFFN data line once exponents are set aside: digits, signs, points and separators only.
_AFFN_LINE = re.compile(r"[0-9.+\-,;\s]*")
_AFFN_EXPONENT = re.compile(r"(?<=[0-9.])[Ee][+\-]?(?=[0-9])")
#: Labels of files that are not one plain table: jcamp decodes them whole.
_NOT_ONE_AFFN_TABLE = ("BLOCKS", "NTUPLES", "XYPOINTS", "PEAKTABLE", "DATATABLE")
_AFFN_NUMBER = re.compile(r"[+\-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[Ee][+\-]?[0-9]+)?")


def label_of(line: str) -> str:
    """Return the label of a ``##LABEL=`` line as JCAMP-DX compares labels: upper case, no blanks."""
    return line[2:].split("=", 1)[0].strip().upper().replace(" ", "")


def affn_table(lines: list[str]) -> tuple[list[str], list[str]] | None:
    """Split off the data lines of a single ``(X++(Y..Y))`` table written in plain AFFN numbers.

    Returns ``(header and trailer lines, data lines)``, or None when the file is
    anything else (several blocks or tables, compressed SQZ/DIF/DUP forms, ``?``
    ordinates), which ``jcamp`` then decodes whole.
    """
    start = end = -1
    for i, line in enumerate(lines):
        if not line.startswith("##"):
            continue
        label = label_of(line)
        if label in _NOT_ONE_AFFN_TABLE or (label == "XYDATA" and start >= 0):
            return None
        if label == "XYDATA":
            if "++" not in line:
                return None
            start = i
        elif start >= 0 and end < 0:
            end = i
    if start < 0 or end <= start + 1:
        return None
    data = lines[start + 1:end]
    if not _AFFN_LINE.fullmatch(_AFFN_EXPONENT.sub("", "".join(data))):
        return None
    return lines[:start + 1] + lines[end:], data


def _affn_rows(data: list[str]) -> tuple[np.ndarray, list[int]]:
    """Every number of the lines in order, and how many each line holds."""
    rows = [line.replace(",", " ").replace(";", " ").split() for line in data]
    try:  # blank-separated numbers (nearly every writer): split and convert in C
        values = np.array([v for row in rows for v in row], dtype=float)
    except ValueError:  # signs as separators ("1.0-2.0"): the regular expression splits them
        rows = [_AFFN_NUMBER.findall(line) for line in data]
        values = np.array([v for row in rows for v in row], dtype=float)
    return values, [len(row) for row in rows]


def decode_affn(header: dict[str, Any], data: list[str]) -> tuple[np.ndarray, str] | None:
    """Decode plain AFFN ``(X++(Y..Y))`` lines as ``jcamp.read`` does, without its per-character parser.

    The ordinates are the lines' numbers after their first (the abscissa, used for
    jcamp's X-check only: the axis comes from FIRSTX, LASTX and NPOINTS), times
    YFACTOR; X-check messages are worded as jcamp words them.
    """
    if not all(isinstance(header.get(k), (int, float)) for k in ("firstx", "lastx", "npoints")):
        return None
    values, counts = _affn_rows(data)
    if min(counts) == 0:
        return None
    starts = np.cumsum([0, *counts[:-1]])
    x_line = values[starts].tolist()
    y = np.delete(values, starts)
    npoints = header["npoints"]
    dx = (header["lastx"] - header["firstx"]) / (npoints - 1) if npoints != 1 else 1.0
    dx /= header.get("xfactor", 1)
    messages = []
    for i in range(1, len(counts)):
        next_x = x_line[i - 1] + (counts[i - 1] - 1) * dx
        if abs(x_line[i] - next_x) > 1:
            messages.append(f"X-Check failed. Expected value is {x_line[i]} but {next_x} "
                            "has been calculated.")
    if "yfactor" in header:
        y *= header["yfactor"]
    return y, "".join(m + "\n" for m in messages)
