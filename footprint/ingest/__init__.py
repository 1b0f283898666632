"""Readers that turn lab files into validated batches.

* :func:`read_stones_table` - stone descriptions from CSV or XLSX, every cell
  checked against schema v1 (and custom fields) by named steps
  (:func:`read_stones_bytes`: the same for CSV bytes in memory);
* :func:`read_spectrum`, :func:`read_spectra` - JCAMP-DX (through the
  ``jcamp`` package), two-column, wide and long CSV spectra, parsed in
  parallel processes;
* :func:`read_images` - PNG/JPEG photographs, decoded to be sure;
* :func:`read_parcels` - the optional parcels file of a classify run;
* :func:`read_plain_table` - small hand-written sheets (certificates,
  compliance lists) as text cells, with the same encoding and delimiter
  handling, checked by callers with :func:`parse_number` / :func:`parse_date`;
* :func:`read_assortment` - parcels or reference lots described as carats
  and stones per size class (x quality x colour ...), one weighted row per
  cell; :func:`parse_size_class` and :func:`convert_size_class` for the
  size-class systems (DTC sieves, mm sieves, grainers, carat classes);
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

_WHERE = {
    "GROUP_FIELDS": "._validate",
    "KINDS": "._jcamp",
    "MAX_SPECTRUM_BYTES": "._jcamp",
    "PARCEL_COLUMNS": "._parcels",
    "PlainTable": "._plain",
    "parse_date": "._plain",
    "parse_number": "._plain",
    "read_plain_table": "._plain",
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
    "read_parcels": "._parcels",
    "read_spectra": "._sources",
    "read_spectrum": "._sources",
    "read_stones_bytes": "._table",
    "read_stones_table": "._table",
    "read_raw_table": "._table",
    "SIZE_SYSTEMS": "._size_class",
    "convert_size_class": "._size_class",
    "parse_size_class": "._size_class",
    "sieve_carats": "._size_class",
    "sieve_for_carats": "._size_class",
    "size_table": "._size_class",
    "read_assortment": "._assortment",
    "sampling_weights": "._assortment",
    "row_weights": "._assortment",
    "expand_reference_cells": "._assortment",
}

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ does this lazily
    from ._assortment import expand_reference_cells as expand_reference_cells
    from ._assortment import read_assortment as read_assortment
    from ._assortment import row_weights as row_weights
    from ._assortment import sampling_weights as sampling_weights
    from ._build import build_batch as build_batch
    from ._build import empty_stones_frame as empty_stones_frame
    from ._encoding import decode_text as decode_text
    from ._encoding import detect_encoding as detect_encoding
    from ._encoding import encoding_label as encoding_label
    from ._encoding import utf8_file as utf8_file
    from ._images import read_images as read_images
    from ._jcamp import KINDS as KINDS
    from ._jcamp import MAX_SPECTRUM_BYTES as MAX_SPECTRUM_BYTES
    from ._jcamp import detect_kind as detect_kind
    from ._parcels import PARCEL_COLUMNS as PARCEL_COLUMNS
    from ._parcels import read_parcels as read_parcels
    from ._plain import PlainTable as PlainTable
    from ._plain import parse_date as parse_date
    from ._plain import parse_number as parse_number
    from ._plain import read_plain_table as read_plain_table
    from ._size_class import SIZE_SYSTEMS as SIZE_SYSTEMS
    from ._size_class import convert_size_class as convert_size_class
    from ._size_class import parse_size_class as parse_size_class
    from ._size_class import sieve_carats as sieve_carats
    from ._size_class import sieve_for_carats as sieve_for_carats
    from ._size_class import size_table as size_table
    from ._sources import read_spectra as read_spectra
    from ._sources import read_spectrum as read_spectrum
    from ._table import read_raw_table as read_raw_table
    from ._table import read_stones_bytes as read_stones_bytes
    from ._table import read_stones_table as read_stones_table
    from ._validate import GROUP_FIELDS as GROUP_FIELDS
    from ._validate import STEPS as STEPS
    from ._validate import name_key as name_key


# The one listing of the public API is _WHERE; the TYPE_CHECKING block mirrors it for static tools
# (tests/test_api.py fails when the two differ).
__all__ = sorted(_WHERE)

__getattr__, __dir__ = lazy_namespace(__name__, _WHERE, __all__)
