"""Valuation of rough parcels against a price book.

* :func:`read_price_book` - a price book CSV (``size_class, quality, colour,
  usd_per_ct``, optional ``low, high, effective_from``), validated with
  errors naming file, row and field;
* :func:`cells_from_stones` - stones (one row each) gathered into assortment
  cells (size class x quality x colour);
* :func:`value_files` - the ``footprint value`` command: read, value, write;
* :func:`value_parcels` - per parcel: expected value with an interval, the
  declared value, their ratio and a flag when the declared value falls
  outside the interval; the valuation method the parcels file names is
  carried along.

A declared value outside the interval is a prompt for questions (the KP asks
participants to monitor large differences between declared and expected
values), never evidence of origin.
"""

from ._price_book import PriceBook, read_price_book, synthetic_price_book_path
from ._value import FLAGS, VALUE_COLUMNS, cells_from_stones, value_files, value_parcels

__all__ = [
    "FLAGS",
    "VALUE_COLUMNS",
    "PriceBook",
    "cells_from_stones",
    "read_price_book",
    "synthetic_price_book_path",
    "value_files",
    "value_parcels",
]
