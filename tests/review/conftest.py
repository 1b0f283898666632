"""Fixtures for the review register tests: a throwaway PostgreSQL server, registers on both backends, months.

The same tests run on SQLite and on a real PostgreSQL server that the session
starts itself (initdb + pg_ctl in a temporary folder, on a free localhost
port; as root the server runs as the ``postgres`` user through runuser) and
stops at the end. Debian's ``postgresql`` package provides the binaries
(``make test`` installs it when missing). When the server cannot be started
the PostgreSQL cases are skipped with the reason, except in CI (``CI=true``),
where they fail.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO_MODEL = REPO / "models" / "demo-synthetic"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"PostgreSQL is required in CI for the review register tests: {reason}")
    pytest.skip(
        f"PostgreSQL server not available ({reason}); Debian package 'postgresql', make test installs it"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Server:
    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            found = shutil.which("initdb")
            if not found:
                raise RuntimeError("initdb not found under /usr/lib/postgresql/*/bin or on PATH")
            bins = [found]
        self.bin = Path(bins[-1]).parent
        self.root = Path(tempfile.mkdtemp(prefix="footprint-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                raise RuntimeError("running as root and runuser is missing")
            shutil.chown(self.root, "postgres", "postgres")
            self.prefix = [runuser, "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        proc = subprocess.run([*self.prefix, *args], capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed: {proc.stderr.strip() or proc.stdout.strip()}")

    def start(self) -> None:
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c max_connections=60",
            "start",
        )

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def new_database(self) -> str:
        import psycopg

        name = "register_" + uuid.uuid4().hex[:12]
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[_Server | str]:
    """A running throwaway PostgreSQL server, or the reason it could not start."""
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        yield f"psycopg not installed ({exc})"
        return
    try:
        server = _Server()
    except RuntimeError as exc:
        yield str(exc)
        return
    try:
        server.start()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(server.root, ignore_errors=True)
        yield str(exc)
        return
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def register_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL (or path) where a fresh register can be created, on each backend."""
    if request.param == "sqlite":
        return str(tmp_path / "register.db")
    server = request.getfixturevalue("pg_server")
    if isinstance(server, str):
        _unavailable(server)
    return server.new_database()


@pytest.fixture(scope="session")
def one_month(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One SYNTHETIC month: one parcel from each of the four exporters, classified by the demo model."""
    from footprint.review import write_export_months

    out = tmp_path_factory.mktemp("one-month")
    summary = write_export_months(out, DEMO_MODEL, seed=3, n_months=1, parcels_per_month=1, drifts=())
    return summary["months"][0]


@pytest.fixture(scope="session")
def twelve_months(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Twelve SYNTHETIC months with the default drifts (about 30 s: the real classify on ~38,000 stones)."""
    from footprint.review import write_export_months

    out = tmp_path_factory.mktemp("twelve-months")
    return write_export_months(out, DEMO_MODEL, seed=0)


def _add_month(reg, month: dict, **kwargs) -> dict:
    f = Path(month["folder"])
    return reg.add_batch(
        f / "certificates.csv",
        f / "results.csv",
        parcels=f / "parcels.csv",
        stones=f / "stones.csv",
        by="clerk",
        checked_on=month["checked_on"],
        **kwargs,
    )


@pytest.fixture(scope="session")
def add_month():
    """``add_month(register, month, **kwargs)``: add a generated month's files to a register."""
    return _add_month
