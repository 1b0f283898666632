"""verify(): checksums, schema, references between tables, audit log."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from footprint.store import ReferenceStore
from footprint.exceptions import StoreIntegrityError


@pytest.fixture
def filled(store_path, mk):
    spectra = [mk.ftir("A"), mk.ftir("B", seed=1)]
    with ReferenceStore.open(store_path, "a") as store:
        store.commit(mk.batch(mk.stones(["A", "B", "C"]), spectra=spectra, images=[mk.image("C")]))
        assert store.verify()["ok"]
    return store_path


def _problems(path):
    with ReferenceStore.open(path) as store, pytest.raises(StoreIntegrityError) as err:
        store.verify()
    return err.value.problems


def test_a_clean_store_verifies(filled):
    with ReferenceStore.open(filled) as store:
        result = store.verify()
    assert result["checked"]["spectra"] == 2 and result["checked"]["images"] == 1
    assert result["checked"]["stone_versions"] == 3


def test_rewritten_raw_spectrum_byte_fails_its_sha256(filled):
    # a change through HDF5 (so fletcher32 is recomputed): only the sha256 can catch it
    with h5py.File(filled, "r+") as fh:
        raw = fh["spectra_data/raw"]
        raw[5] = raw[5] ^ 0x01
    problems = _problems(filled)
    assert any("do not match their sha256" in p and "'A'" in p for p in problems)


def test_flipped_byte_on_disk_fails_the_fletcher32_checksum(filled):
    with h5py.File(filled, "r") as fh:
        info = fh["spectra_data/y"].id.get_chunk_info(0)
    data = bytearray(filled.read_bytes())
    data[info.byte_offset + info.size // 2] ^= 0xFF
    filled.write_bytes(bytes(data))
    problems = _problems(filled)
    assert any(p.startswith("spectra_data/y") and "checksum" in p for p in problems)


def test_tampered_image_bytes(filled):
    with h5py.File(filled, "r+") as fh:
        blob = fh["images_data/bytes"]
        blob[0] = blob[0] ^ 0x01
    assert any("image of 'C'" in p for p in _problems(filled))


def test_spectrum_pointing_to_a_missing_stone(filled):
    with h5py.File(filled, "r+") as fh:
        ids = fh["spectra/sample_id"]
        ids[1] = b"Z"  # the column is 1 byte wide here
    assert any("'Z'" in p and "does not exist" in p for p in _problems(filled))


def test_audit_counts_must_match_the_tables(filled):
    with h5py.File(filled, "r+") as fh:  # a row appended behind the audit log's back
        group = fh["stones"]
        n = group["sample_id"].shape[0]
        for name in group:
            ds = group[name]
            ds.resize((n + 1,))
            ds[n] = ds[0]
    problems = _problems(filled)
    assert any("claims 3 stones rows, the table holds 4" in p for p in problems)
    assert any("has versions [1, 1]" in p for p in problems)


def test_value_outside_the_schema(filled):
    with h5py.File(filled, "r+") as fh:
        fh["stones/mass_ct"][0] = -5.0
        fh["stones/colour"][1] = b"purple"
    problems = _problems(filled)
    assert any("mass_ct" in p and "> 0" in p for p in problems)
    assert any("colour" in p and "purple" in p for p in problems)


def test_derived_row_without_spectrum(store_path, mk):
    import pandas as pd

    from footprint._batch import DERIVED_FTIR_COLUMNS

    spec = mk.ftir("A")
    derived = pd.DataFrame({c: [np.nan] for c in DERIVED_FTIR_COLUMNS})
    derived[["sample_id", "spectrum_sha256", "flags", "recipe", "diamond_type"]] = [
        "A", spec.sha256, "", "{}", "IaA"]
    with ReferenceStore.open(store_path, "a") as store:
        store.commit(mk.batch(mk.stones(["A"]), spectra=[spec], derived=derived))
    with h5py.File(store_path, "r+") as fh:
        fh["derived_ftir/spectrum_sha256"][0] = b"f" * 64
    assert any("derived_ftir" in p and "no stored spectrum" in p for p in _problems(store_path))
