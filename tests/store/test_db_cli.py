"""`footprint db ...` end to end: real lab files through ingest, FTIR derivation and the store."""

from __future__ import annotations

import io
import json
import logging

import h5py
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from footprint import db
from footprint.cli import app
from footprint.spectra import simulate_ftir

# Ground truth of the files written below: two FTIR spectra simulated with known nitrogen.
TRUE_N = {"LAB-001": (80.0, 20.0), "LAB-002": (600.0, 400.0)}  # (N_A, N_B) ppm

STONES_CSV = """Sample ID,Zone,Site,Lot,Weight (ct),color,N (ppm),notes
LAB-001,CAR-West,Berberati,L1,0.42,yellow,100,first stone
LAB-002,CAR-East,Bria,L2,1.10,brown,1000,
LAB-003,CAR-West,Carnot,L3,0.08,,,no spectrum
"""


def write_jcamp(path, sample_id, x, y, *, synthetic=True):
    """A plain AFFN JCAMP-DX 4.24 absorbance file, X descending as FTIR instruments write."""
    order = np.argsort(-x)
    x, y = x[order], y[order]
    lines = [f"##TITLE={sample_id}", "##JCAMP-DX=4.24", "##DATA TYPE=INFRARED SPECTRUM",
             "##ORIGIN=footprint store tests", "##OWNER=public domain"]
    if synthetic:
        lines.append("##$SYNTHETIC=TRUE")
    lines += ["##XUNITS=1/CM", "##YUNITS=ABSORBANCE", "##XFACTOR=1.0", "##YFACTOR=1.0",
              f"##FIRSTX={x[0]:.6f}", f"##LASTX={x[-1]:.6f}", f"##DELTAX={(x[-1] - x[0]) / (x.size - 1):.6f}",
              f"##NPOINTS={x.size}", f"##FIRSTY={y[0]:.6f}", "##XYDATA=(X++(Y..Y))"]
    for i in range(0, x.size, 8):
        lines.append(f"{x[i]:.6f} " + " ".join(f"{v:.6f}" for v in y[i:i + 8]))
    lines.append("##END=")
    path.write_text("\n".join(lines) + "\n", encoding="ascii")


def write_png(path, colour=(200, 180, 40)):
    from PIL import Image

    Image.new("RGB", (32, 24), colour).save(path, format="PNG")


@pytest.fixture
def lab(tmp_path):
    """A lab's delivery: stone table, JCAMP-DX folder, photos."""
    stones = tmp_path / "stones.csv"
    stones.write_text("# SYNTHETIC test data\n" + STONES_CSV, encoding="utf-8")
    spectra = tmp_path / "spectra"
    spectra.mkdir()
    for k, (sid, (n_a, n_b)) in enumerate(TRUE_N.items()):
        x, y = simulate_ftir(n_a, n_b, rng=k)
        write_jcamp(spectra / f"{sid}.jdx", sid, np.asarray(x), np.asarray(y))
    images = tmp_path / "images"
    images.mkdir()
    write_png(images / "LAB-001_top.png")
    write_png(images / "LAB-003.png", (90, 60, 30))
    return {"stones": stones, "spectra": spectra, "images": images, "dir": tmp_path}


def run(*args, code=0):
    # The CLI's log handler keeps the stderr of the first invocation, which CliRunner closes
    # afterwards; start each invocation without it so every run logs to its own stderr.
    logging.getLogger("footprint").handlers.clear()
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    return result


@pytest.fixture
def filled(lab):
    path = lab["dir"] / "ref.h5"
    run("db", "init", path)
    result = run("db", "add", path, "--stones", lab["stones"], "--spectra", lab["spectra"], "--kind", "ftir",
                 "--images", lab["images"], "--by", "Lab Tech", "--jobs", "1", "--json")
    return path, result


def test_add_reports_and_stores_everything(filled):
    path, result = filled
    report = json.loads(result.stdout)
    assert (report["rows_read"], report["added"], report["unchanged"], report["rejected"]) == (3, 3, 0, 0)
    assert "processing report" in result.stderr and "added       3" in result.stderr
    with db.ReferenceStore.open(path) as store:
        stones = store.stones().set_index("sample_id")
        derived = store.derived_ftir().set_index("sample_id")
        audit = store.audit_log()[-1]
        assert store.is_synthetic
        ids, grid, values = store.spectra_matrix("ftir")
    assert stones.loc["LAB-001", "mass_ct"] == 0.42 and stones.loc["LAB-002", "colour"] == "brown"
    assert stones.loc["LAB-001", "n_total_ppm"] == 100.0  # the lab's figure, synonyms mapped
    # the derived nitrogen belongs to the right stone: simulated N_total 100 vs 1000 ppm
    assert derived.loc["LAB-001", "n_total_ppm"] == pytest.approx(100, rel=0.25)
    assert derived.loc["LAB-002", "n_total_ppm"] == pytest.approx(1000, rel=0.25)
    assert sorted(ids) == ["LAB-001", "LAB-002"] and values.shape == (2, grid.size)
    assert audit["by"] == "Lab Tech" and audit["synthetic"] is True
    roles = sorted(s["role"] for s in audit["sources"])
    assert roles.count("stones") == 1 and roles.count("image") == 2
    assert all(len(s["sha256"]) == 64 for s in audit["sources"])


def test_info_list_show_export_verify_fields(filled, tmp_path):
    path, _ = filled
    info = json.loads(run("db", "info", path, "--json").stdout)
    assert info["stones"] == 3 and info["zones"] == {"CAR-East": 1, "CAR-West": 2}
    assert info["spectra"] == {"ftir": 2} and info["images"] == 2 and info["synthetic"] is True
    assert info["coverage"]["n_total_ppm"]["measured"] == 2
    text = run("db", "info", path).stdout
    assert "SYNTHETIC" in text and info["content_hash"] in text

    listed = pd.read_csv(io.StringIO(run("db", "list", path, "--zone", "CAR-West", "--csv").stdout))
    assert sorted(listed["sample_id"]) == ["LAB-001", "LAB-003"]
    as_json = json.loads(run("db", "list", path, "--json").stdout)
    assert [r["sample_id"] for r in as_json] == ["LAB-001", "LAB-002", "LAB-003"]

    out_dir = tmp_path / "photos"
    shown = json.loads(run("db", "show", path, "LAB-001", "--json", "--extract-images", out_dir).stdout)
    assert shown["record"]["site"] == "Berberati" and len(shown["history"]) == 1
    assert shown["spectra"][0]["kind"] == "ftir" and len(shown["derived_ftir"]) == 1
    extracted = list(out_dir.iterdir())
    assert len(extracted) == 1 and extracted[0].read_bytes() == (path.parent / "images" /
                                                                 "LAB-001_top.png").read_bytes()
    assert "LAB-001 (version 1)" in run("db", "show", path, "LAB-001").stdout
    run("db", "show", path, "NOPE", code=3)

    out = tmp_path / "export.csv"
    run("db", "export", path, out)
    assert out.read_text().startswith("# SYNTHETIC")
    again = tmp_path / "again.h5"  # the export reads back through ingest to the same records
    run("db", "init", again)
    run("db", "add", again, "--stones", out, "--by", "roundtrip")
    pd.testing.assert_frame_equal(db.list_samples(again), db.list_samples(path))

    assert run("db", "verify", path).stdout.startswith("OK")
    assert json.loads(run("db", "verify", path, "--json").stdout)["ok"] is True

    run("db", "fields", path, "--add", "ni_ppm", "--unit", "ppm", "--description", "Nickel", "--min", "0")
    fields = json.loads(run("db", "fields", path, "--json").stdout)
    assert fields[-1]["name"] == "ni_ppm" and fields[-1]["unit"] == "ppm"
    run("db", "fields", path, "--add", "ni_ppm", "--unit", "ppm", "--description", "again", code=3)


def test_readd_is_unchanged_and_replace_needs_reason(filled, lab):
    path, _ = filled
    before = path.read_bytes()
    result = run("db", "add", path, "--stones", lab["stones"], "--by", "x", "--json")
    assert json.loads(result.stdout)["unchanged"] == 3 and path.read_bytes() == before
    fixed = lab["dir"] / "fixed.csv"
    fixed.write_text(lab["stones"].read_text().replace("0.42", "0.43"))
    dup = run("db", "add", path, "--stones", fixed, "--by", "x", code=3)
    assert "LAB-001" in dup.stderr and "--replace" in dup.stderr
    run("db", "add", path, "--stones", fixed, "--by", "x", "--replace", code=3)
    assert path.read_bytes() == before
    rep = json.loads(run("db", "add", path, "--stones", fixed, "--by", "x", "--replace", "--reason",
                         "balance recalibrated", "--json").stdout)
    assert (rep["replaced"], rep["unchanged"]) == (1, 2)
    history = json.loads(run("db", "show", path, "LAB-001", "--json").stdout)["history"]
    assert [(h["version"], h["reason"]) for h in history] == [(1, None), (2, "balance recalibrated")]
    assert "balance recalibrated" in run("db", "show", path, "LAB-001").stdout


BAD = {
    "unknown_vocabulary": ("stones", "LAB-009,CAR-West,Nola,L9,0.2,purple,,\n", "purple"),
    "negative_mass": ("stones", "LAB-009,CAR-West,Nola,L9,-0.2,yellow,,\n", "mass_ct"),
    "missing_zone": ("stones", "LAB-009,,Nola,L9,0.2,yellow,,\n", "zone"),
    "duplicate_in_batch": ("stones", "LAB-009,CAR-West,Nola,L9,0.2,,,\nLAB-009,CAR-West,Nola,L9,0.3,,,\n",
                           "LAB-009"),
    "spectrum_without_stone": ("spectrum", "GHOST", "GHOST"),
    "nmr_file": ("nmr", "LAB-001", "NMR"),
    "broken_image": ("image", "LAB-001_side.png", "LAB-001_side.png"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_refused_and_the_store_is_unchanged(filled, lab, case):
    path, _ = filled
    before = path.read_bytes()
    kind, payload, words = BAD[case]
    bad_dir = lab["dir"] / f"bad-{case}"
    bad_dir.mkdir()
    args = ["db", "add", path, "--by", "x"]
    if kind == "stones":
        (bad_dir / "stones.csv").write_text(STONES_CSV.splitlines()[0] + "\n" + payload)
        args += ["--stones", bad_dir / "stones.csv"]
    elif kind == "spectrum":
        x, y = simulate_ftir(100, 50, rng=3)
        write_jcamp(bad_dir / f"{payload}.jdx", payload, np.asarray(x), np.asarray(y))
        args += ["--spectra", bad_dir]
    elif kind == "nmr":
        (bad_dir / f"{payload}.jdx").write_text(
            f"##TITLE={payload}\n##JCAMP-DX=4.24\n##DATA TYPE=NMR SPECTRUM\n##.OBSERVE FREQUENCY=400\n"
            "##XUNITS=HZ\n##YUNITS=ARBITRARY UNITS\n##FIRSTX=0\n##LASTX=3\n##NPOINTS=4\n"
            "##XYDATA=(X++(Y..Y))\n0 1 2 3 4\n##END=\n")
        args += ["--spectra", bad_dir]
    else:
        (bad_dir / payload).write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
        args += ["--images", bad_dir]
    result = run(*args, code=3)
    assert words in result.stderr
    assert path.read_bytes() == before
    with db.ReferenceStore.open(path) as store:
        store.verify()


def test_store_errors_have_exit_code_4(filled, tmp_path):
    path, _ = filled
    run("db", "init", path, code=4)  # never overwrites
    with h5py.File(path, "r+") as fh:
        blob = fh["spectra_data/raw"]
        blob[10] = blob[10] ^ 0x01
    result = run("db", "verify", path, code=4)
    assert result.stdout.startswith("FAILED") and "sha256" in result.stdout
    problems = json.loads(run("db", "verify", path, "--json", code=4).stdout)["problems"]
    assert any("LAB-00" in p for p in problems)
    with h5py.File(path, "r+") as fh:
        fh.attrs["format_version"] = 7
    assert "newer than this footprint" in run("db", "info", path, code=4).stderr
    run("db", "info", tmp_path / "missing.h5", code=4)


def test_near_duplicate_names_across_batches_are_warned(tmp_path):
    """Issue 11 case 7: a new batch's 'berbérati' next to the store's 'Berberati' is named."""
    path = tmp_path / "n.h5"
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("sample_id,zone,site,lot_id,mass_ct\nA1,CAR-West,Berberati,L1,0.5\n", encoding="utf-8")
    second.write_text("sample_id,zone,site,lot_id,mass_ct\nB1,car west,berbérati,L9,0.5\n", encoding="utf-8")
    run("db", "init", path)
    run("db", "add", path, "--stones", first, "--by", "t")
    result = run("db", "add", path, "--stones", second, "--by", "t")
    assert "field 'site': 'berbérati' in this batch differs only by case, accents or spacing from " \
           "'Berberati'" in result.stderr
    assert "field 'zone': 'car west'" in result.stderr
