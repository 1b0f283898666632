"""``footprint classify --assortment``: parcels as assortments, mixed batches, valuation, missing masses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from footprint.cli import app

FIELDS = ["sieve_class", "quality", "colour"]


@pytest.fixture(scope="module")
def demo_dir(repo_root: Path) -> Path:
    return repo_root / "models" / "demo-synthetic"


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """12 SYNTHETIC parcels: 6 as stones, 6 as assortments (size class x quality x colour), and both views."""
    from footprint.synth import generate_parcels, load_params

    work = tmp_path_factory.mktemp("assort")
    stones, truth = generate_parcels(load_params(), seed=8, n_parcels=12, size_range=(40, 120))
    stones = stones[stones["sieve_class"].notna()].reset_index(drop=True)
    ids = truth["parcel_id"].tolist()
    keyed = stones[["parcel_id", *FIELDS]].astype(object).where(stones[["parcel_id", *FIELDS]].notna(), "")
    cells = keyed.groupby(["parcel_id", *FIELDS], sort=False).size().reset_index(name="n_stones")
    cells = cells.rename(columns={"sieve_class": "size_class"})
    paths = {
        "restricted": work / "restricted.csv",
        "assortment": work / "assortment.csv",
        "stones6": work / "stones6.csv",
        "cells6": work / "cells6.csv",
        "parcels": work / "parcels.csv",
    }
    for key, frame in (
        ("restricted", stones[["parcel_id", "sample_id", *FIELDS]]),
        ("assortment", cells),
        ("stones6", stones[stones["parcel_id"].isin(ids[:6])]),
        ("cells6", cells[cells["parcel_id"].isin(ids[6:])]),
    ):
        with open(paths[key], "w", encoding="utf-8", newline="") as fh:
            fh.write("# SYNTHETIC\n")
            frame.to_csv(fh, index=False, lineterminator="\n")
    parcels = truth[["parcel_id", "declared_zone"]].assign(
        declared_value_usd=5000.0, valuation_method="tender"
    )
    parcels.to_csv(paths["parcels"], index=False, lineterminator="\n")
    return paths


def _classify(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["classify", *args, "-q"])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_an_assortment_gives_the_verdicts_of_its_stones(
    demo_dir: Path, batch: dict[str, Path], tmp_path: Path
) -> None:
    code_a, _ = _classify(
        [
            str(demo_dir),
            str(batch["restricted"]),
            "--parcels",
            str(batch["parcels"]),
            "--out",
            str(tmp_path / "s.csv"),
        ]
    )
    code_b, out = _classify(
        [
            str(demo_dir),
            "--assortment",
            str(batch["assortment"]),
            "--parcels",
            str(batch["parcels"]),
            "--out",
            str(tmp_path / "a.csv"),
        ]
    )
    assert code_a in (0, 6) and code_b == code_a, out
    by_stone = pd.read_csv(tmp_path / "s.csv")
    by_cell = pd.read_csv(tmp_path / "a.csv")
    assert list(by_stone["parcel_id"]) == list(by_cell["parcel_id"])
    assert list(by_stone["verdict"]) == list(by_cell["verdict"])
    assert list(by_stone["n_stones"]) == list(by_cell["n_stones"])
    for name in ("log10_lr", "foreign_fraction", "novelty_p"):
        np.testing.assert_allclose(by_stone[name], by_cell[name], rtol=1e-5, atol=1e-9)


def test_a_mixed_batch_gives_each_parcel_its_own_result(
    demo_dir: Path, batch: dict[str, Path], tmp_path: Path
) -> None:
    _classify(
        [
            str(demo_dir),
            "--assortment",
            str(batch["assortment"]),
            "--parcels",
            str(batch["parcels"]),
            "--out",
            str(tmp_path / "cells.csv"),
        ]
    )
    _classify(
        [
            str(demo_dir),
            str(batch["stones6"]),
            "--parcels",
            str(batch["parcels"]),
            "--out",
            str(tmp_path / "stones.csv"),
        ]
    )
    code, out = _classify(
        [
            str(demo_dir),
            str(batch["stones6"]),
            "--assortment",
            str(batch["cells6"]),
            "--parcels",
            str(batch["parcels"]),
            "--out",
            str(tmp_path / "mixed.csv"),
        ]
    )
    assert code in (0, 6), out
    mixed = pd.read_csv(tmp_path / "mixed.csv").set_index("parcel_id")
    alone = pd.concat(
        [pd.read_csv(tmp_path / "stones.csv"), pd.read_csv(tmp_path / "cells.csv").iloc[6:]]
    ).set_index("parcel_id")
    assert set(mixed.index) == set(alone.index) and len(mixed) == 12
    alone = alone.loc[mixed.index]
    assert list(mixed["verdict"]) == list(alone["verdict"])
    np.testing.assert_allclose(mixed["log10_lr"], alone["log10_lr"], rtol=1e-5)
    # A parcel in both files is an input error naming it.
    code, out = _classify(
        [
            str(demo_dir),
            str(batch["restricted"]),
            "--assortment",
            str(batch["cells6"]),
            "--out",
            str(tmp_path / "bad.csv"),
        ]
    )
    assert code == 3 and "also in the stones file" in out and not (tmp_path / "bad.csv").exists()


def test_price_book_columns_and_report_panels(
    demo_dir: Path, batch: dict[str, Path], tmp_path: Path, repo_root: Path
) -> None:
    book = repo_root / "footprint" / "data" / "price_book_synthetic.csv"
    report = tmp_path / "r.html"
    result = CliRunner().invoke(
        app,
        [
            "classify",
            str(demo_dir),
            str(batch["stones6"]),
            "--assortment",
            str(batch["cells6"]),
            "--parcels",
            str(batch["parcels"]),
            "--price-book",
            str(book),
            "--out",
            str(tmp_path / "r.csv"),
            "--report",
            str(report),
            "--json",
            "-q",
        ],
    )
    assert result.exit_code in (0, 6), result.output
    rows = json.loads(result.stdout)["parcels"]
    assert {
        "expected_value_usd",
        "expected_value_lo",
        "expected_value_hi",
        "value_ratio",
        "value_flag",
        "valuation_method",
    } <= set(rows[0])
    assert all(
        r["expected_value_lo"] <= r["expected_value_usd"] <= r["expected_value_hi"]
        for r in rows
        if r["value_flag"] != "incomplete"
    )
    assert {r["valuation_method"] for r in rows} == {"tender"}
    html = report.read_text(encoding="utf-8")
    assert "% carats" in html and "Expected value (price book)" in html and "tender" in html
    assert "SYNTHETIC" in html
    # Stones without a mass: totals say so, and no $/ct comes from a partial total.
    stones = pd.read_csv(batch["stones6"], comment="#")
    first = stones["parcel_id"].iloc[0]
    n_missing = int(stones.loc[stones["parcel_id"] == first, "mass_ct"].isna().sum())
    n_all = int((stones["parcel_id"] == first).sum())
    assert n_missing > 0  # the synthetic parcels leave some masses out
    assert f"{n_all - n_missing} of {n_all} stones weighed" in html
    assert f"not computed: {n_missing} of {n_all} stones have no mass" in html
