import json

import pytest

import footprint
from footprint import schema
from footprint.exceptions import FootprintError, InputError, Problem, SchemaError


def test_schema_json_matches_registry(repo_root):
    on_disk = json.loads((repo_root / "reference_data" / "schema.json").read_text(encoding="utf-8"))
    assert on_disk == json.loads(json.dumps(schema.schema_document()))


def test_required_field_names_are_exact():
    names = set(schema.field_names())
    expected = {
        "sample_id", "zone", "site", "country", "lot_id", "collected_on", "lab", "cleaning_state",
        "custody_ref", "notes", "mass_ct", "sieve_class", "colour", "morphology", "quality",
        "resorption", "abrasion", "radiation_spots", "coating", "fluorescence", "diamond_type",
        "n_total_ppm", "n_a_ppm", "n_b_ppm", "n_b_percent", "platelet_area_cm2", "h3107_area_cm2",
        "d13c_permil",
    }
    assert names == expected


@pytest.mark.parametrize(
    ("raw", "name"),
    [("Weight (ct)", "mass_ct"), ("color", "colour"), ("N (ppm)", "n_total_ppm"), ("%B", "n_b_percent"),
     ("Sample_ID", "sample_id"), ("LOT", "lot_id"), ("nonsense column", None)],
)
def test_synonyms(raw, name):
    assert schema.canonical_column(raw) == name


def test_field_rules():
    mass = schema.get_field("mass_ct")
    assert mass.check(0.0) == "must be > 0"
    assert mass.check(0.01) is None
    assert schema.get_field("colour").check("purple").startswith("must be one of")
    assert schema.get_field("n_b_percent").check(101) == "must be <= 100"
    with pytest.raises(SchemaError):
        schema.get_field("no_such_field")


@pytest.mark.parametrize(
    ("raw", "normalised", "band"),
    [("+11", "dtc:+11", "+11-15"), ("11", "dtc:+11", "+11-15"), ("DTC +6.5", "dtc:+6.5", "+6.5-11 (melee)"),
     ("2.5 mm", "mm:2.50", "+6.5-11 (melee)"), ("1.2mm", "mm:1.20", "+2-6.5 (stars)"),
     ("+23", "dtc:+23", "+19 (coarse)")],
)
def test_sieve_normalisation_and_bands(raw, normalised, band):
    assert schema.normalise_sieve(raw) == normalised
    assert schema.sieve_band(normalised) == band


@pytest.mark.parametrize("bad", ["+24", "-3", "abc", "0.1 mm", ""])
def test_sieve_refuses_nonsense(bad):
    with pytest.raises(SchemaError):
        schema.normalise_sieve(bad)


def test_sieve_mm_axis_is_monotonic():
    sizes = [schema.sieve_to_mm(f"dtc:+{n}") for n in range(1, 24)]
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes)


def test_exception_tree_and_problem_messages():
    assert issubclass(SchemaError, InputError) and issubclass(InputError, ValueError)
    assert issubclass(InputError, FootprintError)
    problems = [Problem("stones.csv", i, "colour", "purple", "must be one of: ...") for i in range(1, 60)]
    err = SchemaError("stones.csv has invalid rows", problems)
    text = str(err)
    assert "stones.csv, row 1, field 'colour', value 'purple'" in text
    assert "and 9 more problem(s)" in text
    assert len(err.problems) == 59
