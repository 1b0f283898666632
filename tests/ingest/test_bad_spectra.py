"""The bad spectrum/image corpus: each file refused with the file, the row or
field where there is one, the value and the reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from footprint.exceptions import InputError, SpectrumError
from footprint.ingest import build_batch, read_images, read_spectra

BAD = Path(__file__).parent / "data" / "bad_spectra"

# file -> fragments of the message (read_spectra(kind="ftir"))
SPECTRA: dict[str, list[str]] = {
    "uvvis_as_ftir.jdx": ["asked for kind 'ftir'", "UV/VIS SPECTRUM", "uvvis"],
    "hz_axis.jdx": ["XUNITS 'HZ' is not an axis unit for ftir", "1/cm"],
    "npoints_mismatch.jdx": ["decoded 10 points but ##NPOINTS=12"],
    "question_marks.jdx": ["'?' (not measured) ordinates"],
    "nmr.jdx": ["NMR spectrum, not an optical"],
    "mass_spectrum.jdx": ["mass spectrum, not an optical"],
    "not_jcamp.jdx": ["not a JCAMP-DX file"],
    "wide_bad_cell.csv": ["row 2", "field 'x=402'", "value 'n.a'", "must be a number"],
    "long_bad_cell.csv": ["row 3", "field 'x'", "value '4o4'", "must be a number"],
    "duplicate_x.csv": ["field 'x'", "value 400.0", "same x value appears twice"],
    "wrong_axis_unit.csv": ["field 'x_unit'", "value 'nm'", "not one for ftir"],
    "manifest_missing_file.csv": ["row 1", "field 'file'", "value 'nowhere.jdx'", "no such file"],
}


@pytest.mark.parametrize("name", sorted(SPECTRA))
def test_bad_spectrum_file_is_refused(name):
    path = BAD / name
    before = path.read_bytes()
    with pytest.raises(SpectrumError) as info:
        read_spectra(path, kind="ftir", n_jobs=1)
    message = str(info.value)
    assert name in message
    for fragment in SPECTRA[name]:
        assert fragment in message, f"{fragment!r} missing from:\n{message}"
    assert path.read_bytes() == before


def test_bad_images_are_refused_by_name(tmp_path):
    for p in BAD.glob("*.*"):
        if p.suffix in (".png", ".jpg"):
            shutil.copy(p, tmp_path / p.name)
    with pytest.raises(InputError) as info:
        read_images(tmp_path)
    by_file = {Path(p.file).name: p.rule for p in info.value.problems}
    assert set(by_file) == {"A1_truncated.png", "A1_not_an_image.jpg"}
    assert "truncated or corrupt" in by_file["A1_truncated.png"]
    assert "not a decodable PNG/JPEG image" in by_file["A1_not_an_image.jpg"]


def test_the_whole_bad_corpus_in_one_batch_error(tmp_path):
    """Every spectrum in a folder is parsed and every refusal listed, in file order."""
    folder = tmp_path / "spectra"
    folder.mkdir()
    for p in sorted(BAD.glob("*.jdx")):
        shutil.copy(p, folder / f"A1_{p.name}")
    (tmp_path / "stones.csv").write_text("sample_id,zone\nA1,CAR-West\n")
    with pytest.raises(SpectrumError) as info:
        build_batch(stones=tmp_path / "stones.csv", spectra=folder, by="x", n_jobs=1)
    files = [Path(p.file).name for p in info.value.problems]
    assert files == sorted(f"A1_{p.name}" for p in BAD.glob("*.jdx"))
