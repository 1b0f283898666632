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

Modules: ``_stream`` (chunks of whole parcels), ``_runner`` (per-chunk work,
joblib / Dask), ``_output`` (result columns, CSV writer, :class:`ClassifyRun`),
``_run`` (:func:`classify`). The parcels file is read by
:func:`footprint.ingest.read_parcels`.

The package itself is callable: ``footprint.classify(...)`` is
:func:`footprint.classify.classify` (``footprint.classify`` was a function
before it became a package; code calling it keeps working).
"""

from __future__ import annotations

import sys
import types
from typing import Any

from ._output import (
    DEFAULT_MAX_DETAIL,
    VALUE_RESULT_COLUMNS,
    WHY_RESULT_COLUMNS,
    ClassifyRun,
    ReportInputs,
    parcel_photos,
    result_columns,
    stone_columns,
)
from ._run import classify
from ._runner import RunContext, process_chunk, run_ordered
from ._stream import DEFAULT_CHUNK_SIZE, ChunkResult, ChunkTask, iter_csv_chunks, iter_frame_chunks

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_MAX_DETAIL",
    "VALUE_RESULT_COLUMNS",
    "WHY_RESULT_COLUMNS",
    "ChunkResult",
    "ChunkTask",
    "ClassifyRun",
    "ReportInputs",
    "RunContext",
    "classify",
    "iter_csv_chunks",
    "iter_frame_chunks",
    "parcel_photos",
    "process_chunk",
    "result_columns",
    "run_ordered",
    "stone_columns",
]


class _CallablePackage(types.ModuleType):
    """Module type of :mod:`footprint.classify`: calling the package calls :func:`classify`."""

    def __call__(self, *args: Any, **kwargs: Any) -> ClassifyRun:
        return classify(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
