"""The function JCAMP-DX worker processes run, kept free of heavy imports.

A loky worker imports the module that defines the function it is sent. This
module (with :mod:`._jcamp`) needs only numpy and ``jcamp``, so a fresh
worker starts in a fraction of the time it would take to import pandas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .._types import Spectrum
from ..exceptions import Problem, SpectrumError
from ._jcamp import read_jcamp

__all__ = ["Job", "parse_chunk"]


@dataclass(frozen=True)
class Job:
    """One JCAMP-DX file to parse, and where its sample_id came from."""

    path: str
    sample_id: str | None
    block: int | None
    row: int | None  # manifest row, for messages
    manifest: str | None = None


def parse_chunk(jobs: Sequence[Job], kind: str | None) -> list[Spectrum | list[Problem]]:
    """Parse a chunk of JCAMP-DX files; refusals come back as Problem lists, in job order."""
    out: list[Spectrum | list[Problem]] = []
    for job in jobs:
        try:
            spec = read_jcamp(job.path, kind=kind, block=job.block)
        except SpectrumError as exc:
            out.append([Problem(p.file, job.row, p.field, p.value, p.rule) for p in exc.problems])
            continue
        in_file = spec.meta.get("sample_id_in_file")
        if in_file is not None and job.sample_id is not None and str(in_file).strip() != job.sample_id:
            where = (f"the manifest {job.manifest} (row {job.row}) maps it to" if job.manifest is not None
                     else "its file name gives")
            out.append([Problem(job.path, job.row, "sample_id", str(in_file).strip(),
                                f"the file's ##$SAMPLE ID differs from the sample_id {where} "
                                f"('{job.sample_id}'); rename the file, correct the manifest or the header")])
            continue
        spec.sample_id = job.sample_id
        if job.manifest is not None:
            spec.meta.update(manifest=job.manifest, manifest_row=job.row)
        out.append(spec)
    return out
