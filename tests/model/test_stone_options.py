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
