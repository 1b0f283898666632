"""``footprint db add DB --assortments A.csv``: reference lots described by assortment (issue 14)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from footprint import db
from footprint.cli import app

LOTS = """# SYNTHETIC reference lots by assortment
lot_id,zone,site,size_class,quality,colour,n_stones,carats
L1,CAR-West,Berberati,dtc:+11,gem,colourless,10,1.9
L1,CAR-West,Berberati,ct:1-2,near_gem,brown,3,4.2
L2,CAR-East,Bria,mm:2.50,industrial,brown,4,
"""


def test_db_add_assortments_stores_one_flagged_record_per_stone(tmp_path: Path) -> None:
    lots = tmp_path / "lots.csv"
    lots.write_text(LOTS)
    store = tmp_path / "ref.h5"
    runner = CliRunner()
    assert runner.invoke(app, ["db", "init", str(store)]).exit_code == 0
    before = lots.read_bytes()
    result = runner.invoke(app, ["db", "add", str(store), "--assortments", str(lots), "--json"])
    assert result.exit_code == 0, result.output
    assert lots.read_bytes() == before  # the input is never written over
    assert json.loads(result.stdout)["added"] == 17
    stones = db.list_samples(store)
    assert len(stones) == 17
    counts = stones.groupby(["lot_id", "quality"]).size().to_dict()
    assert counts == {("L1", "gem"): 10, ("L1", "near_gem"): 3, ("L2", "industrial"): 4}
    # Carats split as the mean mass per stone (and they add back up per cell); no carats: no mass.
    by_quality = stones.groupby("quality")["mass_ct"]
    assert np.isclose(by_quality.sum()["gem"], 1.9) and np.isclose(by_quality.sum()["near_gem"], 4.2)
    assert np.allclose(stones.loc[stones["quality"] == "near_gem", "mass_ct"], 1.4)
    assert stones.loc[stones["lot_id"] == "L2", "mass_ct"].isna().all()
    # Each record says it comes from an assortment cell, so a lab can tell it from a stone weighed alone.
    assert stones["notes"].str.contains("assortment cell", regex=False).all()
    assert stones.loc[stones["lot_id"] == "L1", "notes"].str.contains(
        "mass_ct is the cell's mean per stone", regex=False).all()
    assert set(stones.loc[stones["lot_id"] == "L2", "sieve_class"]) == {"mm:2.50"}
