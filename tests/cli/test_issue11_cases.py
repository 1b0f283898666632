"""Issue 11, case by case: the command, the exit code, the message, and the files left unchanged.

Each test is named after the numbered case of the issue it reproduces.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import unicodedata
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from .conftest import STONES, sha256, tree_hashes

FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"click\")", "=cmd|' /C calc'!A0", "@SUM(1+1)", "+1+2",
            "-2+3"]


def _read_csv(path: Path) -> list[dict[str, str]]:
    lines = [ln for ln in Path(path).read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    return list(csv.DictReader(io.StringIO("\n".join(lines))))


def _no_formula_cells(rows: list[dict[str, str]], numeric: set[str] = frozenset()) -> None:
    for row in rows:
        for key, value in row.items():
            if key in numeric:
                if value:
                    float(value)  # numbers stay numbers, negative ones too
                continue
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (key, value)


# -- case 1: outputs overwrite their inputs ------------------------------------------------


def test_case1_db_export_onto_its_store(store: Path, run) -> None:
    before = sha256(store)
    result = run("db", "export", store, store, code=2)
    assert "same file as the input" in result.output and str(store) in result.output
    assert sha256(store) == before
    run("db", "verify", store, code=0)


def test_case1_classify_outputs_onto_inputs(demo_model: Path, parcel_files, store: Path, run,
                                            tmp_path: Path) -> None:
    stones, parcels = (shutil.copy(p, tmp_path / p.name) for p in parcel_files)
    model = tmp_path / "model"
    shutil.copytree(demo_model, model)
    watched = [Path(stones), Path(parcels), store, model]
    before = [tree_hashes(p) for p in watched]
    for extra in (["--out", stones], ["--parcels", parcels, "--out", parcels],
                  ["--db", store, "--out", store],
                  ["--out", tmp_path / "r.csv", "--report", model / "manifest.json"],
                  ["--out", tmp_path / "r.csv", "--stones-out", stones]):
        result = run("classify", model, stones, *extra, "--quiet", code=2)
        assert "refusing" in result.output
    assert [tree_hashes(p) for p in watched] == before
    assert not (tmp_path / "r.csv").exists()


def test_case1_train_onto_its_store_and_existing_model(store: Path, demo_model: Path, run, tmp_path) -> None:
    model = tmp_path / "model"
    shutil.copytree(demo_model, model)
    before = tree_hashes(model), sha256(store)
    assert "same file as the input" in run("train", store, "--out", store, code=2).output
    assert "--force" in run("train", store, "--out", model, code=2).output  # case 10: no silent overwrite
    assert (tree_hashes(model), sha256(store)) == before


# -- case 2: the manifest is covered by tamper evidence ---------------------------------------


@pytest.mark.parametrize("edit", [{"consistent_log10_lr": -1000}, {"min_parcel_stones": 1}])
def test_case2_edited_thresholds_exit_5(edit, demo_model: Path, parcel_files, run, tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(demo_model, model)
    manifest = json.loads((model / "manifest.json").read_text())
    manifest["thresholds"].update(edit)
    (model / "manifest.json").write_text(json.dumps(manifest, indent=2))
    result = run("classify", model, parcel_files[0], "--out", tmp_path / "r.csv", "--quiet", code=5)
    assert "manifest" in result.output and "digest does not match" in result.output
    assert not (tmp_path / "r.csv").exists()


# -- case 3: db verify sees edits to content --------------------------------------------------


@pytest.mark.parametrize(("dataset", "value", "named"), [
    ("stones/mass_ct", 9.99, "stones/mass_ct"),
    ("audit/by", b"mallory", "audit/by"),
])
def test_case3_h5py_edits_fail_verify_and_train(dataset, value, named, store: Path, run) -> None:
    with h5py.File(store, "r+") as fh:
        fh[dataset][0 if dataset.startswith("stones") else -1] = value
    result = run("db", "verify", store, code=4)
    assert named in result.output and "changed" in result.output
    before = sha256(store)
    result = run("train", store, "--out", store.parent / "m", code=4)
    assert "verification failed" in result.output and "--accept-unverified-store" in result.output
    assert sha256(store) == before and not (store.parent / "m").exists()


def test_case3_unverified_store_accepted_is_recorded(store: Path, demo_model: Path, parcel_files, run,
                                                     tmp_path: Path) -> None:
    with h5py.File(store, "r+") as fh:
        fh["stones/mass_ct"][0] = 9.99
    out = tmp_path / "r.csv"
    args = ("classify", demo_model, parcel_files[0], "--out", out, "--db", store, "--report",
            tmp_path / "r.html", "--quiet")
    assert "--accept-unverified-store" in run(*args, code=4).output
    assert not out.exists()
    result = run(*args, "--accept-unverified-store")
    assert result.exit_code in (0, 6), result.output
    audit = json.loads((tmp_path / "r.csv.audit.json").read_text())
    assert audit["options"]["accept_unverified_store"] is True
    assert any("stones/mass_ct" in w for w in audit["warnings"])


def test_case3_legacy_store_opens_and_can_be_sealed(repo_root: Path, run, tmp_path: Path) -> None:
    legacy = tmp_path / "store_v1.h5"
    shutil.copyfile(repo_root / "tests" / "store" / "data" / "store_v1.h5", legacy)
    result = run("db", "verify", legacy, code=0)
    assert "legacy" in result.output and "--seal" in result.output
    run("db", "verify", legacy, "--seal", code=0)
    assert "legacy" not in run("db", "verify", legacy, code=0).output


# -- case 4: formula injection -------------------------------------------------------------


def test_case4_exports_neutralise_formulas(tmp_path: Path, run) -> None:
    stones = tmp_path / "evil.csv"
    rows = "".join(f"E{i},CAR-West,Site{i},L{i},0.{i + 1},{_q(f)},{_q(f)}\n" for i, f in enumerate(FORMULAS))
    stones.write_text("sample_id,zone,site,lot_id,mass_ct,notes,lab\n" + rows, encoding="utf-8")
    store = tmp_path / "e.h5"
    run("db", "init", store, code=0)
    run("db", "add", store, "--stones", stones, "--by", "t", code=0)
    out = tmp_path / "export.csv"
    run("db", "export", store, out, code=0)
    exported = _read_csv(out)
    assert [r["notes"] for r in exported] == ["'" + f for f in FORMULAS]
    _no_formula_cells(exported, numeric={"mass_ct"})
    listed = list(csv.DictReader(io.StringIO(run("db", "list", store, "--csv", code=0).stdout)))
    assert [r["lab"] for r in listed] == ["'" + f for f in FORMULAS]
    _no_formula_cells(listed, numeric={"mass_ct"})


def test_case4_classify_outputs_neutralise_parcel_ids(demo_model: Path, parcel_files, run,
                                                      tmp_path: Path) -> None:
    frame = pd.read_csv(parcel_files[0], comment="#")
    first = frame["parcel_id"].iloc[0]
    frame.loc[frame["parcel_id"] == first, "parcel_id"] = "=cmd|' /C calc'!A0"
    stones = tmp_path / "stones.csv"
    frame.to_csv(stones, index=False)
    out, stones_out = tmp_path / "r.csv", tmp_path / "s.csv"
    result = run("classify", demo_model, stones, "--out", out, "--stones-out", stones_out, "--quiet")
    assert result.exit_code in (0, 6), result.output
    results = _read_csv(out)
    assert results[0]["parcel_id"] == "'=cmd|' /C calc'!A0"
    text = ("parcel_id", "declared_zone", "verdict", "best_zone", "flags", "typical_sites", "top_fields")
    _no_formula_cells(results, numeric={k for k in results[0] if k not in text})
    per_stone = _read_csv(stones_out)
    assert per_stone[0]["parcel_id"] == "'=cmd|' /C calc'!A0"


def _q(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


# -- case 5: clear errors instead of tracebacks ------------------------------------------------


@pytest.mark.parametrize("blank", ["", "   "])
def test_case5_empty_parcel_id_exit_3(blank: str, demo_model: Path, parcel_files, run,
                                      tmp_path: Path) -> None:
    frame = pd.read_csv(parcel_files[0], comment="#")
    frame.loc[3, "parcel_id"] = blank
    stones = tmp_path / "stones.csv"
    frame.to_csv(stones, index=False)
    result = run("classify", demo_model, stones, "--out", tmp_path / "r.csv", "--quiet", code=3)
    assert "row 4" in result.output and "parcel_id" in result.output
    assert not (tmp_path / "r.csv").exists()


def test_case5_random_binary_stones_exit_3(demo_model: Path, run, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    for k in range(12):
        junk = tmp_path / f"junk{k}.csv"
        junk.write_bytes(rng.integers(0, 256, size=int(rng.integers(1, 400)), dtype=np.uint8).tobytes())
        result = run("classify", demo_model, junk, "--out", tmp_path / "r.csv", "--quiet", code=3)
        assert junk.name in result.output


def test_case5_extract_images_onto_existing_file(store: Path, run, tmp_path: Path) -> None:
    target = tmp_path / "photo.png"
    target.write_bytes(b"precious")
    result = run("db", "show", store, "R1", "--extract-images", target, code=2)
    assert "--extract-images" in result.output
    assert target.read_bytes() == b"precious"


# -- case 6: no half-finished outputs ------------------------------------------------------------


def test_case6_failed_report_leaves_no_results(demo_model: Path, parcel_files, run, tmp_path: Path,
                                               monkeypatch) -> None:
    import footprint.report as report

    def broken(*args, **kwargs):
        raise RuntimeError("the renderer broke")

    for name in dir(report):
        if name.startswith("render") and callable(getattr(report, name)):
            monkeypatch.setattr(report, name, broken)
    out = tmp_path / "r.csv"
    result = run("classify", demo_model, parcel_files[0], "--out", out, "--stones-out", tmp_path / "s.csv",
                 "--report", tmp_path / "r.html", "--quiet")
    assert result.exit_code == 1 and "internal error" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_case6_failed_store_leaves_no_results(demo_model: Path, parcel_files, run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not a store")
    run("classify", demo_model, parcel_files[0], "--out", tmp_path / "r.csv", "--db", bad, "--report",
        tmp_path / "r.html", "--quiet", code=4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.h5"]


# -- case 7: names that look equal ---------------------------------------------------------------


def test_case7_nfc_nfd_and_unaccented_sites(tmp_path: Path, run) -> None:
    nfc, nfd = unicodedata.normalize("NFC", "Berbérati"), unicodedata.normalize("NFD", "Berbérati")
    stones = tmp_path / "names.csv"
    stones.write_text("sample_id,zone,site,lot_id,mass_ct\n"
                      f"N1,CAR-West,{nfc},L1,0.5\nN2,CAR-West,{nfd},L1,0.6\nN3,CAR-West,Berberati,L2,0.7\n",
                      encoding="utf-8")
    store = tmp_path / "n.h5"
    run("db", "init", store, code=0)
    result = run("db", "add", store, "--stones", stones, "--by", "t", code=0)
    assert "differ only by case, accents or spacing" in result.output and "Berberati" in result.output
    info = json.loads(run("db", "info", store, "--json", code=0).stdout)
    assert info["sites"] == {nfc: 2, "Berberati": 1}


# -- case 8: UTF-16 ----------------------------------------------------------------------------


def test_case8_utf16_stones(tmp_path: Path, run) -> None:
    stones = tmp_path / "unicode.txt"
    stones.write_bytes(STONES.replace(",", "\t").replace("Berberati", "Berbérati").encode("utf-16"))
    store = tmp_path / "u.h5"
    run("db", "init", store, code=0)
    result = run("db", "add", store, "--stones", stones, "--by", "t", code=0)
    assert "UTF-16" in result.output
    info = json.loads(run("db", "info", store, "--json", code=0).stdout)
    assert "Berbérati" in info["sites"] and info["stones"] == 3


def test_case8_utf16_parcel_stones_classify(demo_model: Path, parcel_files, run, tmp_path: Path) -> None:
    text = Path(parcel_files[0]).read_text(encoding="utf-8")
    stones = tmp_path / "unicode.csv"
    stones.write_bytes(text.encode("utf-16"))
    a = run("classify", demo_model, stones, "--out", tmp_path / "a.csv", "--quiet")
    b = run("classify", demo_model, parcel_files[0], "--out", tmp_path / "b.csv", "--quiet")
    assert a.exit_code == b.exit_code and a.exit_code in (0, 6), a.output
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


# -- case 9: audit -------------------------------------------------------------------------------


def test_case9_audit_holds_store_hash_and_banner(demo_model: Path, parcel_files, small_store: Path, run,
                                                 tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    result = run("classify", demo_model, parcel_files[0], "--parcels", parcel_files[1], "--db", small_store,
                 "--out", out, "--report", tmp_path / "r.html", "--quiet")
    assert result.exit_code in (0, 6), result.output
    audit = json.loads((tmp_path / "r.csv.audit.json").read_text())
    assert audit["inputs"]["store"]["sha256"] == sha256(small_store)
    assert audit["inputs"]["store"]["content_hash"]
    assert audit["inputs"]["model"]["files"]
    assert any("not the one the model was trained on" in w for w in audit["warnings"])


# -- case 10: the smaller items --------------------------------------------------------------------


def test_case10_csv_spectrum_with_nan_exit_3(store: Path, run, tmp_path: Path) -> None:
    spectrum = tmp_path / "R1_top.csv"
    spectrum.write_text("wavenumber (cm-1),absorbance\n4000,0.1\n3000,nan\n2000,0.3\n")
    before = sha256(store)
    result = run("db", "add", store, "--spectra", spectrum, "--kind", "ftir", "--jobs", "1", code=3)
    assert "non-finite" in result.output and sha256(store) == before


def test_case10_no_runtime_warning_and_no_fake_numbers_for_an_unmeasured_parcel(demo_model: Path, run,
                                                                               tmp_path: Path) -> None:
    stones = tmp_path / "bare.csv"
    stones.write_text("sample_id,parcel_id\nB1,P-bare\nB2,P-bare\nB3,P-bare\n")
    out = tmp_path / "r.csv"
    result = run("classify", demo_model, stones, "--out", out, "--report", tmp_path / "r.html", "--quiet")
    assert result.exit_code == 6, result.output
    assert "RuntimeWarning" not in result.output
    row = pd.read_csv(out).iloc[0]
    assert np.isnan(row["novelty_p"]) and row["verdict"] == "inconclusive"
    assert "0.00 ct" not in (tmp_path / "r.html").read_text(encoding="utf-8")
