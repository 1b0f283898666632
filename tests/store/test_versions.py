"""Format and schema versions: old files open, newer or unknown ones are refused clearly."""

from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest

from footprint.store import FORMAT_VERSION, ReferenceStore
from footprint.exceptions import StoreError, StoreVersionError


@pytest.fixture
def v1_copy(repo_root, tmp_path):
    # a copy, so that no test can change the committed file
    target = tmp_path / "store_v1.h5"
    shutil.copyfile(repo_root / "tests" / "store" / "data" / "store_v1.h5", target)
    return target


def test_committed_v1_store_still_opens_with_its_content(v1_copy):
    # ground truth: the values tests/store/data/make_store_v1.py wrote
    with ReferenceStore.open(v1_copy) as store:
        assert store.format_version == 1 and store.schema_version == 1
        assert store.verify()["ok"]
        stones = store.stones().set_index("sample_id")
        assert list(stones.index) == ["V1-001", "V1-002", "V1-003"]
        assert stones.loc["V1-002", "mass_ct"] == 1.55 and stones.loc["V1-002", "li_ppm"] == 3.0
        assert stones.loc["V1-001", "notes"] == "Ünïcode note"
        assert stones.loc["V1-001", "sieve_class"] == "dtc:+11"
        assert stones.loc["V1-001", "resorption"] == 2 and bool(stones.loc["V1-001", "coating"]) is False
        assert np.isnan(stones.loc["V1-003", "mass_ct"]) and stones.loc["V1-003", "sieve_class"] is None
        hist = store.history("V1-002")
        assert [(h["version"], h["reason"]) for h in hist] == [(1, None), (2, "reweighed")]
        assert hist[0]["record"]["mass_ct"] == 1.5
        ids, grid, values = store.spectra_matrix("ftir")
        assert list(ids) == ["V1-001"]
        np.testing.assert_allclose(values[0], 0.5 - 1e-4 * grid, rtol=1e-6)
        assert store.spectra("V1-001")[0].raw == b"##TITLE=V1-001\n##END=\n"
        assert store.images("V1-002")[0].data == b"\x89PNG v1 fixture"
        assert [f.name for f in store.custom_fields()] == ["li_ppm"]
        assert store.is_synthetic


def test_committed_v1_store_accepts_new_batches(v1_copy):
    import pandas as pd

    from footprint._batch import Batch

    with ReferenceStore.open(v1_copy, "a") as store:
        store.commit(Batch(stones=pd.DataFrame({"sample_id": ["NEW"], "zone": ["CAR-West"]}), by="t"))
        assert len(store.stones()) == 4
        store.verify()


def _set_attr(path, name, value):
    with h5py.File(path, "r+") as fh:
        fh.attrs[name] = value


@pytest.mark.parametrize("attr, value, words", [
    ("format_version", FORMAT_VERSION + 1, "newer than this footprint"),
    ("format_version", 0, "unknown to this footprint"),
    ("schema_version", 99, "schema version 99 is newer"),
    ("format", "something-else", "not a footprint reference store"),
])
def test_newer_or_unknown_versions_are_refused(v1_copy, attr, value, words):
    _set_attr(v1_copy, attr, value)
    for mode in ("r", "a"):
        with pytest.raises(StoreVersionError, match=words):
            ReferenceStore.open(v1_copy, mode)


def test_missing_version_and_non_hdf5_are_refused(tmp_path, v1_copy):
    with h5py.File(v1_copy, "r+") as fh:
        del fh.attrs["schema_version"]
    with pytest.raises(StoreVersionError, match="missing"):
        ReferenceStore.open(v1_copy)
    junk = tmp_path / "junk.h5"
    junk.write_text("sample_id,zone\nA,CAR-West\n")
    with pytest.raises(StoreError, match="cannot be opened as HDF5"):
        ReferenceStore.open(junk)
