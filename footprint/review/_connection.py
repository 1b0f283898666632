"""The register core: opening (with schema migration), transactions, and the helpers every part shares."""

from __future__ import annotations

import datetime as _dt
import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from ..exceptions import RegisterError
from ._db import engine_for, migrate, to_url


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds")


def _user(by: str | None) -> str:
    name = (by or "").strip() or getpass.getuser()
    return name


class RegisterBase:
    """An open review register (SQLite file or PostgreSQL database): connection and transactions.

    The parts of :class:`~footprint.review.Register` (adding, decisions,
    reading) build on it.
    """

    def __init__(self, engine: Any, url: str) -> None:
        self._engine = engine
        self.url = url

    @classmethod
    def open(cls, target: str | os.PathLike[str], *, create: bool = False) -> Self:
        """Open a register, creating it when ``create`` and upgrading its schema to this code's.

        Parameters
        ----------
        target : path or str
            A SQLite file path, or a SQLAlchemy URL (``sqlite:///f.db``,
            ``postgresql+psycopg://user@host:port/db``).
        create : bool
            Create the file / tables when there is no register yet.

        Raises
        ------
        RegisterError
            No register there (and not ``create``), or the database cannot be reached.
        RegisterVersionError
            The register was written by a newer footprint, or is not a register.
        """
        from sqlalchemy.exc import SQLAlchemyError

        url = to_url(target)
        if url.startswith("sqlite:///") and not create:
            path = Path(url[len("sqlite:///") :])
            if not path.is_file():
                raise RegisterError(
                    f"{target}: no review register (file not found; 'footprint review add' creates one)"
                )
        engine = engine_for(url)
        try:
            migrate(engine, create=create)
        except SQLAlchemyError as exc:
            engine.dispose()
            raise RegisterError(
                f"{target}: cannot open the review register ({exc.__class__.__name__}: "
                f"{str(exc).splitlines()[0]})"
            ) from None
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, url)

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        from sqlalchemy.exc import SQLAlchemyError

        try:
            with self._engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise RegisterError(
                f"{self.url}: register transaction failed ({exc.__class__.__name__}: "
                f"{str(exc).splitlines()[0]})"
            ) from None


def _safe_url(url: str) -> str:
    """Return the URL without its password."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only for display
        return url


def _is_month(text: str) -> bool:
    try:
        _dt.date.fromisoformat(text + "-01")
    except (TypeError, ValueError):
        return False
    return len(text) == 7


def _tool_version() -> str:
    from .. import __version__

    return str(__version__)
