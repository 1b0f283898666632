"""Engines, migrations and the schema version check of the review register.

SQLite (a file path or ``sqlite:///...``) by default, PostgreSQL for a team
(``postgresql+psycopg://user@host/db``). Alembic migrations ship inside the
package (``footprint/review/migrations``) and run on create and on open.

SQLite writers take the database lock at the start of every transaction
(``BEGIN IMMEDIATE``, waiting up to :data:`BUSY_TIMEOUT_S`), so concurrent
decisions queue instead of failing; PostgreSQL transactions lock the
parcel row they decide on (``SELECT ... FOR UPDATE``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..exceptions import RegisterError, RegisterVersionError

__all__ = ["BUSY_TIMEOUT_S", "MIGRATIONS", "engine_for", "head_revision", "migrate", "to_url"]

#: How long a SQLite writer waits for another one, seconds.
BUSY_TIMEOUT_S = 60
#: Folder of the Alembic migration scripts (package data).
MIGRATIONS = Path(__file__).with_name("migrations")


def to_url(target: str | os.PathLike[str]) -> str:
    """Turn a file path or a database URL into a SQLAlchemy URL."""
    text = os.fspath(target)
    if "://" in text:
        return text
    return "sqlite:///" + str(Path(text).resolve())


def engine_for(url: str) -> Any:
    """Create an engine with the register's transaction behaviour."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S}, poolclass=None)

            @event.listens_for(engine, "connect")
            def _connect(dbapi_connection: Any, _record: Any) -> None:
                dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
                cur = dbapi_connection.cursor()
                cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
                cur.execute("PRAGMA foreign_keys = ON")
                cur.execute("PRAGMA journal_mode = WAL")
                cur.close()

            @event.listens_for(engine, "begin")
            def _begin(conn: Any) -> None:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

            return engine
        return create_engine(url, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise RegisterError(f"{url}: not a usable database URL ({exc})") from None


def _script() -> Any:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS))


def head_revision() -> str:
    """Return the newest schema revision this code knows."""
    return str(_script().get_current_head())


def migrate(engine: Any, *, create: bool) -> str:
    """Check the register's schema revision and upgrade it to the head.

    Parameters
    ----------
    engine : Engine
    create : bool
        Allow creating the tables in an empty database.

    Returns
    -------
    str
        The revision after the upgrade.

    Raises
    ------
    RegisterVersionError
        The database has a revision this code does not know (written by a
        newer footprint), or tables that are not a footprint register.
    RegisterError
        The database is empty and ``create`` is false.
    """
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import inspect

    script = _script()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        tables = set(inspect(conn).get_table_names())
    known = {rev.revision for rev in script.walk_revisions()}
    if current is None:
        if tables - {"alembic_version"}:
            raise RegisterVersionError(
                f"{engine.url!r}: the database has tables but is not a footprint review "
                f"register ({', '.join(sorted(tables)[:5])})"
            )
        if not create:
            raise RegisterError(
                f"{engine.url!r}: no review register here (create one with "
                "'footprint review add', or Register.open(..., create=True))"
            )
    elif current not in known:
        raise RegisterVersionError(
            f"{engine.url!r}: register schema revision {current!r} is unknown to "
            f"footprint (newest known: {script.get_current_head()}); upgrade footprint"
        )
    if current != script.get_current_head():
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    return str(script.get_current_head())
