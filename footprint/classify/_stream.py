"""Cut a stones file (CSV streamed, XLSX read whole) into chunks of whole parcels.

The main process only splits raw lines and never holds more than the chunks in
flight; the stones of one parcel must be contiguous (see :mod:`footprint.classify`).
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import logging
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from .._text import sniff_delimiter, squash
from ..exceptions import InputError, Problem, SchemaError

__all__ = ["DEFAULT_CHUNK_SIZE", "ChunkResult", "ChunkTask", "iter_csv_chunks", "iter_frame_chunks"]

logger = logging.getLogger(__name__)

#: Stones per chunk (a chunk grows past this only to keep a parcel whole).
DEFAULT_CHUNK_SIZE = 20_000
_PARCEL_HEADERS = frozenset({"parcel id", "parcel", "parcel no", "parcel number", "parcelid"})

T = TypeVar("T")
R = TypeVar("R")


# -- chunks ---------------------------------------------------------------------


@dataclass
class ChunkTask:
    """One chunk of stones, whole parcels only.

    Parameters
    ----------
    index : int
        Position of the chunk in the file (0-based).
    first_row : int
        1-based data row (header is row 0) of the chunk's first stone in the file.
    n_rows : int
        Stones in the chunk.
    parcel_ids : list of str
        Parcels in the chunk, in file order.
    data : bytes or None
        Raw CSV bytes: the file's leading comment lines, its header, then the
        chunk's lines (so the ingest reader sees a complete small table).
    frame : DataFrame or None
        Already validated stones (XLSX input), instead of ``data``.
    summarise : int
        How many of the chunk's first parcels to summarise for the report.
    """

    index: int
    first_row: int
    n_rows: int
    parcel_ids: list[str]
    data: bytes | None = None
    frame: pd.DataFrame | None = None
    summarise: int = 0


@dataclass
class ChunkResult:
    """What a worker sends back for one chunk (small: no stone features).

    The result rows come back twice: as a frame (for the report, the JSON
    output and the verdict counts) and already written as CSV lines, so that
    formatting the output, the slowest part of writing it, runs in the
    workers rather than in the one main process.
    """

    index: int
    results: pd.DataFrame | None = None
    n_stones: int = 0
    results_csv: str = ""
    stones_csv: str = ""
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    synthetic: bool = False
    sample_ids_with_spectra: list[str] = field(default_factory=list)


def _split_line(line: bytes, delimiter: str) -> list[str]:
    text = line.decode("utf-8", errors="replace").rstrip("\r\n")
    if '"' not in text:
        return text.split(delimiter)
    return next(csv.reader([text], delimiter=delimiter, skipinitialspace=True))


def iter_csv_chunks(
    path: str | os.PathLike[str],
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    problems: list[Problem] | None = None,
    progress: Callable[[int], None] | None = None,
    name: str | None = None,
) -> Iterator[ChunkTask]:
    """Cut a stones CSV into chunks of whole parcels, reading it once.

    Parameters
    ----------
    path : path
        Stones CSV with a ``parcel_id`` column; leading ``#`` comment lines
        (``# SYNTHETIC``) are repeated at the top of every chunk.
    chunk_size : int
        Target stones per chunk; a chunk is cut at the first parcel boundary
        at or after this many stones.
    problems : list, optional
        Receives row-level problems found while splitting (empty
        ``parcel_id``, a parcel whose stones are not contiguous); splitting
        goes on so that every problem of the file is reported at once.
    name : str, optional
        What messages call the file (the user's path, when ``path`` is a
        UTF-8 copy of it); default ``path``.
    progress : callable, optional
        Called with the number of bytes read so far after each chunk.

    Yields
    ------
    ChunkTask
        With ``data`` set.

    Raises
    ------
    InputError
        If the file has no header or no ``parcel_id`` column.
    """
    file = name if name is not None else os.fspath(path)
    problems = problems if problems is not None else []
    with open(path, "rb", buffering=1 << 20) as fh:
        prefix: list[bytes] = []
        header = b""
        for line in fh:
            stripped = line.lstrip(b"\xef\xbb\xbf").strip()
            if not stripped or stripped.startswith(b"#"):
                prefix.append(line)
                continue
            header = line
            break
        if not header:
            raise SchemaError(
                f"{file}: the stone table is empty",
                [Problem(file, None, None, None, "file has no header row and no data rows")],
            )
        if not header.endswith(b"\n"):
            header += b"\n"
        header_text = header.decode("utf-8", errors="replace").lstrip("\ufeff")
        delimiter = sniff_delimiter(header_text)
        try:
            columns = _split_line(header_text.encode(), delimiter)
        except csv.Error as exc:  # a NUL or a lone CR in the header: not a text table
            raise SchemaError(f"{file}: not a readable CSV table", [
                Problem(file, 0, None, None, f"the header line is not CSV text ({exc})")]) from None
        matches = [i for i, c in enumerate(columns) if squash(c) in _PARCEL_HEADERS]
        if not matches:
            raise InputError(
                f"{file}: no parcel_id column",
                [
                    Problem(
                        file,
                        0,
                        "parcel_id",
                        None,
                        "column required: every stone must name its parcel (header 'parcel_id')",
                    )
                ],
            )
        column = matches[0]
        head = b"".join(prefix) + header
        yield from _chunks(fh, head, column, delimiter, chunk_size, file, problems, progress)


def _logical_lines(fh: Any) -> Iterator[bytes]:
    """Yield CSV records, joining physical lines inside a quoted field."""
    pending = b""
    for line in fh:
        if pending or b'"' in line:
            pending += line
            if pending.count(b'"') % 2:
                continue
            line, pending = pending, b""
        # len > 2 first: a data line is never that short, and strip() costs.
        if len(line) > 2 or line.strip():
            yield line if line.endswith(b"\n") else line + b"\n"
    if pending.strip():
        yield pending if pending.endswith(b"\n") else pending + b"\n"


def _parcel_of(line: bytes, column: int, delimiter: bytes) -> bytes:
    """Return the parcel id cell of a record (bytes; fast path for unquoted lines)."""
    if b'"' not in line:
        if column == 0:
            end = line.find(delimiter)
            return (line[:end] if end >= 0 else line).strip()
        raw = line.split(delimiter, column + 1)
        return raw[column].strip() if column < len(raw) else b""
    try:
        cells = _split_line(line, delimiter.decode())
    except csv.Error:  # not CSV text: the chunk's reader reports the row
        cells = line.decode("utf-8", errors="replace").split(delimiter.decode())
    return cells[column].strip().encode() if column < len(cells) else b""


#: Bytes read at a time by the fast splitter (a few hundred thousand lines at most).
_BLOCK_BYTES = 8 << 20


def _slow_runs(lines: Iterable[bytes], column: int, sep: bytes) -> Iterator[tuple[bytes, bytes, int]]:
    """Yield runs of one record each, from logical lines: any CSV (quotes, blank lines, spaces)."""
    for line in _logical_lines(lines):
        yield _parcel_of(line, column, sep), line, 1


def _block_runs(block: bytes, column: int, sep: bytes) -> list[tuple[bytes, bytes, int]] | None:
    """Split a block of whole lines into runs of one parcel, or None if the block needs the slow path.

    Only plain blocks are cut here (no quote, CRLF or LF line ends, every
    parcel cell non-blank and without surrounding spaces, which also rules
    out blank lines): the parcel cell of every line is found by one regex
    scan and runs by one vectorised comparison, so no Python code runs per
    line. Anything else goes to :func:`_slow_runs`, which gives the same runs.
    """
    if b'"' in block or (b"\r" in block and block.count(b"\r") != block.count(b"\r\n")):
        return None
    # Anchored on a literal newline (not ^ with re.M, which is tried at every byte).
    ids = _cell_pattern(column, sep).findall(b"\n" + block)
    ends = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10) + 1  # byte after each line
    n_lines = len(ends)
    if column == 0 and len(ids) == n_lines + 1:
        ids.pop()  # the empty match after the final newline
    if len(ids) != n_lines or not n_lines:
        return None
    cells = np.array(ids, dtype=object)
    firsts = np.concatenate([[0], np.flatnonzero(cells[1:] != cells[:-1]) + 1])
    counts = np.diff(np.append(firsts, n_lines))
    stops = ends[firsts + counts - 1]
    starts = np.concatenate([[0], stops[:-1]])
    pids = cells[firsts].tolist()
    if any(not pid or pid.strip() != pid for pid in pids):
        return None
    return [
        (pid, block[a:b], n)
        for pid, a, b, n in zip(pids, starts.tolist(), stops.tolist(), counts.tolist(), strict=True)
    ]


@functools.lru_cache(maxsize=16)
def _cell_pattern(column: int, sep: bytes) -> re.Pattern[bytes]:
    d = re.escape(sep)
    return re.compile(rb"\n(?:[^%s\n]*%s){%d}([^%s\r\n]*)" % (d, d, column, d))


def _runs(fh: Any, column: int, sep: bytes) -> Iterator[tuple[bytes, bytes, int]]:
    """Yield ``(parcel cell, records, n_records)`` runs of consecutive records, in file order.

    Plain blocks are cut at C speed (:func:`_block_runs`); from the first
    block that is not plain (quoted fields, blank lines...) to the end of the
    file, records are read one by one (:func:`_slow_runs`). Both give the same
    records, row numbers and parcel cells.
    """
    leftover = b""
    while True:
        data = fh.read(_BLOCK_BYTES)
        buf = leftover + data
        if not buf:
            return
        if data:
            cut = buf.rfind(b"\n") + 1
            if cut == 0:  # one line longer than a block
                leftover = buf
                continue
            block, leftover = buf[:cut], buf[cut:]
        else:
            block, leftover = (buf if buf.endswith(b"\n") else buf + b"\n"), b""
        runs = _block_runs(block, column, sep)
        if runs is None:
            # Finish the current line so that the file iterator resumes at a line start.
            rest = block + leftover + (fh.readline() if leftover else b"")
            yield from _slow_runs(itertools.chain(io.BytesIO(rest), fh), column, sep)
            return
        yield from runs
        if not data:
            return


def _new_parcel(key: Any, text: str, row: int, first_seen: dict[Any, int], file: str,
                problems: list[Problem]) -> bool:
    """Check the start of a run of stones of one parcel; return True for a parcel not seen before.

    The ordering rule of the stones file: every stone names its parcel, and the
    stones of a parcel are contiguous (a parcel that starts again after others
    is an error naming the row where it first started).
    """
    if not text:
        problems.append(Problem(file, row, "parcel_id", "", "required: every stone must name its parcel"))
        return False
    if key in first_seen:
        problems.append(Problem(
            file, row, "parcel_id", text,
            f"the stones of a parcel must be contiguous: this parcel started at row {first_seen[key]} "
            "and other parcels came between (sort the file by parcel_id)",
        ))
        return False
    first_seen[key] = row
    return True


def _chunks(
    fh: Any,
    head: bytes,
    column: int,
    delimiter: str,
    chunk_size: int,
    file: str,
    problems: list[Problem],
    progress: Callable[[int], None] | None,
) -> Iterator[ChunkTask]:
    # This loop is the one part of a run that does not parallelise: it sees one
    # run of records per parcel (not one record), and decodes only parcel ids.
    sep = delimiter.encode()
    pieces: list[bytes] = []
    n_lines = 0
    parcels: list[str] = []
    first_seen: dict[bytes, int] = {}
    current: bytes | None = None
    first_row = 1
    row = 0
    index = 0
    for pid, records, n in _runs(fh, column, sep):
        if pid != current:
            if n_lines >= chunk_size:
                yield ChunkTask(index, first_row, n_lines, parcels, data=head + b"".join(pieces))
                if progress is not None:
                    progress(fh.tell())
                index += 1
                pieces, n_lines, parcels, first_row = [], 0, [], row + 1
            text = pid.decode("utf-8", errors="replace").strip('"').strip()
            if _new_parcel(pid, text, row + 1, first_seen, file, problems):
                parcels.append(text)
            current = pid
        pieces.append(records)
        n_lines += n
        row += n
    if pieces:
        yield ChunkTask(index, first_row, n_lines, parcels, data=head + b"".join(pieces))
    if progress is not None:
        progress(fh.tell())
    if row == 0:
        problems.append(Problem(file, None, None, None, "the table has a header but no data rows"))


def iter_frame_chunks(
    stones: pd.DataFrame, *, chunk_size: int, file: str, problems: list[Problem]
) -> Iterator[ChunkTask]:
    """Cut an already-read stones frame (XLSX input) into chunks of whole parcels."""
    pids = stones["parcel_id"].astype(object).to_numpy()
    starts: list[int] = []
    seen: dict[str, int] = {}
    for i, pid in enumerate(pids):
        if i and pid == pids[i - 1]:
            continue
        missing = pid is None or (isinstance(pid, float) and math.isnan(pid)) or pid == ""
        _new_parcel(pid, "" if missing else str(pid), i + 1, seen, file, problems)
        starts.append(i)
    starts.append(len(pids))
    index, lo = 0, 0
    for k in range(1, len(starts)):
        hi = starts[k]
        if hi - lo >= chunk_size or k == len(starts) - 1:
            part = stones.iloc[lo:hi]
            parcel_ids = list(dict.fromkeys(str(p) for p in part["parcel_id"] if isinstance(p, str) and p))
            yield ChunkTask(index, lo + 1, hi - lo, parcel_ids, frame=part)
            index += 1
            lo = hi


