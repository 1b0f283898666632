"""footprint: rough-diamond footprints and parcel origin assessment.

No method proves the origin of a single diamond (GIA, *Gems & Gemology*,
Fall 2022): footprints are population profiles and the parcel is the unit of
judgement.

The public API is exactly what ``__all__`` lists (built from ``_EAGER``,
``_SUBPACKAGES`` and ``_WHERE`` below); everything else lives in
private modules and may change without notice. Subpackages and heavy names are
imported on first use (PEP 562), so ``import footprint`` and the worker
processes that parse spectra stay light.

- :mod:`footprint.db`: the reference-database workflow (init, add, verify, info).
- :mod:`footprint.store` / :class:`ReferenceStore`: the HDF5 reference store.
- :mod:`footprint.ingest`: lab files (CSV/XLSX stones, JCAMP-DX and CSV spectra, images) to batches.
- :mod:`footprint.spectra`: FTIR spectra to nitrogen features.
- :mod:`footprint.synth`: the SYNTHETIC reference set and its exact density.
- :mod:`footprint.model`: calibrated stone model, site-aware parcel assessment, evaluation.
- :func:`classify`, :func:`profile`, :mod:`footprint.report`: batch checks and reports.
- :mod:`footprint.review`: the monthly export review register (SQLite / PostgreSQL).
- :mod:`footprint.stats`: KP production and trade statistics screening.
- :mod:`footprint.valuation`: price books and expected parcel values (assortments, size classes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import exceptions as exceptions
from ._lazy import lazy_namespace
from ._schema import FIELDS as FIELDS
from ._schema import SCHEMA_VERSION as SCHEMA_VERSION
from ._schema import Field as Field
from ._schema import canonical_column as canonical_column
from ._schema import field_names as field_names
from ._types import ImageRecord as ImageRecord
from ._types import Spectrum as Spectrum
from ._version import __version__ as __version__

_SUBPACKAGES = {
    "classify", "db", "ingest", "model", "report", "review", "schema", "spectra", "stats", "store", "synth",
    "valuation",
}

_WHERE = {
    "ClassifyRun": ".classify",
    "ExactDensity": ".synth",
    "FootprintModel": ".model",
    "ParcelAssessment": ".model",
    "train": ".model",
    "evaluate": ".model",
    "ReferenceStore": ".store",
    "build_batch": ".ingest",
    "read_spectrum": ".ingest",
    "read_stones_table": ".ingest",
    "derive_ftir_features": ".spectra",
    "simulate_ftir": ".spectra",
    "profile": "._profile",
    "write_profile": ".report",
}

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ does this lazily
    from . import classify as classify
    from . import db as db
    from . import ingest as ingest
    from . import model as model
    from . import report as report
    from . import review as review
    from . import schema as schema
    from . import spectra as spectra
    from . import stats as stats
    from . import store as store
    from . import synth as synth
    from . import valuation as valuation
    from ._profile import profile as profile
    from .classify import ClassifyRun as ClassifyRun
    from .ingest import build_batch as build_batch
    from .ingest import read_spectrum as read_spectrum
    from .ingest import read_stones_table as read_stones_table
    from .model import FootprintModel as FootprintModel
    from .model import ParcelAssessment as ParcelAssessment
    from .model import evaluate as evaluate
    from .model import train as train
    from .report import write_profile as write_profile
    from .spectra import derive_ftir_features as derive_ftir_features
    from .spectra import simulate_ftir as simulate_ftir
    from .store import ReferenceStore as ReferenceStore
    from .synth import ExactDensity as ExactDensity


#: Names imported above, at once (light, and needed by every worker).
_EAGER = {"FIELDS", "SCHEMA_VERSION", "Field", "ImageRecord", "Spectrum", "__version__", "canonical_column",
          "exceptions", "field_names"}

# The one listing of the public API: the eager names, the subpackages and _WHERE. The TYPE_CHECKING
# block mirrors it for static tools; tests/test_api.py fails when the two differ.
__all__ = sorted(_EAGER | _SUBPACKAGES | set(_WHERE))

__getattr__, __dir__ = lazy_namespace(__name__, {**dict.fromkeys(_SUBPACKAGES, ""), **_WHERE}, __all__)
