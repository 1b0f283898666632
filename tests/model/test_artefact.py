"""Model directories: skops + manifest, verified on load; tampered or mismatched models refused."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from footprint._artefact import KEY_ENV, TRUSTED_TYPES, manifest_digest
from footprint.exceptions import ModelIntegrityError
from footprint.model import FootprintModel


def test_round_trip_gives_identical_results(model, saved_model, heldout, lot_parcels):
    loaded = FootprintModel.load(saved_model)
    parcels = lot_parcels(heldout, 25, 1)
    a, sa = model.assess_batch(parcels)
    b, sb = loaded.assess_batch(parcels)
    np.testing.assert_array_equal(a["log10_lr"].to_numpy(), b["log10_lr"].to_numpy())
    np.testing.assert_array_equal(sa["novelty_p"].to_numpy(), sb["novelty_p"].to_numpy())
    manifest = json.loads((saved_model / "manifest.json").read_text())
    for key in ("model_sha256", "fingerprint", "schema_version", "packages", "zones", "sites", "features",
                "thresholds", "thresholds_version", "source", "synthetic", "classes"):
        assert key in manifest
    assert manifest["synthetic"] is True and "SYNTHETIC" in manifest["label"]
    assert manifest["thresholds"]["version"] == "4"
    # The file never needs pickle: it holds only allow-listed types.
    import skops.io as sio

    assert set(sio.get_untrusted_types(file=saved_model / "model.skops")) <= set(TRUSTED_TYPES)


def test_tampered_model_file_refused(saved_model, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(saved_model, bad)
    data = bytearray((bad / "model.skops").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (bad / "model.skops").write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="sha256"):
        FootprintModel.load(bad)


def test_mismatched_manifest_refused(saved_model, tmp_path):
    for change, message in (({"zones": ["CAR-West", "Elsewhere"]}, "differ from its manifest"),
                            ({"schema_version": 99}, "schema v99"),
                            ({"format": "something-else"}, "manifest format")):
        bad = tmp_path / f"bad-{len(list(tmp_path.iterdir()))}"
        shutil.copytree(saved_model, bad)
        manifest = json.loads((bad / "manifest.json").read_text())
        manifest.update(change)
        # re-signed, as footprint would: the checks behind the digest still hold
        manifest["digest"] = manifest_digest(manifest)
        (bad / "manifest.json").write_text(json.dumps(manifest))
        with pytest.raises(ModelIntegrityError, match=message):
            FootprintModel.load(bad)
    with pytest.raises(ModelIntegrityError, match="not on this store"):
        FootprintModel.load(saved_model, store_hash="0" * 64)
    with pytest.raises(ModelIntegrityError, match="no manifest.json"):
        FootprintModel.load(tmp_path)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("thresholds", "consistent_log10_lr"), -1000),
        (("thresholds", "min_parcel_stones"), 1),
        (("fingerprint",), "0" * 64),
        (("source", "content_hash"), "f" * 64),
        (("features",), []),
        (("digest",), None),
    ],
)
def test_any_manifest_edit_is_refused(saved_model, tmp_path, path, value):
    """Issue 11 case 2: the digest covers the whole manifest (and through model_sha256, the model file)."""
    bad = tmp_path / "bad"
    shutil.copytree(saved_model, bad)
    manifest = json.loads((bad / "manifest.json").read_text())
    assert manifest["digest_algorithm"] == "sha256" and len(manifest["digest"]) == 64
    target = manifest
    for key in path[:-1]:
        target = target[key]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    (bad / "manifest.json").write_text(json.dumps(manifest, indent=2))
    before = {p.name: p.read_bytes() for p in bad.iterdir()}
    message = "carries no digest" if path == ("digest",) else "digest does not match"
    with pytest.raises(ModelIntegrityError, match=message):
        FootprintModel.load(bad)
    assert {p.name: p.read_bytes() for p in bad.iterdir()} == before


def test_reformatted_manifest_still_loads(saved_model, tmp_path):
    """Only content counts: re-indenting or re-ordering the JSON is not tampering."""
    copy = tmp_path / "copy"
    shutil.copytree(saved_model, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps(dict(reversed(list(manifest.items())))))
    FootprintModel.load(copy)


def test_keyed_digest_needs_the_key(model, tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "secret one")
    model.save(tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["digest_algorithm"] == "hmac-sha256"
    FootprintModel.load(tmp_path / "m")
    monkeypatch.setenv(KEY_ENV, "another key")
    with pytest.raises(ModelIntegrityError, match="digest does not match"):
        FootprintModel.load(tmp_path / "m")
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(ModelIntegrityError, match=f"set {KEY_ENV}"):
        FootprintModel.load(tmp_path / "m")


def test_foreign_types_refused(saved_model, tmp_path, monkeypatch):
    """A model file holding a type outside the allow-list is refused before anything is built."""
    import footprint._artefact as artefact

    monkeypatch.setattr(artefact, "TRUSTED_TYPES", tuple(t for t in TRUSTED_TYPES
                                                         if not t.endswith("StoneClassifier")))
    with pytest.raises(ModelIntegrityError, match="allow-list.*StoneClassifier"):
        FootprintModel.load(saved_model)


@pytest.mark.slow
def test_demo_model_is_reproducible_from_the_bundled_set(repo_root, tmp_path):
    """models/demo-synthetic is what the bundled SYNTHETIC set and seed 0 give (same fingerprint)."""
    from footprint.model._demo import build_demo_model

    committed = repo_root / "models" / "demo-synthetic"
    if not (committed / "manifest.json").exists():
        pytest.skip("no committed demo model")
    loaded = FootprintModel.load(committed)           # verifies sha256 and the allow-list
    rebuilt = build_demo_model(tmp_path / "demo", work_dir=tmp_path / "work")
    assert rebuilt.manifest["fingerprint"] == loaded.manifest["fingerprint"], (
        "models/demo-synthetic is stale (the generator, ingest, FTIR or model code changed): rebuild it with "
        "`python -m footprint.model._demo models/demo-synthetic`")
    assert rebuilt.manifest["source"]["content_hash"] == loaded.manifest["source"]["content_hash"]
    assert loaded.manifest["synthetic"] is True


def test_skops_default_trust_narrowed_to_the_allow_list():
    """The estimators skops is told to trust by default (issue 12's fast import) are all in TRUSTED_TYPES."""
    from footprint._artefact import _trusted_estimators

    names = [f"{cls.__module__}.{cls.__qualname__}" for _, cls in _trusted_estimators()]
    assert names, "the model's own estimators (PCA, HistGradientBoostingClassifier) are found"
    assert set(names) <= set(TRUSTED_TYPES)
    assert "sklearn.linear_model._logistic.LogisticRegression" not in names
