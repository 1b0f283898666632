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

__all__ = ["Lang", "SpectrumKind", "check_jobs", "check_not_blank", "emit_json", "guarded", "setup_logging"]


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


#: Set to 1 to see the traceback of an unexpected error (for a bug report).
DEBUG_ENV = "FOOTPRINT_DEBUG"


def _os_message(exc: OSError) -> str:
    where = exc.filename if exc.filename is not None else None
    why = exc.strerror or str(exc)
    return f"{where}: {why}" if where is not None else why


def _log_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: Any = None, line: str | None = None) -> None:
    """Show a Python warning as one log line, not as a source listing on stderr.

    RuntimeWarnings (numpy's, scipy's and pandas' floating-point notices, a
    division by zero inside a vectorised step whose result is then masked;
    footprint raises none of its own) mean nothing to a user and are logged at
    debug level; any other warning is a warning.
    """
    logger = logging.getLogger("footprint.cli")
    text = " ".join(str(message).split())
    if issubclass(category, RuntimeWarning):  # numpy/scipy/pandas floating-point notices
        logger.debug("%s (%s:%s): %s", category.__name__, filename, lineno, text)
    else:
        logger.warning("%s", text)


def guarded(func: F) -> F:
    """Run a command inside the one CLI error boundary: no traceback ever reaches the user.

    * :class:`FootprintError`: its message and its documented exit code
      (2 usage/output, 3 input, 4 store, 5 model);
    * :class:`OSError` outside footprint's own errors (a file that cannot be
      read): exit 3 naming the file and the system's reason;
    * Ctrl-C: exit 130; running out of memory: exit 1 with a message;
    * Python warnings become one log line (numerical RuntimeWarnings only at
      debug level), never a source listing;
    * anything else is a bug: a one-line message and exit 1, the traceback
      only with ``FOOTPRINT_DEBUG=1`` in the environment.

    typer's own usage errors and :class:`typer.Exit` pass through unchanged.
    """
    import os

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import warnings

        setup_logging()
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _log_warning  # restored when the block ends
                return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.TyperException):  # usage errors: typer reports them
            raise
        except FootprintError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("error: interrupted", err=True)
            raise typer.Exit(130) from None
        except MemoryError:
            typer.echo("error: out of memory (try a smaller --chunk-size or fewer --jobs)", err=True)
            raise typer.Exit(1) from None
        except OSError as exc:
            typer.echo(f"error: {_os_message(exc)}", err=True)
            raise typer.Exit(3) from None
        except Exception as exc:
            if os.environ.get(DEBUG_ENV) == "1":
                raise
            text = " ".join(str(exc).split())[:300]
            typer.echo(f"error: internal error ({type(exc).__name__}: {text}); this is a bug in footprint, "
                       f"please report it (set {DEBUG_ENV}=1 to see the traceback)", err=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def check_jobs(value: int) -> int:
    """Typer callback for ``--jobs``: -1 (all cores) or a positive number of workers."""
    if value == 0 or value < -1:
        raise typer.BadParameter(f"{value} is not a number of workers: give -1 (all cores) or 1, 2, ...")
    return value


def check_not_blank(value: str | None) -> str | None:
    """Typer callback for text options that may be left out but not given blank."""
    if value is not None and not value.strip():
        raise typer.BadParameter("must not be blank (leave the option out instead)")
    return value


def emit_json(obj: Any) -> None:
    """Print ``obj`` as JSON on stdout (NaN and inf become null)."""
    typer.echo(json.dumps(jsonable(obj), indent=2, ensure_ascii=False, sort_keys=False))
