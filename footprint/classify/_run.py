"""The classify run: stream, validate, assess, write results, report and audit atomically."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from .._types import REPORT_LANGUAGES
from ..exceptions import InputError, ModelError, Problem, SchemaError
from ..ingest import read_parcels
from ._output import (
    DEFAULT_MAX_DETAIL,
    ClassifyRun,
    ReportInputs,
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
    render_report: Callable[[ReportInputs], str] | None = None,
    images: str | os.PathLike[str] | None = None,
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

    from .._audit import hash_in_background, hash_inputs, write_audit

    started = _dt.datetime.now(_dt.UTC)
    file = os.fspath(stones)
    if lang not in REPORT_LANGUAGES:
        raise InputError("unknown report language", [Problem(None, None, "lang", lang, "must be en or fr")])
    if report and render_report is None:
        raise ValueError("classify(report=...) needs render_report (footprint.report.render_classify_report)")
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
    )

    problems: list[Problem] = []
    total_bytes = Path(stones).stat().st_size
    on_bytes = (lambda done: progress(done, total_bytes)) if progress else None
    if Path(stones).suffix.lower() in (".xlsx", ".xlsm"):
        from ..ingest import read_stones_table

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
    if report and render_report is not None:  # (render_report was required above)
        from .._reference import reference_for_report

        reference, store_meta = reference_for_report(db, model)
        synthetic = synthetic or bool(store_meta.get("synthetic"))
        photos = parcel_photos(images, results["parcel_id"].astype(str).tolist()) if images else None
        inputs = ReportInputs(results, zones, summaries, parcels_df, reference, identity, store_meta,
                              thresholds, synthetic, lang, max_detail, photos)
        Path(report).write_text(render_report(inputs), encoding="utf-8")
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
