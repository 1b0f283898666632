"""Content seals in a hash chain (issue 11 case 3), on a plain HDF5 file shaped like a store."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from footprint.store._integrity import chain_head, is_sealed, seal, seal_legacy, verify_seals


def _commit(fh: h5py.File, seq: int, masses: list[float], ids: list[bytes]) -> str:
    stones = fh.require_group("stones")
    for name, values in (("mass_ct", np.asarray(masses)), ("sample_id", np.asarray(ids, dtype="S8"))):
        if name not in stones:
            stones.create_dataset(name, data=values, maxshape=(None,), chunks=(16,))
            stones[name].attrs["unit"] = "ct" if name == "mass_ct" else ""
        else:
            ds = stones[name]
            ds.resize((ds.shape[0] + len(values),))
            ds[-len(values):] = values
    return seal(fh, seq=seq, kind="batch", when_utc=f"2026-01-0{seq + 1}", by="test")


@pytest.fixture
def sealed(tmp_path):
    path = tmp_path / "s.h5"
    with h5py.File(path, "w") as fh:
        fh.attrs["schema_version"] = 1
        meta = fh.create_group("meta")
        meta.create_dataset("custom_fields", data=np.array([b"[]"]))
        _commit(fh, 0, [0.5, 1.0], [b"A", b"B"])
        _commit(fh, 1, [2.0], [b"C"])
    return path


def test_untouched_store_verifies(sealed) -> None:
    with h5py.File(sealed, "r") as fh:
        problems, info = verify_seals(fh)
        assert problems == [] and info["sealed"] and info["seals"] == 2
        assert info["chain"] == chain_head(fh)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda fh: fh["stones/mass_ct"].__setitem__(0, 0.6), "stones/mass_ct: rows 1-2 written by commit 0"),
        (lambda fh: fh["stones/mass_ct"].__setitem__(2, -2.0), "stones/mass_ct: row 3 written by commit 1"),
        (lambda fh: fh["stones/sample_id"].__setitem__(1, b"Z"), "stones/sample_id: rows 1-2"),
        (lambda fh: fh["stones/mass_ct"].attrs.__setitem__("unit", "g"), "stones/mass_ct: attributes"),
        (lambda fh: fh.attrs.__setitem__("schema_version", 9), "/: attributes"),
        (lambda fh: fh["meta/custom_fields"].__setitem__(0, b'[{"name": "x"}]'),
         "meta/custom_fields: content"),
        (lambda fh: fh.create_dataset("stones/extra", data=np.zeros(3)), "stones/extra: dataset not written"),
        (lambda fh: (fh["stones/mass_ct"].resize((4,)), fh["stones/mass_ct"].__setitem__(3, 1.0)),
         "stones/mass_ct: 1 row(s) added outside"),
        (lambda fh: fh["stones"].__delitem__("mass_ct"), "stones/mass_ct: dataset written by commit 0"),
    ],
)
def test_edits_are_named(sealed, edit, expected) -> None:
    with h5py.File(sealed, "r+") as fh:
        edit(fh)
    with h5py.File(sealed, "r") as fh:
        problems, _ = verify_seals(fh)
    assert any(expected in p for p in problems), problems


def test_altered_or_dropped_seal_breaks_the_chain(sealed) -> None:
    with h5py.File(sealed, "r+") as fh:
        ds = fh["integrity/record"]
        first = json.loads(ds[0])
        first["by"] = "someone else"
        ds[0] = json.dumps(first, sort_keys=True).encode()
    with h5py.File(sealed, "r") as fh:
        problems, _ = verify_seals(fh)
    assert any("seal 0 of commit 0" in p and "altered" in p for p in problems)


def test_dropped_seal_leaves_rows_no_commit_wrote(sealed) -> None:
    with h5py.File(sealed, "r+") as fh:
        fh["integrity/record"].resize((1,))
    with h5py.File(sealed, "r") as fh:
        problems, _ = verify_seals(fh)
    assert any("stones/mass_ct: 1 row(s) added outside any recorded commit" in p for p in problems)


def test_widened_text_column_is_the_same_content(sealed) -> None:
    with h5py.File(sealed, "r+") as fh:
        old = fh["stones/sample_id"][()]
        attrs = dict(fh["stones/sample_id"].attrs)
        del fh["stones/sample_id"]
        fh["stones"].create_dataset("sample_id", data=old.astype("S32"), maxshape=(None,), chunks=(16,))
        fh["stones/sample_id"].attrs.update(attrs)
    with h5py.File(sealed, "r") as fh:
        assert verify_seals(fh)[0] == []


def test_legacy_store_seals_once(tmp_path) -> None:
    path = tmp_path / "legacy.h5"
    with h5py.File(path, "w") as fh:
        fh.create_dataset("stones/mass_ct", data=np.array([0.5]), maxshape=(None,), chunks=(16,))
    with h5py.File(path, "r+") as fh:
        assert not is_sealed(fh) and verify_seals(fh) == ([], {"sealed": False, "seals": 0, "chain": None})
        seal_legacy(fh, seq=3, when_utc="now", by="me")
        with pytest.raises(ValueError, match="already sealed"):
            seal_legacy(fh, seq=3, when_utc="now", by="me")
    with h5py.File(path, "r") as fh:
        problems, info = verify_seals(fh)
        assert problems == [] and info["seals"] == 1
        record = json.loads(fh["integrity/record"][0])
        assert record["kind"] == "legacy_seal" and "not for its earlier history" in record["note"]


# -- through the store ---------------------------------------------------------------------------


def test_every_commit_is_sealed_and_edits_are_named(tmp_path) -> None:
    from footprint import db
    from footprint.exceptions import StoreIntegrityError

    store = tmp_path / "s.h5"
    stones = tmp_path / "s.csv"
    stones.write_text("sample_id,zone,site,lot_id,mass_ct\nA,CAR-West,Nola,L1,0.5\nB,CAR-East,Bria,L2,0.7\n")
    db.init(store, by="t")
    db.add(store, stones=stones, by="t", n_jobs=1)
    db.add_field(store, "ce_ppm", "ppm", "cerium", by="t")
    result = db.verify(store)
    assert result["sealed"] and result["checked"]["seals"] == 3 and "legacy" not in result
    assert db.info(store)["chain"] == result["chain"]
    with h5py.File(store, "r+") as fh:
        fh["stones/mass_ct"][0] = 5.0
        entry = json.loads(fh["audit/entry"][1])
        entry["by"] = "mallory"
        fh["audit/entry"][1] = json.dumps(entry).encode()
    with pytest.raises(StoreIntegrityError) as info:
        db.verify(store)
    problems = info.value.problems
    assert any(p.startswith("stones/mass_ct: rows 1-2 written by commit 1 (batch") for p in problems)
    assert any(p.startswith("audit/entry: row 2 written by commit 1") for p in problems)


def test_legacy_store_opens_verifies_with_a_warning_and_seals(repo_root, tmp_path) -> None:
    import shutil

    from footprint import db
    from footprint.exceptions import StoreIntegrityError

    legacy = tmp_path / "v1.h5"
    shutil.copyfile(repo_root / "tests" / "store" / "data" / "store_v1.h5", legacy)
    result = db.verify(legacy)
    assert not result["sealed"] and "verify" in result["legacy"] and "--seal" in result["legacy"]
    sealed = db.verify(legacy, seal=True, by="t")
    assert sealed["sealed"] and "legacy" not in sealed
    with h5py.File(legacy, "r+") as fh:
        fh["stones/mass_ct"][0] = 9.0
    with pytest.raises(StoreIntegrityError, match="stones/mass_ct"):
        db.verify(legacy)
