"""Assemble one validated :class:`~footprint._batch.Batch` from a lab's files.

Everything is read and checked before anything could be written: problems
from the stone table, the spectra, the images and the cross-checks between
them are collected and raised as one error, so a lab sees the whole list at
once and the store is never touched by a bad batch.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

import pandas as pd

from .._batch import Batch, ProcessingReport, SourceFile, reason_problem
from .._schema import FIELDS, Field
from .._types import ImageRecord, Spectrum
from ..exceptions import InputError, Problem, SchemaError, SpectrumError
from ._images import collect_images
from ._sources import collect_spectra
from ._table import _series, read_stones_table

__all__ = ["build_batch", "empty_stones_frame"]

logger = logging.getLogger(__name__)


def empty_stones_frame(extra_fields: Sequence[Field] = ()) -> pd.DataFrame:
    """Return a 0-row stone table with every schema (+custom) column, typed."""
    fields = {f.name: f for f in FIELDS}
    fields.update({f.name: f for f in extra_fields})
    return pd.DataFrame({name: _series(name, [], f) for name, f in fields.items()})


def _source(path: str, role: str) -> SourceFile:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return SourceFile(path=path, sha256=digest.hexdigest(), role=role, size_bytes=size)


class _Measured(Protocol):
    """What :func:`_keep_for_stones` needs of a spectrum or an image."""

    @property
    def sample_id(self) -> str | None: ...

    @property
    def sha256(self) -> str: ...

    @property
    def source(self) -> str: ...


_M = TypeVar("_M", bound=_Measured)


def _keep_for_stones(items: list[_M], known: Collection[str], in_batch: Collection[str],
                     report: ProcessingReport, problems: list[Problem], *, counters: tuple[str, str],
                     place: Callable[[_M], tuple[str, int | None]], orphan: Callable[[_M], str],
                     duplicate: Callable[[_M, _M], str]) -> list[_M]:
    """Require a stone for every item and refuse the same content twice; return the items kept.

    ``counters`` names the two report steps, ``place`` gives the file and row a
    problem is reported at, ``orphan`` and ``duplicate`` the rule broken.
    """
    seen: dict[str, _M] = {}
    kept = []
    for item in items:
        report.count(counters[0])
        where, row = place(item)
        if item.sample_id not in in_batch and item.sample_id not in known:
            problems.append(Problem(where, row, "sample_id", item.sample_id, orphan(item)))
            continue
        report.count(counters[1])
        key = item.sha256
        first = seen.get(key)
        if first is not None:
            problems.append(Problem(where, row, "sample_id", item.sample_id, duplicate(item, first)))
            continue
        seen[key] = item
        kept.append(item)
    return kept


def _spectrum_place(s: Spectrum) -> tuple[str, int | None]:
    if s.meta.get("manifest_row") is not None:
        # the manifest row is what the user edits to fix a mapping
        return s.meta["manifest"], s.meta["manifest_row"]
    return s.source, s.meta.get("source_row")


def _same_spectrum(s: Spectrum, first: Spectrum) -> str:
    if first.sample_id == s.sample_id and first.kind == s.kind:
        rule = (f"the same spectrum (sha256 {s.sha256[:12]}...) twice for this sample "
                f"(first: {first.source})")
    else:
        rule = (f"identical spectrum content already given for sample '{first.sample_id}' "
                f"({first.source}); one measurement cannot belong to two stones")
    return f"{s.source}: {rule}"


def _check_spectra(spectra: list[Spectrum], known: Collection[str], in_batch: Collection[str],
                   report: ProcessingReport, problems: list[Problem]) -> list[Spectrum]:
    """Require a stone for every spectrum; refuse the same content twice or under two ids."""
    return _keep_for_stones(
        spectra, known, in_batch, report, problems,
        counters=("require_stone_for_spectrum", "require_unique_spectra"), place=_spectrum_place,
        orphan=lambda s: (f"spectrum {s.source} is for a sample_id with no stone in this batch "
                          "or in the store"),
        duplicate=_same_spectrum,
    )


def _check_images(images: list[ImageRecord], known: Collection[str], in_batch: Collection[str],
                  report: ProcessingReport, problems: list[Problem]) -> list[ImageRecord]:
    """Require a stone for every image; refuse the same picture twice."""
    return _keep_for_stones(
        images, known, in_batch, report, problems,
        counters=("require_stone_for_image", "require_unique_images"), place=lambda im: (im.source, None),
        orphan=lambda _im: ("image for a sample_id with no stone in this batch or in the store "
                            "(name files <sample_id>[_<view>].png)"),
        duplicate=lambda _im, first: f"identical image already given as {first.source}",
    )


def _error_class(problems: list[Problem], origins: set[str]) -> type[InputError]:
    if origins == {"stones"}:
        return SchemaError
    if origins == {"spectra"}:
        return SpectrumError
    return InputError


def build_batch(
    *,
    stones: str | os.PathLike[str] | None = None,
    spectra: str | os.PathLike[str] | None = None,
    kind: str = "ftir",
    assortments: str | os.PathLike[str] | None = None,
    manifest: str | os.PathLike[str] | None = None,
    images: str | os.PathLike[str] | None = None,
    by: str,
    replace: bool = False,
    reason: str | None = None,
    extra_fields: Sequence[Field] = (),
    known_sample_ids: Collection[str] = frozenset(),
    synthetic: bool | None = None,
    n_jobs: int = -1,
    sheet: str | int | None = None,
    reference: bool = True,
) -> Batch:
    """Read, validate and cross-check one batch of lab files.

    Nothing is written: the store commits the returned batch.

    Parameters
    ----------
    stones : path-like, optional
        Stone table (CSV or XLSX), see :func:`read_stones_table`.
    assortments : path-like, optional
        Reference lots described by assortment (:func:`read_assortment`,
        ``lot_id`` and ``zone`` per cell), added as one record per stone
        (:func:`expand_reference_cells`).
    spectra : path-like, optional
        A JCAMP-DX file, folder, manifest, wide or long CSV, see :func:`read_spectra`.
    kind : {"ftir", "uvvis", "raman", "pl"}
        Kind of the spectra.
    manifest : path-like, optional
        ``sample_id,file[,block]`` CSV mapping spectrum files to stones.
    images : path-like, optional
        Folder of ``<sample_id>[_<view>].png|.jpg`` photographs.
    by : str
        Who adds the batch (audit log); required.
    replace : bool
        Allow new versions of existing records; needs ``reason``.
    reason : str, optional
        Why records are replaced.
    extra_fields : sequence of Field
        Custom fields registered in the store.
    known_sample_ids : collection of str
        Sample ids already in the store (spectra and images may refer to them).
    synthetic : bool, optional
        ``None`` detects it from the files (``# SYNTHETIC`` first line or a
        ``synthetic`` column in the stone table, ``##$SYNTHETIC=TRUE`` in
        JCAMP-DX, ``# SYNTHETIC`` in spectrum CSVs). ``False`` while the files
        say synthetic is an error: synthetic data cannot be un-labelled.
    n_jobs : int
        Worker processes for spectrum parsing (-1 = all cores).
    sheet : str or int, optional
        XLSX sheet of the stone table.
    reference : bool
        Stones are reference stones (``zone`` required).

    Returns
    -------
    Batch
        Validated stones (every schema column, typed), spectra with
        ``sample_id`` and ``kind``, images, hashed source files and the
        processing report.

    Raises
    ------
    InputError
        One error listing every problem of the batch (``SchemaError`` when
        they all come from the stone table, ``SpectrumError`` when they all
        come from spectra).
    """
    problems: list[Problem] = []
    origins: set[str] = set()
    report = ProcessingReport()
    sources: list[SourceFile] = []
    if not str(by or "").strip():
        problems.append(Problem(None, None, "by", by, "say who adds the batch (--by NAME)"))
    if (problem := reason_problem(replace, reason)) is not None:
        problems.append(problem)
    if stones is None and spectra is None and images is None and assortments is None:
        problems.append(Problem(None, None, None, None,
                                "nothing to add: give stones, assortments, spectra or images"))
    if manifest is not None and spectra is None:
        spectra = Path(manifest).parent
    if problems:
        raise InputError("batch refused, nothing was written", problems)

    table = empty_stones_frame(extra_fields)
    detected_synthetic = False
    marks: dict[str, bool] = {}  # input file -> carries the SYNTHETIC mark
    if stones is not None:
        try:
            table, table_report = read_stones_table(stones, extra_fields=extra_fields, reference=reference,
                                                    sheet=sheet)
        except SchemaError as exc:
            problems.extend(exc.problems)
            origins.add("stones")
        else:
            report.rows_read = table_report.rows_read
            for step, n in table_report.steps.items():
                report.count(step, n)
            report.warnings.extend(table_report.warnings)
            detected_synthetic |= bool(table.attrs.get("synthetic"))
            marks[os.fspath(stones)] = bool(table.attrs.get("synthetic"))
            sources.append(_source(os.fspath(stones), "stones"))
    if assortments is not None:  # issue 14: reference lots described by assortment
        from ._assortment import expand_reference_cells, read_assortment

        try:
            cells = read_assortment(assortments, reference=True, extra_fields=extra_fields, sheet=sheet)
        except SchemaError as exc:
            problems.extend(exc.problems)
            origins.add("stones")
        else:
            expanded = expand_reference_cells(cells, extra_fields)
            report.rows_read += len(cells)
            report.warnings.extend(cells.attrs.get("warnings", []))
            table = expanded if stones is None else pd.concat([table, expanded], ignore_index=True)
            detected_synthetic |= bool(cells.attrs.get("synthetic"))
            marks[os.fspath(assortments)] = bool(cells.attrs.get("synthetic"))
            sources.append(_source(os.fspath(assortments), "assortment"))
    in_batch = set(table["sample_id"].dropna())
    known = set(known_sample_ids)
    names = in_batch | known

    spectrum_list: list[Spectrum] = []
    if spectra is not None:
        containers: list[str] = []
        n_before = len(problems)
        spectrum_list = collect_spectra(spectra, kind=kind, manifest=manifest, n_jobs=n_jobs, known=names,
                                        problems=problems, containers=containers)
        report.count("read_spectra", len(spectrum_list) + len(problems) - n_before)
        if len(problems) > n_before:
            origins.add("spectra")
        n_before = len(problems)
        spectrum_list = _check_spectra(spectrum_list, known, in_batch, report, problems)
        if len(problems) > n_before:
            origins.add("cross-check")
        for path in containers:
            role = "manifest" if manifest is not None and os.fspath(manifest) == path else "spectra_table"
            sources.append(_source(path, role))
        first_of_file: dict[str, Spectrum] = {}
        for s in spectrum_list:
            if not s.meta.get("container_sha256"):
                first_of_file.setdefault(s.source, s)  # a LINK file gives several spectra
        sources.extend(SourceFile(path=path, sha256=s.sha256, role="spectrum", size_bytes=len(s.raw))
                       for path, s in first_of_file.items())
        detected_synthetic |= any(s.meta.get("synthetic") for s in spectrum_list)
        for s in spectrum_list:
            marks[s.source] = marks.get(s.source, False) or bool(s.meta.get("synthetic"))
        report.spectra_read = len(spectrum_list)

    image_list: list[ImageRecord] = []
    if images is not None:
        n_before = len(problems)
        image_list = collect_images(images, known=names, problems=problems)
        report.count("read_images", len(image_list) + len(problems) - n_before)
        image_list = _check_images(image_list, known, in_batch, report, problems)
        if len(problems) > n_before:
            origins.add("images")
        sources.extend(SourceFile(path=im.source, sha256=im.sha256, role="image", size_bytes=len(im.data))
                       for im in image_list)
        report.images_read = len(image_list)

    if synthetic is None and detected_synthetic and not all(marks.values()):
        # One batch gets one label: real files would be stored as synthetic (or the reverse).
        real = [f for f, marked in marks.items() if not marked]
        problems.append(Problem(real[0], None, "synthetic", None, (
            f"the batch mixes SYNTHETIC files with {len(real)} unmarked (real) file(s) "
            f"({', '.join(real[:3])}{', ...' if len(real) > 3 else ''}); add them as separate batches, "
            "or, if all of it is synthetic, mark those files SYNTHETIC (a first line '# SYNTHETIC')")))
        origins.add("synthetic")
    if synthetic is False and detected_synthetic:
        problems.append(Problem(None, None, "synthetic", False, "the files are marked SYNTHETIC; synthetic "
                                "data cannot be added as real data"))
        origins.add("synthetic")
    if problems:
        raise _error_class(problems, origins)("batch refused, nothing was written", problems)
    is_synthetic = bool(synthetic) or detected_synthetic
    if is_synthetic:
        report.warnings.append("SYNTHETIC data: this batch is labelled synthetic in the store")
    logger.info("batch: %d stones, %d spectra, %d images", len(table), len(spectrum_list), len(image_list))
    return Batch(stones=table, spectra=spectrum_list, images=image_list, sources=sources, report=report,
                 synthetic=is_synthetic, by=str(by).strip(), replace=replace, reason=reason)
