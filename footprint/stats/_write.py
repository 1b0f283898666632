"""Write ANOMALIES.csv: atomically, never onto an input, spreadsheet-formula-safe.

:func:`write_csv_safe` is the one CSV writer of this package. A text cell
that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
read by spreadsheets as a formula (CSV injection, OWASP); such cells are
prefixed with a single quote. Numbers are written as numbers. Issue 11 is
to make a writer like this the project-wide one; until then it lives here.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from ..exceptions import InputError, Problem

__all__ = ["FORMULA_PREFIXES", "neutralise", "refuse_input_overwrite", "write_csv_safe", "write_text_atomic"]

#: First characters that make a spreadsheet evaluate a cell.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """Prefix a text cell a spreadsheet would run as a formula with ``'``."""
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def refuse_input_overwrite(
    output: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str] | None]
) -> None:
    """Raise :class:`InputError` if ``output`` is one of ``inputs`` (same file or same path).

    Raises
    ------
    InputError
        Naming the output and the input it would overwrite.
    """
    out = Path(output)
    for item in inputs:
        if item is None:
            continue
        src = Path(item)
        same = False
        if out.exists() and src.exists():
            same = os.path.samefile(out, src)
        else:
            same = out.resolve() == src.resolve()
        if same:
            raise InputError(
                "an output would overwrite an input",
                [Problem(str(out), None, None, None, f"is the input {src}; write the result elsewhere")],
            )


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write text (UTF-8) to ``path`` through a temporary file and an atomic rename."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_csv_safe(
    frame: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    columns: Sequence[str] | None = None,
    comments: Sequence[str] = (),
    float_format: str = "{:.6g}",
) -> None:
    """Write a table as CSV: formula-safe cells, atomic replace.

    Parameters
    ----------
    frame : DataFrame
        The rows to write.
    path : path-like
        Output file.
    columns : sequence of str, optional
        Columns to write, in order (default all).
    comments : sequence of str
        Leading ``# ...`` lines (e.g. ``SYNTHETIC ...``), read back as
        comments by the project's table reader.
    float_format : str
        Format of non-integer floats (NaN is written as an empty cell).
    """
    columns = list(columns or frame.columns)
    buffer = io.StringIO()
    for line in comments:
        buffer.write(f"# {neutralise(line)}\n")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([neutralise(str(c)) for c in columns])
    for row in frame[columns].itertuples(index=False, name=None):
        writer.writerow([_cell(v, float_format) for v in row])
    write_text_atomic(path, buffer.getvalue())


def _cell(value: object, float_format: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else float_format.format(value)
    try:
        import numpy as np

        if isinstance(value, np.integer):
            return str(int(value))
        if isinstance(value, np.floating):
            return _cell(float(value), float_format)
    except ImportError:  # pragma: no cover
        pass
    # a lone CR inside a cell would not be quoted by the csv module (the line terminator is LF) and
    # would split the row in most readers: it becomes LF, which is quoted
    return neutralise(str(value)).replace("\r\n", "\n").replace("\r", "\n")
