"""``footprint classify`` end to end: known-truth verdicts, outputs, exit codes, audit, re-runs."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from footprint.cli import app

RESULT_COLUMNS = [
    "parcel_id",
    "n_stones",
    "declared_zone",
    "verdict",
    "best_zone",
    "p_CAR-East",
    "p_CAR-West",
    "log10_lr",
    "foreign_fraction",
    "foreign_fraction_lo",
    "foreign_fraction_hi",
    "novelty_p",
    "mixed_p",
    "fit_p",
    "flags",
    "typical_sites",
    "top_fields",
]
STONE_COLUMNS = ["parcel_id", "sample_id", "best_zone", "p_CAR-East", "p_CAR-West", "novelty_p", "p_foreign"]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _classify(*args: str) -> object:
    return CliRunner().invoke(app, ["classify", *map(str, args)])


@pytest.fixture(scope="module")
def site_run(model_dir: Path, site_parcels, tmp_path_factory: pytest.TempPathFactory) -> dict:
    stones_csv, parcels_csv, truth = site_parcels
    out_dir = tmp_path_factory.mktemp("site-run")
    out = out_dir / "results.csv"
    result = _classify(
        model_dir,
        stones_csv,
        "--parcels",
        parcels_csv,
        "--out",
        out,
        "--stones-out",
        out_dir / "stones.csv",
        "--chunk-size",
        60,
        "--json",
    )
    return {"result": result, "out": out, "stones_out": out_dir / "stones.csv", "truth": truth}


def test_pure_east_parcels_declared_west_are_not_consistent(site_run: dict) -> None:
    result = site_run["result"]
    assert result.exit_code == 6, result.output  # ran, and some parcels need expert review
    results = pd.read_csv(site_run["out"])
    assert list(results.columns) == RESULT_COLUMNS
    merged = results.merge(site_run["truth"], on="parcel_id")
    assert len(merged) == len(site_run["truth"]) == 8
    east = merged[merged["zone"] == "CAR-East"]
    west = merged[merged["zone"] == "CAR-West"]
    # Strong evidence: 50 stones of one East site, declared West.
    assert (east["verdict"] == "inconsistent").all(), east[["parcel_id", "verdict", "log10_lr"]]
    assert (east["best_zone"] == "CAR-East").all()
    assert (east["log10_lr"] <= -1).all()
    # What they claim: never called inconsistent, and mostly consistent.
    assert not (west["verdict"] == "inconsistent").any(), west[["parcel_id", "verdict", "log10_lr"]]
    assert (west["verdict"] == "consistent").sum() >= 3
    assert (results["n_stones"] == 50).all()
    probabilities = results[["p_CAR-East", "p_CAR-West"]].sum(axis=1)
    assert probabilities.round(4).eq(1).all()


def test_stone_results_and_json_mirror_the_files(site_run: dict) -> None:
    stones = pd.read_csv(site_run["stones_out"])
    assert list(stones.columns) == STONE_COLUMNS
    assert len(stones) == 8 * 50
    payload = json.loads(site_run["result"].stdout)
    # An empty text cell (no flag raised) is "" in JSON and a blank (NaN once read) in the CSV.
    from_json = pd.DataFrame(payload["parcels"])[RESULT_COLUMNS].replace("", np.nan)
    pd.testing.assert_frame_equal(
        from_json, pd.read_csv(site_run["out"]), check_exact=False, rtol=1e-5, check_dtype=False
    )
    assert len(payload["stones"]) == len(stones)
    assert payload["summary"]["exit_code"] == 6 and payload["summary"]["synthetic"] is True


def test_audit_record_names_inputs_model_and_outputs(site_run: dict, model_dir: Path, site_parcels) -> None:
    audit = json.loads(Path(str(site_run["out"]) + ".audit.json").read_text())
    stones_csv, parcels_csv, _ = site_parcels
    assert audit["inputs"]["stones"]["sha256"] == _sha(stones_csv)
    assert audit["inputs"]["parcels"]["sha256"] == _sha(parcels_csv)
    manifest = json.loads((model_dir / "manifest.json").read_text())
    assert audit["model"]["model_sha256"] == manifest["model_sha256"]
    assert audit["model"]["source"]["content_hash"] == manifest["source"]["content_hash"]
    assert audit["thresholds"]["consistent_log10_lr"] == manifest["thresholds"]["consistent_log10_lr"]
    assert audit["outputs"][str(site_run["out"])]["sha256"] == _sha(site_run["out"])
    assert audit["user"] and audit["started_utc"] and audit["tool"]["name"] == "footprint"
    assert audit["summary"]["parcels"] == 8


def test_all_consistent_batch_exits_0(site_run: dict, model_dir: Path, site_parcels, tmp_path: Path) -> None:
    stones_csv, parcels_csv, _ = site_parcels
    results = pd.read_csv(site_run["out"])
    keep = set(results.loc[results["verdict"] == "consistent", "parcel_id"])
    assert keep
    lines = stones_csv.read_text().splitlines(keepends=True)
    subset = tmp_path / "subset.csv"
    subset.write_text("".join(lines[:2] + [ln for ln in lines[2:] if ln.split(",", 1)[0] in keep]))
    result = _classify(model_dir, subset, "--parcels", parcels_csv, "--out", tmp_path / "r.csv", "--quiet")
    assert result.exit_code == 0, result.output
    assert set(pd.read_csv(tmp_path / "r.csv")["verdict"]) == {"consistent"}


@pytest.mark.slow
def test_reruns_are_byte_identical_whatever_the_parallelism(
    site_run: dict, model_dir: Path, site_parcels, tmp_path: Path
) -> None:
    stones_csv, parcels_csv, _ = site_parcels
    outs = []
    for name, extra in (
        ("a", ["--jobs", "1", "--chunk-size", "60"]),
        ("b", ["--jobs", "2", "--chunk-size", "130"]),
    ):
        run = tmp_path / name
        run.mkdir()
        result = _classify(
            model_dir,
            stones_csv,
            "--parcels",
            parcels_csv,
            "--out",
            run / "r.csv",
            "--stones-out",
            run / "s.csv",
            "--report",
            run / "r.html",
            "--max-detail",
            "1",
            "--quiet",
            *extra,
        )
        assert result.exit_code == 6, result.output
        outs.append(run)
    for name in ("r.csv", "s.csv", "r.html"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    assert (outs[0] / "r.csv").read_bytes() == site_run["out"].read_bytes()
    # The report of a real run: the first parcel in detail with its verdict, every parcel in the
    # summary, reference panels from the model's own store, no store mismatch.
    html = (outs[0] / "r.html").read_text(encoding="utf-8")
    assert "SYNTHETIC" in html and "DRAFT" in html and "store-mismatch" not in html
    assert html.count('<section class="parcel" id="parcel-') == 1
    first = pd.read_csv(site_run["out"]).iloc[0]
    assert f'id="parcel-{first["parcel_id"]}"' in html and f'class="verdict v-{first["verdict"]}"' in html
    assert all(f"<td>{pid}</td>" in html for pid in site_run["truth"]["parcel_id"])
    assert "data:image/png;base64," in html and "CF-TEST-0000" in html


@pytest.mark.dask
def test_dask_local_cluster_gives_the_same_results(
    site_run: dict, model_dir: Path, site_parcels, tmp_path: Path
) -> None:
    distributed = pytest.importorskip("distributed")
    stones_csv, parcels_csv, _ = site_parcels
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        result = _classify(
            model_dir,
            stones_csv,
            "--parcels",
            parcels_csv,
            "--out",
            tmp_path / "r.csv",
            "--stones-out",
            tmp_path / "s.csv",
            "--scheduler",
            cluster.scheduler_address,
            "--chunk-size",
            "100",
            "--quiet",
        )
    assert result.exit_code == 6, result.output
    assert (tmp_path / "r.csv").read_bytes() == site_run["out"].read_bytes()
    assert (tmp_path / "s.csv").read_bytes() == site_run["stones_out"].read_bytes()


def test_bad_stone_values_exit_3_naming_file_row_and_field(
    model_dir: Path, site_parcels, tmp_path: Path
) -> None:
    stones_csv, parcels_csv, _ = site_parcels
    frame = pd.read_csv(stones_csv, comment=None, skiprows=1, dtype=str, keep_default_na=False)
    frame.loc[129, "mass_ct"] = "-0.4"  # data row 130, in the third chunk of 60
    frame.loc[349, "colour"] = "purple"  # data row 350
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    out = tmp_path / "r.csv"
    result = _classify(
        model_dir,
        bad,
        "--parcels",
        parcels_csv,
        "--out",
        out,
        "--stones-out",
        tmp_path / "s.csv",
        "--chunk-size",
        "60",
    )
    assert result.exit_code == 3, result.output
    assert "bad.csv, row 130, field 'mass_ct', value '-0.4'" in result.output
    assert "row 350, field 'colour', value 'purple'" in result.output
    assert not out.exists() and not (tmp_path / "s.csv").exists()
    assert not list(tmp_path.glob(".*partial"))


def test_parcels_must_be_contiguous(model_dir: Path, site_parcels, tmp_path: Path) -> None:
    stones_csv, _, _ = site_parcels
    lines = stones_csv.read_text().splitlines(keepends=True)
    body = lines[2:]
    moved = tmp_path / "unsorted.csv"
    moved.write_text("".join(lines[:2] + body[:10] + body[60:70] + body[10:60] + body[70:]))
    result = _classify(model_dir, moved, "--out", tmp_path / "r.csv")
    assert result.exit_code == 3, result.output
    assert "row 21, field 'parcel_id'" in result.output and "contiguous" in result.output


def test_missing_parcel_column_and_bad_parcels_file_exit_3(
    model_dir: Path, site_parcels, tmp_path: Path
) -> None:
    stones_csv, parcels_csv, _ = site_parcels
    no_parcel = tmp_path / "noparcel.csv"
    pd.read_csv(stones_csv, skiprows=1).drop(columns=["parcel_id"]).to_csv(no_parcel, index=False)
    result = _classify(model_dir, no_parcel, "--out", tmp_path / "r.csv")
    assert result.exit_code == 3 and "parcel_id" in result.output

    parcels = pd.read_csv(parcels_csv, dtype=str, keep_default_na=False)
    parcels.loc[2, "declared_zone"] = "CAR-North"
    parcels.loc[4, "declared_value_usd"] = "lots"
    bad = tmp_path / "parcels.csv"
    parcels.to_csv(bad, index=False)
    result = _classify(model_dir, stones_csv, "--parcels", bad, "--out", tmp_path / "r.csv")
    assert result.exit_code == 3
    assert "row 3, field 'declared_zone', value 'CAR-North'" in result.output
    assert "row 5, field 'declared_value_usd', value 'lots'" in result.output


def test_tampered_model_exits_5(model_dir: Path, site_parcels, tmp_path: Path) -> None:
    stones_csv, _, _ = site_parcels
    tampered = tmp_path / "model"
    shutil.copytree(model_dir, tampered)
    manifest = json.loads((tampered / "manifest.json").read_text())
    skops = tampered / manifest["model_file"]
    data = bytearray(skops.read_bytes())
    data[len(data) // 2] ^= 0xFF
    skops.write_bytes(bytes(data))
    result = _classify(tampered, stones_csv, "--out", tmp_path / "r.csv")
    assert result.exit_code == 5, result.output
    assert not (tmp_path / "r.csv").exists()
