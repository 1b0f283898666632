"""Fuzzing model directories (issue 11): damaged manifests and model files are refused as ModelError."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from footprint._artefact import read_manifest
from footprint.model import FootprintModel
from footprint.exceptions import FootprintError, ModelError

FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "models" / "demo-synthetic"
MANIFEST = (DEMO / "manifest.json").read_bytes() if (DEMO / "manifest.json").exists() else b"{}"


def _edit(seed: bytes) -> st.SearchStrategy[bytes]:
    cut = st.integers(0, len(seed)).map(lambda n: seed[:n])
    flip = st.tuples(st.integers(0, len(seed) - 1), st.integers(1, 255)).map(
        lambda e: seed[:e[0]] + bytes([seed[e[0]] ^ e[1]]) + seed[e[0] + 1:])
    return st.one_of(st.binary(max_size=300), cut, flip)


@pytest.fixture(scope="module")
def model_copy(tmp_path_factory) -> Path:
    if not DEMO.exists():
        pytest.skip("no committed demo model")
    out = tmp_path_factory.mktemp("fuzz") / "model"
    shutil.copytree(DEMO, out)
    return out


@FUZZ
@given(data=_edit(MANIFEST))
def test_damaged_manifests_are_model_errors(data: bytes, model_copy: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "m"
        model.mkdir()
        (model / "manifest.json").write_bytes(data)
        (model / "model.skops").symlink_to(model_copy / "model.skops")
        try:
            read_manifest(model)
            FootprintModel.load(model)
        except FootprintError as exc:
            assert isinstance(exc, ModelError), exc
        else:  # only the untouched content may load (whitespace aside: the digest covers content)
            assert json.loads(data) == json.loads(MANIFEST)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), [], None, "x", {"a": 1}])
def test_odd_json_values_in_thresholds_are_refused(model_copy: Path, tmp_path: Path, value) -> None:
    model = tmp_path / "m"
    shutil.copytree(model_copy, model)
    manifest = json.loads((model / "manifest.json").read_text())
    manifest["thresholds"]["consistent_log10_lr"] = value
    (model / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError):
        FootprintModel.load(model)
