"""Read a lab's stone table (CSV or XLSX) into a typed, validated DataFrame.

Reading and validating are separate: :func:`_read_raw` turns the file into a
table of untouched cells (text for CSV, cell objects for XLSX), the named
steps of :mod:`._validate` check and convert it, and :func:`_assemble` builds
the output frame with the dtypes the schema promises.
"""

from __future__ import annotations

import csv
import functools
import io
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._batch import ProcessingReport
from .._schema import FIELDS, Field, canonical_column
from .._text import sniff_delimiter
from ..exceptions import Problem, SchemaError
from ._encoding import Decoded, decode_text, encoding_label
from ._parse import _UNIT_IN_HEADER, MISSING_WORDS, parse_boolean
from ._validate import TableContext, run_steps

__all__ = ["read_raw_table", "read_stones_bytes", "read_stones_table"]

logger = logging.getLogger(__name__)

#: Stone tables larger than this are refused before reading (a 100,000-stone
#: table is about 15 MB).
MAX_TABLE_BYTES = 200 * 1024 * 1024

_CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
_XLSX_SUFFIXES = {".xlsx", ".xlsm"}


def _decode(data: bytes, file: str, report: ProcessingReport) -> Decoded:
    """Decode with :func:`decode_text` (BOM, UTF-16, UTF-8, then a named legacy guess).

    Anything but UTF-8 is named in a warning, so the user knows how the file was read.
    """
    text = decode_text(data)
    if text.encoding not in ("utf-8", "utf-8-sig"):
        label = encoding_label(text.encoding)
        if text.certain:
            report.warnings.append(f"{file}: read as {label} (from its byte-order mark or layout)")
        else:
            report.warnings.append(
                f"{file}: not UTF-8; read as {label} - check accented names, and save the file as "
                "UTF-8 next time")
    return text


def _encoding_note(text: Decoded) -> str:
    """`` (read as UTF-16 LE)`` for messages about a file that was not UTF-8, else ``""``."""
    return "" if text.encoding in ("utf-8", "utf-8-sig") else f" (read as {encoding_label(text.encoding)})"


def _split_comments(text: str) -> tuple[list[str], str]:
    """Split leading ``#`` comment lines (e.g. ``# SYNTHETIC``) from the table text."""
    comments: list[str] = []
    pos = 0
    while pos < len(text):  # only the leading lines are looked at: no copy of a big body
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end + 1
        line = text[pos:end].strip()
        if line and not line.startswith("#"):
            break
        if line:
            comments.append(line.lstrip("#").strip())
        pos = end
    return comments, text[pos:] if pos else text


#: Cell texts meaning "not measured" in numeric columns, as pandas' C parser matches them.
_NA_TEXTS = sorted({w for m in MISSING_WORDS for w in (m, m.upper(), m.capitalize())})


def _read_csv(data: bytes, file: str, report: ProcessingReport,
              numeric: Callable[[str], bool]) -> tuple[pd.DataFrame, list[str], str]:
    text = _decode(data, file, report)
    comments, body = _split_comments(text)
    source: io.StringIO | io.BytesIO = io.StringIO(body)
    if text.encoding in ("utf-8", "utf-8-sig"):  # pandas parses the bytes (~30 % faster than text)
        skipped = len(text[: len(text) - len(body)].encode("utf-8"))
        source = io.BytesIO(memoryview(data)[skipped + (3 if data.startswith(b"\xef\xbb\xbf") else 0):])
    if not body.strip():
        raise SchemaError(f"{file}: the stone table is empty",
                          [Problem(file, None, None, None, "file has no header row and no data rows")])
    first_line = body[: body.find("\n")] if "\n" in body else body
    delimiter = sniff_delimiter(first_line)
    try:
        header = next(csv.reader([first_line.strip("\r")], delimiter=delimiter))
    except csv.Error as exc:  # a NUL or a lone CR in the header: not a text table
        raise SchemaError(f"{file}: not a readable CSV table{_encoding_note(text)}",
                          [Problem(file, 0, None, None,
                                   f"the header line is not CSV text ({exc})")]) from None
    # Numeric fields are parsed by pandas' C parser (fast path); a column with any
    # non-number falls back to text and is then checked cell by cell. Every other
    # column stays text, so ids like "007" keep their zeros.
    # keys in both spellings: pandas strips leading blanks of names, not trailing ones
    dtypes = {k: object for h in header if not numeric(h) for k in (h, h.lstrip())}
    na_values = {k: _NA_TEXTS for h in header if numeric(h) for k in (h, h.lstrip())}
    try:
        raw = pd.read_csv(source, sep=delimiter, encoding="utf-8", dtype=dtypes, keep_default_na=False,
                          na_values=na_values, skipinitialspace=True, quoting=csv.QUOTE_MINIMAL,
                          decimal="," if delimiter == ";" else ".")
    except (pd.errors.ParserError, ValueError) as exc:
        raise SchemaError(f"{file}: not a readable CSV table{_encoding_note(text)}",
                          [Problem(file, None, None, None, f"CSV parse error: {exc}")]) from None
    raw.attrs["encoding"] = text.encoding
    return raw, comments, delimiter


def _read_xlsx(path: Path, file: str, sheet: str | int | None,
               report: ProcessingReport) -> pd.DataFrame:
    import openpyxl  # noqa: F401  (fail here with a clear ImportError, not inside pandas)

    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for a broken zip/xml
        raise SchemaError(f"{file}: not a readable XLSX workbook",
                          [Problem(file, None, None, None, f"cannot open workbook: {exc}")]) from None
    with book:
        names = book.sheet_names
        if sheet is None:
            chosen: str | int = names[0]
            if len(names) > 1:
                report.warnings.append(
                    f"{file}: workbook has {len(names)} sheets ({', '.join(names)}); read the first, "
                    f"'{names[0]}' (put the stones on the first sheet, or save their sheet as CSV)"
                )
        elif isinstance(sheet, str) and sheet not in names:
            raise SchemaError(f"{file}: no sheet named '{sheet}'",
                              [Problem(file, None, "sheet", sheet,
                                       f"sheet not found; the workbook has: {', '.join(names)}")])
        else:
            chosen = sheet
        raw = pd.read_excel(book, sheet_name=chosen, dtype=object, keep_default_na=False, na_filter=False)
    return raw


def _read_raw(path: Path, file: str, sheet: str | int | None, report: ProcessingReport,
              numeric: Callable[[str], bool]) -> tuple[pd.DataFrame, list[str], str]:
    if not path.is_file():
        raise SchemaError(f"{file}: no such file",
                          [Problem(file, None, None, None, "file not found or not a regular file")])
    size = path.stat().st_size
    if size == 0:
        raise SchemaError(f"{file}: the stone table is empty",
                          [Problem(file, None, None, None, "file is empty (0 bytes)")])
    if size > MAX_TABLE_BYTES:
        raise SchemaError(f"{file}: file too large",
                          [Problem(file, None, None, size,
                                   f"stone tables over {MAX_TABLE_BYTES // 2**20} MB are refused; split it")])
    suffix = path.suffix.lower()
    if suffix in _XLSX_SUFFIXES:
        return _read_xlsx(path, file, sheet, report), [], ","
    if suffix == ".xls":
        raise SchemaError(f"{file}: old Excel format",
                          [Problem(file, None, None, None, "legacy .xls is not read; save as .xlsx or CSV")])
    if suffix in _CSV_SUFFIXES or not suffix:
        return _read_csv(path.read_bytes(), file, report, numeric)
    raise SchemaError(f"{file}: unknown table format",
                      [Problem(file, None, None, suffix, "stone tables must be .csv or .xlsx")])


def read_raw_table(path: Path, file: str, sheet: str | int | None, report: ProcessingReport,
                   numeric: Callable[[str], bool]) -> tuple[pd.DataFrame, list[str], str]:
    """Read a CSV/XLSX table as text cells, with the stone table's file checks, encodings and delimiters.

    Other readers of user tables (KP statistics, registers) use this so every
    table meets the same size, format and encoding rules.

    Parameters
    ----------
    path : Path
        The file.
    file : str
        Its name as messages show it.
    sheet : str, int or None
        XLSX sheet (default: the first).
    report : ProcessingReport
        Where the reading steps are counted.
    numeric : callable
        ``numeric(column) -> bool``: columns whose decimal commas may be read.

    Returns
    -------
    table : DataFrame
        Text cells.
    comments : list of str
        Leading ``#`` comment lines.
    delimiter : str
        The delimiter found (``,`` for XLSX).
    """
    return _read_raw(path, file, sheet, report, numeric)


@functools.lru_cache(maxsize=64)
def _numeric_header(extra: tuple[Field, ...]) -> Callable[[str], bool]:
    """Return a test telling whether a header maps to a number/integer field.

    Cached (with the answer per header) because a streamed file is read as
    many chunks with the same header, and header mapping costs ~10 ms a chunk.
    """
    kinds = {f.name: f.kind for f in (*FIELDS, *extra)}

    @functools.lru_cache(maxsize=1024)
    def numeric(header: str) -> bool:
        name = canonical_column(header, extra)
        if name is None:
            match = _UNIT_IN_HEADER.match(header.strip())
            name = canonical_column(match["base"], extra) if match else None
        return kinds.get(name or "") in ("number", "integer")

    return numeric


def _series(name: str, values: Any, f: Field | None) -> pd.Series:
    """Build one output column with the dtype the schema promises."""
    kind = f.kind if f is not None else "text"
    if kind == "number":
        return pd.Series(np.asarray(values, dtype="float64"), name=name)
    if kind == "integer":
        floats = np.asarray(values, dtype="float64")
        mask = np.isnan(floats)
        whole = floats[~mask]
        if np.all(whole == np.round(whole)) and np.all(np.abs(whole) < 2.0**53):
            # whole numbers (parse_numbers refused the others): the masked array directly, as astype makes it
            data = np.where(mask, 0.0, floats).astype(np.int64)
            return pd.Series(pd.arrays.IntegerArray(data, mask), name=name)
        return pd.Series(floats, name=name).astype("Int64")
    if kind == "boolean":
        # values are True/False/None (parse_boolean): build the masked array directly
        cells = np.asarray(values, dtype=object)
        mask = pd.isna(cells)
        data = np.zeros(len(cells), dtype=bool)
        data[~mask] = cells[~mask].astype(bool)
        return pd.Series(pd.arrays.BooleanArray(data, mask), name=name)
    return pd.Series(np.asarray(values, dtype=object), name=name, dtype=object)


def _assemble(ctx: TableContext, n_rows: int) -> pd.DataFrame:
    """Every schema (+custom) column in registry order, then kept columns."""
    columns: dict[str, pd.Series] = {}
    for name, f in ctx.fields.items():
        if name in ctx.values:
            columns[name] = _series(name, ctx.values[name], f)
        else:
            empty = np.full(n_rows, np.nan if f.kind in ("number", "integer") else None)
            columns[name] = _series(name, empty, f)
    for name in ctx.kept:
        columns[name] = _series(name, ctx.values[name], None)
    return pd.DataFrame(columns, index=pd.RangeIndex(n_rows))


def _detect_synthetic(ctx: TableContext, comments: Iterable[str]) -> bool:
    marked = any(c.upper().startswith("SYNTHETIC") for c in comments)
    if ctx.synthetic_column is not None:
        for i, v in enumerate(ctx.raw[ctx.synthetic_column]):
            try:
                if parse_boolean(v):
                    marked = True
            except ValueError as exc:
                ctx.add(i, "synthetic", v, str(exc))
    return marked


def read_stones_table(
    path: str | os.PathLike[str],
    *,
    extra_fields: Sequence[Field] = (),
    reference: bool = True,
    keep_columns: Sequence[str] = (),
    sheet: str | int | None = None,
) -> tuple[pd.DataFrame, ProcessingReport]:
    """Read and validate a stone table (CSV or XLSX).

    Column names are mapped through the schema's synonyms; every cell is parsed
    and checked against its field (built-in or custom). All problems of the
    file are collected and raised together.

    Parameters
    ----------
    path : path-like
        ``.csv`` (UTF-8, or cp1252 with a warning; ``,`` ``;`` or tab delimited;
        leading ``#`` comment lines allowed, ``# SYNTHETIC`` marks synthetic
        data) or ``.xlsx``.
    extra_fields : sequence of Field
        Custom fields registered in the store; their columns are validated like
        built-in ones.
    reference : bool
        Rows are reference stones, so ``zone`` is required. Use ``False`` for a
        parcel to classify.
    keep_columns : sequence of str
        Non-schema columns to keep as text under the given names (e.g.
        ``"parcel_id"``); any other unknown column is an error.
    sheet : str or int, optional
        XLSX sheet name or 0-based index; default the first sheet (with a
        warning when the workbook has several).

    Returns
    -------
    stones : DataFrame of shape (n_rows, n_fields + n_kept)
        Every schema field (then custom fields, then kept columns) in registry
        order: numbers float64 (NaN = not measured), integers ``Int64``,
        booleans ``boolean``, other fields object str or None; ``sieve_class``
        normalised (``'dtc:+11'``, ``'mm:2.50'``). ``stones.attrs`` holds
        ``columns_in_file`` (canonical names present), ``synthetic`` and ``file``.
    report : ProcessingReport
        ``rows_read``, per-step counts and warnings.

    Raises
    ------
    SchemaError
        Listing every problem (file, 1-based data row, field, value, rule).
    """
    file = os.fspath(path)
    report = ProcessingReport()
    raw, comments, delimiter = _read_raw(Path(path), file, sheet, report,
                                         _numeric_header(tuple(extra_fields)))
    return _validate(raw, comments, delimiter, file, report, extra_fields=extra_fields, reference=reference,
                     keep_columns=keep_columns, text_cells=Path(path).suffix.lower() not in _XLSX_SUFFIXES)


def read_stones_bytes(
    data: bytes,
    *,
    name: str,
    row_offset: int = 0,
    extra_fields: Sequence[Field] = (),
    reference: bool = True,
    keep_columns: Sequence[str] = (),
) -> tuple[pd.DataFrame, ProcessingReport]:
    """Read and validate a stone table held in memory as CSV bytes.

    The same reader and checks as :func:`read_stones_table` (which reads a
    file), for a table that is already in memory: ``footprint classify``
    streams a large file as pieces of whole parcels, each read here without
    a round trip through a temporary file.

    Parameters
    ----------
    data : bytes
        CSV text (UTF-8 or cp1252; ``,`` ``;`` or tab delimited; leading
        ``#`` comment lines allowed): a header line, then data rows.
    name : str
        What messages call the table (the file the bytes came from).
    row_offset : int
        Data rows of the whole file that come before ``data``'s first row:
        problem rows (and rows quoted in messages) are numbered in the whole
        file, ``row_offset + 1`` for the first row of ``data``.
    extra_fields, reference, keep_columns
        As for :func:`read_stones_table`.

    Returns
    -------
    stones : DataFrame
        As :func:`read_stones_table` returns (``attrs['file']`` is ``name``).
    report : ProcessingReport
        ``rows_read``, per-step counts and warnings.

    Raises
    ------
    SchemaError
        Listing every problem (name, row in the whole file, field, value, rule).
    """
    report = ProcessingReport()
    if not data:
        raise SchemaError(f"{name}: the stone table is empty",
                          [Problem(name, None, None, None, "file is empty (0 bytes)")])
    if len(data) > MAX_TABLE_BYTES:
        raise SchemaError(f"{name}: table too large",
                          [Problem(name, None, None, len(data),
                                   f"stone tables over {MAX_TABLE_BYTES // 2**20} MB are refused; split it")])
    raw, comments, delimiter = _read_csv(data, name, report, _numeric_header(tuple(extra_fields)))
    return _validate(raw, comments, delimiter, name, report, extra_fields=extra_fields, reference=reference,
                     keep_columns=keep_columns, text_cells=True, row_offset=row_offset)


def _validate(raw: pd.DataFrame, comments: list[str], delimiter: str, file: str, report: ProcessingReport, *,
              extra_fields: Sequence[Field], reference: bool, keep_columns: Sequence[str], text_cells: bool,
              row_offset: int = 0) -> tuple[pd.DataFrame, ProcessingReport]:
    """Run the validation steps on a raw table; raise every problem or build the typed frame."""
    raw.columns = [str(c) for c in raw.columns]
    ctx = TableContext(file=file, raw=raw, extra_fields=tuple(extra_fields), reference=reference,
                       keep_columns=tuple(keep_columns), decimal_comma=(delimiter == ";"), report=report,
                       text_cells=text_cells, row_offset=row_offset)
    run_steps(ctx)
    synthetic = _detect_synthetic(ctx, comments)
    report.rows_read = len(raw)
    if len(raw) == 0 and not ctx.problems:
        ctx.add(None, None, None, "the table has a header but no data rows")
    if ctx.problems:
        rows = {p.row for p in ctx.problems if p.row is not None}
        report.rejected = len(rows)
        # Column-level problems first, then by row; the sort is stable, so within
        # a row problems keep the order of the steps that found them.
        ordered = sorted(ctx.problems, key=lambda p: -1 if p.row is None else p.row)
        encoding = raw.attrs.get("encoding", "utf-8")
        note = "" if encoding in ("utf-8", "utf-8-sig") else f" (read as {encoding_label(encoding)})"
        raise SchemaError(f"{file}: the stone table breaks the schema{note}", ordered)
    stones = _assemble(ctx, len(raw))
    stones.attrs.update(columns_in_file=list(ctx.mapping), synthetic=synthetic, file=file)
    if delimiter == ";":
        report.warnings.append(f"{file}: ';'-delimited; a decimal comma (0,52) was accepted in numbers")
    logger.info("read %d stones from %s", len(stones), file)
    return stones, report
