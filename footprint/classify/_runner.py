"""Run chunks in order: in this process, in forked workers (joblib) or on a Dask cluster.

Each chunk is validated, assessed and summarised by :func:`process_chunk`;
:func:`run_ordered` gives results back in input order whichever way they ran.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from ..exceptions import InputError, Problem, SchemaError
from ._output import VALUE_RESULT_COLUMNS, _csv_lines, result_columns, stone_columns
from ._stream import ChunkResult, ChunkTask

__all__ = ["RunContext", "process_chunk", "run_ordered"]

logger = logging.getLogger(__name__)

#: Report-detailed parcels: fields listed in the "why" block, and stones most likely foreign shown.
WHY_FIELDS, WHY_STONES = 6, 10

T = TypeVar("T")
R = TypeVar("R")


# -- the per-chunk work ---------------------------------------------------------

_MODEL_CACHE: dict[str, Any] = {}
_MODEL_LOCK = threading.Lock()


def _load_model(model_dir: str) -> Any:
    """Load a model once per process (workers keep it between chunks)."""
    key = os.path.realpath(model_dir)
    with _MODEL_LOCK:
        if key not in _MODEL_CACHE:
            from ..model import FootprintModel

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
    #: send the columns only the report reads (site shares, consistent zones, alternative zone)
    report_columns: bool = True
    #: issue 14: the price book (valuation columns added to the results) and the parcels file's name
    price_book: Any = None
    parcels_file: str | None = None


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
    from ..ingest import read_stones_bytes

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
    blank = stones["parcel_id"].isna().to_numpy()
    if blank.any():  # the splitter reports these rows too; the model must never see them
        return None, [Problem(ctx.file, task.first_row + int(i), "parcel_id", "",
                              "required: every stone must name its parcel")
                      for i in np.flatnonzero(blank)], False
    # pandas deep-copies ``attrs`` into every derived frame or column (hundreds of
    # times per chunk); nothing downstream reads them, so drop them here.
    stones.attrs = {}
    return stones, [], synthetic


#: Parcel result columns that are figures of evidence, blank for a parcel without any measurement.
_EVIDENCE_COLUMNS = ("best_zone", "foreign_fraction", "foreign_fraction_lo", "foreign_fraction_hi",
                     "novelty_p", "mixed_p", "typical_sites", "top_fields", "site_shares")
#: Text (object) columns among them, blanked with None rather than NaN.
_TEXT_EVIDENCE = ("best_zone", "typical_sites", "top_fields", "site_shares")


def unmeasured_parcels(stones: pd.DataFrame) -> set[str]:
    """Return the parcels none of whose stones has a single measured (non-identity) value.

    Identity and provenance fields (ids, zone, site, lab, notes...) are not
    measurements; every other schema or custom field is.
    """
    from .._schema import FIELDS

    identity = {f.name for f in FIELDS if f.group == "identity"} | {"parcel_id"}
    measured = [c for c in stones.columns if c not in identity and not c.startswith("_")]
    if not len(stones):
        return set()
    has = np.zeros(len(stones), dtype=bool)
    for column in measured:  # column by column, stopping as soon as every stone has a measurement
        has |= stones[column].notna().to_numpy(dtype=bool)
        if has.all():
            return set()
    per_parcel = pd.Series(has, index=stones.index).groupby(stones["parcel_id"].astype(str), sort=False).any()
    return {str(p) for p in per_parcel.index[~per_parcel.to_numpy(dtype=bool)]}


def _without_evidence(results: pd.DataFrame, stones: pd.DataFrame) -> pd.DataFrame:
    """Report a parcel with no measured stone as inconclusive, with no figures made from nothing.

    With every value missing, each stone's posterior is the prior, so the
    likelihood ratio is 1 and any novelty p-value or foreign fraction would
    only describe the model's treatment of missing data: those are left blank.
    """
    empty = unmeasured_parcels(stones)
    if not empty:
        return results
    results = results.copy()
    mask = results["parcel_id"].astype(str).isin(empty).to_numpy()
    results.loc[mask, "verdict"] = "inconclusive"
    results.loc[mask, "log10_lr"] = 0.0
    for column in _EVIDENCE_COLUMNS:
        if column in results.columns:
            text = column in _TEXT_EVIDENCE
            results[column] = results[column].astype(object) if text else results[column]
            results.loc[mask, column] = None if text else np.nan
    return results


def _add_why(summaries: dict[str, Any], results: pd.DataFrame, fields: np.ndarray,
             stone_results: pd.DataFrame, names: list[str]) -> None:
    """Put the "why" of each report-detailed parcel in its summary (small, JSON-ready).

    ``why``: ``fields`` (the :data:`WHY_FIELDS` fields with the largest share
    of the per-field evidence: name, log10 evidence, share, supported zone),
    ``target``/``alternative`` zones, ``foreign_stones`` (the
    :data:`WHY_STONES` stones most likely foreign: sample id, probability).
    """
    rows = {str(p): k for k, p in enumerate(results["parcel_id"].astype(str))}
    per_parcel = (stone_results.groupby("parcel_id", sort=False) if len(stone_results)
                  and "p_foreign" in stone_results.columns else None)
    for pid, summary in summaries.items():
        k = rows.get(pid)
        if k is None:
            continue
        row = results.iloc[k]
        declared, best = row.get("declared_zone"), row.get("best_zone")
        target = declared if isinstance(declared, str) and declared else best
        alternative = row.get("alternative_zone")
        ev = fields[k]
        total = float(np.abs(ev).sum())
        top = [int(j) for j in np.argsort(-np.abs(ev), kind="stable")[:WHY_FIELDS] if ev[j] != 0]
        stones_out: list[dict[str, Any]] = []
        if per_parcel is not None and pid in per_parcel.groups:
            group = per_parcel.get_group(pid).sort_values("p_foreign", ascending=False, kind="stable")
            head = group.head(WHY_STONES)
            stones_out = [{"sample_id": str(s), "p_foreign": float(p)}
                          for s, p in zip(head["sample_id"], head["p_foreign"], strict=True)]
        summary["why"] = {
            "target": str(target) if target is not None else None,
            "alternative": str(alternative) if isinstance(alternative, str) else None,
            "fields": [{"field": names[j], "log10": float(ev[j]), "share": float(abs(ev[j]) / total),
                        "supports": str(target) if ev[j] > 0 else str(alternative)}
                       for j in top] if total else [],
            "foreign_stones": stones_out,
        }


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
    from .._profile import summarise

    stones, problems, synthetic = _validate_chunk(task, ctx)
    if stones is None or problems:
        return ChunkResult(task.index, problems=problems)
    used: list[str] = []
    if ctx.derived_ftir is not None and len(ctx.derived_ftir):
        from .._features import merge_derived_ftir

        ids = stones["sample_id"].astype(str)
        used = sorted(set(ids) & set(ctx.derived_ftir["sample_id"].astype(str)))
        if used:
            stones = merge_derived_ftir(stones, ctx.derived_ftir)
    model = _load_model(ctx.model_dir)
    parcels = None
    if ctx.parcels is not None:
        parcels = ctx.parcels[ctx.parcels["parcel_id"].isin(task.parcel_ids)]
    # issue 14: assortment cells stand for n stones, a described subsample for total / described carats.
    from ..ingest import row_weights

    weights, sampling, weight_problems = row_weights(stones, parcels, ctx.parcels_file)
    if weight_problems:
        return ChunkResult(task.index, problems=weight_problems)
    # Per-stone results are only computed when they are written (--stones-out) or the report details
    # some of the chunk's parcels (their stones most likely foreign).
    X = model.matrix(stones)
    # ``top_fields`` and the per-field evidence of the "why" block come from the same pass.
    results, stone_results, fields = model.assess_batch_fields(
        stones, parcels, weights=weights, sampling=sampling or None, mean_mass=weights is not None, X=X,
        per_stone=ctx.stone_lines or bool(task.summarise))
    results = _without_evidence(results, stones)
    summaries = {}
    if task.summarise:
        wanted = set(task.parcel_ids[: task.summarise])
        for pid, group in stones[stones["parcel_id"].isin(wanted)].groupby("parcel_id", sort=False):
            summaries[str(pid)] = summarise(group, label=str(pid))
        _add_why(summaries, results, fields, stone_results, model.feature_names)
    zones = list(model.zones)
    extras = [c for c in ("zones_consistent", "site_shares", "alternative_zone")
              if c in results.columns and ctx.report_columns]
    columns = result_columns(zones) + (list(VALUE_RESULT_COLUMNS) if ctx.price_book is not None else [])
    if ctx.price_book is not None:
        from ..valuation import cells_from_stones, value_parcels

        values = value_parcels(cells_from_stones(stones), ctx.price_book, parcels, sampling=sampling)
        results = results.merge(values[["parcel_id", *VALUE_RESULT_COLUMNS]], on="parcel_id", how="left")
        for pid, summary in summaries.items():
            summary["valuation"] = values[values["parcel_id"] == pid].iloc[0].to_dict()
    results = results.reindex(columns=columns + extras)
    return ChunkResult(
        task.index,
        results=results,
        n_stones=len(stones) if "stone_weight" not in stones.columns
        else int(pd.to_numeric(stones.get("n_stones"), errors="coerce").fillna(1).sum()),
        results_csv=_csv_lines(results.reindex(columns=columns)),
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
        from ..exceptions import FootprintError

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


