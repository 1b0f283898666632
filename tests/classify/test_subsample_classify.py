"""``classify`` with a parcels file's ``total_carats``: a described subsample is weighed as the model says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from footprint.cli import app


def test_total_carats_scale_the_evidence_and_keep_the_tests(repo_root: Path, tmp_path: Path) -> None:
    from footprint.model import FootprintModel
    from footprint.synth import generate_parcels, load_params

    stones, truth = generate_parcels(load_params(), seed=12, n_parcels=4, size_range=(200, 300))
    stones = stones[stones["mass_ct"].notna()].reset_index(drop=True)
    rng = np.random.default_rng(1)
    keep = np.sort(np.concatenate([rng.choice(idx, len(idx) // 4, replace=False)
                                   for idx in stones.groupby("parcel_id", sort=False).indices.values()]))
    described = stones.iloc[keep].reset_index(drop=True)
    path = tmp_path / "stones.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("# SYNTHETIC\n")
        frame = described.drop(columns=["declared_zone"], errors="ignore")
        frame.to_csv(fh, index=False, lineterminator="\n")
    carats = described.groupby("parcel_id")["mass_ct"].sum()
    parcels = truth[["parcel_id", "declared_zone"]]
    plain_file, sub_file = tmp_path / "plain.csv", tmp_path / "sub.csv"
    parcels.to_csv(plain_file, index=False)
    parcels.assign(total_carats=parcels["parcel_id"].map(4 * carats)).to_csv(sub_file, index=False)
    out = {}
    model_dir = repo_root / "models" / "demo-synthetic"
    for name, pfile in (("plain", plain_file), ("sub", sub_file)):
        result = CliRunner().invoke(app, ["classify", str(model_dir), str(path), "--parcels", str(pfile),
                                          "--out", str(tmp_path / f"{name}.out.csv"), "-q"])
        assert result.exit_code in (0, 6), result.output
        out[name] = pd.read_csv(tmp_path / f"{name}.out.csv").set_index("parcel_id").sort_index()
    for col in ("mixed_p", "novelty_p", "fit_p", "foreign_fraction", "n_stones"):
        np.testing.assert_allclose(out["sub"][col], out["plain"][col], rtol=1e-6, err_msg=col)
    # The zone evidence is the whole parcel's estimate: as assess_batch gives it with the sampling weight.
    model = FootprintModel.load(model_dir)
    direct, _ = model.assess_batch(described, parcels, per_stone=False,
                                   sampling=dict.fromkeys(parcels["parcel_id"], 4.0))
    direct = direct.set_index("parcel_id").sort_index()
    np.testing.assert_allclose(out["sub"]["log10_lr"], direct["log10_lr"], rtol=1e-5)
    assert (np.abs(out["sub"]["log10_lr"]) > 2 * np.abs(out["plain"]["log10_lr"])).all()
