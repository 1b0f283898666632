"""Helpers every command shares: logging to stderr, error mapping, JSON output."""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar

import typer

from .._json import jsonable
from ..exceptions import FootprintError

__all__ = ["Lang", "SpectrumKind", "emit_json", "guarded", "setup_logging"]


class Lang(StrEnum):
    """Languages of reports and pages (``--lang``); the library's list is ``footprint.report.LANGUAGES``."""

    en = "en"
    fr = "fr"


class SpectrumKind(StrEnum):
    """Spectrum kinds (``--kind``); the library's list is ``footprint.ingest.KINDS``."""

    ftir = "ftir"
    uvvis = "uvvis"
    pl = "pl"
    raman = "raman"

F = TypeVar("F", bound=Callable[..., Any])


class _CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that writes to whatever ``sys.stderr`` is at emit time.

    Test runners (typer's CliRunner) swap ``sys.stderr`` per invocation; a
    handler bound to the first stream would write to a closed one later.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass  # always the current sys.stderr


def setup_logging(verbose: bool = False) -> None:
    """Send library logs to stderr; only the CLI configures handlers."""
    root = logging.getLogger("footprint")
    if not any(isinstance(h, _CurrentStderrHandler) for h in root.handlers):
        handler = _CurrentStderrHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)


def guarded(func: F) -> F:
    """Turn a :class:`FootprintError` into a message on stderr and its exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        setup_logging()
        try:
            return func(*args, **kwargs)
        except FootprintError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


def emit_json(obj: Any) -> None:
    """Print ``obj`` as JSON on stdout (NaN and inf become null)."""
    typer.echo(json.dumps(jsonable(obj), indent=2, ensure_ascii=False, sort_keys=False))
