"""Other classify inputs: FTIR spectra for some stones, XLSX stone tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from footprint.cli import app


def _classify(*args: object) -> object:
    return CliRunner().invoke(app, ["classify", *map(str, args)])


def test_spectra_fill_missing_ftir_values(model_dir: Path, site_parcels, tmp_path: Path) -> None:
    from footprint.spectra import simulate_ftir

    stones_csv, parcels_csv, _ = site_parcels
    stones = pd.read_csv(stones_csv, skiprows=1)
    unmeasured = stones.loc[stones["n_total_ppm"].isna(), "sample_id"].head(6).tolist()
    assert len(unmeasured) == 6
    frames = []
    for i, sample_id in enumerate(unmeasured):
        # Nitrogen-rich, well aggregated: far from a stone with no FTIR at all.
        x, y = simulate_ftir(900.0, 400.0, rng=np.random.default_rng(i))
        frames.append(pd.DataFrame({"sample_id": sample_id, "x": x, "y": y}))
    frames.append(frames[0].assign(sample_id="NOT-IN-FILE"))
    spectra = tmp_path / "spectra_long.csv"
    pd.concat(frames).to_csv(spectra, index=False)

    plain = _classify(
        model_dir,
        stones_csv,
        "--parcels",
        parcels_csv,
        "--out",
        tmp_path / "a.csv",
        "--stones-out",
        tmp_path / "a_stones.csv",
        "--quiet",
    )
    with_ftir = _classify(
        model_dir,
        stones_csv,
        "--parcels",
        parcels_csv,
        "--spectra",
        spectra,
        "--out",
        tmp_path / "b.csv",
        "--stones-out",
        tmp_path / "b_stones.csv",
        "--json",
    )
    assert plain.exit_code == 6 and with_ftir.exit_code == 6, with_ftir.output
    a = pd.read_csv(tmp_path / "a_stones.csv").set_index("sample_id")
    b = pd.read_csv(tmp_path / "b_stones.csv").set_index("sample_id")
    changed = (a["p_CAR-West"] - b["p_CAR-West"]).abs() > 1e-9
    assert set(changed[changed].index) == set(unmeasured)
    payload = json.loads(with_ftir.stdout)
    assert any("NOT-IN-FILE" in w for w in payload["warnings"])
    audit = json.loads((tmp_path / "b.csv.audit.json").read_text())
    assert (
        audit["inputs"]["spectra"]["path"] == str(spectra) and len(audit["inputs"]["spectra"]["sha256"]) == 64
    )


def test_xlsx_stones_give_the_same_results_as_csv(model_dir: Path, site_parcels, tmp_path: Path) -> None:
    stones_csv, parcels_csv, _ = site_parcels
    stones = pd.read_csv(stones_csv, skiprows=1, dtype=str, keep_default_na=False)
    book = tmp_path / "stones.xlsx"
    stones.to_excel(book, index=False)
    result = _classify(
        model_dir,
        book,
        "--parcels",
        parcels_csv,
        "--out",
        tmp_path / "x.csv",
        "--chunk-size",
        "120",
        "--quiet",
    )
    assert result.exit_code == 6, result.output
    reference = _classify(
        model_dir, stones_csv, "--parcels", parcels_csv, "--out", tmp_path / "c.csv", "--quiet"
    )
    assert reference.exit_code == 6
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "x.csv"), pd.read_csv(tmp_path / "c.csv"))
