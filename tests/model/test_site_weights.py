"""Site weights: the prior of the site mixture, from production shares or reference lots."""

from __future__ import annotations

import numpy as np
import pytest

from footprint.exceptions import InputError
from footprint.model import read_site_weights, train_frames


def _shares(params) -> dict[str, float]:
    return {f"{zone}/{site.site}": site.weight for zone in params.reference_zones
            for site in params.zone_sites(zone)}


def test_given_weights_set_the_site_prior(reference, params, light):
    given = {k: 10 * v for k, v in _shares(params).items()}  # any scale: normalised within zone
    model = train_frames(reference, config={**light, "site_weights": given}, seed=0)
    labels = [f"{z}/{s}" for z, s in model.sites]
    expected = np.log([_shares(params)[label] for label in labels])
    np.testing.assert_allclose(model.layout.log_weight, expected, atol=1e-12)
    assert model.manifest["config"]["site_weights"] == given


def test_default_weights_are_reference_lot_shares(model, reference):
    labels = [f"{z}/{s}" for z, s in model.sites]
    lots = reference.drop_duplicates("lot_id").assign(label=lambda f: f["zone"] + "/" + f["site"])
    per_site = lots.groupby("label").size()
    per_zone = lots.groupby("zone").size()
    expected = [np.log(per_site[label] / per_zone[label.split("/")[0]]) for label in labels]
    np.testing.assert_allclose(model.layout.log_weight, expected, atol=1e-12)


def test_missing_site_is_refused_and_extra_site_warned(reference, params, light):
    given = _shares(params)
    del given["CAR-West/Nola"]
    with pytest.raises(InputError, match="CAR-West/Nola"):
        train_frames(reference, config={**light, "site_weights": given}, seed=0)
    extra = {**_shares(params), "CMR/Mobilong": 1.0}
    model = train_frames(reference, config={**light, "site_weights": extra}, seed=0)
    assert any("CMR/Mobilong" in w for w in model.manifest["training"]["warnings"])


def test_read_site_weights_names_file_row_and_field(tmp_path):
    good = tmp_path / "w.csv"
    good.write_text("# SYNTHETIC note\nzone,site,weight\nA,x,2\nA,y,1\nB,z,0.5\n")
    assert read_site_weights(good) == {"A/x": 2.0, "A/y": 1.0, "B/z": 0.5}

    bad = tmp_path / "bad.csv"
    bad.write_text("zone,site,weight\nA,x,2\nA,y,-1\nA,x,3\nB,,abc\n")
    with pytest.raises(InputError) as info:
        read_site_weights(bad)
    found = {(p.row, p.field) for p in info.value.problems}
    assert found == {(2, "weight"), (3, "site"), (4, "site"), (4, "weight")}
    assert all(p.file == str(bad) for p in info.value.problems)

    no_column = tmp_path / "cols.csv"
    no_column.write_text("zone,site,share\nA,x,1\n")
    with pytest.raises(InputError) as info:
        read_site_weights(no_column)
    assert [p.field for p in info.value.problems] == ["weight"]
