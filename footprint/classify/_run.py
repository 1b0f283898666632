"""The classify run: stream, validate, assess, write results, report and audit atomically."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from .._io import OutputTransaction
from .._types import REPORT_LANGUAGES
from ..exceptions import InputError, ModelError, Problem, SchemaError, UsageError
from ..ingest import read_parcels
from ._output import (
    DEFAULT_MAX_DETAIL,
    VALUE_RESULT_COLUMNS,
    ClassifyRun,
    ReportInputs,
    ResultParts,
    _is_synthetic,
    _model_identity,
    _write_csv,
    parcel_photos,
    result_columns,
    stone_columns,
)
from ._runner import RunContext, _load_model, process_chunk, run_ordered
from ._stream import DEFAULT_CHUNK_SIZE, ChunkTask, iter_csv_chunks, iter_frame_chunks

__all__ = ["classify"]

logger = logging.getLogger(__name__)

def _derive_spectra(source: str, manifest: Mapping[str, Any], n_jobs: int) -> pd.DataFrame:
    """Read spectra and derive FTIR values with the recipe the model was trained with."""
    import json

    from ..ingest import read_spectra
    from ..spectra import derive_ftir_features

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


def classify(
    model_dir: str | os.PathLike[str],
    stones: str | os.PathLike[str] | None,
    out: str | os.PathLike[str],
    *,
    assortment: str | os.PathLike[str] | None = None,
    price_book: str | os.PathLike[str] | None = None,
    valuation_date: str | None = None,
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
    render_report: Callable[[ReportInputs], str] | None = None,
    images: str | os.PathLike[str] | None = None,
    accept_unverified_store: bool = False,
) -> ClassifyRun:
    """Classify every parcel of a stones file and write results, report and audit.

    Parameters
    ----------
    model_dir : path
        A model directory (:meth:`FootprintModel.load` verifies it).
    stones : path or None
        Stones CSV or XLSX: schema v1 fields plus ``parcel_id``; the stones
        of a parcel must be contiguous. None when ``assortment`` gives every parcel.
    out : path
        Results CSV, one row per parcel (:func:`result_columns`).
    assortment : path, optional
        Parcels described as assortments
        (:func:`footprint.ingest.read_assortment`): one weighted row per
        cell. With ``stones`` too, the batch is mixed (a parcel is in one
        file or the other) and both are read whole rather than streamed.
    price_book : path, optional
        Price book (:func:`footprint.valuation.read_price_book`): adds the
        expected value, its interval, the declared value, their ratio and a
        flag per parcel (:data:`VALUE_RESULT_COLUMNS`), also in the report.
    valuation_date : str, optional
        ISO date the price book is read at (default today).
    parcels : path, optional
        Parcels file (:func:`read_parcels`).
    spectra : path, optional
        FTIR spectra (a file or folder, as :func:`footprint.ingest.read_spectra`
        reads) for some stones; their derived values fill gaps in the table.
    stones_out : path, optional
        Per-stone results CSV (:func:`stone_columns`).
    report : path, optional
        HTML report to write, with ``render_report``.
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
    render_report : callable, optional
        ``render_report(inputs) -> str`` makes the HTML page from a
        :class:`ReportInputs` (:func:`footprint.report.render_classify_report`);
        required with ``report``.
    images : path, optional
        A folder of the parcels' photographs (file names starting with the
        parcel id, e.g. ``<sample_id>.png``); the report shows up to six of
        each parcel beside the reference photos of its nearest lots.
    accept_unverified_store : bool
        Use a store (``db``, or the manifest's for the report) that fails
        verification; recorded in the audit with its problems.

    Returns
    -------
    ClassifyRun

    Raises
    ------
    UsageError
        A bad option, or an output that is an input, has no folder or is
        given twice (:class:`~footprint.exceptions.OutputError`); checked
        before any work.
    InputError
        Bad stones, parcels or spectra files (nothing is written).
    StoreError
        The store cannot be read or fails verification (nothing is written).
    ModelError
        The model cannot be loaded or does not match the inputs.

    Every output (results, per-stone results, report, audit record) is
    written to a temporary file and published only when the whole run
    succeeded: a failed run leaves no partial or orphaned output.
    """
    import datetime as _dt

    from .._audit import hash_in_background

    started = _dt.datetime.now(_dt.UTC)
    if stones is None and assortment is None:
        raise InputError("nothing to classify", [Problem(None, None, "stones", None,
                                                         "give a stones file, an assortment, or both")])
    source = stones if stones is not None else assortment
    assert source is not None  # checked above: stones or an assortment
    file = os.fspath(source)
    if lang not in REPORT_LANGUAGES:
        raise UsageError(f"--lang {lang!r}: unknown report language (en or fr)")
    if report and render_report is None:
        raise ValueError("classify(report=...) needs render_report (footprint.report.render_classify_report)")
    if chunk_size < 1:
        raise UsageError(f"--chunk-size {chunk_size}: must be at least 1 stone")
    if n_jobs == 0 or n_jobs < -1:
        raise UsageError(f"--jobs {n_jobs}: give -1 (all cores) or a positive number of workers")
    if max_detail is not None and max_detail < 0:
        raise UsageError(f"--max-detail {max_detail}: must be 0 or more")
    store_path = _report_store(db, model_dir) if report else (os.fspath(db) if db is not None else None)
    finals = _guard(out, stones_out, report, model_dir=model_dir, stones=stones, parcels=parcels,
                    spectra=spectra, store=store_path,
                    others={"--assortment": assortment, "--price-book": price_book, "--images": images})
    if not Path(file).is_file():
        raise InputError(f"{file}: no such file",
                         [Problem(file, None, None, None, "file not found, or a folder")])
    for option, path in (("--parcels", parcels), ("--spectra", spectra)):
        if path is not None and not Path(path).exists():
            raise InputError(f"{option} {path}: no such file",
                             [Problem(os.fspath(path), None, None, None, "file or folder not found")])
    # The audit's hash of the stones file, on the idle core while the model loads.
    stones_digest = hash_in_background(file)
    model = _load_model(os.fspath(model_dir))
    zones = list(model.zones)
    warnings: list[str] = []
    store = None
    if store_path is not None:
        from ..db import check_store

        store = check_store(store_path, accept_unverified=accept_unverified_store)
        warnings.extend(store["warnings"])
    for zone, thin in (model.manifest.get("training", {}).get("thin_zones") or {}).items():
        warnings.append(f"model: reference zone {zone} is thin ({thin['stones']} stones in {thin['lots']} "
                        f"lots): its evidence is widened x{thin['widening']:.2f}"
                        + ("" if thin.get("widening_measured", True)
                           else " (not measurable on held-out lots)"))
    parcels_df = read_parcels(parcels, zones) if parcels is not None else None
    derived = _derive_spectra(os.fspath(spectra), model.manifest, n_jobs) if spectra is not None else None
    ctx = RunContext(
        model_dir=os.fspath(model_dir),
        file=file,
        parcels=parcels_df,
        derived_ftir=derived,
        stone_lines=stones_out is not None,
        report_columns=bool(report),
        parcels_file=os.fspath(parcels) if parcels is not None else None,
    )
    if price_book is not None:
        from ..valuation import read_price_book

        ctx.price_book = read_price_book(price_book).as_of(valuation_date)
    value_columns = list(VALUE_RESULT_COLUMNS) if price_book is not None else []

    problems: list[Problem] = []
    total_bytes = Path(file).stat().st_size
    on_bytes = (lambda done: progress(done, total_bytes)) if progress else None
    readable = contextlib.ExitStack()
    if assortment is not None:
        frame = _assortment_frame(stones, assortment, problems)
        tasks: Iterator[ChunkTask] = iter_frame_chunks(frame, chunk_size=chunk_size, file=file,
                                                       problems=problems)
    elif stones is not None and Path(stones).suffix.lower() in (".xlsx", ".xlsm"):
        from ..ingest import read_stones_table

        frame, _ = read_stones_table(stones, reference=False, keep_columns=("parcel_id",))
        tasks = iter_frame_chunks(frame, chunk_size=chunk_size, file=file, problems=problems)
    else:
        assert stones is not None  # checked above: stones or an assortment
        from ..ingest import encoding_label, utf8_file

        # Excel's "Unicode text" (UTF-16) and legacy encodings are streamed as UTF-8 (a temporary copy).
        utf8, encoding = readable.enter_context(utf8_file(stones))
        if encoding not in ("utf-8", "utf-8-sig"):
            warnings.append(f"{file}: read as {encoding_label(encoding)}")
        tasks = iter_csv_chunks(utf8, chunk_size=chunk_size, problems=problems, progress=on_bytes,
                                name=file)
    budget = [DEFAULT_MAX_DETAIL if max_detail is None else max_detail] if report else [0]

    def with_budget(source: Iterator[ChunkTask]) -> Iterator[ChunkTask]:
        # Summaries are kept only for parcels the report details, so memory stays flat.
        for task in source:
            task.summarise = min(budget[0], len(task.parcel_ids))
            budget[0] -= task.summarise
            yield task

    out = Path(out)
    # The report renders every parcel from every column; otherwise the rows are kept compressed.
    result_parts = ResultParts(result_columns(zones) + value_columns, frames=bool(report))
    unseen = set(parcels_df["parcel_id"].astype(str)) if parcels_df is not None else set()
    summaries: dict[str, dict[str, Any]] = {}
    spectra_used: set[str] = set()
    synthetic = _is_synthetic(model)
    n_stones = 0
    # Every output goes to a temporary beside its final path; all are published together at the
    # end, the audit record last, so a failure anywhere (input, model, report, store) leaves none.
    tx = readable.enter_context(OutputTransaction())
    stones_fh = open(tx.path(stones_out), "w", encoding="utf-8", newline="") if stones_out else None
    results_fh = open(tx.path(out), "w", encoding="utf-8", newline="")
    with readable:
        try:
            _write_csv(pd.DataFrame(columns=result_columns(zones) + value_columns), results_fh, True)
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
                result_parts.add(chunk.results)
                unseen.difference_update(chunk.results["parcel_id"].astype(str))
                n_stones += chunk.n_stones
                results_fh.write(chunk.results_csv)
                if stones_fh is not None:
                    stones_fh.write(chunk.stones_csv)
                summaries.update(chunk.summaries)
                spectra_used.update(chunk.sample_ids_with_spectra)
        finally:
            for handle in (stones_fh, results_fh):
                if handle is not None and not handle.closed:
                    handle.close()
        if problems:
            unique = list(dict.fromkeys(problems))
            ordered = sorted(unique, key=lambda p: -1 if p.row is None else p.row)
            raise SchemaError(f"{file}: the stones file breaks the schema", ordered)
        run = _finish(
            tx, finals, parts=result_parts, unseen=unseen, zones=zones, model=model, model_dir=model_dir,
            stones=stones,
            stones_digest=stones_digest, parcels=parcels, parcels_df=parcels_df, spectra=spectra,
            derived=derived, spectra_used=spectra_used, summaries=summaries, report=report,
            render_report=render_report, db=db, store_path=store_path, store=store, lang=lang,
            value_columns=value_columns, images=images, assortment=assortment, price_book=price_book,
            valuation_date=valuation_date,
            n_jobs=n_jobs, scheduler=scheduler, chunk_size=chunk_size, max_detail=max_detail,
            synthetic=synthetic, n_stones=n_stones, warnings=warnings, command=command, started=started,
            accept_unverified_store=accept_unverified_store,
        )
    return run


def _finish(tx: OutputTransaction, finals: dict[str, Path | None], *, parts: ResultParts, unseen: set[str],
            zones: list[str], model: Any, model_dir: Any, stones: Any, stones_digest: Callable[[], str],
            parcels: Any, parcels_df: pd.DataFrame | None, spectra: Any, derived: pd.DataFrame | None,
            spectra_used: set[str], summaries: dict[str, Any], report: Any,
            render_report: Callable[[ReportInputs], str] | None, db: Any, store_path: str | None,
            store: dict[str, Any] | None, lang: str, n_jobs: int, scheduler: str | None, chunk_size: int,
            max_detail: int | None, synthetic: bool, n_stones: int, warnings: list[str], command: str,
            started: Any, accept_unverified_store: bool, value_columns: list[str], images: Any,
            assortment: Any, price_book: Any, valuation_date: str | None) -> ClassifyRun:
    """Warnings, the report and the audit record into the transaction, then publish everything."""
    from .._audit import hash_inputs, hash_tree, write_audit

    out = Path(finals["--out"] or "")
    if derived is not None:
        unused = sorted(set(derived["sample_id"].astype(str)) - spectra_used)
        if unused:
            warnings.append(
                f"{len(unused)} spectra name no stone of the stones file: {', '.join(unused[:10])}"
            )
    if parcels_df is not None:
        missing = sorted(unseen)
        if missing:
            warnings.append(
                f"{len(missing)} parcels of the parcels file have no stones: {', '.join(missing[:10])}"
            )
    counts = dict(sorted(parts.verdicts.items(), key=lambda kv: -kv[1]))  # as value_counts() orders them
    needs_review = any(v != "consistent" for v in counts)
    identity = _model_identity(model, os.fspath(model_dir))
    thresholds = dict(getattr(model, "thresholds", {}) or {})
    outputs = [p for p in (finals["--out"], finals["--stones-out"]) if p is not None]
    if report and render_report is not None:  # (render_report was required above)
        from .._reference import reference_for_report

        reference, store_meta = reference_for_report(store_path, model)
        synthetic = synthetic or bool(store_meta.get("synthetic"))
        if store_meta.get("matches_model") is False:
            warnings.append(f"{store_meta.get('path')}: {STORE_MISMATCH}")
        results = parts.frame()
        photos = parcel_photos(images, results["parcel_id"].astype(str).tolist()) if images else None
        thin = dict((getattr(model, "manifest", {}) or {}).get("training", {}).get("thin_zones") or {})
        inputs = ReportInputs(results, zones, summaries, parcels_df, reference, identity, store_meta,
                              thresholds, synthetic, lang, max_detail, photos, thin)
        tx.path(report).write_text(render_report(inputs), encoding="utf-8")
        outputs.append(Path(report))
    for message in warnings:
        logger.warning(message)
    inputs_record = hash_inputs({"stones": stones, "assortment": assortment, "price_book": price_book,
                                 "parcels": parcels, "spectra": spectra},
                                digests={"stones" if stones is not None else "assortment": stones_digest})
    inputs_record["model"] = hash_tree(model_dir)
    if store is not None:
        inputs_record["store"] = {k: v for k, v in store.items() if k != "warnings"}
    audit_final = finals["audit"]
    assert audit_final is not None
    written = {str(p): tx.temporary(p) or p for p in outputs}
    audit = write_audit(
        out,
        command=command,
        inputs=inputs_record,
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
            "valuation_date": valuation_date,
            "accept_unverified_store": bool(accept_unverified_store),
        },
        summary={
            "parcels": parts.n_parcels,
            "stones": n_stones,
            "verdicts": counts,
            "synthetic": synthetic,
            "exit_code": 6 if needs_review else 0,
        },
        warnings=warnings,
        started=started,
        path=tx.path(audit_final),
        written=written,
    )
    del audit
    tx.publish()
    return ClassifyRun(
        parts=parts,
        n_stones=n_stones,
        exit_code=6 if needs_review else 0,
        outputs=[*outputs, audit_final],
        audit=audit_final,
        synthetic=synthetic,
        warnings=warnings,
        stones_path=finals["--stones-out"],
    )


def _assortment_frame(stones: str | os.PathLike[str] | None, assortment: str | os.PathLike[str],
                      problems: list[Problem]) -> pd.DataFrame:
    """Assortment cells, plus the stones file's parcels for a mixed batch (issue 14).

    Read whole: an assortment is small (cells, not stones). Stone rows get
    ``stone_weight`` 1; a parcel in both files is a problem.
    """
    from ..ingest import read_assortment, read_stones_table

    cells = read_assortment(assortment, reference=False)
    if stones is None:
        return cells
    frame, _ = read_stones_table(stones, reference=False, keep_columns=("parcel_id",))
    both = sorted(set(frame["parcel_id"].dropna().astype(str)) & set(cells["parcel_id"].astype(str)))
    for pid in both[:20]:
        problems.append(Problem(os.fspath(assortment), None, "parcel_id", pid,
                                "this parcel is also in the stones file: describe a parcel in one file only"))
    synthetic = bool(frame.attrs.get("synthetic")) or bool(cells.attrs.get("synthetic"))
    frame = frame.assign(stone_weight=1.0)
    mixed = pd.concat([frame, cells], ignore_index=True, sort=False)
    mixed.attrs = {"synthetic": synthetic}
    return mixed


#: The audit's words for the report's store-mismatch banner.
STORE_MISMATCH = ("the reference store shown in the report is not the one the model was trained on (content "
                  "hashes differ): reference panels may not match the evidence behind the verdicts")


def _report_store(db: Any, model_dir: Any) -> str | None:
    """Return the store a report draws from: ``--db``, else the manifest's store when it exists."""
    if db is not None:
        return os.fspath(db)
    from .._artefact import read_manifest
    from .._reference import manifest_store_path

    try:
        recorded = manifest_store_path(read_manifest(model_dir))
    except ModelError:
        return None  # the model's own check names the problem when it loads
    return recorded if recorded and Path(recorded).is_file() else None


def _guard(out: Any, stones_out: Any, report: Any, *, model_dir: Any, stones: Any, parcels: Any,
           spectra: Any, store: str | None, others: dict[str, Any] | None = None) -> dict[str, Path | None]:
    """Refuse outputs that are inputs (or each other) before any work; return the final paths."""
    from .._audit import audit_path
    from .._io import guard_outputs

    finals: dict[str, Path | None] = {
        "--out": Path(out), "--stones-out": Path(stones_out) if stones_out else None,
        "--report": Path(report) if report else None, "audit": audit_path(out),
    }
    inputs = {"MODEL_DIR": model_dir, "STONES": stones, "--parcels": parcels, "--spectra": spectra,
              "--db": store, **(others or {})}
    guard_outputs({("audit record" if k == "audit" else k): v for k, v in finals.items()}, inputs)
    return finals
