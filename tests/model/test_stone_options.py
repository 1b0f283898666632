"""The stone model's joint block and partner are opt-in: off by default, on through the training config.

SYNTHETIC data.
"""

from __future__ import annotations

import numpy as np
import pytest

from footprint.model import DEFAULT_CONFIG, FootprintModel, train_frames

JOINT = ["n_total_ppm", "n_b_percent", "d13c_permil"]


def test_joint_block_and_partner_are_off_by_default(model):
    assert DEFAULT_CONFIG["joint_fields"] == [] and DEFAULT_CONFIG["partner"] == "none"
    stone = model.manifest["training"]["stone_model"]
    assert stone["joint_alpha"] == 0.0 and "joint_components" not in stone
    assert stone["partner"] is False and stone["stack"] == [1.0, 0.0]
    assert model.classifier.joint_ is None and model.classifier.partner_ is None


@pytest.mark.slow
def test_opt_in_joint_block_and_partner_train_save_and_assess(reference, heldout, light, tmp_path):
    model = train_frames(reference, config={**light, "joint_fields": JOINT, "partner": "hgb"}, seed=0,
                         source={"synthetic": True})
    stone = model.manifest["training"]["stone_model"]
    assert "partner_cllr" in stone  # the partner was fitted and measured on held-out lots
    assert model.classifier.joint_features is not None and len(model.classifier.joint_features) == 3
    model.save(tmp_path / "m")
    loaded = FootprintModel.load(tmp_path / "m")  # the joint block's types are on the allow-list
    stones = heldout.drop(columns=["zone", "site"]).head(200).assign(parcel_id=["A"] * 100 + ["B"] * 100)
    a, _ = model.assess_batch(stones, declared_zone="CAR-West", per_stone=False)
    b, _ = loaded.assess_batch(stones, declared_zone="CAR-West", per_stone=False)
    np.testing.assert_allclose(a["log10_lr"].to_numpy(float), b["log10_lr"].to_numpy(float))


def test_joint_lot_drift_option_is_checked(reference):
    from footprint.exceptions import InputError

    with pytest.raises(InputError, match="joint_lot_drift"):
        train_frames(reference, config={"joint_lot_drift": "yes"}, seed=0)


@pytest.mark.slow
def test_lot_drift_of_the_joint_block_is_found_and_used(tmp_path):
    """Realistic SYNTHETIC lots whose paragenesis shares drift strongly: training finds the drift, and
    one-lot parcels are judged better with it than as independent stones (same model otherwise)."""
    from footprint.model._evaluate import cllr
    from footprint.synth._realistic import RealisticSpec, generate_realistic

    spec = RealisticSpec(n_zones=3, sites_per_zone=2, lot_concentration=6.0)
    ref, dens = generate_realistic(spec, seed=2, lots_per_site=12, stones_per_lot=25)
    weights = {f"{z}/{s}": float(w) for (z, s), w in zip(dens.sites, dens.site_weight, strict=True)}
    model = train_frames(ref, seed=0, config={"site_weights": weights, "joint_fields": JOINT, "cv": 4},
                         source={"synthetic": True})
    c = model.manifest["training"]["stone_model"]["joint_lot_concentration"]
    assert c is not None and c <= 32.0
    values, parcel, truth = dens.sample_parcels(300, 25, np.random.default_rng(5))
    stones = dens.frame(values, sample_id=np.arange(len(values)).astype(str), parcel_id=parcel)

    def log_post(m: FootprintModel) -> np.ndarray:
        res, _ = m.assess_batch(stones, per_stone=False)
        res = res.assign(pid=res["parcel_id"].astype(int)).sort_values("pid")
        return np.log(np.clip(res[[f"p_{z}" for z in m.zones]].to_numpy(float), 1e-300, None))

    with_drift = log_post(model)
    model.save(tmp_path / "m")
    loaded = FootprintModel.load(tmp_path / "m")
    np.testing.assert_allclose(log_post(loaded), with_drift)
    loaded.classifier.joint_.lot_concentration_ = float("inf")  # the same model, stones independent
    assert cllr(with_drift, truth) < cllr(log_post(loaded), truth)
