"""Read a small user-edited CSV table (certificates, compliance lists, result sheets) as text cells.

The stone table has its own typed reader (:mod:`._table`); other sheets a
user writes by hand share its file handling: UTF-8 with or without BOM (a
Windows-1252 fallback with a warning), leading ``#`` comment lines (``#
SYNTHETIC``), and the ``,`` / ``;`` / tab delimiter sniffed from the header.
Cells come back as stripped text, headers as ``snake_case``; callers check
the values with the ingest parsers (:func:`parse_number`, :func:`parse_date`)
and report problems by file, row and field (row 1 is the first data row).
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .._batch import ProcessingReport
from .._text import sniff_delimiter
from ..exceptions import Problem, SchemaError
from ._table import _decode, _split_comments
from ._validate import parse_date, parse_integer, parse_number

__all__ = ["PlainTable", "parse_date", "parse_integer", "parse_number", "read_plain_table"]

#: Plain tables larger than this are refused (a register month is a few hundred rows).
MAX_PLAIN_BYTES = 50 * 1024 * 1024


@dataclass
class PlainTable:
    """A CSV sheet read as text.

    Attributes
    ----------
    file : str
        The path as the user gave it (for messages).
    frame : DataFrame
        One column per header (``snake_case``), every cell a stripped ``str``.
    comments : list of str
        Leading ``#`` lines without the ``#``.
    synthetic : bool
        True when a comment line starts with ``SYNTHETIC`` or contains
        ``SYNTHETIC`` (the project's label).
    warnings : list of str
        Encoding fall-backs and similar notes for the user.
    """

    file: str
    frame: pd.DataFrame
    comments: list[str] = field(default_factory=list)
    synthetic: bool = False
    warnings: list[str] = field(default_factory=list)


def _snake(header: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", header.strip().lower()).strip("_")


def read_plain_table(
    path: str | os.PathLike[str], *, required: tuple[str, ...] = (), what: str = "table"
) -> PlainTable:
    """Read a CSV sheet into text cells, checking that the ``required`` columns are present.

    Parameters
    ----------
    path : path
        The CSV file (``.csv``, ``.tsv`` or ``.txt``).
    required : tuple of str
        Column names (``snake_case``) that must be present.
    what : str
        What the table is, for messages ("certificates file").

    Returns
    -------
    PlainTable

    Raises
    ------
    SchemaError
        When the file is missing, empty, too large, not a CSV table, has
        duplicate columns or lacks a required one.
    """
    file = str(path)
    p = Path(path)
    if not p.is_file():
        raise SchemaError(f"{file}: no such {what}", [Problem(file, None, None, None, "file not found")])
    size = p.stat().st_size
    if size > MAX_PLAIN_BYTES:
        raise SchemaError(
            f"{file}: file too large",
            [Problem(file, None, None, size, f"a {what} over {MAX_PLAIN_BYTES // 2**20} MB is refused")],
        )
    report = ProcessingReport()
    text = _decode(p.read_bytes(), file, report)
    comments, body = _split_comments(text)
    if not body.strip():
        raise SchemaError(
            f"{file}: the {what} is empty",
            [Problem(file, None, None, None, "no header row and no data rows")],
        )
    first_line = body[: body.find("\n")] if "\n" in body else body
    delimiter = sniff_delimiter(first_line.strip("\r"))
    try:
        rows = list(csv.reader(io.StringIO(body), delimiter=delimiter, skipinitialspace=True))
    except csv.Error as exc:
        raise SchemaError(
            f"{file}: not a readable CSV table", [Problem(file, None, None, None, f"CSV parse error: {exc}")]
        ) from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    header = [_snake(h) for h in rows[0]]
    problems: list[Problem] = []
    seen: set[str] = set()
    for h in header:
        if h in seen:
            problems.append(Problem(file, 0, h, None, "column appears twice"))
        seen.add(h)
    problems += [
        Problem(file, 0, c, None, f"required column missing (the {what} needs: {', '.join(required)})")
        for c in required
        if c not in seen
    ]
    body_rows = rows[1:]
    for i, r in enumerate(body_rows, start=1):
        if len(r) > len(header) and any(c.strip() for c in r[len(header) :]):
            problems.append(Problem(file, i, None, None, f"{len(r)} cells but {len(header)} columns"))
    if problems:
        raise SchemaError(f"{file}: the {what} cannot be read", problems)
    cells = [[(r[j].strip() if j < len(r) else "") for j in range(len(header))] for r in body_rows]
    frame = pd.DataFrame(cells, columns=header, dtype=object)
    synthetic = any("SYNTHETIC" in c.upper() for c in comments)
    return PlainTable(
        file=file, frame=frame, comments=comments, synthetic=synthetic, warnings=report.warnings
    )
