"""The real JCAMP-DX corpus in ../shared/jcamp-dx: every IR and UV-Vis file is read,
NMR / mass / FID files are refused, and the compression forms agree.

Expected outcomes are taken from each file's own header (##DATA TYPE, ##NPOINTS,
##FIRSTX, ##LASTX, ##FIRSTY), read here with a plain regex, not from the reader.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from footprint.exceptions import InputError, SpectrumError
from footprint.ingest import read_spectra, read_spectrum
from footprint.ingest._jcamp import read_jcamp_blocks

sys.path.insert(0, str(Path(__file__).parent))
from conftest import jcamp_text, test_ordinates  # noqa: E402

SHARED = Path(__file__).resolve().parents[3] / "shared" / "jcamp-dx"
ALL_FILES = sorted(p for p in SHARED.glob("*/*") if p.suffix.lower() not in (".md", ".txt")) \
    if SHARED.is_dir() else []


def _labels(path: Path) -> list[dict[str, str]]:
    """Header labels of each block (split at ##TITLE), as raw strings."""
    text = path.read_bytes().decode("latin-1").replace("\r", "\n")
    blocks: list[dict[str, str]] = []
    for m in re.finditer(r"^\s*##([^=]+)=([^\n]*)", text, flags=re.M):
        label = m.group(1).strip().upper().replace(" ", "")
        value = m.group(2).split("$$")[0].strip()
        if label == "TITLE":
            blocks.append({})
        if blocks:
            blocks[-1].setdefault(label, value)
    return blocks


def _data_type(path: Path) -> str:
    blocks = _labels(path)
    return blocks[0].get("DATATYPE", "") if blocks else ""


def _is_optical(path: Path) -> bool:
    types = [b.get("DATATYPE", "").upper() for b in _labels(path)]
    return any(("INFRARED" in t or "UV" in t or "RAMAN" in t) for t in types)


OPTICAL = [p for p in ALL_FILES if _is_optical(p)]
REFUSED = [p for p in ALL_FILES if re.search(r"NMR|MASS|FID", _data_type(p).upper())]


def _id(p: Path) -> str:
    return f"{p.parent.name[:12]}/{p.name}"


def test_corpus_present(jcamp_dir):
    # The corpus is what the issue names: guard against silently testing nothing.
    assert len(OPTICAL) >= 80
    assert len(REFUSED) >= 25


@pytest.mark.parametrize("path", OPTICAL, ids=_id)
def test_every_ir_and_uvvis_file_is_read(path: Path, jcamp_dir):
    blocks = [b for b in _labels(path) if re.search(r"INFRARED|UV|RAMAN", b.get("DATATYPE", "").upper())]
    before = path.read_bytes()
    spectra = read_jcamp_blocks(path)
    assert path.read_bytes() == before  # read-only input unchanged
    assert len(spectra) == len(blocks)
    for spec, head in zip(spectra, blocks, strict=True):
        assert spec.kind in ("ftir", "uvvis", "raman")
        assert spec.raw == path.read_bytes()
        assert "title" in spec.meta and spec.meta["format"] == "JCAMP-DX"
        assert np.all(np.isfinite(spec.y))
        npoints = int(float(head["NPOINTS"])) if "NPOINTS" in head else None
        dropped = spec.meta.get("repeated_points_dropped", 0)
        if npoints is not None:
            assert spec.x.size + dropped == npoints
        firstx, lastx = float(head["FIRSTX"]), float(head["LASTX"])
        assert spec.x[0] == pytest.approx(firstx, rel=1e-6, abs=1e-3)
        assert spec.x[-1] == pytest.approx(lastx, rel=1e-6, abs=1e-3)
        firsty = head.get("FIRSTY")
        maxy, miny = head.get("MAXY"), head.get("MINY")
        header_sane = not (maxy and miny and float(maxy) < float(miny))  # blckpac1 swaps them
        if firsty and header_sane and path.name != "isopropanol_ASDF.jdx":  # writes FIRSTY=0
            # jtpolysd's header YFACTOR has a typo (2.3884e-9 vs 2.3842e-9): 0.18 %.
            assert spec.y[0] == pytest.approx(float(firsty), rel=3.5e-3, abs=1e-6)


@pytest.mark.parametrize("path", REFUSED, ids=_id)
def test_nmr_mass_and_fid_files_are_refused(path: Path, jcamp_dir):
    before = path.read_bytes()
    with pytest.raises(SpectrumError) as info:
        read_spectrum(path, kind="ftir")
    assert path.read_bytes() == before
    message = str(info.value)
    assert path.name in message
    dtype = _data_type(path).upper()
    expected = "FID" if "FID" in dtype else "NMR" if "NMR" in dtype else "mass spectrum"
    assert expected in message


def test_refusal_messages_name_the_reason(jcamp_dir):
    lan = jcamp_dir / "Robert_J_Lancashire_test_data"
    cases = {"ofid1.jdx": "free-induction decay", "pktab1.jdx": "mass spectrum",
             "o01.jdx": "NMR spectrum", "coffhd.jdx": "chromatogram", "xyinc2.jdx": "EPR"}
    for name, fragment in cases.items():
        with pytest.raises(SpectrumError, match=fragment):
            read_spectrum(lan / name)
    # a LINK file whose blocks hold a structure and NMR assignments: no XY data at all
    with pytest.raises(SpectrumError, match="no usable spectrum block"):
        read_spectrum(jcamp_dir / "jcamp-dx.org_official_test_data" / "ISAS_CDX.DX")
    with pytest.raises(SpectrumError, match="not a JCAMP-DX file"):
        read_spectrum(jcamp_dir / "jcamp-dx.org_official_test_data" / "DX-DIR.TXT")


def test_kind_detection_and_mismatch(jcamp_dir):
    ir = jcamp_dir / "infrared_spectra" / "water.jdx"
    uv = jcamp_dir / "uvvis_spectra" / "toluene.jdx"
    raman = jcamp_dir / "raman_spectra" / "tannic_acid.jdx"
    assert read_spectrum(ir).kind == "ftir"
    assert read_spectrum(uv).kind == "uvvis"
    assert read_spectrum(raman).kind == "raman"
    with pytest.raises(SpectrumError, match="asked for kind 'uvvis'.*ftir"):
        read_spectrum(ir, kind="uvvis")
    with pytest.raises(SpectrumError, match="NMR"):
        read_spectrum(jcamp_dir / "Robert_J_Lancashire_test_data" / "o01.jdx", kind="ftir")
    with pytest.raises(InputError, match="unknown spectrum kind"):
        read_spectrum(ir, kind="xray")


def test_units_are_normalised(jcamp_dir):
    lan = jcamp_dir / "Robert_J_Lancashire_test_data"
    s = read_spectrum(lan / "dupinc1.jdx")  # NANOMETERS / ABSORBANCE
    assert (s.kind, s.x_unit, s.y_unit) == ("uvvis", "nm", "absorbance")
    s = read_spectrum(lan / "dupdec1.jdx")  # TRANSMITTANCE written as percent (values to 87)
    assert s.y_unit == "percent_transmittance" and "percent" in s.meta["y_unit_note"]
    s = read_spectrum(lan / "dupdec2.jdx")  # TRANSMITTANCE as a fraction
    assert s.y_unit == "transmittance" and s.y.max() < 1
    s = read_spectrum(jcamp_dir / "uvvis_spectra" / "toluene.jdx")  # "Wavelength (nm)"
    assert s.x_unit == "nm"
    assert s.meta["repeated_points_dropped"] == 335 - s.x.size


def test_header_metadata_is_kept(jcamp_dir):
    s = read_spectrum(jcamp_dir / "Robert_J_Lancashire_test_data" / "fixinc1.jdx")
    assert s.meta["instrument"] == "Digilab Data system=3207"
    assert s.meta["resolution"] == 2.0
    assert s.meta["date"] == "93/03/08 11:01:12"
    assert s.meta["owner"] == "public domain"
    assert s.meta["origin"].startswith("UWS")
    assert s.meta["labels"]["created"] == "Mon Mar 08 11:01:12 1993"
    import json

    json.dumps(s.meta)  # the store keeps meta as JSON


def test_link_file_blocks(jcamp_dir):
    path = jcamp_dir / "Robert_J_Lancashire_test_data" / "compound.jdx"
    with pytest.raises(SpectrumError, match="holds 5 spectra"):
        read_spectrum(path)
    third = read_spectrum(path, block=2)
    assert third.meta["title"] == "block 3" and third.x.size == 3951
    with pytest.raises(SpectrumError, match="no usable spectrum block 9"):
        read_spectrum(path, block=9)


def test_jcamp_messages_do_not_reach_stdout(jcamp_dir, capsys):
    # SPECFILE.DX makes jcamp print an X-check failure; the library must stay quiet.
    s = read_spectrum(jcamp_dir / "jcamp-dx.org_official_test_data" / "SPECFILE.DX")
    assert capsys.readouterr().out == ""
    assert s.meta["x_check_messages"]
    assert "not a valid DIF Y-check" in s.meta["y_check_note"]


# -- the compression-form matrix ------------------------------------------------------

def test_lancashire_pac_equals_official_pac(jcamp_dir):
    a = read_spectrum(jcamp_dir / "jcamp-dx.org_official_test_data" / "PE1800.DX")
    b = read_spectrum(jcamp_dir / "Robert_J_Lancashire_test_data" / "pacdec1.jdx")
    np.testing.assert_allclose(a.x, b.x, atol=1e-9)
    np.testing.assert_allclose(a.y, b.y / 100.0, atol=1e-12)  # YFACTOR 1e-4 vs 1e-2: % vs fraction


def test_fix_and_difdup_forms_agree(jcamp_dir):
    lan = jcamp_dir / "Robert_J_Lancashire_test_data"
    fix = read_spectrum(lan / "jtpolys.jdx")
    difdup = read_spectrum(lan / "jtpolysd.jdx")
    np.testing.assert_allclose(fix.x, difdup.x, atol=1e-3)
    # Identical integers; the DIFDUP header's YFACTOR has a typo (2.3884e-9 for 2.3842e-9).
    ratio = 2.384185791e-09 / 2.3884185791e-09
    np.testing.assert_allclose(difdup.y * ratio, fix.y, rtol=1e-12)


def test_indene_affn_xy_and_difdup_forms_agree(jcamp_dir):
    lan = jcamp_dir / "Robert_J_Lancashire_test_data"
    absorb = read_spectrum(lan / "fixinc2.jdx")   # AFFN (X++(Y..Y)), absorbance
    xy = read_spectrum(lan / "xyinc1.jdx")        # AFFN (XY..XY) pairs, transmittance
    dup = read_spectrum(lan / "dupinc2.jdx")      # DIFDUP, %T, its own axis
    np.testing.assert_allclose(absorb.x, xy.x)
    ok = xy.y > 0.05
    np.testing.assert_allclose(absorb.y[ok], -np.log10(xy.y[ok]), atol=1e-4)  # 4-decimal rounding
    on_xy = np.interp(xy.x, dup.x, dup.y / 100.0)
    assert np.median(np.abs(on_xy - xy.y)) < 1e-4
    assert np.max(np.abs(on_xy - xy.y)) < 0.01  # xyinc1 was interpolated from dupinc2


FORMS = ["affn", "pac", "sqz", "dif", "difdup", "sqzdup"]


@pytest.mark.parametrize("per_line", [10, 40])
@pytest.mark.parametrize("step", [2, -2], ids=["inc", "dec"])
@pytest.mark.parametrize("form", FORMS)
def test_every_compression_form_decodes_to_the_same_values(tmp_path, form, step, per_line):
    y = test_ordinates()
    path = tmp_path / f"{form}.jdx"
    path.write_text(jcamp_text(y, form=form, first_x=400 if step > 0 else 4000, step=step,
                               per_line=per_line))
    spec = read_spectrum(path)
    np.testing.assert_array_equal(spec.y, np.array(y) * 0.001)
    assert spec.x[0] == (400 if step > 0 else 4000)
    assert np.all(np.diff(spec.x) * step > 0)


def test_text_fixes_are_applied_and_recorded(tmp_path):
    y = test_ordinates()
    text = jcamp_text(y, form="sqzdup", per_line=40, extra="##$COMMENT=x $$ trailing comment")
    text = "\n".join(("  " + line if line.startswith("##") else line) for line in text.splitlines())
    text = text.replace("##YFACTOR=0.001", "##YFACTOR=0.001 $$ scale")
    path = tmp_path / "quirky.jdx"
    path.write_bytes(text.encode() + b"\x1a garbage after ctrl-z")
    spec = read_spectrum(path)
    np.testing.assert_array_equal(spec.y, np.array(y) * 0.001)
    assert set(spec.meta["preprocessing"]) == {
        "expanded DUP counts", "removed inline $$ comments", "removed blanks before ##labels",
        "dropped Ctrl-Z end-of-file marker"}


def test_damaged_dif_data_are_refused(tmp_path):
    y = test_ordinates()
    lines = jcamp_text(y, form="dif").splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("##XYDATA")) + 3
    lines[i] = lines[i][:-2]  # drop a difference mid-table: later Y-checks fail
    path = tmp_path / "damaged.jdx"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(SpectrumError, match="damaged.jdx.*(Y-check|NPOINTS|Y values)"):
        read_spectrum(path)


def test_wrong_axis_units_are_refused(tmp_path):
    path = tmp_path / "hz.jdx"
    path.write_text(jcamp_text([1, 2, 3, 4], xunits="HZ"))
    with pytest.raises(SpectrumError, match="XUNITS 'HZ' is not an axis unit for ftir"):
        read_spectrum(path)
    path.write_text(jcamp_text([1, 2, 3, 4], xunits="MICROMETERS", first_x=2, step=1))
    assert read_spectrum(path).x_unit == "um"


def test_oversized_and_empty_files_are_refused(tmp_path):
    big = tmp_path / "big.jdx"
    with big.open("wb") as fh:  # sparse: costs no disk
        fh.truncate(50 * 1024 * 1024 + 1)
    with pytest.raises(SpectrumError, match=r"big\.jdx.*50 MB"):
        read_spectrum(big)
    empty = tmp_path / "empty.jdx"
    empty.write_bytes(b"")
    with pytest.raises(SpectrumError, match="empty"):
        read_spectrum(empty)


def test_synthetic_label_is_detected(tmp_path):
    path = tmp_path / "S1.jdx"
    path.write_text(jcamp_text([1, 2, 3, 4], extra="##$SYNTHETIC=TRUE"))
    assert read_spectrum(path).meta["synthetic"] is True


def test_parallel_parse_equals_serial(tmp_path, jcamp_dir):
    # 60 files (over the parallel threshold) of real spectra in several forms.
    sources = sorted((jcamp_dir / "infrared_spectra").glob("*.jdx"))
    sources = [p for p in sources if p.stat().st_size < 40_000][:6]
    sources += [jcamp_dir / "Robert_J_Lancashire_test_data" / n for n in ("dupdec2.jdx", "jtpolysd.jdx")]
    folder = tmp_path / "spectra"
    folder.mkdir()
    for i in range(60):
        src = sources[i % len(sources)]
        if "compound" in src.name:
            continue
        (folder / f"S{i:03d}_{src.stem.replace(' ', '-')}.jdx").write_bytes(src.read_bytes())
    with contextlib.redirect_stdout(io.StringIO()):
        serial = read_spectra(folder, kind="ftir", n_jobs=1)
        parallel = read_spectra(folder, kind="ftir", n_jobs=2)
    assert len(serial) == len(parallel) == 60
    for a, b in zip(serial, parallel, strict=True):
        assert (a.sample_id, a.source, a.x_unit, a.y_unit) == (b.sample_id, b.source, b.x_unit, b.y_unit)
        np.testing.assert_array_equal(a.x, b.x)
        np.testing.assert_array_equal(a.y, b.y)
        assert a.meta == b.meta and a.raw == b.raw
    assert serial[0].sample_id == "S000"


def test_missing_ordinates_are_refused_clearly(tmp_path):
    text = jcamp_text([1, 2, 3, 4, 5, 6], form="affn").replace(" 3 ", " ? ")
    path = tmp_path / "gaps.jdx"
    path.write_text(text)
    with pytest.raises(SpectrumError, match=r"gaps\.jdx.*'\?' \(not measured\)"):
        read_spectrum(path)



@pytest.mark.parametrize(("word", "unit"), [
    ("1/CM", "1/cm"), ("cm-1", "1/cm"), ("Wavenumbers", "1/cm"), ("MICROMETERS", "um"), ("microns", "um"),
    ("NANOMETERS", "nm"), ("Wavelength (nm)", "nm"), ("HZ", "hz"), ("PPM", "ppm")])
def test_x_unit_words(word, unit):
    from footprint.ingest._jcamp import normalise_x_unit

    assert normalise_x_unit(word) == unit


@pytest.mark.parametrize(("word", "values", "unit"), [
    ("ABSORBANCE", [0.1, 2.5], "absorbance"), ("A", [0.1], "absorbance"),
    ("TRANSMITTANCE", [0.2, 0.9], "transmittance"), ("TRANSMITTANCE", [20.0, 90.0], "percent_transmittance"),
    ("%T", [20.0], "percent_transmittance"), ("% Transmittance", [20.0], "percent_transmittance"),
    ("REFLECTANCE", [0.5], "reflectance"), ("Kubelka-Munk", [0.5], "kubelka_munk"),
    ("ARBITRARY UNITS", [5.0], "arbitrary"), ("COUNTS", [5.0], "counts"),
    ("Logarithm epsilon", [1.0], "logarithm epsilon")])
def test_y_unit_words(word, values, unit):
    from footprint.ingest._jcamp import normalise_y_unit

    assert normalise_y_unit(word, np.array(values))[0] == unit


@pytest.mark.parametrize(("data_type", "kind"), [
    ("INFRARED SPECTRUM", "ftir"), ("FTIR SPECTRUM", "ftir"), ("IR SPECTRUM", "ftir"),
    ("UV/VIS SPECTRUM", "uvvis"), ("UV-VISIBLE SPECTRUM", "uvvis"), ("UV/VIS/NIR", "uvvis"),
    ("RAMAN SPECTRUM", "raman"), ("PHOTOLUMINESCENCE SPECTRUM", "pl"), ("SIMPLE GRAPH", None), ("", None)])
def test_kind_from_data_type(data_type, kind):
    from footprint.ingest import detect_kind

    assert detect_kind(data_type) == kind


@pytest.mark.parametrize("data_type", ["NMR SPECTRUM", "NMR FID", "MASS SPECTRUM", "CONTINUOUS MASS SPECTRUM",
                                       "GAS CHROMATOGRAM", "NMR PEAK ASSIGNMENTS"])
def test_refused_data_types(data_type):
    from footprint.ingest import detect_kind

    with pytest.raises(ValueError, match="not"):
        detect_kind(data_type)


@pytest.mark.skipif(not ALL_FILES, reason="../shared/jcamp-dx not available")
def test_plain_affn_tables_decode_as_jcamp_decodes_them_whole():
    """The AFFN fast path (header by jcamp, numbers split in C) equals jcamp's own decode, file by file."""
    import jcamp

    from footprint.ingest import _affn, _jcamp

    fast = 0
    for path in ALL_FILES:
        lines, _ = _jcamp.preprocess(path.read_bytes())
        if _affn.affn_table(lines) is None:
            continue
        try:
            with contextlib.redirect_stdout(io.StringIO()) as printed:
                whole = jcamp.read(lines)
        except Exception:  # noqa: BLE001 - files jcamp cannot read are covered by the refusal tests
            continue
        ours, messages = _jcamp._decode(lines)
        fast += 1
        assert np.array_equal(np.asarray(ours["y"], dtype=float), np.asarray(whole["y"], dtype=float)), path
        assert np.array_equal(np.asarray(ours["x"]), np.asarray(whole["x"])), path
        assert {k: str(v) for k, v in ours.items() if k not in ("x", "y")} == \
            {k: str(v) for k, v in whole.items() if k not in ("x", "y")}, path
        checks = [m for m in printed.getvalue().splitlines() if "Check failed" in m]
        assert messages.splitlines() == checks, path
    assert fast >= 50  # most instrument exports are plain AFFN tables
