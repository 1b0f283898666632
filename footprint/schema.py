"""Public face of schema v1: re-exports :mod:`footprint._schema`, where each name is defined."""

from ._schema import *  # noqa: F403  (the public names are exactly ``_schema.__all__``)
from ._schema import __all__ as __all__
