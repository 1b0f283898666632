"""Import-on-first-use for package namespaces (PEP 562), shared by every package that needs it.

Workers that parse spectra, and ``classify`` start-up, should pay only for
the names they touch; packages list where each public name lives and get
their ``__getattr__`` and ``__dir__`` from :func:`lazy_namespace`.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_namespace"]


def lazy_namespace(package: str, where: Mapping[str, str], public: Iterable[str]
                   ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return ``(__getattr__, __dir__)`` for ``package``.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    where : mapping of str to str
        Public name -> relative module that defines it (``"._table"``), or
        ``""`` for a subpackage imported under that name (``.name``).
    public : iterable of str
        The package's ``__all__`` (what ``dir()`` shows).

    Returns
    -------
    tuple of callable
        Assign them to the package's ``__getattr__`` and ``__dir__``.
    """
    names = sorted(public)

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = where[name]
        if module:
            value = getattr(importlib.import_module(module, package), name)
        else:
            value = importlib.import_module(f".{name}", package)
        # Cache in the package namespace: later look-ups do not come back here.
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return list(names)

    return __getattr__, __dir__
