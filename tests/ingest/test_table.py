"""Reading good stone tables: synonyms, types, vocabulary folding, XLSX, encodings."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from footprint import field_names
from footprint._schema import Field
from footprint.exceptions import SchemaError
from footprint.ingest import STEPS, read_stones_table

LAB_CSV = (
    "Stone ID,Origin,Weight (ct),Color,Shape,Grade,Sieve,Coated,Date,Resorption grade,N (ppm),%B,"
    "Country code,Type,Remarks\n"
) + """\
K-001,CAR-West,0.52,Light Yellow,Octahedron,gem,+11,yes,2021-03-12,2,120.5,35,caf,iaab,first stone
K-002,CAR-East,1.1,colorless,cube,near-gem,2.5 mm,No,2021-03-13,0,,,CAF,IIa,
K-003,CAR-West,0.08,GRAY,macle,,DTC 7,1,,3,nd,n/a,CAF,,"comma, in notes"
"""


def _write(tmp_path, text, name="stones.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_lab_spellings_map_to_the_schema(tmp_path):
    stones, report = read_stones_table(_write(tmp_path, LAB_CSV))
    assert list(stones.columns) == field_names()
    assert stones["sample_id"].tolist() == ["K-001", "K-002", "K-003"]
    assert stones["zone"].tolist() == ["CAR-West", "CAR-East", "CAR-West"]
    np.testing.assert_array_equal(stones["mass_ct"].to_numpy(), [0.52, 1.1, 0.08])
    assert stones["colour"].tolist() == ["light_yellow", "colourless", "grey"]
    assert stones["morphology"].tolist() == ["octahedron", "cube", "macle"]
    assert stones["quality"].tolist() == ["gem", "near_gem", None]
    assert stones["sieve_class"].tolist() == ["dtc:+11", "mm:2.50", "dtc:+7"]
    assert stones["coating"].tolist() == [True, False, True]
    assert stones["collected_on"].tolist() == ["2021-03-12", "2021-03-13", None]
    assert stones["resorption"].tolist() == [2, 0, 3]
    assert stones["country"].tolist() == ["CAF", "CAF", "CAF"]
    assert stones["diamond_type"].tolist() == ["IaAB", "IIa", None]
    assert stones["n_total_ppm"].iloc[0] == 120.5 and math.isnan(stones["n_total_ppm"].iloc[2])
    assert math.isnan(stones["n_b_percent"].iloc[2])
    assert stones["notes"].tolist() == ["first stone", None, "comma, in notes"]
    assert stones.attrs["synthetic"] is False
    assert set(stones.attrs["columns_in_file"]) >= {"sample_id", "mass_ct", "colour", "n_b_percent"}
    assert report.rows_read == 3
    # steps ran in the declared order and were counted
    assert list(report.steps)[:3] == ["harmonize_columns", "require_columns", "require_sample_id"]
    order = [s.__name__ for s in STEPS]
    assert [s for s in order if s in report.steps] == list(report.steps)
    assert report.steps["require_sample_id"] == 3


def test_dtypes_follow_the_schema(tmp_path):
    stones, _ = read_stones_table(_write(tmp_path, LAB_CSV))
    assert stones["mass_ct"].dtype == np.float64
    assert stones["resorption"].dtype == pd.Int64Dtype()
    assert stones["abrasion"].dtype == pd.Int64Dtype() and stones["abrasion"].isna().all()
    assert stones["coating"].dtype == pd.BooleanDtype()
    assert stones["colour"].dtype == object and stones["sample_id"].dtype == object
    assert math.isnan(stones["d13c_permil"].iloc[0])


def test_parcel_rows_need_no_zone_and_keep_columns(tmp_path):
    path = _write(tmp_path, "parcel_id,sample_id,mass_ct\nP1,X1,0.3\nP1,X2,0.4\n")
    with pytest.raises(SchemaError, match="unknown column 'parcel_id'"):
        read_stones_table(path, reference=False)
    stones, _ = read_stones_table(path, reference=False, keep_columns=["parcel_id"])
    assert stones["parcel_id"].tolist() == ["P1", "P1"]
    assert stones["zone"].isna().all()
    with pytest.raises(SchemaError, match="required column 'zone'"):
        read_stones_table(path, keep_columns=["parcel_id"])


def test_custom_fields_are_validated_like_built_ins(tmp_path):
    li = Field("li_ppm", "number", "Lithium by LA-ICP-MS.", unit="ppm", minimum=0, group="custom",
               synonyms=("Li (ppm)",))
    path = _write(tmp_path, "sample_id,zone,Li (ppm)\nA,CAR-West,0.25\nB,CAR-West,\n")
    stones, _ = read_stones_table(path, extra_fields=[li])
    assert stones.columns[-1] == "li_ppm"
    assert stones["li_ppm"].iloc[0] == 0.25 and math.isnan(stones["li_ppm"].iloc[1])
    bad = _write(tmp_path, "sample_id,zone,li_ppm\nA,CAR-West,-1\nB,CAR-West,x\n", "bad.csv")
    with pytest.raises(SchemaError) as info:
        read_stones_table(bad, extra_fields=[li])
    assert {(p.row, p.field) for p in info.value.problems} == {(1, "li_ppm"), (2, "li_ppm")}
    with pytest.raises(SchemaError, match="unknown column 'li_ppm'"):
        read_stones_table(bad)  # not registered: unknown


def test_synthetic_marks(tmp_path):
    stones, _ = read_stones_table(_write(tmp_path, "# SYNTHETIC reference set\nsample_id,zone\nA,Z\n"))
    assert stones.attrs["synthetic"] is True
    stones, _ = read_stones_table(_write(tmp_path, "sample_id,zone,synthetic\nA,Z,true\n", "b.csv"))
    assert stones.attrs["synthetic"] is True and "synthetic" not in stones.columns


def test_bom_cp1252_and_semicolons(tmp_path):
    text = "sample_id;zone;mass_ct;notes\nA;CAR-West;0,52;Bangui près du fleuve\n"
    stones, report = read_stones_table(_write(tmp_path, "\ufeff" + text, "bom.csv"))
    assert stones["mass_ct"].iloc[0] == 0.52 and not any("Windows-1252" in w for w in report.warnings)
    stones, report = read_stones_table(_write(tmp_path, text, "win.csv", encoding="cp1252"))
    assert stones["notes"].iloc[0] == "Bangui près du fleuve"
    assert any("Windows-1252" in w and "win.csv" in w for w in report.warnings)
    assert any("decimal comma" in w for w in report.warnings)


def test_xlsx_first_and_named_sheets(tmp_path):
    path = tmp_path / "stones.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        pd.DataFrame({"Sample ID": ["A1", "A2"], "Zone": ["CAR-West", "CAR-East"],
                      "Weight (ct)": [0.5, 2], "Resorption": [1, 3],
                      "Date": [pd.Timestamp("2022-01-05"), pd.NaT], "Coated": [True, False]}
                     ).to_excel(xl, sheet_name="described", index=False)
        pd.DataFrame({"sample_id": ["B1"], "zone": ["CAR-West"], "colour": ["Brown"]}
                     ).to_excel(xl, sheet_name="second", index=False)
    stones, report = read_stones_table(path)
    assert stones["sample_id"].tolist() == ["A1", "A2"]
    assert stones["mass_ct"].tolist() == [0.5, 2.0]
    assert stones["resorption"].tolist() == [1, 3]
    assert stones["collected_on"].tolist() == ["2022-01-05", None]
    assert stones["coating"].tolist() == [True, False]
    assert any("2 sheets" in w and "described" in w for w in report.warnings)
    stones, report = read_stones_table(path, sheet="second")
    assert stones["colour"].tolist() == ["brown"] and not report.warnings
    with pytest.raises(SchemaError, match="no sheet named 'third'.*|sheet not found"):
        read_stones_table(path, sheet="third")


def test_broken_xlsx_is_refused(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not a real zip")
    with pytest.raises(SchemaError, match="broken.xlsx.*workbook"):
        read_stones_table(path)


def test_input_file_is_not_modified(tmp_path):
    path = _write(tmp_path, LAB_CSV)
    path.chmod(0o444)
    before = path.read_bytes()
    read_stones_table(path)
    assert path.read_bytes() == before
