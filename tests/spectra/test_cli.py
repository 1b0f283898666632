"""``footprint ftir`` through typer's CliRunner: table, JSON, refusal exit code, plot."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from footprint.cli import app
from footprint.spectra import FTIRTruth, simulate_from_truth

TRUTHS = {
    "STONE-1": FTIRTruth(n_a_ppm=250.0, n_b_ppm=120.0, platelet_area_cm2=5.0, platelet_position_cm1=1368.0,
                         h3107_area_cm2=3.0, thickness_mm=1.2),
    "STONE-2": FTIRTruth(n_a_ppm=40.0, n_b_ppm=300.0, thickness_mm=0.8, baseline=(0.3, 0.2, 0.05)),
    "STONE-3": FTIRTruth(n_a_ppm=0.0, n_b_ppm=0.0, thickness_mm=2.0),
}


@pytest.fixture
def folder(tmp_path, write_jdx):
    rng = np.random.default_rng(11)
    for i, (name, truth) in enumerate(TRUTHS.items()):
        x, a = simulate_from_truth(truth, rng=rng)
        if i == 1:  # one file in percent transmittance, descending axis
            write_jdx(tmp_path / f"{name}.jdx", x[::-1], 100.0 * 10.0 ** -a[::-1], yunits="%T")
        else:
            write_jdx(tmp_path / f"{name}.jdx", x, a)
    return tmp_path


def test_table_of_features(folder):
    result = CliRunner().invoke(app, ["ftir", str(folder), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 4
    assert lines[0].split()[:3] == ["sample", "N_ppm", "NA_ppm"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert set(rows) == set(TRUTHS)
    assert float(rows["STONE-1"][1]) == pytest.approx(370.0, rel=0.05)
    assert "IIa" in rows["STONE-3"]


def test_json_output_and_refusal_exit_code(folder, shared_dir):
    shutil.copy(shared_dir / "jcamp-dx" / "infrared_spectra" / "toluene.jdx", folder / "toluene.jdx")
    shutil.copy(shared_dir / "jcamp-dx" / "jcamp-dx.org_official_test_data" / "TESTSPEC.DX",
                folder / "TESTSPEC.DX")
    result = CliRunner().invoke(app, ["ftir", str(folder), "--json", "--jobs", "1"])
    assert result.exit_code == 3
    payload = json.loads(result.stdout)
    by_id = {row["sample_id"]: row for row in payload["spectra"]}
    assert set(by_id) == set(TRUTHS)
    assert by_id["STONE-2"]["n_b_percent"] == pytest.approx(100 * 300 / 340, abs=3.0)
    assert any("transmittance" in step for step in by_id["STONE-2"]["recipe"]["conversions"])
    assert by_id["STONE-1"]["platelet_position_cm1"] == pytest.approx(1368.0, abs=1.5)
    refused = {r["file"].rsplit("/", 1)[-1] for r in payload["refused"]}
    assert refused == {"toluene.jdx", "TESTSPEC.DX"}
    assert "toluene.jdx" in result.stderr and "two-phonon" in result.stderr
    assert "NMR" in result.stderr


def test_plot_is_written(folder, tmp_path):
    out = tmp_path / "fit.png"
    result = CliRunner().invoke(app, ["ftir", str(folder / "STONE-1.jdx"), "--plot", str(out)])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_only_refused_files_exit_3_without_table(shared_dir):
    result = CliRunner().invoke(app, ["ftir", str(shared_dir / "jcamp-dx" / "uvvis_spectra" / "toluene.jdx")])
    assert result.exit_code == 3
    assert result.stdout.strip() == ""
    assert "uvvis" in result.stderr


def test_folder_without_spectra_is_an_input_error(tmp_path):
    result = CliRunner().invoke(app, ["ftir", str(tmp_path)])
    assert result.exit_code == 3
    assert "no JCAMP-DX files" in result.stderr


def test_parallel_reading_gives_the_same_results_in_order(tmp_path, write_jdx):
    from footprint.spectra import analyse_files

    rng = np.random.default_rng(12)
    for i in range(40):
        x, a = simulate_from_truth(FTIRTruth(n_a_ppm=10.0 * i, n_b_ppm=5.0 * i), rng=rng)
        write_jdx(tmp_path / f"P{i:03d}.jdx", x, a)
    (tmp_path / "broken.jdx").write_text("##TITLE=not a spectrum\n##END=\n")
    serial, serial_problems, files = analyse_files([tmp_path], n_jobs=1)
    parallel, parallel_problems, _ = analyse_files([tmp_path], n_jobs=2)
    assert list(parallel["sample_id"]) == [f"P{i:03d}" for i in range(40)]
    np.testing.assert_allclose(parallel["n_total_ppm"], serial["n_total_ppm"])
    np.testing.assert_allclose(parallel["n_total_ppm"], [15.0 * i for i in range(40)], atol=2.0)
    assert [p.file for p in parallel_problems] == [p.file for p in serial_problems]
    assert {p.file for p in serial_problems} == {str(tmp_path / "broken.jdx")} and len(files) == 41


def test_two_column_csv_file(tmp_path):
    x, a = simulate_from_truth(FTIRTruth(n_a_ppm=120.0, n_b_ppm=60.0), rng=np.random.default_rng(2))
    path = tmp_path / "stone.csv"
    path.write_text("x,y\n" + "\n".join(f"{u:.4f},{v:.6f}" for u, v in zip(x, a, strict=True)) + "\n")
    result = CliRunner().invoke(app, ["ftir", str(path), "--json"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)["spectra"][0]
    assert row["n_total_ppm"] == pytest.approx(180.0, abs=10.0)
