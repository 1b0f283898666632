"""Readers that turn lab files into validated batches.

* :func:`read_stones_table` - stone descriptions from CSV or XLSX, every cell
  checked against schema v1 (and custom fields) by named steps
  (:func:`read_stones_bytes`: the same for CSV bytes in memory);
* :func:`read_spectrum`, :func:`read_spectra` - JCAMP-DX (through the
  ``jcamp`` package), two-column, wide and long CSV spectra, parsed in
  parallel processes;
* :func:`read_images` - PNG/JPEG photographs, decoded to be sure;
* :func:`build_batch` - all of the above plus cross-checks, as one
  :class:`~footprint._batch.Batch` for the store to commit.

Every reader collects all problems (file, row, field, value, rule) and
raises one :class:`~footprint.exceptions.InputError` subclass; nothing here
writes anywhere.

Names are imported on first use (PEP 562): a spectrum-parsing worker process
imports ``footprint.ingest._worker`` without paying for pandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_namespace

__all__ = [
    "GROUP_FIELDS",
    "KINDS",
    "MAX_SPECTRUM_BYTES",
    "STEPS",
    "build_batch",
    "decode_text",
    "detect_encoding",
    "detect_kind",
    "encoding_label",
    "empty_stones_frame",
    "name_key",
    "read_images",
    "read_spectra",
    "read_spectrum",
    "read_stones_bytes",
    "read_stones_table",
    "utf8_file",
]

_WHERE = {
    "GROUP_FIELDS": "._validate",
    "KINDS": "._jcamp",
    "MAX_SPECTRUM_BYTES": "._jcamp",
    "STEPS": "._validate",
    "build_batch": "._build",
    "decode_text": "._encoding",
    "detect_encoding": "._encoding",
    "encoding_label": "._encoding",
    "utf8_file": "._encoding",
    "detect_kind": "._jcamp",
    "empty_stones_frame": "._build",
    "name_key": "._validate",
    "read_images": "._images",
    "read_spectra": "._sources",
    "read_spectrum": "._sources",
    "read_stones_bytes": "._table",
    "read_stones_table": "._table",
}

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ does this lazily
    from ._build import build_batch, empty_stones_frame
    from ._encoding import decode_text, detect_encoding, encoding_label, utf8_file
    from ._images import read_images
    from ._jcamp import KINDS, MAX_SPECTRUM_BYTES, detect_kind
    from ._sources import read_spectra, read_spectrum
    from ._table import read_stones_bytes, read_stones_table
    from ._validate import GROUP_FIELDS, STEPS, name_key


__getattr__, __dir__ = lazy_namespace(__name__, _WHERE, __all__)
