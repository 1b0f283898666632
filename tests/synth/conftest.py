"""Fixtures for the SYNTHETIC generator tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from footprint.synth import ExactDensity, SynthParams, load_params, write_reference_set

SMALL_SET = {"seed": 7, "lots_per_site": 1, "stones_per_lot": 12, "photo_fraction": 0.3, "n_parcels": 6,
             "parcel_size_range": (2, 30)}


@pytest.fixture(scope="session")
def params() -> SynthParams:
    return load_params()


@pytest.fixture(scope="session")
def density(params: SynthParams) -> ExactDensity:
    return ExactDensity(params)


@pytest.fixture(scope="session")
def small_set_kwargs() -> dict[str, Any]:
    return dict(SMALL_SET)


@pytest.fixture(scope="session")
def small_set(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A small SYNTHETIC set written once for the file tests."""
    out = tmp_path_factory.mktemp("synth") / "set"
    result = write_reference_set(out, **SMALL_SET)
    result["root"] = Path(out)
    return result
