"""The population goodness-of-fit test (issue 12 item 4): a parcel unlike any mixture of reference sites.

SYNTHETIC data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

WEST_SITES = ("Berberati", "Boda", "Carnot", "Gadzi", "Nola")
REPO = Path(__file__).resolve().parents[2]


def _site_stones(params, site, n, rng):
    from footprint.synth._generate import sample_site_stones

    return sample_site_stones(params.site("CAR-West", site), params, n, rng)


def _finish(params, frames, rng, prefix):
    from footprint.synth._generate import apply_missingness

    out = []
    for k, frame in enumerate(frames):
        stones = apply_missingness(frame.reset_index(drop=True), params, rng)
        out.append(stones.assign(parcel_id=f"{prefix}{k:03d}",
                                 sample_id=[f"{prefix}{k:03d}-{i}" for i in range(len(stones))]))
    return pd.concat(out, ignore_index=True).drop(columns=["zone", "site"], errors="ignore")


def _shifted(params, size, rng):
    """Stones of one West site, five fields' category frequencies reweighted (inside the reference range).

    Every stone is a genuine draw of the site (so each is typical of it); only the population's
    category shares move: the two categories of each field the site has least of (among those it
    has at least 5% of) weigh six times as much.
    """
    site = WEST_SITES[int(rng.integers(len(WEST_SITES)))]
    pool = _site_stones(params, site, 6 * size, rng)
    weight = np.ones(len(pool))
    for field in ("colour", "morphology", "fluorescence", "quality", "resorption"):
        share = pool[field].value_counts(normalize=True)
        boosted = share[share >= 0.05].sort_values().index[:2]
        weight *= np.where(pool[field].isin(boosted), 6.0, 1.0)
    pick = rng.choice(len(pool), size=size, replace=False, p=weight / weight.sum())
    return pool.iloc[pick]


def _genuine(params, size, rng):
    """A genuine West export parcel: two or three West sites in Dirichlet shares."""
    k = int(rng.integers(2, 4))
    sites = rng.choice(len(WEST_SITES), size=k, replace=False)
    counts = rng.multinomial(size, rng.dirichlet(np.ones(k)))
    parts = [_site_stones(params, WEST_SITES[s], int(c), rng)
             for s, c in zip(sites, counts, strict=True) if c]
    return pd.concat(parts, ignore_index=True)


def test_shifted_population_flagged_and_genuine_not(model, params):
    """Reweighted categories of a West site: flagged at 400 stones; genuine multi-site parcels are not."""
    rng = np.random.default_rng(42)
    n = 24
    shifted = _finish(params, [_shifted(params, 400, rng) for _ in range(n)], rng, "S")
    genuine = _finish(params, [_genuine(params, 400, rng) for _ in range(n)], rng, "G")
    alpha = model.thresholds["unknown_alpha"] / 2
    res_s, _ = model.assess_batch(shifted, declared_zone="CAR-West", per_stone=False)
    res_g, _ = model.assess_batch(genuine, declared_zone="CAR-West", per_stone=False)
    # The per-stone typicality test does not see the shift; the population fit does.
    assert (res_s["fit_p"] < alpha).mean() >= 0.9
    assert res_s["flags"].str.contains("unknown_origin").mean() >= 0.9
    assert (res_s["verdict"] == "consistent").mean() <= 0.1
    assert (res_s["novelty_p"] < alpha).mean() <= 0.25  # each stone is typical of the site
    assert (res_g["fit_p"] < alpha).mean() <= 2 / n
    assert res_g["flags"].str.contains("unknown_origin").mean() <= 2 / n
    # A genuine parcel's fit p-values are spread like p-values, not stuck near 0.
    assert np.median(res_g["fit_p"]) > 0.1


def test_top_up_from_a_reference_zone_is_mixed_not_unknown(model, params):
    """East stones in a West parcel are explained by the reference: the fit test does not call it unknown."""
    from footprint.synth._export import generate_export_parcel

    rng = np.random.default_rng(8)
    frames = []
    for k in range(12):
        stones, _ = generate_export_parcel(params, "CAR-West", 400, rng, foreign_zone="CAR-East",
                                           foreign_fraction=0.3)
        frames.append(stones.drop(columns=["zone", "site"]).assign(
            parcel_id=f"T{k}", sample_id=[f"T{k}-{i}" for i in range(400)]))
    res, _ = model.assess_batch(pd.concat(frames, ignore_index=True), declared_zone="CAR-West",
                                per_stone=False)
    assert (res["verdict"] == "mixed").mean() >= 0.5  # the mixed test's power is bench_parcels' business
    assert (res["fit_p"] < model.thresholds["unknown_alpha"] / 2).mean() <= 1 / 12
    assert not res["verdict"].eq("unknown_origin").any()


def test_weights_equal_repeated_rows(model, heldout):
    from footprint.model._fit_test import fit_statistic

    stones = heldout[heldout["zone"] == "CAR-West"].iloc[:150].assign(parcel_id="A")
    weights = np.ones(len(stones))
    weights[[2, 17, 60, 99]] = [3.0, 2.0, 5.0, 4.0]
    rows = np.repeat(np.arange(len(stones)), weights.astype(int))
    cells = model.fit_cells
    codes = cells.cells(model.matrix(stones))
    shares = np.full((1, len(model.sites)), 1.0 / len(model.sites))
    a = fit_statistic(codes, np.array([0]), weights, shares, cells.n_cells, tables=cells.tables,
                      per_field=True)
    b = fit_statistic(codes[rows], np.array([0]), np.ones(len(rows)), shares, cells.n_cells,
                      tables=cells.tables, per_field=True)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-9)
    # Through the whole assessment (the site shares come from the same EM either way).
    res_w, _ = model.assess_batch(stones, declared_zone="CAR-West", weights=weights, per_stone=False)
    res_r, _ = model.assess_batch(stones.iloc[rows].reset_index(drop=True), declared_zone="CAR-West",
                                  per_stone=False)
    assert res_w["fit_p"].iloc[0] == pytest.approx(res_r["fit_p"].iloc[0], rel=1e-6, abs=1e-12)


def test_out_of_fold_tables_match_the_reference(model, reference):
    """Each site's cell probabilities are its shrunk cell frequencies: pooled, they match the reference's."""
    from footprint.model._train import derive_sites_and_lots

    cells = model.fit_cells
    X = model.matrix(reference)
    codes = cells.cells(X)
    frame, _ = derive_sites_and_lots(reference)
    site = frame["_site"].map({f"{z}/{s}": k for k, (z, s) in enumerate(model.sites)}).to_numpy()
    share = np.bincount(site, minlength=len(model.sites)) / len(site)
    for j, table in enumerate(cells.tables):
        np.testing.assert_allclose(table.sum(axis=1), 1.0, atol=1e-9)
        seen = codes[:, j] >= 0
        if not seen.any():
            continue
        observed = np.bincount(codes[seen, j], minlength=table.shape[1]) / seen.sum()
        # Sites' measured shares weigh the sites (missingness differs little between sites here).
        measured = np.bincount(site[seen], minlength=len(model.sites)) / seen.sum()
        np.testing.assert_allclose(measured @ table, observed, atol=0.04, err_msg=model.feature_names[j])
    assert cells.n_cells.min() >= 2 and share.sum() == pytest.approx(1.0)


def test_fit_null_grows_no_faster_than_its_table(model):
    """The null is tabulated per size (it grows with n under lot-to-lot variation); every size has one."""
    null = model.parcel.fit_null
    assert null is not None and len(null) == len(model.parcel.null_sizes)
    assert all(len(v) >= 8 and np.all(np.diff(v) >= 0) for v in null)


def test_model_without_fit_null_loads_and_assesses(model, params, tmp_path):
    """A model saved before the fit test (the committed demo model, or parts without it) still assesses."""
    from footprint.model import FootprintModel, load_thresholds

    parts = model.parts()
    parts.pop("fit_cells")
    parts["parcel"] = {k: v for k, v in parts["parcel"].items() if k != "fit_null"}
    old = FootprintModel(parts, model.thresholds)
    assert old.fit_cells is None and old.parcel.fit_null is None
    rng = np.random.default_rng(3)
    stones = _finish(params, [_genuine(params, 200, rng) for _ in range(3)], rng, "O")
    res, _ = old.assess_batch(stones, declared_zone="CAR-West", per_stone=False)
    assert res["fit_p"].isna().all() and res["verdict"].notna().all()
    new, _ = model.assess_batch(stones, declared_zone="CAR-West", per_stone=False)
    np.testing.assert_allclose(res["novelty_p"], new["novelty_p"])
    old.save(tmp_path / "old")
    again = FootprintModel.load(tmp_path / "old")
    assert again.fit_cells is None and again.parcel.fit_null is None
    demo = REPO / "models" / "demo-synthetic"
    if demo.exists():
        loaded = FootprintModel.load(demo)
        if loaded.parcel.fit_null is None:  # saved before the fit test
            out, _ = loaded.with_thresholds(load_thresholds()).assess_batch(stones, declared_zone="CAR-West",
                                                                              per_stone=False)
            assert out["fit_p"].isna().all() and len(out) == 3


def test_unknown_origin_rule_by_threshold_version():
    from importlib import resources

    from footprint.model import load_thresholds
    from footprint.model._verdict import unknown_origin_test

    v3 = load_thresholds(str(resources.files("footprint").joinpath("data/thresholds_v3.json")))
    v2 = load_thresholds(str(resources.files("footprint").joinpath("data/thresholds_v2.json")))
    assert v3["version"] == "3" and v2["version"] == "2" and v3["unknown_alpha"] == 0.01
    v4 = load_thresholds()  # the default: the same unknown-origin rule as v3
    assert v4["version"] == "4" and v4["unknown_alpha"] == v3["unknown_alpha"]
    novelty = np.array([0.008, 0.5, 0.5, 0.004, 0.008])
    fit = np.array([0.5, 0.001, 0.02, 0.5, np.nan])
    # v3: either test below alpha / 2 (Bonferroni); no fit p-value (old model): novelty at alpha.
    assert unknown_origin_test(v3, novelty, fit).tolist() == [False, True, False, True, True]
    assert unknown_origin_test(v4, novelty, fit).tolist() == [False, True, False, True, True]
    # v2 keeps its meaning: the novelty test alone at alpha.
    assert unknown_origin_test(v2, novelty, fit).tolist() == [True, False, False, True, True]
    assert unknown_origin_test(v3, novelty, None).tolist() == [True, False, False, True, True]


def test_cell_counts_carry_the_model_term():
    """The tables path sums ``counts x log share`` per cell; the same as each stone's own log share."""
    from footprint.model._fit_test import fit_statistic

    rng = np.random.default_rng(5)
    n_cells = np.array([3, 5, 2])
    n_sites, n = 4, 600
    tables = [rng.dirichlet(np.ones(k), size=n_sites) for k in n_cells]
    codes = np.stack([rng.integers(0, k, n) for k in n_cells], axis=1)
    codes[rng.random(codes.shape) < 0.2] = -1  # unmeasured fields
    starts = np.array([0, 10, 250, 251])
    weights = rng.integers(1, 4, n).astype(float)
    shares = rng.dirichlet(np.ones(n_sites), size=len(starts))
    per_stone = np.ones((n, len(n_cells), n_sites))
    for j, table in enumerate(tables):
        seen = codes[:, j] >= 0
        per_stone[seen, j] = table[:, codes[seen, j]].T
    for per_field in (False, True):
        a = fit_statistic(codes, starts, weights, shares, n_cells, tables=tables, per_field=per_field)
        b = fit_statistic(codes, starts, weights, shares, n_cells, stone_probs=per_stone, per_field=per_field)
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)
    assert (a > 0).any()


def test_fit_null_read_per_declared_zone():
    """A zone whose genuine parcels sit above the pooled null meets its own level, not the pooled one."""
    from footprint.model._fit_test import fit_p_values, zone_offsets
    from footprint.model._parcel import ParcelCalibration

    rng = np.random.default_rng(0)
    sizes = np.array([25, 100, 400])
    low = [np.sort(rng.normal(70, 10, 400)) for _ in sizes]  # zone 0's genuine parcels
    high = [np.sort(rng.normal(80, 10, 400)) for _ in sizes]  # zone 1's: one spread higher
    pooled = [np.sort(np.concatenate([a, b])) for a, b in zip(low, high, strict=True)]
    cal = ParcelCalibration(2.0, 1.0, 0.0, 1.0, sizes, pooled, [np.zeros(3)] * 3, fit_null=pooled,
                            fit_null_zone=[low, high, []])
    offsets = zone_offsets(pooled, [low, high, []])
    assert offsets[0] == pytest.approx(-5, abs=1.5) and offsets[1] == pytest.approx(5, abs=1.5)
    assert np.isnan(offsets[2])

    class _Cells:  # one field, two cells: the statistic is then set by the parcels' own cells
        kinds = ["cat"]

    fresh_high = rng.normal(80, 10, 4000)
    fresh_low = rng.normal(70, 10, 4000)

    def p_of(stat, target):
        from footprint.model import _fit_test

        keep = _fit_test.fit_statistic
        _fit_test.fit_statistic = lambda *a, **k: stat
        try:
            cells = _Cells()
            cells.cells = lambda X: X
            cells.n_cells = np.array([2])
            cells.tables = []
            X = np.zeros((len(stat), 1))
            return fit_p_values(cells, cal, X, np.arange(len(stat)), np.ones(len(stat)),
                                np.full(len(stat), 100.0), np.ones((len(stat), 1)), target)
        finally:
            _fit_test.fit_statistic = keep

    pooled_high = p_of(fresh_high, None)
    own_high = p_of(fresh_high, np.ones(len(fresh_high), dtype=int))
    own_low = p_of(fresh_low, np.zeros(len(fresh_low), dtype=int))
    # read against the pooled null the high zone fails at several times its level; per zone, at its level
    assert np.mean(pooled_high < 0.01) > 0.025
    for p in (own_high, own_low):
        assert 0.003 <= np.mean(p < 0.01) <= 0.02
    # a zone without tables (no held-out lots) reads the zones' common footing unshifted: between them
    some = fresh_high[:50]
    p_none = p_of(some, np.full(50, 2))
    assert (p_of(some, np.zeros(50, dtype=int)) <= p_none + 1e-12).all()
    assert (p_none <= p_of(some, np.ones(50, dtype=int)) + 1e-12).all()
    # saved and loaded
    again = ParcelCalibration.from_parts(cal.to_parts())
    assert again.fit_null_zone is not None and len(again.fit_null_zone[1]) == len(sizes)


def test_trained_model_holds_each_zone_fit_null(model):
    cal = model.parcel
    assert cal.fit_null_zone is not None and len(cal.fit_null_zone) == len(model.zones)
    for k in range(len(cal.null_sizes)):
        np.testing.assert_array_equal(cal.fit_null[k],
                                      np.sort(np.concatenate([t[k] for t in cal.fit_null_zone if len(t)])))
