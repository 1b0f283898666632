"""``footprint train`` and ``footprint evaluate`` through the CLI, on a real store."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from footprint.cli import app


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


@pytest.mark.slow
def test_train_then_evaluate(runner, store_path, tmp_path, capsys, params):
    out = tmp_path / "model"
    weights = tmp_path / "site_weights.csv"
    rows = [f"{zone},{site.site},{site.weight}" for zone in params.reference_zones
            for site in params.zone_sites(zone)]
    weights.write_text("# SYNTHETIC production shares\nzone,site,weight\n" + "\n".join(rows) + "\n")
    result = runner.invoke(app, ["train", str(store_path), "--out", str(out), "--seed", "1", "--json",
                                 "--site-weights", str(weights)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["zones"] == ["CAR-East", "CAR-West"] and summary["synthetic"] is True
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["source"]["content_hash"] == summary["store_content_hash"]
    assert manifest["seed"] == 1
    # The production shares are recorded, so evaluate retrains each fold with the same prior.
    assert manifest["config"]["site_weights"]["CAR-East/Bria"] == pytest.approx(0.45)

    result = runner.invoke(app, ["evaluate", str(store_path), "--model", str(out), "--folds", "3", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["model"]["trained_on_this_store"] is True
    assert 0.5 < report["stone"]["accuracy"] <= 1.0
    assert report["parcels"]["25"]["accuracy"] > 0.8
    assert "bayes" in report["parcels"]["25"]  # SYNTHETIC store: the Bayes ceiling sits beside each figure
    assert report["conformal"]["0.90"]["coverage"] == pytest.approx(0.9, abs=0.05)
    assert any("CMR" in name for name in report["unknown_origin"])
    # The figures do not depend on Python's string hashing (set iteration order once changed them).
    other_seed = "1" if os.environ.get("PYTHONHASHSEED") == "0" else "0"
    again = subprocess.run([sys.executable, "-c", "from footprint.cli import main; main()", "evaluate", str(store_path), "--model", str(out),
                            "--folds", "3", "--json"], capture_output=True, text=True, check=False,
                           env={**os.environ, "PYTHONHASHSEED": other_seed})
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["mixture"] == report["mixture"]

    from footprint.cli._model import _print_evaluation

    _print_evaluation(report | {"parcels": {int(k): v for k, v in report["parcels"].items()}})
    text = capsys.readouterr().out
    assert "SYNTHETIC" in text and "Bayes" in text and "AUROC" in text


def test_train_refuses_thin_store(runner, tmp_path, reference):
    from footprint import db

    thin = reference[reference["lot_id"].isin(reference["lot_id"].unique()[::9])]
    csv = tmp_path / "thin.csv"
    thin.to_csv(csv, index=False)
    store = tmp_path / "thin.h5"
    db.init(store, by="test")
    db.add(store, stones=csv, by="test", n_jobs=1)
    result = runner.invoke(app, ["train", str(store), "--out", str(tmp_path / "m"),
                                 "--min-zone-stones", "1000"])
    assert result.exit_code == 5
    assert "too little reference data" in result.stderr and "--min-zone-stones" in result.stderr
    assert not (tmp_path / "m" / "manifest.json").exists()


@pytest.mark.slow
def test_train_stone_options_reach_the_model(runner, store_path, tmp_path):
    """--joint-fields and --partner are opt-in training options; a bad --partner is a usage error."""
    bad = runner.invoke(app, ["train", str(store_path), "--out", str(tmp_path / "bad"), "--partner", "maybe"])
    assert bad.exit_code == 2 and not (tmp_path / "bad").exists()
    out = tmp_path / "m"
    result = runner.invoke(app, ["train", str(store_path), "--out", str(out), "--json",
                                 "--joint-fields", "n_total_ppm,d13c_permil", "--partner", "none"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["joint_fields"] == ["n_total_ppm", "d13c_permil"]
    assert manifest["config"]["partner"] == "none"
