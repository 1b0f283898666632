"""footprint: rough-diamond footprints and parcel origin assessment.

The public API is exactly what ``__all__`` lists; everything else lives in
private modules and may change without notice.
"""

from __future__ import annotations

from . import exceptions
from ._schema import FIELDS, SCHEMA_VERSION, Field, canonical_column, field_names
from ._types import ImageRecord, Spectrum

__version__ = "0.1.0"

__all__ = [
    "FIELDS",
    "SCHEMA_VERSION",
    "Field",
    "ImageRecord",
    "Spectrum",
    "__version__",
    "canonical_column",
    "exceptions",
    "field_names",
]
