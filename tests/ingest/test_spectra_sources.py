"""Spectra from CSV layouts, folders and manifests, mapped to sample ids."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from footprint.exceptions import SpectrumError
from footprint.ingest import read_spectra, read_spectrum

sys.path.insert(0, str(Path(__file__).parent))
from conftest import jcamp_text  # noqa: E402


def test_wide_csv(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("# x_unit: cm-1\n# y_unit: absorbance\nsample_id,4000,3000,2000,1000\n"
                    "A1,0.1,0.2,0.3,0.4\nA2,1,2,,4\n")
    spectra = read_spectra(path, kind="ftir")
    assert [s.sample_id for s in spectra] == ["A1", "A2"]
    a1, a2 = spectra
    np.testing.assert_array_equal(a1.x, [1000, 2000, 3000, 4000])  # sorted ascending
    np.testing.assert_array_equal(a1.y, [0.4, 0.3, 0.2, 0.1])
    np.testing.assert_array_equal(a2.x, [1000, 3000, 4000])  # blank cell = not measured
    assert (a1.x_unit, a1.y_unit, a1.kind) == ("1/cm", "absorbance", "ftir")
    assert a1.sha256 != a2.sha256  # each row has its own raw bytes
    assert a1.raw.decode().splitlines() == ["sample_id,4000,3000,2000,1000", "A1,0.1,0.2,0.3,0.4"]
    assert a1.meta["container_sha256"] == a2.meta["container_sha256"]


def test_long_csv_with_unit_headers(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("sample_id,wavelength (nm),absorbance\nB1,500,0.5\nB2,400,0.1\nB1,400,0.4\nB2,500,0.2\n")
    spectra = read_spectra(path, kind="uvvis")
    assert [s.sample_id for s in spectra] == ["B1", "B2"]
    np.testing.assert_array_equal(spectra[0].x, [400, 500])
    np.testing.assert_array_equal(spectra[0].y, [0.4, 0.5])
    assert (spectra[0].x_unit, spectra[0].y_unit) == ("nm", "absorbance")
    assert "units_assumed" not in spectra[0].meta


def test_default_units_are_recorded(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("sample_id,x,y\nB1,500,0.5\nB1,400,0.4\n")
    (s,) = read_spectra(path, kind="ftir")
    assert (s.x_unit, s.y_unit) == ("1/cm", "absorbance")
    assert s.meta["units_assumed"] == "x_unit=1/cm, y_unit=absorbance"


def test_two_column_csv(tmp_path):
    path = tmp_path / "C7_top.csv"
    path.write_text("wavenumber (cm-1),%T\n4000,90\n3000,80\n")
    s = read_spectrum(path, kind="ftir")
    assert (s.x_unit, s.y_unit) == ("1/cm", "percent_transmittance")
    (mapped,) = read_spectra(path, kind="ftir")
    assert mapped.sample_id == "C7"
    with pytest.raises(SpectrumError, match="needs kind"):
        read_spectrum(path)


def test_bad_csv_cells_name_row_and_axis_value(tmp_path):
    path = tmp_path / "wide_bad.csv"
    path.write_text("sample_id,400,402,404\nA1,0.1,0.2,0.3\nA2,0.1,abc,0.3\n,1,2,3\n")
    with pytest.raises(SpectrumError) as info:
        read_spectra(path, kind="ftir")
    msg = str(info.value)
    assert "wide_bad.csv, row 2, field 'x=402', value 'abc': must be a number" in msg
    assert "wide_bad.csv, row 3, field 'sample_id': sample_id is required" in msg
    path = tmp_path / "long_bad.csv"
    path.write_text("sample_id,x,y\nA1,400,0.1\nA1,400,0.2\nA2,1,zz\n")
    with pytest.raises(SpectrumError) as info:
        read_spectra(path, kind="ftir")
    assert "long_bad.csv, row 3, field 'y', value 'zz'" in str(info.value)
    path.write_text("sample_id,x,y\nA1,400,0.1\nA1,400,0.2\n")
    with pytest.raises(SpectrumError, match="same x value appears twice"):
        read_spectra(path, kind="ftir")


def test_wrong_axis_unit_in_csv(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("sample_id,shift (Hz),y\nB1,500,0.5\nB1,400,0.4\n")
    with pytest.raises(SpectrumError, match="axis unit 'Hz' is not one for ftir"):
        read_spectra(path, kind="ftir")


def test_folder_mapping_by_file_name(tmp_path):
    folder = tmp_path / "spectra"
    folder.mkdir()
    (folder / "K_1_run2.jdx").write_text(jcamp_text([1, 2, 3, 4], title="a"))
    (folder / "K-2.dx").write_text(jcamp_text([5, 6, 7, 8], title="b"))
    (folder / "notes.txt").write_text("not a spectrum")
    got = {s.sample_id: s.meta["title"] for s in read_spectra(folder, kind="ftir")}
    assert got == {"K": "a", "K-2": "b"}
    # a known id containing '_' wins over splitting at the first '_'
    got = {s.sample_id for s in read_spectra(folder, kind="ftir", known_sample_ids={"K_1"})}
    assert got == {"K_1", "K-2"}
    # <sample_id>*.jdx: after a known id, '-', '.' or ' ' also start the rest of the name
    (folder / "K-2.dx").rename(folder / "K-2-rep.dx")
    got = {s.sample_id for s in read_spectra(folder, kind="ftir", known_sample_ids={"K_1", "K-2"})}
    assert got == {"K_1", "K-2"}


def test_manifest_maps_files_and_blocks(tmp_path, jcamp_dir):
    (tmp_path / "a.jdx").write_text(jcamp_text([1, 2, 3, 4]))
    compound = jcamp_dir / "Robert_J_Lancashire_test_data" / "compound.jdx"
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(f"sample_id,file,block\nS1,a.jdx,\nS2,{compound},2\nS3,missing.jdx,\nS4,a.jdx,x\n")
    with pytest.raises(SpectrumError) as info:
        read_spectra(tmp_path, kind="ftir", manifest=manifest)
    msg = str(info.value)
    assert "manifest.csv, row 3, field 'file', value 'missing.jdx': no such file" in msg
    assert "manifest.csv, row 4, field 'block', value 'x'" in msg
    manifest.write_text(f"sample_id,file,block\nS1,a.jdx,\nS2,{compound},2\n")
    spectra = read_spectra(manifest, kind="ftir")
    assert [(s.sample_id, s.meta["block"]) for s in spectra] == [("S1", None), ("S2", 2)]


def test_errors_from_many_files_are_listed_together(tmp_path, jcamp_dir):
    folder = tmp_path / "spectra"
    folder.mkdir()
    lan = jcamp_dir / "Robert_J_Lancashire_test_data"
    for name in ("o01.jdx", "pktab1.jdx", "ofid2.jdx"):
        (folder / f"S-{name}").write_bytes((lan / name).read_bytes())
    (folder / "S-ok.jdx").write_text(jcamp_text([1, 2, 3]))
    with pytest.raises(SpectrumError) as info:
        read_spectra(folder, kind="ftir")
    assert len(info.value.problems) == 3
    msg = str(info.value)
    assert "S-o01.jdx" in msg and "S-pktab1.jdx" in msg and "S-ofid2.jdx" in msg
