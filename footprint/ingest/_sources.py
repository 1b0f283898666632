"""Find and read spectra: one file, a folder, a manifest, or a spectrum CSV.

JCAMP-DX parsing is CPU-bound pure Python (``jcamp`` walks every character),
so many files are parsed in parallel worker *processes* (joblib/loky). Files
are handed out in chunks, so a worker's start-up and each result's pickling
are paid once per chunk rather than once per file.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection, Sequence
from pathlib import Path

from .._types import Spectrum
from ..exceptions import Problem, SpectrumError
from ._images import split_name
from ._jcamp import KINDS, MAX_SPECTRUM_BYTES, read_jcamp
from ._spectra_csv import read_csv_spectra
from ._worker import Job, parse_chunk

__all__ = ["JCAMP_SUFFIXES", "collect_spectra", "read_spectra", "read_spectrum"]

logger = logging.getLogger(__name__)

JCAMP_SUFFIXES = (".jdx", ".dx", ".jcamp", ".jcm")
#: After a known sample_id, these may start the rest of a spectrum file name
#: (``K-001_run2.jdx``, ``K-001 rep.jdx``, ``K-001.b.jdx``).
_NAME_SEPARATORS = "_-. "
#: Below this many files, parsing in the calling process beats starting workers.
PARALLEL_MIN_FILES = 48


def _check_kind(kind: str | None) -> None:
    if kind is not None and kind not in KINDS:
        raise SpectrumError(f"unknown spectrum kind '{kind}'",
                            [Problem(None, None, "kind", kind, f"must be one of: {', '.join(KINDS)}")])


def read_spectrum(path: str | os.PathLike[str], *, kind: str | None = None,
                  block: int | None = None) -> Spectrum:
    """Read one spectrum file: JCAMP-DX (via ``jcamp``) or a two-column ``x,y`` CSV.

    Parameters
    ----------
    path : path-like
        ``.jdx``/``.dx``/``.jcamp``/``.jcm`` or ``.csv``.
    kind : {"ftir", "uvvis", "raman", "pl"}, optional
        Expected kind. For JCAMP-DX the default is the one ``##DATA TYPE``
        names, and a contradiction is an error; a CSV needs it.
    block : int, optional
        0-based block of a LINK (compound) JCAMP-DX file with several spectra.

    Returns
    -------
    Spectrum
        ``x``/``y`` in file order with normalised units, ``raw`` the file's
        bytes, ``meta`` the header labels (title, instrument, resolution,
        date, owner...). ``sample_id`` is not set.

    Raises
    ------
    SpectrumError
        For NMR, mass spectra, FIDs, peak tables, unreadable, empty or
        oversized (> 50 MB) files, or axis units that do not fit the kind;
        the message names the file and the reason.
    """
    _check_kind(kind)
    file = os.fspath(path)
    if Path(path).suffix.lower() == ".csv":
        if kind is None:
            raise SpectrumError(f"{file}: a CSV spectrum needs kind=",
                                [Problem(file, None, "kind", None, "pass the spectrum kind for CSV files")])
        problems: list[Problem] = []
        p = Path(path)
        if p.is_file() and p.stat().st_size > MAX_SPECTRUM_BYTES:
            limit = MAX_SPECTRUM_BYTES // 2**20
            raise SpectrumError(f"{file}: spectrum file too large", [Problem(
                file, None, None, p.stat().st_size, f"files over {limit} MB are refused")])
        spectra, _, layout = read_csv_spectra(p.read_bytes(), file, kind=kind, problems=problems)
        if problems:
            raise SpectrumError(f"{file}: not a usable spectrum CSV", problems)
        if layout != "two_column" or len(spectra) != 1:
            raise SpectrumError(f"{file}: holds {len(spectra)} spectra", [Problem(
                file, None, None, layout, "read_spectrum takes one x,y spectrum; use read_spectra")])
        return spectra[0]
    return read_jcamp(path, kind=kind, block=block)


def _effective_jobs(n_jobs: int) -> int:
    count = os.cpu_count() or 1
    if n_jobs < 0:
        return max(1, count + 1 + n_jobs)
    return max(1, min(n_jobs, count))


def parse_jobs(jobs: Sequence[Job], kind: str | None, n_jobs: int) -> list[Spectrum | list[Problem]]:
    """Parse JCAMP-DX jobs, in parallel processes when there are enough of them.

    Results come back in job order, so the output does not depend on
    ``n_jobs``.
    """
    workers = _effective_jobs(n_jobs)
    if workers == 1 or len(jobs) < PARALLEL_MIN_FILES:
        return parse_chunk(jobs, kind)
    from joblib import Parallel, delayed

    # ~4 chunks per worker: big enough to amortise pickling, small enough to balance load.
    n_chunks = min(len(jobs), workers * 4)
    size = -(-len(jobs) // n_chunks)
    chunks = [jobs[i:i + size] for i in range(0, len(jobs), size)]
    results = Parallel(n_jobs=workers, backend="loky")(delayed(parse_chunk)(c, kind) for c in chunks)
    return [r for chunk in results for r in chunk]


def _read_manifest(path: Path, file: str, base: Path, problems: list[Problem]) -> list[Job]:
    import csv
    import io

    import pandas as pd

    from ._encoding import decode_text

    try:
        text = str(decode_text(path.read_bytes()))
        table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True,
                            comment=None)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, csv.Error) as exc:
        problems.append(Problem(file, None, None, None, f"not a readable manifest CSV ({exc})"))
        return []
    cols = {c.strip().lower().replace(" ", "_"): c for c in table.columns}
    if "sample_id" not in cols or "file" not in cols:
        problems.append(Problem(file, None, None, ",".join(map(str, table.columns)),
                                "a manifest needs the columns sample_id,file (and optionally block)"))
        return []
    jobs = []
    for i, rec in enumerate(table.itertuples(index=False), start=1):
        values = dict(zip(table.columns, rec, strict=True))
        sid = str(values[cols["sample_id"]]).strip()
        name = str(values[cols["file"]]).strip()
        if not sid:
            problems.append(Problem(file, i, "sample_id", None, "sample_id is required on every row"))
            continue
        if not name:
            problems.append(Problem(file, i, "file", None, "file is required on every row"))
            continue
        target = Path(name) if Path(name).is_absolute() else base / name
        if not target.is_file():
            problems.append(Problem(file, i, "file", name, f"no such file ({os.fspath(target)})"))
            continue
        block = None
        if "block" in cols and str(values[cols["block"]]).strip():
            text = str(values[cols["block"]]).strip()
            if not text.isdigit():
                problems.append(Problem(file, i, "block", text, "block must be a whole number (0-based)"))
                continue
            block = int(text)
        jobs.append(Job(os.fspath(target), sid, block, i, file))
    return jobs


def _folder_jobs(root: Path, known: Collection[str]) -> list[Job]:
    jobs = []
    for path in sorted(root.iterdir()):
        if path.is_file() and path.suffix.lower() in JCAMP_SUFFIXES and not path.name.startswith("."):
            sid, _ = split_name(path.stem, known, separators=_NAME_SEPARATORS)
            jobs.append(Job(os.fspath(path), sid, None, None))
    return jobs


def collect_spectra(source: str | os.PathLike[str], *, kind: str, manifest: str | os.PathLike[str] | None,
                    n_jobs: int, known: Collection[str], problems: list[Problem],
                    containers: list[str]) -> list[Spectrum]:
    """Read spectra from any supported source; problems are appended, not raised.

    ``containers`` receives the paths of manifest/CSV files read (for the
    batch's source list); JCAMP-DX spectra carry their own path in ``source``.
    """
    _check_kind(kind)
    src = Path(source)
    file = os.fspath(source)
    if not src.exists():
        problems.append(Problem(file, None, None, None, "no such file or folder"))
        return []
    if manifest is not None:
        man = Path(manifest)
        base = src if src.is_dir() else man.parent
        if not man.is_file():
            problems.append(Problem(os.fspath(manifest), None, None, None, "manifest file not found"))
            return []
        containers.append(os.fspath(manifest))
        jobs = _read_manifest(man, os.fspath(manifest), base, problems)
    elif src.is_dir():
        jobs = _folder_jobs(src, known)
        if not jobs:
            problems.append(Problem(file, None, None, None,
                                    f"no JCAMP-DX files ({', '.join(JCAMP_SUFFIXES)}) in this folder"))
    elif src.suffix.lower() == ".csv":
        containers.append(file)
        if src.stat().st_size > MAX_SPECTRUM_BYTES * 20:
            problems.append(Problem(file, None, None, src.stat().st_size, "spectrum CSV over 1 GB refused"))
            return []
        spectra, _, layout = read_csv_spectra(src.read_bytes(), file, kind=kind, problems=problems)
        if layout == "manifest":
            jobs = _read_manifest(src, file, src.parent, problems)
        else:
            if layout == "two_column":
                for s in spectra:
                    s.sample_id = split_name(src.stem, known, separators=_NAME_SEPARATORS)[0]
            return spectra
    else:
        jobs = [Job(file, split_name(src.stem, known, separators=_NAME_SEPARATORS)[0], None, None)]
    out: list[Spectrum] = []
    n_before = len(problems)
    for result in parse_jobs(jobs, kind, n_jobs):
        if isinstance(result, list):
            problems.extend(result)
        else:
            out.append(result)
    logger.info("read %d spectra from %s (%d refused)", len(out), file, len(problems) - n_before)
    return out


def read_spectra(source: str | os.PathLike[str], *, kind: str,
                 manifest: str | os.PathLike[str] | None = None, n_jobs: int = -1,
                 known_sample_ids: Collection[str] = ()) -> list[Spectrum]:
    """Read many spectra and map them to stones.

    Parameters
    ----------
    source : path-like
        One JCAMP-DX file; a folder of JCAMP-DX files named
        ``<sample_id>[_<anything>].jdx`` (also ``.dx``, ``.jcamp``, ``.jcm``);
        a manifest CSV ``sample_id,file[,block]`` (paths relative to it); a
        wide CSV ``sample_id,<x1>,<x2>,...``; or a long CSV ``sample_id,x,y``.
    kind : {"ftir", "uvvis", "raman", "pl"}
        Spectrum kind; a JCAMP-DX file whose ``##DATA TYPE`` says otherwise is
        an error.
    manifest : path-like, optional
        Manifest CSV mapping files (relative to ``source`` when it is a
        folder) to sample ids.
    n_jobs : int
        Worker processes for JCAMP-DX parsing (joblib convention: -1 = all
        cores). The result does not depend on it.
    known_sample_ids : collection of str, optional
        Ids used to split file names when ids contain ``_``.

    Returns
    -------
    list of Spectrum
        In file (or manifest / CSV row) order, with ``sample_id`` and ``kind`` set.

    Raises
    ------
    SpectrumError
        Listing every file that could not be read or was refused.
    """
    problems: list[Problem] = []
    out = collect_spectra(source, kind=kind, manifest=manifest, n_jobs=n_jobs, known=known_sample_ids,
                          problems=problems, containers=[])
    if problems:
        raise SpectrumError(f"{os.fspath(source)}: spectra refused", problems)
    return out
