"""The one conversion of numpy/pandas/stdlib values to JSON types, used by every JSON writer.

- :func:`jsonable` walks a structure and returns plain JSON types; NaN, inf and
  ``pd.NA`` become ``None`` (for manifests, reports and ``--json`` output);
- :func:`json_default` is the ``default=`` hook of :func:`json.dumps` for the
  values the encoder does not know (numpy scalars and arrays, bytes, dates,
  paths; anything else as its ``str``); it leaves floats alone, so a writer that
  must keep NaN as the encoder writes it (the store's metadata) keeps it.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

__all__ = ["json_default", "jsonable"]


def json_default(obj: Any) -> Any:
    """Return a JSON-encodable stand-in for ``obj`` (the ``default=`` hook of :func:`json.dumps`).

    Parameters
    ----------
    obj : object
        A value :mod:`json` cannot encode by itself.

    Returns
    -------
    object
        ``obj.item()`` for numpy scalars, a list for arrays, text for bytes
        (UTF-8, bad bytes replaced), ISO 8601 for dates and datetimes, and
        ``str(obj)`` otherwise.
    """
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (bytes, bytearray)):
        return obj.decode("utf-8", "replace")
    if isinstance(obj, (_dt.date, _dt.datetime)):
        return obj.isoformat()
    return str(obj)


def jsonable(value: Any) -> Any:
    """Return ``value`` as plain JSON types (mappings, lists, str, int, float, bool, None).

    Parameters
    ----------
    value : object
        Mappings (keys become ``str``), lists, tuples, numpy arrays and scalars,
        pandas scalars, paths and plain values, nested in any way.

    Returns
    -------
    object
        The same structure in JSON types; NaN, inf and ``pd.NA`` become ``None``,
        paths become ``str``; other values :mod:`json` cannot encode go through
        :func:`json_default`.
    """
    import numpy as np

    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if isinstance(value, PurePath):
        return str(value)
    if type(value).__name__ == "NAType":  # pd.NA, without importing pandas here
        return None
    return json_default(value)
