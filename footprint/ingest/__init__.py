"""Readers that turn lab files into validated batches.

* :func:`read_stones_table` - stone descriptions from CSV or XLSX, every cell
  checked against schema v1 (and custom fields) by named steps
  (:func:`read_stones_bytes`: the same for CSV bytes in memory);
* :func:`read_spectrum`, :func:`read_spectra` - JCAMP-DX (through the
  ``jcamp`` package), two-column, wide and long CSV spectra, parsed in
  parallel processes;
* :func:`read_images` - PNG/JPEG photographs, decoded to be sure;
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

__all__ = [
    "SIZE_SYSTEMS",
    "KINDS",
    "MAX_SPECTRUM_BYTES",
    "STEPS",
    "build_batch",
    "convert_size_class",
    "detect_kind",
    "empty_stones_frame",
    "expand_reference_cells",
    "parse_size_class",
    "read_assortment",
    "read_images",
    "read_spectra",
    "read_spectrum",
    "read_stones_bytes",
    "read_stones_table",
    "row_weights",
    "sampling_weights",
    "sieve_carats",
    "sieve_for_carats",
]

_WHERE = {
    "KINDS": "._jcamp",
    "MAX_SPECTRUM_BYTES": "._jcamp",
    "STEPS": "._validate",
    "build_batch": "._build",
    "detect_kind": "._jcamp",
    "empty_stones_frame": "._build",
    "read_images": "._images",
    "read_spectra": "._sources",
    "read_spectrum": "._sources",
    "read_stones_bytes": "._table",
    "read_stones_table": "._table",
    "SIZE_SYSTEMS": "._size_class",
    "convert_size_class": "._size_class",
    "parse_size_class": "._size_class",
    "sieve_carats": "._size_class",
    "sieve_for_carats": "._size_class",
    "read_assortment": "._assortment",
    "sampling_weights": "._assortment",
    "row_weights": "._assortment",
    "expand_reference_cells": "._assortment",
}

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ does this lazily
    from ._assortment import expand_reference_cells, read_assortment, row_weights, sampling_weights
    from ._build import build_batch, empty_stones_frame
    from ._images import read_images
    from ._jcamp import KINDS, MAX_SPECTRUM_BYTES, detect_kind
    from ._size_class import (
        SIZE_SYSTEMS,
        convert_size_class,
        parse_size_class,
        sieve_carats,
        sieve_for_carats,
    )
    from ._sources import read_spectra, read_spectrum
    from ._table import read_stones_bytes, read_stones_table
    from ._validate import STEPS


__getattr__, __dir__ = lazy_namespace(__name__, _WHERE, __all__)
