"""The bad-input corpus through the command line (issue 11, "what it must show").

Every bad file of ``tests/ingest/data/bad`` (stone tables) and
``tests/ingest/data/bad_spectra`` (spectra, images, manifests), plus damaged
model directories and stores, is given to the command that reads it. Each
case must end with a clear message naming the file, a documented exit code
(2, 3, 4 or 5), no traceback, the store's bytes unchanged and the input
unchanged. The number of cases run is printed in the test summary
(``make test``) by the hook in ``tests/conftest.py``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from .conftest import sha256, tree_hashes

DATA = Path(__file__).resolve().parents[1] / "ingest" / "data"
BAD_STONES = sorted(p for p in (DATA / "bad").iterdir() if p.is_file())
BAD_SPECTRA = sorted(p for p in (DATA / "bad_spectra").iterdir()
                     if p.is_file() and p.suffix.lower() in (".jdx", ".csv") and "manifest" not in p.name)
BAD_IMAGES = sorted(p for p in (DATA / "bad_spectra").iterdir() if p.suffix.lower() in (".png", ".jpg"))


def _check(result, code: int, named: str, corpus_record, case: str) -> None:
    assert result.exit_code == code, (case, result.exit_code, result.output)
    assert "error:" in result.output and named in result.output, result.output
    assert "Traceback" not in result.output
    corpus_record(case, code)


@pytest.mark.parametrize("bad", BAD_STONES, ids=lambda p: p.name)
def test_bad_stone_tables(bad: Path, store: Path, run, corpus_record) -> None:
    before, input_before = sha256(store), sha256(bad)
    result = run("db", "add", store, "--stones", bad, "--by", "test")
    _check(result, 3, bad.name, corpus_record, f"stones/{bad.name}")
    assert sha256(store) == before and sha256(bad) == input_before


@pytest.mark.parametrize("bad", BAD_SPECTRA, ids=lambda p: p.name)
def test_bad_spectra(bad: Path, store: Path, run, corpus_record) -> None:
    before, input_before = sha256(store), sha256(bad)
    result = run("db", "add", store, "--spectra", bad, "--kind", "ftir", "--jobs", "1", "--by", "test")
    _check(result, 3, bad.name, corpus_record, f"spectra/{bad.name}")
    assert sha256(store) == before and sha256(bad) == input_before


@pytest.mark.parametrize("bad", BAD_IMAGES, ids=lambda p: p.name)
def test_bad_images(bad: Path, store: Path, run, corpus_record, tmp_path: Path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    shutil.copyfile(bad, folder / "R1_top" f"{bad.suffix}")
    before = sha256(store)
    result = run("db", "add", store, "--images", folder, "--by", "test")
    _check(result, 3, "R1_top", corpus_record, f"images/{bad.name}")
    assert sha256(store) == before
    assert "object at 0x" not in result.output


def test_bad_spectra_manifest(store: Path, run, corpus_record) -> None:
    manifest = DATA / "bad_spectra" / "manifest_missing_file.csv"
    before = sha256(store)
    result = run("db", "add", store, "--spectra", manifest.parent, "--manifest", manifest, "--kind", "ftir",
                 "--jobs", "1", "--by", "test")
    _check(result, 3, manifest.name, corpus_record, "spectra/manifest_missing_file.csv")
    assert sha256(store) == before


JUNK = [b"", b"\x00\x01\x02\xff" * 64, b"\r\n\r\x00,,,;;\t\t\r", "é".encode("utf-16")]


@pytest.mark.parametrize("junk", JUNK)
def test_junk_stone_files(junk: bytes, store: Path, run, corpus_record, tmp_path: Path) -> None:
    bad = tmp_path / "junk.csv"
    bad.write_bytes(junk)
    before = sha256(store)
    result = run("db", "add", store, "--stones", bad, "--by", "test")
    _check(result, 3, "junk.csv", corpus_record, f"stones/junk-{len(junk)}")
    assert sha256(store) == before


MANIFEST_EDITS = {
    "thresholds": lambda m: m["thresholds"].update(consistent_log10_lr=-1000),
    "min_parcel_stones": lambda m: m["thresholds"].update(min_parcel_stones=1),
    "fingerprint": lambda m: m.update(fingerprint="0" * 64),
    "digest_removed": lambda m: m.pop("digest"),
    "format": lambda m: m.update(format="other/9"),
}


@pytest.mark.parametrize("edit", sorted(MANIFEST_EDITS))
def test_tampered_models(edit: str, demo_model: Path, parcel_files, run, corpus_record,
                         tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(demo_model, model)
    manifest = json.loads((model / "manifest.json").read_text())
    MANIFEST_EDITS[edit](manifest)
    (model / "manifest.json").write_text(json.dumps(manifest, indent=2))
    stones, _ = parcel_files
    out = tmp_path / "results.csv"
    before = tree_hashes(model)
    result = run("classify", model, stones, "--out", out, "--quiet")
    _check(result, 5, "manifest", corpus_record, f"model/{edit}")
    assert not out.exists() and tree_hashes(model) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_model_file_flipped_byte(demo_model: Path, parcel_files, run, corpus_record, tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(demo_model, model)
    data = bytearray((model / "model.skops").read_bytes())
    data[len(data) // 3] ^= 0x01
    (model / "model.skops").write_bytes(bytes(data))
    result = run("classify", model, parcel_files[0], "--out", tmp_path / "r.csv", "--quiet")
    _check(result, 5, "model.skops", corpus_record, "model/flipped-byte")


@pytest.mark.parametrize("damage", ["truncated", "not_hdf5", "missing"])
def test_damaged_stores(damage: str, store: Path, run, corpus_record) -> None:
    if damage == "truncated":
        store.write_bytes(store.read_bytes()[: store.stat().st_size // 2])
    elif damage == "not_hdf5":
        store.write_bytes(b"sample_id,zone\nA,B\n")
    else:
        store.unlink()
    before = sha256(store) if store.exists() else None
    for command in (("db", "info"), ("db", "verify"), ("db", "list")):
        result = run(*command, store)
        _check(result, 4, store.name, corpus_record, f"store/{damage}/{command[1]}")
        assert (sha256(store) if store.exists() else None) == before
