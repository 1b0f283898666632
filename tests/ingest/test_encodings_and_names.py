"""Issue 11, cases 7, 8 and 10 (CSV spectra): encodings, Unicode names, non-finite spectrum points."""

from __future__ import annotations

import unicodedata

import pytest

from footprint.exceptions import SchemaError, SpectrumError
from footprint.ingest import read_spectra, read_stones_table
from footprint.ingest._encoding import decode_text, detect_encoding

TABLE = "sample_id,zone,site,lot_id,mass_ct,lab\n" + "".join(
    f"S{i},CAR-West,Berbérati,L{i % 3},0.{i + 1}5,Lab Bangui\n" for i in range(9)
)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig", "utf-32"])
def test_excel_unicode_text_reads_like_utf8(tmp_path, codec: str) -> None:
    """Excel's "Unicode text" is UTF-16 LE with a BOM and tabs; BOM-less UTF-16 is recognised too."""
    reference, _ = read_stones_table(_write(tmp_path / "ref.csv", TABLE.encode("utf-8")))
    text = TABLE.replace(",", "\t") if codec == "utf-16" else TABLE
    path = _write(tmp_path / f"{codec}.txt", text.encode(codec))
    stones, report = read_stones_table(path)
    assert stones["site"].tolist() == reference["site"].tolist() == ["Berbérati"] * 9
    assert stones["mass_ct"].tolist() == reference["mass_ct"].tolist()
    if codec != "utf-8-sig":
        assert any("read as UTF-" in w for w in report.warnings)


def test_errors_in_a_utf16_file_name_the_encoding(tmp_path) -> None:
    path = _write(tmp_path / "u16.csv", (TABLE + "S99,CAR-West,Nola,L1,heavy,Lab\n").encode("utf-16"))
    with pytest.raises(SchemaError) as info:
        read_stones_table(path)
    assert "(read as UTF-16 LE)" in info.value.summary
    assert len(info.value.problems) == 1
    assert "row 10, field 'mass_ct', value 'heavy'" in str(info.value)


def test_legacy_encoding_is_named(tmp_path) -> None:
    path = _write(tmp_path / "cp.csv", TABLE.encode("cp1252"))
    stones, report = read_stones_table(path)
    assert stones["site"].iloc[0] == "Berbérati"
    assert any("Windows-1252 (cp1252)" in w for w in report.warnings)


def test_detector() -> None:
    assert detect_encoding("é".encode()) == ("utf-8", True)
    assert detect_encoding(b"\xff\xfea\x00") == ("utf-16-le", True)
    assert detect_encoding("sample_id,zone".encode("utf-16-le")) == ("utf-16-le", True)
    assert detect_encoding("sample_id,zone".encode("utf-16-be")) == ("utf-16-be", True)
    assert decode_text("x,é\n".encode("utf-16")) == "x,é\n"


def test_nfc_nfd_and_unaccented_sites_are_one_plus_a_warning(tmp_path) -> None:
    nfc = unicodedata.normalize("NFC", "Berbérati")
    nfd = unicodedata.normalize("NFD", "Berbérati")
    assert nfc != nfd
    text = ("sample_id,zone,site,lot_id,mass_ct,lab\n"
            f"S1,CAR-West,{nfc},L1,0.5,Lab\nS2,CAR-West,{nfd},L1,0.5,Lab\n"
            "S3,CAR-West,Berberati,L2,0.5,LAB\nS4,car west,Nola,L3,0.5,Lab\n")
    stones, report = read_stones_table(_write(tmp_path / "names.csv", text.encode("utf-8")))
    assert stones["site"].tolist() == [nfc, nfc, "Berberati", "Nola"]
    assert report.steps["harmonize_unicode"] == 1
    warned = "\n".join(report.warnings)
    assert "field 'site' has names that differ only by case, accents or spacing" in warned
    assert f"'Berberati' (1 rows), '{nfc}' (2 rows)" in warned
    assert "field 'zone'" in warned and "'CAR-West' (3 rows), 'car west' (1 rows)" in warned
    assert "field 'lab'" in warned


def test_no_warning_for_distinct_names(tmp_path) -> None:
    _, report = read_stones_table(_write(tmp_path / "ok.csv", TABLE.encode("utf-8")))
    assert not any("differ only" in w for w in report.warnings)


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", ""])
def test_csv_spectra_refuse_non_finite_points_like_jcamp(tmp_path, bad: str) -> None:
    path = tmp_path / "S1_top.csv"
    path.write_text(f"wavenumber (cm-1),absorbance\n4000,0.1\n3000,{bad}\n2000,0.3\n")
    with pytest.raises(SpectrumError) as info:
        read_spectra(path, kind="ftir")
    assert "non-finite x or y" in str(info.value) and "S1_top.csv" in str(info.value)


def test_wide_csv_blank_cells_still_mean_not_covered_but_inf_is_refused(tmp_path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("sample_id,4000,3000,2000\nA1,0.1,,0.3\n")
    (spectrum,) = read_spectra(path, kind="ftir")
    assert spectrum.x.tolist() == [2000, 4000]
    path.write_text("sample_id,4000,3000,2000\nA1,0.1,inf,0.3\n")
    with pytest.raises(SpectrumError, match="infinite value"):
        read_spectra(path, kind="ftir")


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def test_jcamp_sample_id_that_contradicts_the_file_name_is_refused(tmp_path) -> None:
    """Issue 11 case 10: the file name no longer silently wins over a different ##$SAMPLE ID."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from conftest import jcamp_text, test_ordinates

    folder = tmp_path / "spectra"
    folder.mkdir()
    (folder / "S1_top.jdx").write_text(jcamp_text(test_ordinates()[:60], extra="##$SAMPLE ID=S9"))
    (folder / "S2_top.jdx").write_text(jcamp_text(test_ordinates()[:60], extra="##$SAMPLE ID=S2"))
    with pytest.raises(SpectrumError) as info:
        read_spectra(folder, kind="ftir", n_jobs=1)
    assert len(info.value.problems) == 1
    text = str(info.value)
    assert "S1_top.jdx" in text and "value 'S9'" in text and "file name gives ('S1')" in text
    (folder / "S1_top.jdx").write_text(jcamp_text(test_ordinates()[:60], extra="##$SAMPLE ID=S1"))
    assert [s.sample_id for s in read_spectra(folder, kind="ftir", n_jobs=1)] == ["S1", "S2"]


def test_cli_messages_suggest_no_python_only_options(tmp_path) -> None:
    import pandas as pd

    path = tmp_path / "two.xlsx"
    with pd.ExcelWriter(path) as writer:
        first = pd.DataFrame({"sample_id": ["S1"], "zone": ["CAR-West"]})
        first.to_excel(writer, sheet_name="a", index=False)
        pd.DataFrame({"x": [1]}).to_excel(writer, sheet_name="b", index=False)
    _, report = read_stones_table(path)
    assert report.warnings and not any("sheet=" in w for w in report.warnings)


@pytest.mark.parametrize("codec", ["utf-8", "utf-16", "cp1252"])
def test_utf8_file_streams_any_encoding_to_utf8(tmp_path, codec: str) -> None:
    from footprint.ingest import utf8_file

    path = tmp_path / "s.csv"
    path.write_bytes(TABLE.encode(codec))
    with utf8_file(path) as (readable, encoding):
        assert readable.read_text(encoding="utf-8") == TABLE
        assert (readable == path) == (codec == "utf-8")
        kept = readable
    assert encoding.startswith(codec.replace("-16", "-16-le")) or codec == "cp1252"
    assert codec == "utf-8" or not kept.exists()
