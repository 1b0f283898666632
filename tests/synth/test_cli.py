"""``footprint synth`` commands through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from footprint.cli import app

runner = CliRunner()


def test_ceiling_json() -> None:
    result = runner.invoke(app, ["synth", "ceiling", "--sizes", "1,10", "--n-stones", "4000", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["synthetic"] is True and data["zones"] == ["CAR-West", "CAR-East"]
    assert set(data["sizes"]) == {"1", "10"}
    assert data["sizes"]["10"]["accuracy"] > data["sizes"]["1"]["accuracy"]


def test_ceiling_text_and_bad_sizes() -> None:
    result = runner.invoke(app, ["synth", "ceiling", "--sizes", "1", "--n-stones", "2000"])
    assert result.exit_code == 0 and "stone" in result.stdout and "SYNTHETIC" in result.stdout
    bad = runner.invoke(app, ["synth", "ceiling", "--sizes", "a,b"])
    assert bad.exit_code == 2


def test_reference_and_parcels_commands(tmp_path: Path) -> None:
    out = tmp_path / "ref"
    result = runner.invoke(app, ["synth", "reference", str(out), "--seed", "3", "--lots-per-site", "1",
                                 "--stones-per-lot", "5", "--parcels", "3", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["synthetic"] is True and data["n_stones"] == 40 and data["n_parcels"] == 3
    assert (out / "stones.csv").read_text("utf-8").startswith("# SYNTHETIC")
    parcels = tmp_path / "parcels"
    result = runner.invoke(app, ["synth", "parcels", str(parcels), "--parcels", "4", "--min-size", "2",
                                 "--max-size", "9"])
    assert result.exit_code == 0, result.output
    assert (parcels / "parcels.csv").is_file() and (parcels / "parcels_truth.csv").is_file()
    assert (parcels / "truth.csv").is_file() and not (parcels / "stones.csv").exists()


def test_reference_with_lot_effects_says_so(tmp_path: Path) -> None:
    plain, varied = tmp_path / "plain", tmp_path / "varied"
    for out, extra in ((plain, []), (varied, ["--lot-sd", "0.3"])):
        result = runner.invoke(app, ["synth", "reference", str(out), "--seed", "3", "--lots-per-site", "2",
                                     "--stones-per-lot", "30", "--parcels", "0", *extra])
        assert result.exit_code == 0, result.output
    assert "lot_sd=0.3" in (varied / "README.txt").read_text("utf-8")
    assert "lot_sd" not in (plain / "README.txt").read_text("utf-8")
    assert (plain / "stones.csv").read_bytes() != (varied / "stones.csv").read_bytes()
    bad = runner.invoke(app, ["synth", "reference", str(tmp_path / "bad"), "--lot-sd", "-1"])
    assert bad.exit_code == 2


def test_foreign_folder_gives_input_error_exit_code(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("mine")
    result = runner.invoke(app, ["synth", "reference", str(tmp_path), "--lots-per-site", "1"])
    assert result.exit_code == 3
    assert "SYNTHETIC" in result.output


def test_reference_defaults_are_the_bundled_size() -> None:
    """The CLI spells the bundled size as literals (no numpy on --help); they must not drift."""
    import inspect

    from footprint.cli._synth import reference_cmd
    from footprint.synth import BUNDLED_LOTS_PER_SITE, BUNDLED_STONES_PER_LOT, write_reference_set

    cli = inspect.signature(reference_cmd).parameters
    assert cli["lots_per_site"].default.default == BUNDLED_LOTS_PER_SITE
    assert cli["stones_per_lot"].default.default == BUNDLED_STONES_PER_LOT
    lib = inspect.signature(write_reference_set).parameters
    assert (lib["lots_per_site"].default, lib["stones_per_lot"].default) == (BUNDLED_LOTS_PER_SITE,
                                                                            BUNDLED_STONES_PER_LOT)
