"""footprint: rough-diamond footprints and parcel origin assessment.

No method proves the origin of a single diamond (GIA, *Gems & Gemology*,
Fall 2022): footprints are population profiles and the parcel is the unit of
judgement.

The public API is exactly what ``__all__`` lists; everything else lives in
private modules and may change without notice. Subpackages and heavy names are
imported on first use (PEP 562), so ``import footprint`` and the worker
processes that parse spectra stay light.

- :mod:`footprint.db` / :class:`ReferenceStore`: the HDF5 reference store.
- :mod:`footprint.ingest`: lab files (CSV/XLSX stones, JCAMP-DX and CSV spectra, images) to batches.
- :mod:`footprint.spectra`: FTIR spectra to nitrogen features.
- :mod:`footprint.synth`: the SYNTHETIC reference set and its exact density.
- :mod:`footprint.model`: calibrated stone model, site-aware parcel assessment, evaluation.
- :func:`classify`, :func:`profile`, :mod:`footprint.report`: batch checks and reports.
- :mod:`footprint.stats`: KP production and trade statistics screening.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import exceptions
from ._lazy import lazy_namespace
from ._schema import FIELDS, SCHEMA_VERSION, Field, canonical_column, field_names
from ._types import ImageRecord, Spectrum

__version__ = "0.1.0"

__all__ = [
    "FIELDS",
    "SCHEMA_VERSION",
    "ClassifyRun",
    "ExactDensity",
    "Field",
    "FootprintModel",
    "ImageRecord",
    "ParcelAssessment",
    "ReferenceStore",
    "Spectrum",
    "__version__",
    "build_batch",
    "canonical_column",
    "classify",
    "db",
    "derive_ftir_features",
    "evaluate",
    "exceptions",
    "field_names",
    "ingest",
    "model",
    "profile",
    "read_spectrum",
    "read_stones_table",
    "report",
    "schema",
    "simulate_ftir",
    "spectra",
    "stats",
    "synth",
    "train",
    "write_profile",
]

_SUBPACKAGES = {"db", "ingest", "model", "report", "schema", "spectra", "stats", "synth"}

_WHERE = {
    "ClassifyRun": "._classify",
    "classify": "._classify",
    "ExactDensity": ".synth",
    "FootprintModel": ".model",
    "ParcelAssessment": ".model",
    "train": ".model",
    "evaluate": ".model",
    "ReferenceStore": "._store",
    "build_batch": ".ingest",
    "read_spectrum": ".ingest",
    "read_stones_table": ".ingest",
    "derive_ftir_features": ".spectra",
    "simulate_ftir": ".spectra",
    "profile": "._profile",
    "write_profile": "._profile",
}

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ does this lazily
    from . import db, ingest, model, report, schema, spectra, stats, synth
    from ._classify import ClassifyRun, classify
    from ._profile import profile, write_profile
    from ._store import ReferenceStore
    from .ingest import build_batch, read_spectrum, read_stones_table
    from .model import FootprintModel, ParcelAssessment, evaluate, train
    from .spectra import derive_ftir_features, simulate_ftir
    from .synth import ExactDensity


__getattr__, __dir__ = lazy_namespace(__name__, {**dict.fromkeys(_SUBPACKAGES, ""), **_WHERE}, __all__)
