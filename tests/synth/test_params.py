"""The parameter file: sources for every number, identical copies, validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from footprint.exceptions import InputError
from footprint.synth import load_params
from footprint.synth._defaults import build_default_params
from footprint.synth._params import CATEGORICAL

# Numbers that describe the file itself rather than the generator.
_FORMAT_KEYS = {"format_version"}


def _numbers_without_source(node: Any, path: str = "") -> list[str]:
    """Paths of numeric leaves not inside a {"value", "source"} pair with a non-empty source."""
    bad: list[str] = []
    if isinstance(node, dict):
        if "value" in node:
            source = node.get("source")
            if not isinstance(source, str) or not source.strip():
                bad.append(path)
            return bad
        for key, child in node.items():
            if path == "" and key in _FORMAT_KEYS:
                continue
            bad += _numbers_without_source(child, f"{path}.{key}")
    elif isinstance(node, list):
        for i, child in enumerate(node):
            bad += _numbers_without_source(child, f"{path}[{i}]")
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        bad.append(path)
    return bad


def test_params_copies_are_identical(repo_root: Path) -> None:
    shipped = (repo_root / "footprint" / "data" / "synth_params.json").read_bytes()
    reference = (repo_root / "reference_data" / "synth_params.json").read_bytes()
    assert shipped == reference


def test_every_number_has_a_source_or_estimate(repo_root: Path) -> None:
    doc = json.loads((repo_root / "reference_data" / "synth_params.json").read_text("utf-8"))
    assert doc["synthetic"] is True
    assert _numbers_without_source(doc) == []
    # the walker itself catches a bare number and an empty source
    assert _numbers_without_source({"a": {"b": 1.0}, "c": {"value": 2, "source": " "}}) == [".a.b", ".c"]


def test_site_values_are_marked_estimate(repo_root: Path) -> None:
    doc = json.loads((repo_root / "reference_data" / "synth_params.json").read_text("utf-8"))
    for zone in doc["zones"].values():
        for site in zone["sites"].values():
            for name in ("mass_ln_mu", "colour", "morphology", "n_ln_mu"):
                assert "estimate" in site["params"][name]["source"]


def test_shipped_file_is_what_the_documented_recipe_builds(repo_root: Path) -> None:
    doc = json.loads((repo_root / "reference_data" / "synth_params.json").read_text("utf-8"))
    assert doc == json.loads(json.dumps(build_default_params()))


def test_zones_sites_and_carbonado(params) -> None:
    assert params.reference_zones == ["CAR-West", "CAR-East"]
    assert [s.site for s in params.zone_sites("CAR-West")] == ["Berberati", "Carnot", "Nola", "Boda", "Gadzi"]
    assert [s.site for s in params.zone_sites("CAR-East")] == ["Bria", "Sam-Ouandja", "Ouadda"]
    assert [s.site for s in params.zone_sites("DRC-Kasai")] == ["Tshikapa", "Mbuji-Mayi"]
    assert [s.site for s in params.zone_sites("CMR")] == ["Mobilong"]
    k = CATEGORICAL["morphology"].index("carbonado")
    for site in params.sites:
        share = site.cat["morphology"][k]
        assert (share > 0) == (site.zone == "CAR-West"), site.site
    for zone in params.zones:
        weights = [s.weight for s in params.zone_sites(zone)]
        assert sum(weights) == pytest.approx(1.0)


def test_sites_within_a_zone_differ(params) -> None:
    west = params.zone_sites("CAR-West")
    mus = {s.num["mass_ln_mu"] for s in west}
    assert len(mus) == len(west)
    colours = np.stack([s.cat["colour"] for s in west])
    assert np.ptp(colours, axis=0).max() > 0.02


def test_bad_shares_are_reported_with_their_place(tmp_path: Path, repo_root: Path) -> None:
    doc = json.loads((repo_root / "reference_data" / "synth_params.json").read_text("utf-8"))
    doc["zones"]["CAR-East"]["sites"]["Bria"]["params"]["quality"]["value"]["gem"] = 0.1
    path = tmp_path / "p.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError) as info:
        load_params(path)
    fields = [p.field for p in info.value.problems]
    assert "zones.CAR-East.sites.Bria.params.quality" in fields


def test_invalid_json_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text("{not json")
    with pytest.raises(InputError):
        load_params(path)
    with pytest.raises(InputError):
        load_params(tmp_path / "missing.json")
