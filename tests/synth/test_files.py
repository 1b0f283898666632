"""Files written by the generator: labelled SYNTHETIC, readable, reproducible, consistent with truth."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import jcamp
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from footprint.exceptions import InputError
from footprint.synth import generate_parcels, write_reference_set
from footprint.synth._files import PARCEL_SHEET_COLUMNS


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, skiprows=1, keep_default_na=True)


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_tables_are_marked_synthetic(small_set) -> None:
    root = small_set["root"]
    for name in ("stones.csv", "parcels_stones.csv", "parcels.csv", "parcels_truth.csv", "truth.csv",
                 "site_weights.csv"):
        first = (root / name).read_text("utf-8").splitlines()[0]
        assert first.startswith("# SYNTHETIC"), name
    for name in ("stones.csv", "parcels_stones.csv", "parcels_truth.csv"):
        assert set(_read(root / name)["notes"]) == {"SYNTHETIC"}, name
    assert (root / "README.txt").read_text("utf-8").startswith("SYNTHETIC DATA")


def test_site_weights_are_the_reference_sites_production_shares(small_set) -> None:
    from footprint.model import read_site_weights
    from footprint.synth import load_params

    weights = read_site_weights(small_set["root"] / "site_weights.csv")
    params = load_params()
    reference_sites = {f"{zone}/{site.site}": site.weight for zone in params.reference_zones
                       for site in params.zone_sites(zone)}
    assert weights == reference_sites
    stones = _read(small_set["root"] / "stones.csv")
    assert set(weights) == set(stones["zone"] + "/" + stones["site"])  # every reference site, no other


def test_every_ftir_stone_has_a_jcamp_file_that_reads_back(small_set) -> None:
    root = small_set["root"]
    truth = _read(root / "truth.csv")
    ref = truth[truth["set"] == "reference"]
    expected = set(ref.loc[ref["has_ftir_file"], "sample_id"])
    files = {p.stem for p in (root / "spectra").glob("*.jdx")}
    assert files == expected and files
    for sample_id in sorted(files):
        path = root / "spectra" / f"{sample_id}.jdx"
        data = jcamp.readfile(str(path))
        assert "SYNTHETIC" in data["title"]
        assert data["$synthetic"] == "TRUE"
        assert data["jcamp-dx"] == 5.01 or str(data["jcamp-dx"]) == "5.01"
        assert data["xunits"] == "1/CM" and data["yunits"] == "ABSORBANCE"
        assert len(data["x"]) == len(data["y"]) == int(data["npoints"])
        step = np.diff(data["x"])
        assert np.allclose(step, step[0], rtol=1e-6)
        assert np.all(np.isfinite(data["y"]))
    text = (root / "spectra" / f"{sorted(files)[0]}.jdx").read_text("ascii")
    assert "##XYDATA=(X++(Y..Y))" in text and text.rstrip().endswith("##END=")


def test_spectra_carry_the_true_nitrogen(small_set) -> None:
    """The 1282 cm-1 A-centre band scales with the true N_A (a weak, model-free check)."""
    root = small_set["root"]
    truth = _read(root / "truth.csv").set_index("sample_id")
    heights, n_a = [], []
    for path in sorted((root / "spectra").glob("*.jdx")):
        data = jcamp.readfile(str(path))
        x, y = np.asarray(data["x"]), np.asarray(data["y"])
        band = y[np.abs(x - 1282) < 3].mean() - y[np.abs(x - 2500) < 20].mean()
        stone = truth.loc[path.stem]
        heights.append(band / stone["ftir_thickness_mm"])
        n_a.append(stone["n_a_ppm"])
    assert np.corrcoef(heights, n_a)[0, 1] > 0.8


def test_pictures_are_small_pngs_marked_synthetic(small_set) -> None:
    root = small_set["root"]
    pngs = sorted((root / "images").glob("*.png"))
    truth = _read(root / "truth.csv")
    assert {p.stem for p in pngs} == set(truth.loc[truth["has_image"] & (truth["set"] == "reference"),
                                                   "sample_id"])
    assert pngs
    for path in pngs:
        image = Image.open(io.BytesIO(path.read_bytes()))
        assert image.format == "PNG" and image.size == (96, 96)
        assert "SYNTHETIC" in image.info.get("Comment", "")
        bottom = np.asarray(image.convert("RGB"))[-14:, :, :].reshape(-1, 3)
        red = (bottom[:, 0] > 150) & (bottom[:, 1] < 60)
        white = bottom.min(axis=1) > 200  # the lettering
        assert red.mean() > 0.5 and white.any()


def test_same_seed_gives_byte_identical_files(tmp_path: Path, small_set, small_set_kwargs) -> None:
    again = tmp_path / "again"
    write_reference_set(again, **small_set_kwargs)
    assert _digest(again) == _digest(small_set["root"])
    other = tmp_path / "other"
    write_reference_set(other, **{**small_set_kwargs, "seed": small_set_kwargs["seed"] + 1})
    assert _digest(other)["stones.csv"] != _digest(again)["stones.csv"]


def test_rewriting_a_previous_set_drops_stale_files(tmp_path: Path) -> None:
    out = tmp_path / "set"
    write_reference_set(out, seed=1, lots_per_site=2, stones_per_lot=8, n_parcels=2)
    before = {p.name for p in (out / "spectra").iterdir()}
    write_reference_set(out, seed=2, lots_per_site=1, stones_per_lot=8, n_parcels=2)
    after = {p.name for p in (out / "spectra").iterdir()}
    stones = set(_read(out / "stones.csv")["sample_id"])
    assert {name[:-4] for name in after} <= stones
    assert before - after  # the old spectra went away


def test_foreign_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("precious")
    with pytest.raises(InputError):
        write_reference_set(tmp_path, seed=0, lots_per_site=1, stones_per_lot=2, n_parcels=0)
    assert (tmp_path / "keep.txt").read_text() == "precious"


def test_observed_values_are_the_true_values_where_present(small_set) -> None:
    root = small_set["root"]
    stones = _read(root / "stones.csv").set_index("sample_id")
    truth = _read(root / "truth.csv").set_index("sample_id").loc[stones.index]
    seen = stones["mass_ct"].notna()
    np.testing.assert_array_equal(stones.loc[seen, "mass_ct"], truth.loc[seen, "mass_ct"])
    assert (stones["zone"] == truth["zone"]).all() and (stones["site"] == truth["site"]).all()
    for col in ("n_total_ppm", "diamond_type"):
        assert col not in stones  # FTIR values come from the spectra, not the table
    # one site per lot, and every reference site has its lots
    assert (stones.groupby("lot_id")["site"].nunique() == 1).all()
    assert stones["site"].nunique() == 8


def test_parcels_truth_is_consistent(params) -> None:
    stones, parcels = generate_parcels(params, seed=4, n_parcels=40, size_range=(1, 100))
    assert set(parcels["truth_kind"]) == {"pure_west", "pure_east", "topped_up", "out_of_reference"}
    assert parcels["n_stones"].min() == 1 and parcels["n_stones"].max() == 100
    assert "zone" not in stones and "site" not in stones
    sizes = stones.groupby("parcel_id").size()
    assert (sizes.loc[parcels["parcel_id"]].to_numpy() == parcels["n_stones"].to_numpy()).all()
    assert set(parcels["declared_zone"]) <= set(params.reference_zones)
    topped = parcels[parcels["truth_kind"] == "topped_up"]
    assert (topped["truth_foreign_zone"] == "CAR-East").all()
    assert ((topped["truth_foreign_fraction"] * topped["n_stones"]).round(9) % 1 == 0).all()
    outside = parcels[parcels["truth_kind"] == "out_of_reference"]
    assert set(outside["truth_zone"]) <= {"DRC-Kasai", "CMR"}
    assert parcels["kp_certificate"].str.match(r"^CF-\d{4}-\d{5}$").all()
    assert (parcels["declared_value_usd"] > 0).all()


def test_parcel_truth_file_matches_parcel_sheet(small_set) -> None:
    root = small_set["root"]
    sheet = _read(root / "parcels.csv")
    assert tuple(sheet.columns) == PARCEL_SHEET_COLUMNS  # what classify --parcels accepts
    parcels = _read(root / "parcels_truth.csv").set_index("parcel_id")
    assert list(parcels.index) == list(sheet["parcel_id"])
    truth = _read(root / "truth.csv")
    truth = truth[truth["set"] == "parcel"]
    for pid, group in truth.groupby("parcel_id"):
        row = parcels.loc[pid]
        foreign = (group["zone"] != row["truth_zone"]).mean()
        assert foreign == pytest.approx(row["truth_foreign_fraction"])
        assert len(group) == row["n_stones"]


def test_ingest_reads_the_set_as_synthetic_and_the_density_survives_the_round_trip(small_set, density
                                                                                    ) -> None:
    from footprint.ingest import read_stones_table

    root = small_set["root"]
    stones, _report = read_stones_table(root / "stones.csv")
    assert stones.attrs["synthetic"] is True
    truth = _read(root / "truth.csv").set_index("sample_id").loc[stones["sample_id"]]
    # scoring the ingested file equals scoring the truth with the same fields blanked
    blanked = truth.reset_index().copy()
    for col in stones.columns:
        if col in blanked and col != "sample_id":
            missing = stones[col].isna().to_numpy()
            blanked[col] = blanked[col].astype(object).where(~missing, None)
    for col in ("diamond_type", "n_total_ppm", "n_a_ppm", "n_b_ppm", "n_b_percent", "platelet_area_cm2",
                "h3107_area_cm2"):
        blanked[col] = np.nan
    blanked["sieve_class"] = blanked["sieve_class"].map(lambda v: None if v is None else f"dtc:{v}")
    blanked["coating"] = blanked["coating"].astype("boolean")
    np.testing.assert_allclose(density.log_p_stone_site(stones), density.log_p_stone_site(blanked))


def test_ingest_builds_a_synthetic_batch_from_the_set(small_set) -> None:
    from footprint.ingest import build_batch, read_spectrum, read_stones_table

    root = small_set["root"]
    first = sorted((root / "spectra").glob("*.jdx"))[0]
    spectrum = read_spectrum(first)
    assert spectrum.meta.get("synthetic") is True and spectrum.x_unit == "1/cm"
    batch = build_batch(stones=root / "stones.csv", spectra=root / "spectra", images=root / "images",
                        by="synth-test", n_jobs=1)
    assert batch.synthetic is True
    assert len(batch.stones) == small_set["n_stones"]
    assert len(batch.spectra) == small_set["n_spectra"] and len(batch.images) == small_set["n_images"]
    parcels, _ = read_stones_table(root / "parcels_stones.csv", reference=False, keep_columns=("parcel_id",))
    assert parcels.attrs["synthetic"] is True and parcels["parcel_id"].notna().all()
