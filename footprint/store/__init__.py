"""The HDF5 reference store: format, atomic commit, verify, read.

It trusts the batches it is given (every check of user input is in
:mod:`footprint.ingest`). Modules: ``_format`` (file layout, column encodings,
integrity checks), ``_plan`` (a batch against the stored data), ``_write``
(writer lock, temporary copy, atomic commit), ``_verify`` (``verify``),
``_store`` (:class:`ReferenceStore`: open, read, commit).
"""

from __future__ import annotations

from ._format import DEFAULT_LOCK_TIMEOUT, FORMAT_NAME, FORMAT_VERSION, GRIDS, grid_for
from ._store import ReferenceStore
from ._write import whoami

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "GRIDS",
    "ReferenceStore",
    "grid_for",
    "whoami",
]
