"""Classify a batch of parcels: stream, validate, assess, write, audit.

How a run goes
--------------
1. The stones file is cut into chunks of about ``chunk_size`` stones, **a
   parcel never split across two chunks** (:func:`iter_csv_chunks`). The
   main process only splits raw lines; it never holds more than the chunks
   in flight, so memory does not grow with the file.
2. Each chunk goes to :func:`process_chunk`, which validates it with the
   ingest reader (:func:`footprint.ingest.read_stones_table`, so messages
   are the same as ``footprint db add``; row numbers are re-based on the
   whole file), fills FTIR values derived from any spectra given, assesses
   its parcels with the model (:meth:`FootprintModel.assess_batch`) and, for
   the report, summarises each parcel's footprint.
3. Chunks run one after another, in parallel with joblib (``n_jobs``) or on
   a Dask cluster (``scheduler``) through :func:`run_ordered`; results come
   back **in input order** whichever way they ran, so outputs are identical.
4. Results are written to temporary files and moved into place only when
   every chunk validated; any input problem (from any chunk) stops the run
   with one :class:`~footprint.exceptions.InputError` listing them all, and
   no partial output is left behind.

Ordering rule (documented for users): **the stones of one parcel must be
contiguous in the stones file** (any file sorted or grouped by
``parcel_id`` is). A parcel that reappears after another parcel is an input
error naming both rows. This is what lets a 5-million-stone file stream in
constant memory; an indexing first pass would hold every parcel's row list.
Output rows follow the order in which parcels appear in the file.

On a Dask cluster every worker loads the model itself (once per process),
so the model directory must be readable at the same path on every worker
(a shared file system); the stones travel with the tasks.

XLSX stone files are read whole (a sheet holds at most 1,048,576 rows) and
then processed in the same chunks.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import itertools
import logging
import math
import os
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from .exceptions import InputError, ModelError, Problem, SchemaError

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "PARCEL_COLUMNS",
    "ChunkResult",
    "ChunkTask",
    "ClassifyRun",
    "classify",
    "iter_csv_chunks",
    "process_chunk",
    "read_parcels",
    "run_ordered",
]

logger = logging.getLogger(__name__)

#: Stones per chunk (a chunk grows past this only to keep a parcel whole).
DEFAULT_CHUNK_SIZE = 20_000
#: Columns of the optional parcels file.
PARCEL_COLUMNS: tuple[str, ...] = (
    "parcel_id",
    "declared_zone",
    "kp_certificate",
    "exporter",
    "declared_value_usd",
    "cleaning_state",
)
_CLEANING_STATES = ("unwashed", "acid_rinsed", "acid_boiled")
_PARCEL_HEADERS = frozenset({"parcel id", "parcel", "parcel no", "parcel number", "parcelid"})

T = TypeVar("T")
R = TypeVar("R")


def _squash(text: str) -> str:
    return re.sub(r"[\s_\-\.]+", " ", text.strip().lower()).strip()


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


def _sniff_delimiter(header: str) -> str:
    # Same rule as the ingest reader: the most frequent of , ; tab.
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def iter_csv_chunks(
    path: str | os.PathLike[str],
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    problems: list[Problem] | None = None,
    progress: Callable[[int], None] | None = None,
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
    file = os.fspath(path)
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
        delimiter = _sniff_delimiter(header_text)
        columns = _split_line(header_text.encode(), delimiter)
        matches = [i for i, c in enumerate(columns) if _squash(c) in _PARCEL_HEADERS]
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
    cells = _split_line(line, delimiter.decode())
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
            if not text:
                problems.append(
                    Problem(file, row + 1, "parcel_id", "", "required: every stone must name its parcel")
                )
            elif pid in first_seen:
                problems.append(
                    Problem(
                        file,
                        row + 1,
                        "parcel_id",
                        text,
                        "the stones of a parcel must be contiguous: this parcel started at row "
                        f"{first_seen[pid]} "
                        "and other parcels came between (sort the file by parcel_id)",
                    )
                )
            else:
                first_seen[pid] = row + 1
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
        if pid is None or (isinstance(pid, float) and math.isnan(pid)) or pid == "":
            problems.append(
                Problem(file, i + 1, "parcel_id", "", "required: every stone must name its parcel")
            )
        elif pid in seen:
            problems.append(
                Problem(
                    file,
                    i + 1,
                    "parcel_id",
                    pid,
                    f"the stones of a parcel must be contiguous: this parcel started at row {seen[pid]} "
                    "and other parcels came between (sort the file by parcel_id)",
                )
            )
        else:
            seen[pid] = i + 1
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


# -- the per-chunk work ---------------------------------------------------------

_MODEL_CACHE: dict[str, Any] = {}
_MODEL_LOCK = threading.Lock()


def _load_model(model_dir: str) -> Any:
    """Load a model once per process (workers keep it between chunks)."""
    key = os.path.realpath(model_dir)
    with _MODEL_LOCK:
        if key not in _MODEL_CACHE:
            from .model import FootprintModel

            _MODEL_CACHE[key] = FootprintModel.load(model_dir)
        return _MODEL_CACHE[key]


@dataclass
class RunContext:
    """What every chunk needs besides its stones (pickled to workers once per task)."""

    model_dir: str
    file: str
    parcels: pd.DataFrame | None = None
    derived_ftir: pd.DataFrame | None = None
    #: write per-stone result lines (``--stones-out``); otherwise they stay in the worker
    stone_lines: bool = False


@contextlib.contextmanager
def _quiet_ingest() -> Iterator[None]:
    """Silence the ingest reader's per-table INFO line (one per chunk would flood the log)."""
    log = logging.getLogger("footprint.ingest")
    level = log.level
    log.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        log.setLevel(level)


def _validate_chunk(task: ChunkTask, ctx: RunContext) -> tuple[pd.DataFrame | None, list[Problem], bool]:
    if task.frame is not None:
        return task.frame, [], bool(task.frame.attrs.get("synthetic", False))
    from .ingest import read_stones_bytes

    assert task.data is not None  # set by iter_csv_chunks; not user input
    try:
        with _quiet_ingest():
            stones, _ = read_stones_bytes(
                task.data,
                name=ctx.file,
                row_offset=task.first_row - 1,
                reference=False,
                keep_columns=("parcel_id",),
            )
    except SchemaError as exc:
        return None, list(exc.problems), False
    synthetic = bool(stones.attrs.get("synthetic", False))
    # pandas deep-copies ``attrs`` into every derived frame or column (hundreds of
    # times per chunk); nothing downstream reads them, so drop them here.
    stones.attrs = {}
    return stones, [], synthetic


def process_chunk(task: ChunkTask, ctx: RunContext) -> ChunkResult:
    """Validate, assess and summarise one chunk (runs in a worker).

    Parameters
    ----------
    task : ChunkTask
        The chunk.
    ctx : RunContext
        Model directory, parcels table and derived FTIR features.

    Returns
    -------
    ChunkResult
        Parcel and stone results in file order, or the chunk's input problems.
    """
    from ._profile import summarise

    stones, problems, synthetic = _validate_chunk(task, ctx)
    if stones is None or problems:
        return ChunkResult(task.index, problems=problems)
    used: list[str] = []
    if ctx.derived_ftir is not None and len(ctx.derived_ftir):
        from ._features import merge_derived_ftir

        ids = stones["sample_id"].astype(str)
        used = sorted(set(ids) & set(ctx.derived_ftir["sample_id"].astype(str)))
        if used:
            stones = merge_derived_ftir(stones, ctx.derived_ftir)
    model = _load_model(ctx.model_dir)
    parcels = None
    if ctx.parcels is not None:
        parcels = ctx.parcels[ctx.parcels["parcel_id"].isin(task.parcel_ids)]
    # Per-stone results are only computed when they are written (--stones-out).
    results, stone_results = model.assess_batch(stones, parcels, per_stone=ctx.stone_lines)
    summaries = {}
    if task.summarise:
        wanted = set(task.parcel_ids[: task.summarise])
        for pid, group in stones[stones["parcel_id"].isin(wanted)].groupby("parcel_id", sort=False):
            summaries[str(pid)] = summarise(group, label=str(pid))
    zones = list(model.zones)
    extras = [c for c in ("zones_consistent",) if c in results.columns]
    results = results.reindex(columns=result_columns(zones) + extras)
    return ChunkResult(
        task.index,
        results=results,
        n_stones=len(stones),
        results_csv=_csv_lines(results.reindex(columns=result_columns(zones))),
        stones_csv=_csv_lines(stone_results.reindex(columns=stone_columns(zones))) if ctx.stone_lines else "",
        summaries=summaries,
        synthetic=synthetic,
        sample_ids_with_spectra=used,
    )


# -- execution: serial, joblib or Dask, always in input order -----------------------


def run_ordered(
    tasks: Iterable[T],
    func: Callable[[T], R],
    *,
    n_jobs: int = 1,
    scheduler: str | None = None,
    window: int | None = None,
    connect_timeout: float = 20.0,
) -> Iterator[R]:
    """Apply ``func`` to ``tasks`` and yield the results in task order.

    At most ``window`` tasks are in flight, so memory stays bounded however
    many tasks there are.

    Parameters
    ----------
    tasks : iterable
        Consumed lazily.
    func : callable
        Picklable (a module-level function or a ``functools.partial`` of one).
    n_jobs : int
        1 runs in this process; more (or -1 for all cores) runs in joblib
        worker processes.
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:8786``); takes precedence
        over ``n_jobs``. Needs the ``dask`` extra (dask.distributed).
    window : int, optional
        Tasks in flight; default twice the number of workers.
    connect_timeout : float
        Seconds to wait for the Dask scheduler.
    """
    if scheduler:
        yield from _run_dask(tasks, func, scheduler, window, connect_timeout)
        return
    if n_jobs == 1:
        for task in tasks:
            yield func(task)
        return
    if _fork_is_safe():
        yield from _run_forked(tasks, func, n_jobs, window)
        return
    from joblib import Parallel, delayed

    pre_dispatch = str(window) if window else "2*n_jobs"
    parallel = Parallel(n_jobs=n_jobs, return_as="generator", pre_dispatch=pre_dispatch, batch_size=1)
    yield from parallel(delayed(func)(task) for task in tasks)


def _fork_is_safe() -> bool:
    """Whether worker processes may be forked from this one (Linux, Python < 3.12).

    A forked worker inherits this process's imports and its loaded model
    (:func:`classify` caches it before the pool starts): the 3-5 CPU-seconds
    of scikit-learn/skops imports and model loading that a fresh (loky)
    worker pays are a third of a million-stone run on two cores. From Python
    3.12 forking a process with threads warns, so loky is used there and
    wherever fork is not the start method.
    """
    import multiprocessing
    import sys

    return (
        sys.version_info < (3, 12)
        and sys.platform.startswith("linux")
        and multiprocessing.get_start_method(allow_none=True) in (None, "fork")
        # a daemonic process (a worker itself) may not have children: joblib then runs serially
        and not multiprocessing.current_process().daemon
    )


def _limit_threads() -> None:
    """Worker initializer: one native thread per worker process.

    One thread per process is all the cores allow anyway, and an OpenMP
    runtime inherited through fork must not start a thread team in the child.
    """
    from threadpoolctl import threadpool_limits

    _WORKER_STATE.append(threadpool_limits(limits=1))


_WORKER_STATE: list[Any] = []


def _run_forked(tasks: Iterable[T], func: Callable[[T], R], n_jobs: int, window: int | None) -> Iterator[R]:
    # joblib's fork-based "multiprocessing" backend cannot stream results
    # (return_as="generator"), and Pool.imap would read every task ahead; a
    # bounded window of apply_async calls keeps memory flat and order exact.
    import multiprocessing

    from joblib import effective_n_jobs

    workers = effective_n_jobs(n_jobs)
    limit = window or 2 * workers
    # The workers inherit ``func`` (with its context: parcels table, derived
    # FTIR values) through fork; only the tasks are pickled.
    key = id(func)
    _INHERITED[key] = func
    try:
        with _frozen_heap():
            pool = multiprocessing.get_context("fork").Pool(workers, initializer=_limit_threads)
        with pool:
            in_flight: deque[Any] = deque()
            for task in tasks:
                in_flight.append(pool.apply_async(_call_inherited, (key, task)))
                if len(in_flight) >= limit:
                    yield in_flight.popleft().get()
            while in_flight:
                yield in_flight.popleft().get()
    finally:
        _INHERITED.pop(key, None)


_INHERITED: dict[int, Callable[[Any], Any]] = {}


@contextlib.contextmanager
def _frozen_heap() -> Iterator[None]:
    """Hide this process's objects from the garbage collector of processes forked meanwhile.

    A forked worker shares the parent's memory until it writes to it; its
    garbage collector would walk every inherited object (model, modules,
    pandas), writing to each and so copying nearly every page, again at
    each full collection. Frozen objects are skipped (see :func:`gc.freeze`).
    The parent unfreezes as soon as the workers exist.
    """
    import gc

    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _call_inherited(key: int, task: Any) -> Any:
    return _INHERITED[key](task)


def _run_dask(
    tasks: Iterable[T], func: Callable[[T], R], scheduler: str, window: int | None, timeout: float
) -> Iterator[R]:
    try:
        from distributed import Client
    except ImportError:
        from .exceptions import FootprintError

        raise FootprintError(
            "--scheduler needs dask.distributed, which is not installed: "
            "pip install 'footprint[dask]' (or run with --jobs instead)"
        ) from None
    try:
        client = Client(scheduler, timeout=f"{timeout}s", set_as_default=False)
    except OSError as exc:
        raise InputError(
            "cannot reach the Dask scheduler",
            [Problem(None, None, "scheduler", scheduler, f"connection failed: {exc}")],
        ) from None
    try:
        n_workers = max(1, sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()))
        limit = window or 2 * n_workers
        in_flight: deque[Any] = deque()
        for task in tasks:
            # pure=False: two chunks with equal content are still two pieces of work.
            in_flight.append(client.submit(func, task, pure=False))
            if len(in_flight) >= limit:
                yield in_flight.popleft().result()
        while in_flight:
            yield in_flight.popleft().result()
    finally:
        client.close()


# -- parcels file and spectra -------------------------------------------------------


def read_parcels(path: str | os.PathLike[str], zones: Sequence[str]) -> pd.DataFrame:
    """Read and check the optional parcels file.

    Parameters
    ----------
    path : path
        CSV or XLSX with ``parcel_id`` (required) and any of
        ``declared_zone, kp_certificate, exporter, declared_value_usd,
        cleaning_state``.
    zones : sequence of str
        The model's reference zones: a declared zone must be one of them.

    Returns
    -------
    DataFrame
        All :data:`PARCEL_COLUMNS` (missing ones as None), ``declared_value_usd``
        as float.

    Raises
    ------
    InputError
        Listing every problem (file, row, field, value, rule).
    """
    file = os.fspath(path)
    try:
        if Path(path).suffix.lower() in (".xlsx", ".xlsm"):
            raw = pd.read_excel(path, dtype=str, keep_default_na=False, na_filter=False)
        else:
            text = Path(path).read_text(encoding="utf-8-sig")
            body = "".join(
                line for line in text.splitlines(keepends=True) if not line.lstrip().startswith("#")
            )
            delimiter = _sniff_delimiter(body.splitlines()[0] if body.strip() else ",")
            raw = pd.read_csv(
                io.StringIO(body),
                sep=delimiter,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skipinitialspace=True,
            )
    except FileNotFoundError:
        raise InputError(
            f"{file}: no such file", [Problem(file, None, None, None, "file not found")]
        ) from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InputError(
            f"{file}: not a readable table", [Problem(file, None, None, None, f"cannot read: {exc}")]
        ) from None
    mapping = {}
    for column in raw.columns:
        key = _squash(str(column)).replace(" ", "_")
        if key in PARCEL_COLUMNS:
            mapping[column] = key
        elif _squash(str(column)) in _PARCEL_HEADERS:
            mapping[column] = "parcel_id"
    raw = raw.rename(columns=mapping)
    problems: list[Problem] = []
    unknown = [c for c in raw.columns if c not in PARCEL_COLUMNS]
    for column in unknown:
        problems.append(
            Problem(
                file, 0, str(column), None, f"unknown column; parcels files have: {', '.join(PARCEL_COLUMNS)}"
            )
        )
    if "parcel_id" not in raw.columns:
        problems.append(Problem(file, 0, "parcel_id", None, "column required"))
        raise InputError(f"{file}: the parcels file breaks its format", problems)
    out = pd.DataFrame({c: raw[c].str.strip() if c in raw.columns else "" for c in PARCEL_COLUMNS})
    seen: dict[str, int] = {}
    values = np.full(len(out), np.nan)
    for i, rec in enumerate(out.to_dict("records")):
        row = i + 1
        pid = rec["parcel_id"]
        if not pid:
            problems.append(Problem(file, row, "parcel_id", "", "required"))
        elif pid in seen:
            problems.append(Problem(file, row, "parcel_id", pid, f"duplicate of row {seen[pid]}"))
        else:
            seen[pid] = row
        zone = rec["declared_zone"]
        if zone and zone not in zones:
            problems.append(
                Problem(
                    file,
                    row,
                    "declared_zone",
                    zone,
                    f"must be one of the model's reference zones: {', '.join(zones)}",
                )
            )
        value = rec["declared_value_usd"]
        if value:
            try:
                values[i] = float(value.replace(",", ""))
                if not values[i] >= 0 or not math.isfinite(values[i]):
                    raise ValueError
            except ValueError:
                problems.append(
                    Problem(file, row, "declared_value_usd", value, "must be a number >= 0 (USD)")
                )
        state = rec["cleaning_state"]
        if state and state not in _CLEANING_STATES:
            problems.append(
                Problem(file, row, "cleaning_state", state, f"must be one of: {', '.join(_CLEANING_STATES)}")
            )
    if problems:
        raise InputError(f"{file}: the parcels file breaks its format", problems)
    out = out.replace("", None)
    out["declared_value_usd"] = values
    return out


def _derive_spectra(source: str, manifest: Mapping[str, Any], n_jobs: int) -> pd.DataFrame:
    """Read spectra and derive FTIR values with the recipe the model was trained with."""
    import json

    from .ingest import read_spectra
    from .spectra import derive_ftir_features

    spectra = read_spectra(source, kind="ftir", n_jobs=n_jobs)
    derived = derive_ftir_features(spectra, n_jobs=n_jobs)
    recorded = manifest.get("ftir_recipe") or manifest.get("recipe")
    if recorded and len(derived):
        current = json.loads(derived["recipe"].iloc[0]) if isinstance(derived["recipe"].iloc[0], str) else {}
        want = recorded if isinstance(recorded, Mapping) else json.loads(recorded)
        if want.get("version") and current.get("version") and want["version"] != current["version"]:
            raise ModelError(
                f"the model was trained on FTIR values derived with recipe version {want['version']}, "
                f"this code derives version {current['version']}: retrain the model or give lab FTIR values"
            )
    return derived


# -- the run ------------------------------------------------------------------------


@dataclass
class ClassifyRun:
    """The outcome of :func:`classify`.

    Attributes
    ----------
    results : DataFrame
        One row per parcel (the output columns), in file order.
    n_stones : int
        Stones read.
    exit_code : int
        0 when every parcel is ``consistent``, 6 when any needs expert review.
    outputs : list of Path
        Files written (results, stones, report, audit record).
    audit : Path
        The run's audit record.
    synthetic : bool
        Whether the model, its store or the stones file is synthetic.
    warnings : list of str
        Warnings raised during the run.
    """

    results: pd.DataFrame
    n_stones: int
    exit_code: int
    outputs: list[Path]
    audit: Path
    synthetic: bool
    warnings: list[str]
    stones_path: Path | None = None


def result_columns(zones: Sequence[str]) -> list[str]:
    """Return the parcel result columns for a model's zones, in order."""
    return [
        "parcel_id",
        "n_stones",
        "declared_zone",
        "verdict",
        "best_zone",
        *[f"p_{z}" for z in zones],
        "log10_lr",
        "foreign_fraction",
        "foreign_fraction_lo",
        "foreign_fraction_hi",
        "novelty_p",
    ]


def stone_columns(zones: Sequence[str]) -> list[str]:
    """Return the per-stone result columns for a model's zones, in order."""
    return ["parcel_id", "sample_id", "best_zone", *[f"p_{z}" for z in zones], "novelty_p"]


def _write_csv(frame: pd.DataFrame, fh: Any, header: bool) -> None:
    # %.6g: six significant digits are far beyond what the evidence supports,
    # and a fixed format keeps re-runs byte-identical across platforms.
    frame.to_csv(fh, index=False, header=header, float_format="%.6g", lineterminator="\n")


def _csv_lines(frame: pd.DataFrame) -> str:
    """Return the CSV lines of ``frame`` without header, formatted as :func:`_write_csv` does.

    Result frames (floats, integers, plain text) are formatted here directly,
    five times faster than ``DataFrame.to_csv``, which formats every float
    through a Python call of its own; anything else (text that needs quoting,
    other dtypes) goes through ``to_csv`` itself. Both give the same bytes.
    """
    columns = [_csv_cells(frame[name]) for name in frame.columns]
    if any(cells is None for cells in columns):
        buffer = io.StringIO()
        _write_csv(frame, buffer, False)
        return buffer.getvalue()
    return "".join(",".join(row) + "\n" for row in zip(*columns, strict=True)) if len(frame) else ""


#: Characters that make the csv module quote a cell (delimiter, quote, line ends).
_NEEDS_QUOTES = re.compile(r'[,"\r\n]')


def _csv_cells(column: pd.Series) -> list[str] | None:
    """Return a column's cells as ``to_csv(float_format="%.6g")`` writes them, or None if not plain.

    Floats: ``"%.6g" % value``, empty when missing; integers: ``str``; text:
    the text itself, empty when missing, and None (let pandas write the frame)
    as soon as one cell would need quoting or is not text.
    """
    dtype = column.dtype
    if dtype == np.float64:
        # The % operator, as pandas applies a float_format string (missing values: "").
        return ["" if value != value else "%.6g" % value  # noqa: UP031
                for value in column.to_numpy().tolist()]
    if dtype == np.int64:
        return [str(value) for value in column.to_numpy().tolist()]
    if dtype.kind == "O" or isinstance(dtype, pd.StringDtype):
        cells = ["" if value is None or (isinstance(value, float) and value != value) else value
                 for value in column.to_numpy(dtype=object).tolist()]
        if not all(type(cell) is str for cell in cells) or _NEEDS_QUOTES.search("".join(cells)):
            return None
        return cells
    return None


_IDENTITY_KEYS = (
    "format",
    "label",
    "fingerprint",
    "model_file",
    "model_sha256",
    "footprint_version",
    "schema_version",
    "synthetic",
    "thresholds_version",
    "saved_utc",
    "zones",
    "source",
    "packages",
)


def _model_identity(model: Any, model_dir: str) -> dict[str, Any]:
    """Return the manifest entries that identify a model (hashes, versions, training store)."""
    manifest = dict(getattr(model, "manifest", {}) or {})
    keep = {k: manifest[k] for k in _IDENTITY_KEYS if k in manifest}
    keep["directory"] = os.fspath(model_dir)
    return keep


def _is_synthetic(model: Any) -> bool:
    manifest = getattr(model, "manifest", {}) or {}
    flags = [
        manifest.get("synthetic"),
        (manifest.get("store") or {}).get("synthetic")
        if isinstance(manifest.get("store"), Mapping)
        else None,
        getattr(model, "synthetic", None),
    ]
    return any(bool(f) for f in flags if f is not None)


def classify(
    model_dir: str | os.PathLike[str],
    stones: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    parcels: str | os.PathLike[str] | None = None,
    spectra: str | os.PathLike[str] | None = None,
    stones_out: str | os.PathLike[str] | None = None,
    report: str | os.PathLike[str] | None = None,
    db: str | os.PathLike[str] | None = None,
    lang: str = "en",
    n_jobs: int = 1,
    scheduler: str | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    max_detail: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    command: str = "footprint classify",
) -> ClassifyRun:
    """Classify every parcel of a stones file and write results, report and audit.

    Parameters
    ----------
    model_dir : path
        A model directory (:meth:`FootprintModel.load` verifies it).
    stones : path
        Stones CSV or XLSX: schema v1 fields plus ``parcel_id``; the stones
        of a parcel must be contiguous.
    out : path
        Results CSV, one row per parcel (:func:`result_columns`).
    parcels : path, optional
        Parcels file (:func:`read_parcels`).
    spectra : path, optional
        FTIR spectra (a file or folder, as :func:`footprint.ingest.read_spectra`
        reads) for some stones; their derived values fill gaps in the table.
    stones_out : path, optional
        Per-stone results CSV (:func:`stone_columns`).
    report : path, optional
        HTML report to write.
    db : path, optional
        Reference store for the report's reference footprints, sizes and
        thumbnails; default the store path recorded in the model manifest
        when it exists.
    lang : {"en", "fr"}
        Report language.
    n_jobs : int
        joblib workers (1: in this process).
    scheduler : str, optional
        Dask scheduler address; runs the chunks on that cluster.
    chunk_size : int
        Target stones per chunk.
    max_detail : int, optional
        Parcels given a full section in the report.
    progress : callable, optional
        ``progress(bytes_read, total_bytes)``.
    command : str
        The command line, for the audit record.

    Returns
    -------
    ClassifyRun

    Raises
    ------
    InputError
        Bad stones, parcels or spectra files (nothing is written).
    ModelError
        The model cannot be loaded or does not match the inputs.
    """
    import datetime as _dt

    from ._audit import hash_in_background, hash_inputs, write_audit
    from .report import DEFAULT_MAX_DETAIL

    started = _dt.datetime.now(_dt.UTC)
    file = os.fspath(stones)
    from .report import LANGUAGES

    if lang not in LANGUAGES:
        raise InputError("unknown report language", [Problem(None, None, "lang", lang, "must be en or fr")])
    if chunk_size < 1:
        raise InputError("bad chunk size", [Problem(None, None, "chunk_size", chunk_size, "must be >= 1")])
    if not Path(stones).is_file():
        raise InputError(f"{file}: no such file", [Problem(file, None, None, None, "file not found")])
    # The audit's hash of the stones file, on the idle core while the model loads.
    stones_digest = hash_in_background(stones)
    model = _load_model(os.fspath(model_dir))
    zones = list(model.zones)
    warnings: list[str] = []
    for zone, thin in (model.manifest.get("training", {}).get("thin_zones") or {}).items():
        warnings.append(f"model: reference zone {zone} is thin ({thin['stones']} stones in {thin['lots']} lots): "
                        f"its evidence is widened x{thin['widening']:.2f}"
                        + ("" if thin.get("widening_measured", True) else " (not measurable on held-out lots)"))
    parcels_df = read_parcels(parcels, zones) if parcels is not None else None
    derived = _derive_spectra(os.fspath(spectra), model.manifest, n_jobs) if spectra is not None else None
    ctx = RunContext(
        model_dir=os.fspath(model_dir),
        file=file,
        parcels=parcels_df,
        derived_ftir=derived,
        stone_lines=stones_out is not None,
    )

    problems: list[Problem] = []
    total_bytes = Path(stones).stat().st_size
    on_bytes = (lambda done: progress(done, total_bytes)) if progress else None
    if Path(stones).suffix.lower() in (".xlsx", ".xlsm"):
        from .ingest import read_stones_table

        frame, _ = read_stones_table(stones, reference=False, keep_columns=("parcel_id",))
        tasks: Iterator[ChunkTask] = iter_frame_chunks(
            frame, chunk_size=chunk_size, file=file, problems=problems
        )
    else:
        tasks = iter_csv_chunks(stones, chunk_size=chunk_size, problems=problems, progress=on_bytes)
    budget = [DEFAULT_MAX_DETAIL if max_detail is None else max_detail] if report else [0]

    def with_budget(source: Iterator[ChunkTask]) -> Iterator[ChunkTask]:
        # Summaries are kept only for parcels the report details, so memory stays flat.
        for task in source:
            task.summarise = min(budget[0], len(task.parcel_ids))
            budget[0] -= task.summarise
            yield task

    out = Path(out)
    outputs = [out] + ([Path(stones_out)] if stones_out else [])
    tmp_paths = {p: p.with_name(f".{p.name}.partial") for p in outputs}
    result_parts: list[pd.DataFrame] = []
    summaries: dict[str, dict[str, Any]] = {}
    spectra_used: set[str] = set()
    synthetic = _is_synthetic(model)
    n_stones = 0
    stones_fh = open(tmp_paths[Path(stones_out)], "w", encoding="utf-8", newline="") if stones_out else None
    results_fh = open(tmp_paths[out], "w", encoding="utf-8", newline="")
    try:
        _write_csv(pd.DataFrame(columns=result_columns(zones)), results_fh, True)
        if stones_fh is not None:
            _write_csv(pd.DataFrame(columns=stone_columns(zones)), stones_fh, True)
        for chunk in run_ordered(
            with_budget(tasks), partial(process_chunk, ctx=ctx), n_jobs=n_jobs, scheduler=scheduler
        ):
            if chunk.problems:
                problems.extend(chunk.problems)
            if problems:
                continue
            assert chunk.results is not None  # set when no problems
            synthetic = synthetic or chunk.synthetic
            result_parts.append(chunk.results)
            n_stones += chunk.n_stones
            results_fh.write(chunk.results_csv)
            if stones_fh is not None:
                stones_fh.write(chunk.stones_csv)
            summaries.update(chunk.summaries)
            spectra_used.update(chunk.sample_ids_with_spectra)
        results_fh.close()
        if stones_fh is not None:
            stones_fh.close()
        if problems:
            unique = list(dict.fromkeys(problems))
            ordered = sorted(unique, key=lambda p: -1 if p.row is None else p.row)
            raise SchemaError(f"{file}: the stones file breaks the schema", ordered)
        results = (
            pd.concat(result_parts, ignore_index=True)
            if result_parts
            else pd.DataFrame(columns=result_columns(zones))
        )
        for final, tmp in tmp_paths.items():
            os.replace(tmp, final)
    except BaseException:
        for handle in (stones_fh, results_fh):
            if handle is not None and not handle.closed:
                handle.close()
        for tmp in tmp_paths.values():
            tmp.unlink(missing_ok=True)
        raise
    if derived is not None:
        unused = sorted(set(derived["sample_id"].astype(str)) - spectra_used)
        if unused:
            warnings.append(
                f"{len(unused)} spectra name no stone of the stones file: {', '.join(unused[:10])}"
            )
    if parcels_df is not None:
        missing = sorted(set(parcels_df["parcel_id"]) - set(results["parcel_id"].astype(str)))
        if missing:
            warnings.append(
                f"{len(missing)} parcels of the parcels file have no stones: {', '.join(missing[:10])}"
            )
    for message in warnings:
        logger.warning(message)
    needs_review = bool((results["verdict"] != "consistent").any()) if len(results) else False
    identity = _model_identity(model, os.fspath(model_dir))
    thresholds = dict(getattr(model, "thresholds", {}) or {})
    if report:
        from .report._reference import reference_for_report

        reference, store_meta = reference_for_report(db, model)
        synthetic = synthetic or bool(store_meta.get("synthetic"))
        _write_report(
            report,
            results,
            zones,
            summaries,
            parcels_df,
            reference,
            identity,
            store_meta,
            thresholds,
            synthetic,
            lang,
            DEFAULT_MAX_DETAIL if max_detail is None else max_detail,
        )
        outputs.append(Path(report))
    counts = results["verdict"].value_counts().to_dict() if len(results) else {}
    audit = write_audit(
        out,
        command=command,
        inputs=hash_inputs({"stones": stones, "parcels": parcels, "spectra": spectra},
                           digests={"stones": stones_digest}),
        outputs=outputs,
        model=identity,
        thresholds=thresholds,
        options={
            "jobs": n_jobs,
            "scheduler": scheduler,
            "chunk_size": chunk_size,
            "lang": lang,
            "report": os.fspath(report) if report else None,
            "db": os.fspath(db) if db else None,
        },
        summary={
            "parcels": len(results),
            "stones": n_stones,
            "verdicts": counts,
            "synthetic": synthetic,
            "exit_code": 6 if needs_review else 0,
        },
        warnings=warnings,
        started=started,
    )
    return ClassifyRun(
        results=results.reindex(columns=result_columns(zones)),
        n_stones=n_stones,
        exit_code=6 if needs_review else 0,
        outputs=[*outputs, audit],
        audit=audit,
        synthetic=synthetic,
        warnings=warnings,
        stones_path=Path(stones_out) if stones_out else None,
    )


def _write_report(
    path: str | os.PathLike[str],
    results: pd.DataFrame,
    zones: Sequence[str],
    summaries: Mapping[str, Any],
    parcels: pd.DataFrame | None,
    reference: Mapping[str, Any],
    identity: Mapping[str, Any],
    store_meta: Mapping[str, Any],
    thresholds: Mapping[str, Any],
    synthetic: bool,
    lang: str,
    max_detail: int,
) -> None:
    from . import __version__
    from .report import compliant_zones, render_report

    provenance = {
        "model": {k: v for k, v in identity.items() if k != "directory"},
        "store": dict(store_meta),
        "code": {"footprint": __version__},
    }
    html = render_report(
        results,
        zones=zones,
        parcel_summaries=summaries,
        parcels=parcels,
        reference=reference,
        meta={
            "synthetic": synthetic,
            "provenance": provenance,
            "thresholds": thresholds,
            "compliant_zones": compliant_zones(),
        },
        lang=lang,
        max_detail=max_detail,
    )
    Path(path).write_text(html, encoding="utf-8")
