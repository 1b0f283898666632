"""Fixtures for the command-line tests: a small store, the committed demo model, a parcel file.

``run`` invokes the real ``footprint`` app through typer's CliRunner and
checks what every command must guarantee: no traceback, and (with ``code``)
the documented exit code.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from footprint.cli import app

STONES = """# SYNTHETIC test data
sample_id,zone,site,lot_id,mass_ct,colour,morphology,n_total_ppm,notes
R1,CAR-West,Berberati,L1,0.42,yellow,octahedron,100,first stone
R2,CAR-East,Bria,L2,1.10,brown,dodecahedron,1000,
R3,CAR-West,Carnot,L3,0.08,colourless,macle,,
"""


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def tree_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (or of ``root`` itself), by relative path."""
    root = Path(root)
    if root.is_file():
        return {root.name: sha256(root)}
    return {str(p.relative_to(root)): sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def run() -> Callable[..., Any]:
    """Run ``footprint *args``; fail on a traceback or, when given, an unexpected exit code."""

    def _run(*args: Any, code: int | None = None) -> Any:
        logging.getLogger("footprint").handlers.clear()
        # A wide terminal, so that typer's boxed usage errors keep paths on one line.
        result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "400"})
        output = result.output
        assert "Traceback" not in output, output
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            f"{args}: {type(result.exception).__name__}: {result.exception}")
        if code is not None:
            assert result.exit_code == code, (args, result.exit_code, output)
        return result

    return _run


@pytest.fixture(scope="session")
def cli_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="session")
def small_store(cli_dir: Path) -> Path:
    """A committed store of three SYNTHETIC stones (never modified by the tests: they copy it)."""
    from footprint import db

    stones = cli_dir / "stones.csv"
    stones.write_text(STONES, encoding="utf-8")
    store = cli_dir / "small.h5"
    db.init(store, by="test")
    db.add(store, stones=stones, by="test", n_jobs=1)
    return store


@pytest.fixture
def store(small_store: Path, tmp_path: Path) -> Path:
    """A private copy of :func:`small_store`."""
    copy = tmp_path / "ref.h5"
    shutil.copyfile(small_store, copy)
    return copy


@pytest.fixture(scope="session")
def demo_model(repo_root: Path, cli_dir: Path) -> Path:
    """A copy of the committed models/demo-synthetic."""
    out = cli_dir / "demo-model"
    if not out.exists():
        shutil.copytree(repo_root / "models" / "demo-synthetic", out)
    return out


@pytest.fixture(scope="session")
def parcel_files(cli_dir: Path) -> tuple[Path, Path]:
    """A small SYNTHETIC parcel batch: stones CSV (with parcel_id) and parcels CSV."""
    from footprint.synth import generate_parcels, load_params

    stones, parcels = generate_parcels(load_params(), seed=3, n_parcels=3, size_range=(20, 30))
    stones_csv = cli_dir / "parcel_stones.csv"
    with open(stones_csv, "w", encoding="utf-8", newline="") as fh:
        fh.write("# SYNTHETIC\n")
        stones.to_csv(fh, index=False, lineterminator="\n")
    parcels_csv = cli_dir / "parcels.csv"
    cols = ["parcel_id", "declared_zone", "kp_certificate", "exporter", "declared_value_usd",
            "cleaning_state"]
    parcels[cols].to_csv(parcels_csv, index=False, lineterminator="\n")
    return stones_csv, parcels_csv
