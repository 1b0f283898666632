"""The SYNTHETIC KP statistics set: labelled, reproducible, realistic magnitudes, truth of injections."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from footprint.stats import read_production, read_trade
from footprint.synth import generate_kp_stats, write_kp_stats


def test_set_is_labelled_reproducible_and_readable(tmp_path: Path) -> None:
    info = write_kp_stats(tmp_path / "a", seed=4, n_participants=40, n_years=10, per_check=3)
    write_kp_stats(tmp_path / "b", seed=4, n_participants=40, n_years=10, per_check=3)
    for name in ("PROD.csv", "TRADE.csv", "truth.csv", "participants.csv"):
        text = (tmp_path / "a" / name).read_text(encoding="utf-8")
        assert text.startswith("# SYNTHETIC")
        assert text == (tmp_path / "b" / name).read_text(encoding="utf-8")
    assert (tmp_path / "a" / "README.txt").read_text().startswith("SYNTHETIC")
    prod, trade = read_production(tmp_path / "a" / "PROD.csv"), read_trade(tmp_path / "a" / "TRADE.csv")
    assert prod.attrs["synthetic"] and trade.attrs["synthetic"]
    assert info["participants"] == 40 and set(prod["period"].str[-2:]) == {"H1", "H2"}
    assert set(trade["period"].str[-2:]) == {"Q1", "Q2", "Q3", "Q4"}


def test_magnitudes_differ_by_orders_of_magnitude_and_every_check_is_injected() -> None:
    sets = generate_kp_stats(seed=0, per_check=4)
    prod = sets["production"]
    per_year = prod.groupby("participant")["carats"].sum() / 10
    uv = prod.groupby("participant")["value_usd"].sum() / prod.groupby("participant")["carats"].sum()
    assert per_year["RUS"] > 1e7 and per_year["CMR"] < 1e4  # KPCS: ~42 Mct against ~2,400 ct
    assert uv["COD"] < 20 < 400 < uv["NAM"]  # KPCS: ~7 US$/ct against ~600
    roles = sets["participants"]["role"].value_counts()
    assert {"producer", "trading", "cutting"} <= set(roles.index)
    truth = sets["truth"]
    primary = truth[truth["role"] == "primary"]
    assert set(primary["check"]) == {"mirror", "unit_value", "balance", "jump", "missing", "certificates"}
    assert primary.groupby("check").size().min() >= 3
    clean = generate_kp_stats(seed=0, inject=False)
    assert clean["truth"].empty
    assert not np.isclose(clean["trade"]["carats"].sum(), sets["trade"]["carats"].sum())
    assert isinstance(clean["trade"], pd.DataFrame)
