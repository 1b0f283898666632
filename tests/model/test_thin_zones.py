"""Thin zones: trained down to one lot, marked thin, evidence widened; refused only below the floor."""

from __future__ import annotations

import numpy as np
import pytest

from footprint.exceptions import InsufficientDataError
from footprint.model import train_frames


def _one_lot_east(reference, n_stones: int):
    east = reference[reference["zone"] == "CAR-East"]
    lot = east["lot_id"].iloc[0]
    keep = (reference["zone"] != "CAR-East") | (reference["lot_id"] == lot)
    frame = reference[keep]
    drop = frame.index[(frame["zone"] == "CAR-East")][n_stones:]
    return frame.drop(index=drop)


def test_single_lot_zone_trains_marked_thin_and_widened(reference, light):
    frame = _one_lot_east(reference, 12)
    model = train_frames(frame, config=light, seed=0)
    thin = model.manifest["training"]["thin_zones"]
    assert set(thin) >= {"CAR-East"}
    assert thin["CAR-East"]["stones"] == 12 and thin["CAR-East"]["lots"] == 1
    assert thin["CAR-East"]["widening"] > 1.0
    assert any("CAR-East is thin" in w for w in model.manifest["training"]["warnings"])
    east = np.array([s.startswith("CAR-East/") for s in model.manifest["classes"]])
    assert np.all(model.classifier.widen_[east] > 1.0)
    # The widened evidence is weaker: a parcel of East stones gives a smaller East log LR than unwidened.
    stones = reference[reference["zone"] == "CAR-East"].iloc[100:125].assign(parcel_id="p")
    X = model.matrix(stones)
    clf = model.classifier
    scores = clf.generative_scores(X)
    widened = np.log(clf.predict_proba(X))
    plain = scores + clf.log_prior_
    plain -= np.logaddexp.reduce(plain, axis=1, keepdims=True)
    spread = lambda lp: np.abs(lp[:, east].max(axis=1) - lp[:, ~east].max(axis=1)).mean()  # noqa: E731
    assert spread(widened) < spread(plain)


def test_floor_refuses_and_names_the_option(reference, light):
    frame = _one_lot_east(reference, 8)
    with pytest.raises(InsufficientDataError) as err:
        train_frames(frame, config=light, seed=0)
    message = str(err.value)
    assert "CAR-East: 8 stones in 1 lots" in message
    assert "--min-zone-stones" in message and "min_stones_per_zone" in message
    # Lowering the floor is what the message says: the same data then trains, marked thin.
    model = train_frames(frame, config={**light, "min_stones_per_zone": 5}, seed=0)
    assert model.manifest["training"]["thin_zones"]["CAR-East"]["stones"] == 8


def test_widening_is_measured_when_thin_zone_has_held_out_lots(reference, light):
    east_lots = reference.loc[reference["zone"] == "CAR-East", "lot_id"].unique()[:2]
    frame = reference[(reference["zone"] != "CAR-East") | reference["lot_id"].isin(east_lots)]
    model = train_frames(frame, config=light, seed=0)
    thin = model.manifest["training"]["thin_zones"]["CAR-East"]
    assert thin["lots"] == 2 and thin["widening_measured"] is True
    assert 1.0 <= thin["widening"] <= 10.0
