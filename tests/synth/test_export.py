"""SYNTHETIC export parcels (issue 12): site mixtures, top-ups, left-out sites, lot effects."""

from __future__ import annotations

import numpy as np
import pytest

from footprint.synth import load_params
from footprint.synth._export import generate_export_parcel
from footprint.synth._lots import lot_site


@pytest.fixture(scope="module")
def params():
    return load_params()


def test_top_up_counts_and_truth(params):
    rng = np.random.default_rng(0)
    stones, truth = generate_export_parcel(params, "CAR-West", 200, rng, foreign_zone="CAR-East",
                                           foreign_fraction=0.15)
    assert len(stones) == 200 and truth["synthetic"] is True
    assert truth["n_foreign"] == 30 and (stones["zone"] == "CAR-East").sum() == 30
    assert sum(truth["sites"].values()) == 170
    assert set(truth["sites"]) <= {s.site for s in params.zone_sites("CAR-West")}


def test_several_sites_appear_and_exclusions_hold(params):
    rng = np.random.default_rng(1)
    seen = set()
    for _ in range(20):
        stones, truth = generate_export_parcel(params, "CAR-West", 300, rng, exclude=("Gadzi",))
        assert "Gadzi" not in set(stones["site"])
        seen.add(len(truth["sites"]))
    assert max(seen) >= 3 and 1 in seen  # one-site and multi-site parcels both occur
    stones, _ = generate_export_parcel(params, "CAR-West", 100, rng, only=("Nola",))
    assert set(stones["site"]) == {"Nola"}


def test_lot_effect_moves_a_lot_and_zero_is_the_site(params):
    site = params.site("CAR-West", "Nola")
    rng = np.random.default_rng(2)
    assert lot_site(site, 0.0, rng) is site
    moved = lot_site(site, 0.3, rng)
    assert moved.num["n_ln_mu"] != site.num["n_ln_mu"]
    assert moved.num["mass_ln_sigma"] == site.num["mass_ln_sigma"]
    for name, shares in moved.cat.items():
        assert shares.sum() == pytest.approx(1.0) and len(shares) == len(site.cat[name])


def test_reference_lots_vary_from_lot_to_lot_only_when_asked(params):
    """``lot_sd`` gives reference lots their own centres: lot means spread beyond sampling noise."""
    from footprint.synth import generate_reference

    def lot_mean_spread(lot_sd: float) -> float:
        ref = generate_reference(params, seed=3, lots_per_site=20, stones_per_lot=100, lot_sd=lot_sd)
        one_site = ref[ref["site"] == ref["site"].iloc[0]]
        log_mass = np.log(one_site["mass_ct"].astype(float)).dropna()
        return float(log_mass.groupby(one_site["lot_id"].loc[log_mass.index]).mean().std())

    plain = generate_reference(params, seed=3, lots_per_site=2, stones_per_lot=5)
    assert plain.equals(generate_reference(params, seed=3, lots_per_site=2, stones_per_lot=5, lot_sd=0.0))
    assert lot_mean_spread(0.5) > 2.0 * lot_mean_spread(0.0)
