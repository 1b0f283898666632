"""The HDF5 reference store: format, atomic commit, verify, read.

It trusts the batches it is given (every check of user input is in
:mod:`footprint.ingest`). Modules: ``_format`` (format constants, column
encodings, integrity checks), ``_write`` (writer lock, temporary copy, writing
a planned batch), ``_store`` (:class:`ReferenceStore`: open, read, plan,
commit, verify).
"""

from __future__ import annotations

from ._store import (
    DEFAULT_LOCK_TIMEOUT,
    FORMAT_NAME,
    FORMAT_VERSION,
    GRIDS,
    ReferenceStore,
    grid_for,
)
from ._write import _whoami as whoami

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "GRIDS",
    "ReferenceStore",
    "grid_for",
    "whoami",
]
