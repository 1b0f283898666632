"""The bad-input corpus: one small file per failure kind, each refused with a
message that names the file, the row, the field, the value and the rule.

Expected fragments are written by hand from the file contents (ground truth),
and files holding a single defect must report exactly one problem.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from footprint.exceptions import MAX_REPORTED_PROBLEMS, SchemaError
from footprint.ingest import read_stones_table

BAD = Path(__file__).parent / "data" / "bad"

# file -> (number of problems, [fragments that must all appear in the message])
CASES: dict[str, tuple[int, list[str]]] = {
    "unknown_vocabulary.csv": (1, ["row 2", "field 'colour'", "value 'purple'", "unknown word",
                                   "light_yellow"]),
    "close_word.csv": (1, ["row 2", "field 'morphology'", "value 'octahedrn'", "did you mean 'octahedron'"]),
    "wrong_type.csv": (1, ["row 2", "field 'mass_ct'", "value 'abc'", "must be a number"]),
    "out_of_range_mass.csv": (1, ["row 2", "field 'mass_ct'", "value '-0.2'", "must be > 0 ct"]),
    "out_of_range_grade.csv": (1, ["row 2", "field 'resorption'", "value '4'", "must be <= 3"]),
    "integer_not_whole.csv": (1, ["row 2", "field 'resorption'", "value '1.5'", "whole number"]),
    "missing_zone_value.csv": (1, ["row 2", "field 'zone'", "zone is required for reference stones"]),
    "missing_sample_id_value.csv": (1, ["row 2", "field 'sample_id'", "required on every row"]),
    "bad_sample_id_chars.csv": (1, ["row 2", "field 'sample_id'", "value 'S 2/b'", "letters, digits"]),
    "duplicate_ids.csv": (1, ["row 3", "field 'sample_id'", "value 'S1'", "already used on row 1"]),
    "date_not_iso.csv": (1, ["row 2", "field 'collected_on'", "value '13/03/2021'", "ISO date YYYY-MM-DD"]),
    "date_not_calendar.csv": (1, ["row 2", "field 'collected_on'", "value '2021-02-30'",
                                  "not a calendar date"]),
    "bad_boolean.csv": (1, ["row 2", "field 'coating'", "value 'maybe'", "true or false"]),
    "bad_sieve.csv": (1, ["row 2", "field 'sieve_class'", "value '+30'", "DTC sieve number +1..+23"]),
    "bad_country.csv": (1, ["row 2", "field 'country'", "value 'Central African Rep'", "alpha-3"]),
    "missing_sample_id_column.csv": (1, ["field 'sample_id'", "required column 'sample_id' is missing"]),
    "missing_zone_column.csv": (1, ["field 'zone'", "required column 'zone' is missing"]),
    "unknown_column.csv": (1, ["field 'Hardness'", "unknown column 'Hardness'",
                               "footprint db fields DB --add Hardness"]),
    "near_miss_column.csv": (1, ["unknown column 'colur'", "did you mean 'colour'"]),
    "wrong_unit_g.csv": (1, ["field 'mass_ct'", "value 'mass (g)'", "announces unit 'g'", "stored in ct",
                             "never rescaled"]),
    "wrong_unit_mg.csv": (1, ["value 'Weight (mg)'", "announces unit 'mg'", "stored in ct"]),
    "duplicate_columns.csv": (1, ["columns 'color' and 'colour' both map to field 'colour'"]),
    "empty.csv": (1, ["empty"]),
    "header_only.csv": (1, ["no data rows"]),
    "unnamed_column_with_values.csv": (1, ["column without a header holds values"]),
    "legacy.xls": (1, ["legacy .xls", "xlsx"]),
    "decimal_comma.csv": (1, ["row 1", "field 'mass_ct'", "value '0,52'", "'.' as decimal separator"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_file_is_refused_with_a_precise_message(name):
    path = BAD / name
    before = path.read_bytes()
    with pytest.raises(SchemaError) as info:
        read_stones_table(path)
    n_problems, fragments = CASES[name]
    message = str(info.value)
    assert str(path) in message  # the file is named
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} missing from:\n{message}"
    assert len(info.value.problems) == n_problems, message
    assert all(p.file == str(path) for p in info.value.problems)
    assert path.read_bytes() == before  # read-only input unchanged


def test_corpus_covers_every_case():
    on_disk = {p.name for p in BAD.iterdir()} - {"many_problems.csv"}
    assert on_disk == set(CASES)


def test_all_problems_are_listed_and_the_message_is_capped():
    with pytest.raises(SchemaError) as info:
        read_stones_table(BAD / "many_problems.csv")
    err = info.value
    assert len(err.problems) == 60
    assert [p.row for p in err.problems] == list(range(1, 61))
    assert all(p.field == "mass_ct" and p.value == f"abc{p.row}" for p in err.problems)
    message = str(err)
    assert "60 problem(s)" in message
    assert f"and {60 - MAX_REPORTED_PROBLEMS} more problem(s) not shown" in message
    assert "row 50," in message and "row 51," not in message


def test_several_problems_in_one_file_are_reported_together(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text("sample_id,zone,mass_ct,colour,Hardness\n"
                    "A1,CAR-West,abc,purple,3\n"
                    "A1,,0.2,yellow,4\n")
    with pytest.raises(SchemaError) as info:
        read_stones_table(path)
    got = {(p.row, p.field) for p in info.value.problems}
    assert got == {(None, "Hardness"), (1, "mass_ct"), (1, "colour"), (2, "zone"), (2, "sample_id")}
