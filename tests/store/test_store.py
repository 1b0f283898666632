"""The store on its own: round trips, versions, spectra on the grid, images, fields, hash."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from footprint._batch import DERIVED_FTIR_COLUMNS
from footprint._schema import FIELDS, Field
from footprint.store import GRIDS, ReferenceStore, grid_for
from footprint.exceptions import (
    DuplicateRecordError,
    InputError,
    SchemaError,
    StoreError,
)


def test_round_trip_keeps_values_and_types(store_path, mk):
    stones = mk.stones([f"S{i}" for i in range(7)])
    stones["notes"] = pd.Series(["Ünïcode, café", None, "", "plain", "ünïcode", "plain", None], dtype=object)
    with ReferenceStore.open(store_path, "a") as store:
        report = store.commit(mk.batch(stones))
        assert (report.added, report.unchanged, report.replaced) == (7, 0, 0)
    with ReferenceStore.open(store_path) as store:
        back = store.stones()
    assert list(back.columns) == [f.name for f in FIELDS]
    assert back["mass_ct"].dtype == "float64"
    assert str(back["resorption"].dtype) == "Int64"
    assert str(back["coating"].dtype) == "boolean"
    assert back["colour"].dtype == object
    stones.loc[2, "notes"] = None  # empty text is "not recorded"
    for col in stones.columns:
        pd.testing.assert_series_equal(back[col], stones[col], check_names=False)
    # columns the batch did not have are "not measured"
    assert back["d13c_permil"].isna().all() and back["custody_ref"].isna().all()


def test_identical_readd_is_a_no_op_and_leaves_the_file_alone(store_path, mk):
    stones = mk.stones(["A", "B", "C"])
    with ReferenceStore.open(store_path, "a") as store:
        store.commit(mk.batch(stones))
    before = store_path.read_bytes()
    with ReferenceStore.open(store_path, "a") as store:
        report = store.commit(mk.batch(stones.copy()))
    assert (report.added, report.unchanged, report.replaced) == (0, 3, 0)
    assert store_path.read_bytes() == before


def test_a_different_record_needs_replace_and_reason(store_path, mk):
    with ReferenceStore.open(store_path, "a") as store:
        store.commit(mk.batch(mk.stones(["A", "B"])))
        changed = mk.stones(["A", "B", "N"])
        changed.loc[1, "mass_ct"] = 9.99
        before = store_path.read_bytes()
        with pytest.raises(DuplicateRecordError) as err:
            store.commit(mk.batch(changed))
        assert err.value.problems[0].value == "B" and err.value.problems[0].row == 2
        assert "--replace" in str(err.value)
        with pytest.raises(InputError, match="--reason"):
            store.commit(mk.batch(changed, replace=True))
        assert store_path.read_bytes() == before  # nothing landed, not even the new stone N
        report = store.commit(mk.batch(changed, replace=True, reason="reweighed on the new balance"))
        assert (report.added, report.unchanged, report.replaced) == (1, 1, 1)
        current = store.stones().set_index("sample_id")
        assert current.loc["B", "mass_ct"] == 9.99
        assert list(current.index) == ["A", "B", "N"]  # order of first addition
        hist = store.history("B")
        assert [h["version"] for h in hist] == [1, 2]
        assert hist[0]["record"]["mass_ct"] == pytest.approx(0.11)
        assert hist[1]["record"]["mass_ct"] == 9.99
        assert hist[1]["reason"] == "reweighed on the new balance" and hist[0]["reason"] is None
        assert hist[1]["by"] == "tester" and hist[1]["when_utc"].endswith("Z")
        everything = store.stones(history=True)
        assert len(everything) == 4 and sorted(everything["_version"]) == [1, 1, 1, 2]
        store.verify()


def test_batch_level_input_errors_write_nothing(store_path, mk):
    with ReferenceStore.open(store_path, "a") as store:
        store.commit(mk.batch(mk.stones(["A"])))
    before = store_path.read_bytes()
    with ReferenceStore.open(store_path, "a") as store:
        with pytest.raises(SchemaError, match="not a schema field"):
            store.commit(mk.batch(mk.stones(["B"], mystery=[1.0])))
        with pytest.raises(InputError, match="more than once"):
            store.commit(mk.batch(mk.stones(["B", "B"])))
        bad = mk.stones(["B", "C"])
        bad["colour"] = ["purple", "yellow"]
        bad["mass_ct"] = [-1.0, 0.2]
        with pytest.raises(SchemaError) as err:
            store.commit(mk.batch(bad))
        rules = {(p.field, p.value, p.row) for p in err.value.problems}
        assert ("colour", "purple", 1) in rules and ("mass_ct", -1.0, 1) in rules
        with pytest.raises(InputError, match="neither in the batch nor the store"):
            store.commit(mk.batch(mk.stones(["B"]), spectra=[mk.ftir("ghost")]))
        with pytest.raises(InputError, match="neither in the batch nor the store"):
            store.commit(mk.batch(None, images=[mk.image("ghost")]))
    assert store_path.read_bytes() == before


def test_spectra_are_kept_raw_and_on_the_common_grid(store_path, mk):
    spectra = [mk.ftir("A", seed=0), mk.ftir("A", seed=1, descending=False), mk.ftir("B", seed=2)]
    with ReferenceStore.open(store_path, "a") as store:
        store.commit(mk.batch(mk.stones(["A", "B"]), spectra=spectra))
        ids, grid, values = store.spectra_matrix("ftir")
        raw = store.spectra("A")
        again = store.commit(mk.batch(None, spectra=[mk.ftir("A", seed=1)]))
        assert store.spectra_matrix("ftir")[2].shape[0] == 3  # the re-sent spectrum is not doubled
    assert again.added == 0
    np.testing.assert_array_equal(grid, np.arange(400.0, 4000.1, 2.0))
    assert list(ids) == ["A", "A", "B"] and values.shape == (3, 1801)
    for row, seed in zip(values, (0, 1, 2), strict=True):  # y = 0.1 + 1e-4 x + 0.01 seed, exactly linear
        np.testing.assert_allclose(row, 0.1 + 1e-4 * grid + 0.01 * seed, rtol=1e-6)
    assert [s.meta["seed"] for s in raw] == [0, 1]
    assert raw[0].raw == spectra[0].raw and raw[0].sha256 == spectra[0].sha256
    np.testing.assert_array_equal(raw[0].x, spectra[0].x)  # parsed axis kept in file order
    np.testing.assert_array_equal(raw[1].y, spectra[1].y)
    assert raw[0].x_unit == "1/cm" and raw[0].y_unit == "absorbance" and raw[0].kind == "ftir"


def test_partial_coverage_is_nan_outside_the_measured_range(store_path, mk):
    spec = mk.ftir("A")
    keep = (spec.x >= 1000) & (spec.x <= 1500)
    spec.x, spec.y = spec.x[keep], spec.y[keep]
    with ReferenceStore.open(store_path, "a") as store:
        store.commit(mk.batch(mk.stones(["A"]), spectra=[spec]))
        _, grid, values = store.spectra_matrix("ftir")
    inside = (grid >= 1000) & (grid <= 1500)
    assert np.isfinite(values[0, inside]).all() and np.isnan(values[0, ~inside]).all()


def test_wrong_axis_unit_is_refused(store_path, mk):
    spec = mk.ftir("A")
    spec.x_unit = "Hz"
    with ReferenceStore.open(store_path, "a") as store, pytest.raises(InputError):
        store.commit(mk.batch(mk.stones(["A"]), spectra=[spec]))


def test_grids_are_the_documented_ones():
    assert grid_for("ftir")[[0, -1]].tolist() == [400.0, 4000.0] and grid_for("ftir").size == 1801
    assert grid_for("uvvis")[[0, -1]].tolist() == [200.0, 1100.0] and grid_for("uvvis").size == 901
    assert set(GRIDS) == {"ftir", "uvvis", "pl", "raman"} and grid_for("nmr") is None


def _derived(rows):
    frame = pd.DataFrame(rows)
    for col in DERIVED_FTIR_COLUMNS:
        if col not in frame:
            frame[col] = np.nan if col not in ("flags", "recipe", "diamond_type") else ""
    return frame[list(DERIVED_FTIR_COLUMNS)]


def test_derived_ftir_kept_beside_lab_values_and_discrepancy_reported(store_path, mk):
    stones = mk.stones(["A", "B"])
    stones["n_total_ppm"] = [100.0, 300.0]
    a, b = mk.ftir("A"), mk.ftir("B", seed=1)
    derived = _derived([
        {"sample_id": "A", "spectrum_sha256": a.sha256, "n_total_ppm": 104.0, "diamond_type": "IaAB",
         "recipe": '{"steps": []}'},
        {"sample_id": "B", "spectrum_sha256": b.sha256, "n_total_ppm": 900.0, "diamond_type": "IaA",
         "recipe": '{"steps": []}'},
    ])
    with ReferenceStore.open(store_path, "a") as store:
        report = store.commit(mk.batch(stones, spectra=[a, b], derived=derived))
        table = store.derived_ftir()
        lab = store.stones().set_index("sample_id")
    assert list(table.columns) == list(DERIVED_FTIR_COLUMNS)
    assert table.set_index("sample_id").loc["B", "n_total_ppm"] == 900.0
    assert lab.loc["B", "n_total_ppm"] == 300.0  # the lab's figure is kept too
    warned = [w for w in report.warnings if "n_total_ppm" in w]
    assert len(warned) == 1 and warned[0].startswith("B:")


def test_images_round_trip(store_path, mk):
    with ReferenceStore.open(store_path, "a") as store:
        store.commit(mk.batch(mk.stones(["A", "B"]), images=[mk.image("A"), mk.image("A", "side"),
                                                             mk.image("B")]))
        imgs = store.images("A")
        assert len(store.images()) == 3
    assert {i.view for i in imgs} == {"top", "side"}
    top = next(i for i in imgs if i.view == "top")
    assert top.data == mk.image("A").data and (top.width, top.height) == (4, 3)
    assert top.mime_type == "image/png"


def test_custom_field_registered_then_ingested(store_path, mk):
    with ReferenceStore.open(store_path, "a") as store:
        store.commit(mk.batch(mk.stones(["A"])))
        store.add_field(Field("li_ppm", "number", "Lithium (LA-ICP-MS)", unit="ppm", minimum=0,
                              group="custom"))
        assert [f.name for f in store.custom_fields()] == ["li_ppm"]
        assert store.stones()["li_ppm"].isna().all()
        with pytest.raises(SchemaError, match="already"):
            store.add_field(Field("li_ppm", "number", "again", group="custom"))
        with pytest.raises(SchemaError):
            store.add_field(Field("mass_ct", "number", "clash", group="custom"))
        with pytest.raises(SchemaError, match=">= 0"):
            store.commit(mk.batch(mk.stones(["B"], li_ppm=[-3.0])))
        store.commit(mk.batch(mk.stones(["B"], li_ppm=[12.5])))
        back = store.stones().set_index("sample_id")
        assert np.isnan(back.loc["A", "li_ppm"]) and back.loc["B", "li_ppm"] == 12.5
        # the unchanged stone A is still unchanged when the batch now has the custom column
        again = store.commit(mk.batch(mk.stones(["A"], li_ppm=[np.nan])))
        assert again.unchanged == 1
        assert store.audit_log()[-2]["kind"] == "add_field" or store.audit_log()[2]["kind"] == "add_field"
        store.verify()


def test_content_hash_is_logical(tmp_path, mk):
    stones = mk.stones([f"S{i}" for i in range(6)])
    spectra = [mk.ftir("S1"), mk.ftir("S4", seed=3)]
    one, two = tmp_path / "one.h5", tmp_path / "two.h5"
    for path in (one, two):
        ReferenceStore.create(path)
    with ReferenceStore.open(one, "a") as store:
        store.commit(mk.batch(stones, spectra=spectra))
    with ReferenceStore.open(two, "a") as store:  # same content, other batches, other person
        store.commit(mk.batch(stones.iloc[3:], by="someone else"))
        store.commit(mk.batch(stones.iloc[:3], spectra=spectra[:1]))
        store.commit(mk.batch(None, spectra=spectra[1:]))
    with ReferenceStore.open(one) as a, ReferenceStore.open(two) as b:
        assert a.content_hash() == b.content_hash()
        assert one.read_bytes() != two.read_bytes()
        h = a.content_hash()
    with ReferenceStore.open(one, "a") as store:
        changed = stones.iloc[:1].copy()
        changed["mass_ct"] = 0.5
        store.commit(mk.batch(changed, replace=True, reason="typo"))
        assert store.content_hash() != h


def test_info_counts(store_path, mk):
    stones = mk.stones([f"S{i}" for i in range(10)])
    with ReferenceStore.open(store_path, "a") as store:
        store.commit(mk.batch(stones, spectra=[mk.ftir("S0"), mk.ftir("S0", seed=1), mk.ftir("S3")],
                              images=[mk.image("S2")], synthetic=True))
        info = store.info()
    assert info["stones"] == 10 and info["zones"] == {"CAR-East": 5, "CAR-West": 5}
    assert info["sites"] == {"site-0": 4, "site-1": 3, "site-2": 3}
    assert sum(info["lots"].values()) == 10
    assert info["coverage"]["mass_ct"]["measured"] == 10 and info["coverage"]["d13c_permil"]["measured"] == 0
    assert info["coverage"]["n_total_ppm"]["fraction"] == 0.5
    assert info["spectra"] == {"ftir": 3} and info["stones_with_spectra"] == 2 and info["images"] == 1
    assert info["synthetic"] is True and info["schema_version"] == 1 and len(info["content_hash"]) == 64


def test_synthetic_flag_and_audit_entry(store_path, mk):
    with ReferenceStore.open(store_path, "a") as store:
        assert not store.is_synthetic
        b = mk.batch(mk.stones(["A"]), synthetic=True, by="Dr Synth")
        store.commit(b)
        assert store.is_synthetic
        entry = store.audit_log()[-1]
    assert entry["by"] == "Dr Synth" and entry["synthetic"] is True and entry["kind"] == "batch"
    assert entry["sources"][0]["role"] == "stones" and entry["rows"]["stones"] == 1
    assert entry["tool_version"] and entry["when_utc"].endswith("Z")


def test_read_only_store_refuses_to_write_and_missing_store_is_clear(store_path, tmp_path, mk):
    with ReferenceStore.open(store_path) as store, pytest.raises(StoreError, match="read-only"):
        store.commit(mk.batch(mk.stones(["A"])))
    with pytest.raises(StoreError, match="db init"):
        ReferenceStore.open(tmp_path / "nope.h5")
    with pytest.raises(StoreError, match="already exists"):
        ReferenceStore.create(store_path)


def test_stale_temp_files_are_removed_by_the_next_writer(store_path, mk):
    stale = store_path.parent / f".{store_path.name}.tmp-999-dead"
    stale.write_bytes(b"half a batch")
    with ReferenceStore.open(store_path):
        assert stale.exists()  # readers leave it
    with ReferenceStore.open(store_path, "a"):
        assert not stale.exists()


def test_derivation_added_later_for_stored_spectra_only_once(store_path, mk):
    spec = mk.ftir("A")
    derived = _derived([{"sample_id": "A", "spectrum_sha256": spec.sha256, "n_total_ppm": 50.0,
                         "diamond_type": "IaA", "recipe": "{}"}])
    with ReferenceStore.open(store_path, "a") as store:
        store.commit(mk.batch(mk.stones(["A"]), spectra=[spec]))  # stored without derivation
        assert len(store.derived_ftir()) == 0
        store.commit(mk.batch(None, spectra=[spec], derived=derived))  # same spectrum, now derived
        assert len(store.derived_ftir()) == 1 and len(store.spectra("A")) == 1
        before = store_path.read_bytes()
        report = store.commit(mk.batch(None, spectra=[spec], derived=derived))
        assert store_path.read_bytes() == before and report.added == 0
        store.verify()
