"""The parcel layer (issue 12): site mixtures, weights, order, the calibrated mixed test.

SYNTHETIC data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom


def _export(params, zone, size, seed, **kw):
    from footprint.synth._export import generate_export_parcel

    rng = np.random.default_rng(seed)
    stones, truth = generate_export_parcel(params, zone, size, rng, **kw)
    stones = stones.drop(columns=["zone", "site"]).assign(parcel_id=f"X{seed}",
                                                           sample_id=[f"X{seed}-{i}" for i in range(size)])
    return stones, truth


def test_weight_equals_repetition(model, heldout):
    from footprint.model._parcel import zone_evidence

    stones = heldout.iloc[:60].assign(parcel_id="A")
    weights = np.ones(60)
    weights[[3, 10, 41]] = [3.0, 2.0, 5.0]
    rows = np.repeat(np.arange(60), weights.astype(int))
    repeated = stones.iloc[rows].reset_index(drop=True)
    res_w, _ = model.assess_batch(stones, declared_zone="CAR-West", weights=weights, per_stone=False)
    res_r, _ = model.assess_batch(repeated, declared_zone="CAR-West", per_stone=False)
    for col in ("log10_lr", "foreign_fraction", "foreign_fraction_lo", "foreign_fraction_hi", "mixed_p",
                "novelty_p", "p_CAR-West"):
        assert res_w[col].iloc[0] == pytest.approx(res_r[col].iloc[0], abs=1e-9, rel=1e-9), col
    assert res_w["n_stones"].iloc[0] == len(repeated)
    # The layer itself: a row of weight w contributes w times its stone log-likelihood.
    X = model.matrix(stones)
    ll = model.layout.stone_site_loglik(model.classifier.predict_log_proba(X))
    a = zone_evidence(ll, np.array([0]), weights, model.layout.site_zone, model.layout.log_weight, 2, 2.0)[0]
    b = zone_evidence(ll[rows], np.array([0]), np.ones(len(rows)), model.layout.site_zone,
                      model.layout.log_weight, 2, 2.0)[0]
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


def test_weights_rejected_when_invalid(model, heldout):
    from footprint.exceptions import InputError

    stones = heldout.iloc[:30].assign(parcel_id="A")
    with pytest.raises(InputError):
        model.assess_batch(stones, declared_zone="CAR-West", weights=-np.ones(30))


def test_verdicts_invariant_to_stone_order(model, params):
    frames = [_export(params, "CAR-West", 80, s)[0] for s in range(3)]
    frames.append(_export(params, "CAR-West", 80, 9, foreign_zone="CAR-East", foreign_fraction=0.3)[0])
    stones = pd.concat(frames, ignore_index=True)
    res_a, st_a = model.assess_batch(stones, declared_zone="CAR-West")
    shuffled = stones.iloc[np.random.default_rng(1).permutation(len(stones))].reset_index(drop=True)
    res_b, st_b = model.assess_batch(shuffled, declared_zone="CAR-West")
    res_b = res_b.set_index("parcel_id").loc[res_a["parcel_id"]].reset_index()
    assert (res_a["verdict"].to_numpy() == res_b["verdict"].to_numpy()).all()
    for col in ("log10_lr", "foreign_fraction", "mixed_p", "novelty_p"):
        np.testing.assert_allclose(res_a[col], res_b[col], rtol=1e-6, atol=1e-6)
    merged = st_a.merge(st_b, on="sample_id")
    np.testing.assert_allclose(merged["p_foreign_x"], merged["p_foreign_y"], rtol=1e-6, atol=1e-6)


def test_halves_of_two_west_sites_are_consistent(model, params):
    rng = np.random.default_rng(11)
    from footprint.synth._generate import apply_missingness, sample_site_stones

    parts = [sample_site_stones(params.site("CAR-West", s), params, 100, rng) for s in ("Nola", "Berberati")]
    stones = apply_missingness(pd.concat(parts, ignore_index=True), params, rng)
    stones = stones.assign(parcel_id="HALVES", sample_id=[f"H{i}" for i in range(200)])
    assessment = model.assess(stones, declared_zone="CAR-West")
    assert assessment.verdict == "consistent", assessment.wording
    assert assessment.flags == []
    shares = assessment.site_shares
    assert shares["Nola"][0] + shares["Berberati"][0] > 0.6  # the two sites carry the parcel
    assert abs(sum(v[0] for v in shares.values()) - 1.0) < 1e-6


@pytest.mark.parametrize("zone", [
    "CAR-West",
    # KNOWN FAILURE, kept visible: with this test's thin reference (5 lots a site) genuine CAR-East parcels
    # reach p < 0.01 10% of the time, with the pooled null as with the per-zone one (the held-out parcels,
    # drawn again and again from the same five lots, do not carry the final model's density errors). At the
    # bundled size (120 lots a site) both zones are calibrated (bench_parcels). Strict: passing is news.
    pytest.param("CAR-East", marks=pytest.mark.xfail(strict=True, reason="thin reference: light East null")),
])
def test_mixed_p_value_calibrated_on_heldout_genuine_parcels(model, params, zone):
    """Genuine multi-site parcels never seen in training: mixed p-values not too small too often.

    Each zone meets its own null (CAR-East's, facing five West sites, is heavier than CAR-West's).
    """
    frames = [_export(params, zone, int(size), 100 + k)[0]
              for k, size in enumerate(np.tile([30, 60, 120], 40))]
    res, _ = model.assess_batch(pd.concat(frames, ignore_index=True), declared_zone=zone,
                                per_stone=False)
    p = res["mixed_p"].to_numpy()
    n = len(p)
    for alpha in (0.05, 0.1, 0.25):
        # Calibrated: at most alpha of genuine parcels below alpha, up to binomial noise (99.9% bound).
        assert (p < alpha).sum() <= binom.ppf(0.999, n, alpha), alpha
    assert np.mean(p > 0.5) > 0.25  # not stuck at 0: spread like a p-value
    assert (res["verdict"] == "consistent").mean() >= 0.9


def test_easy_top_up_is_detected(model, params):
    stones, truth = _export(params, "CAR-West", 400, 7, foreign_zone="CAR-East", foreign_fraction=0.3)
    res, per_stone = model.assess_batch(stones, declared_zone="CAR-West")
    row = res.iloc[0]
    assert row["verdict"] == "mixed" and "mixed" in row["flags"]
    assert row["foreign_fraction_lo"] <= truth["foreign_fraction"] + 0.08
    assert row["foreign_fraction_hi"] >= truth["foreign_fraction"] - 0.08
    assert per_stone["p_foreign"].between(0, 1).all()


def test_v1_thresholds_still_load():
    from importlib import resources

    from footprint.model import load_thresholds

    path = resources.files("footprint").joinpath("data/thresholds_v1.json")
    t = load_thresholds(str(path))
    assert t["version"] == "1" and t["unknown_alpha"] == t["novelty_alpha_parcel"] and "mixed_alpha" in t
    assert load_thresholds()["version"] == "4"


def test_interval_floor_widens_by_a_size_free_part():
    from footprint.model._parcel import ParcelCalibration, widen_interval

    est = np.array([0.0, 0.10, 0.50, 0.99])
    low, high = est - np.array([0.0, 0.02, 0.05, 0.01]), est + np.array([0.03, 0.02, 0.05, 0.01])
    same = widen_interval(est, low, high, 0.0, 0.9)
    assert np.array_equal(same[0], low) and np.array_equal(same[1], high)
    lo, hi = widen_interval(est, low, high, 0.02, 0.9)
    z = 1.6448536269514722
    # Each side's half-width adds (z * floor) in quadrature; the interval stays in [0, 1] and contains the
    # old one.
    assert hi[1] - est[1] == pytest.approx(np.hypot(0.02, z * 0.02))
    assert est[2] - lo[2] == pytest.approx(np.hypot(0.05, z * 0.02))
    assert lo[0] == 0.0 and hi[3] == 1.0
    assert np.all(lo <= low) and np.all(hi >= high)
    # A model saved before the floor existed loads with floor 0.
    parts = ParcelCalibration(2.0, 1.0, 0.0, 1.0, np.array([25]), [np.zeros(3)], [np.zeros(3)]).to_parts()
    parts.pop("interval_floor")
    assert ParcelCalibration.from_parts(parts).interval_floor == 0.0


def test_fitted_interval_covers_heldout_topups_at_every_size(model):
    # The calibration's own held-out figures: scale >= 1, floor >= 0, coverage near the nominal 90%.
    report = model.parcel.report
    assert report["interval_scale"] >= 1.0 and report["interval_floor"] >= 0.0
    assert report["interval_coverage_fit"] is not None and report["interval_coverage_fit"] >= 0.85


def test_mixed_null_per_declared_zone():
    """Each parcel's mixed statistic meets its target zone's own null (the pooled one if it has none)."""
    from footprint.model._parcel import ParcelCalibration

    sizes = np.array([25, 100])
    light = [np.linspace(0, 5, 101), np.linspace(0, 5, 201)]  # zone 0
    heavy = [np.linspace(0, 10, 101), np.linspace(0, 10, 201)]  # zone 1
    pooled = [np.sort(np.concatenate([a, b])) for a, b in zip(light, heavy, strict=True)]
    cal = ParcelCalibration(2.0, 1.0, 0.0, 1.0, sizes, pooled, [np.zeros(3)] * 2,
                            mixed_null_zone=[light, heavy, []])
    stat = np.array([4.975, 4.975, 4.975, 9.975])
    p = cal.mixed_p_values(stat, np.array([25, 25, 25, 25]), np.array([0, 1, 2, 1]))
    assert p[0] == pytest.approx(2 / 102) and p[1] == pytest.approx(52 / 102)
    assert p[2] == pytest.approx((1 + 52) / 203)  # zone 2 has no held-out lots: the pooled null
    assert p[3] == pytest.approx(2 / 102)
    # Saved and loaded; a model saved before the per-zone nulls reads the pooled null for every zone.
    again = ParcelCalibration.from_parts(cal.to_parts())
    np.testing.assert_array_equal(again.mixed_p_values(stat, np.full(4, 25), np.array([0, 1, 2, 1])), p)
    old = cal.to_parts()
    del old["mixed_null_zone"]
    np.testing.assert_allclose(ParcelCalibration.from_parts(old).mixed_p_values(stat, np.full(4, 25),
                                                                                np.array([0, 1, 2, 1])),
                               [53 / 203, 53 / 203, 53 / 203, 2 / 203])


def test_trained_model_holds_each_zone_null(model):
    """Training tabulates every zone's own mixed null, pooled downwards; the pooled null is their union."""
    cal = model.parcel
    assert cal.mixed_null_zone is not None and len(cal.mixed_null_zone) == len(model.zones)
    for tables in cal.mixed_null_zone:
        assert len(tables) == len(cal.null_sizes)
        assert all(len(a) <= len(b) for a, b in zip(tables[:-1], tables[1:], strict=False))
        # At the smallest size at least a thousand parcels: the 1% tail is read from ten values or more.
        assert len(tables[0]) >= 1000 * min(1.0, 2.0 / len(model.zones))
    for k in range(len(cal.null_sizes)):
        np.testing.assert_array_equal(cal.mixed_null[k],
                                      np.sort(np.concatenate([t[k] for t in cal.mixed_null_zone])))
