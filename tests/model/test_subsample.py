"""``assess_batch(sampling=...)``: a described subsample estimates the full parcel, with its own error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from footprint.exceptions import InputError

TESTS = ("mixed_p", "novelty_p", "fit_p", "foreign_fraction", "foreign_fraction_lo", "foreign_fraction_hi")


@pytest.fixture(scope="module")
def demo_model(repo_root: Path):
    from footprint.model import FootprintModel

    return FootprintModel.load(repo_root / "models" / "demo-synthetic")


@pytest.fixture(scope="module")
def described() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A quarter of the stones of 8 SYNTHETIC export parcels (the described subsample)."""
    from footprint.synth import generate_parcels, load_params

    stones, truth = generate_parcels(load_params(), seed=31, n_parcels=8, size_range=(200, 400))
    rng = np.random.default_rng(3)
    keep = np.concatenate([rng.choice(idx, len(idx) // 4, replace=False)
                           for idx in stones.groupby("parcel_id", sort=False).indices.values()])
    return stones.iloc[np.sort(keep)].reset_index(drop=True), truth[["parcel_id", "declared_zone"]]


def _by_parcel(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("parcel_id").sort_index()


def test_one_weight_per_parcel_scales_the_evidence_not_the_tests(demo_model, described) -> None:
    stones, declared = described
    plain, _ = demo_model.assess_batch(stones, declared, per_stone=False)
    sampled, _ = demo_model.assess_batch(stones, declared, per_stone=False,
                                         sampling=dict.fromkeys(declared["parcel_id"], 4.0))
    # Every stone described 4 times over: the zone evidence of the whole parcel, exactly.
    repeated = stones.loc[stones.index.repeat(4)].reset_index(drop=True)
    repeated["sample_id"] = [f"r{i}" for i in range(len(repeated))]
    whole, _ = demo_model.assess_batch(repeated, declared, per_stone=False)
    plain, sampled, whole = _by_parcel(plain), _by_parcel(sampled), _by_parcel(whole)
    np.testing.assert_allclose(sampled["log10_lr"], whole["log10_lr"], rtol=1e-9, atol=1e-9)
    p = [c for c in sampled.columns if c.startswith("p_")]
    np.testing.assert_allclose(sampled[p].to_numpy(float), whole[p].to_numpy(float), atol=1e-9)
    assert (np.abs(sampled["log10_lr"]) > 2 * np.abs(plain["log10_lr"])).all()
    # The tests, the foreign fraction and its interval are the described stones' own.
    for name in TESTS:
        np.testing.assert_allclose(sampled[name].astype(float), plain[name].astype(float), rtol=1e-9,
                                   atol=1e-12, err_msg=name)
    assert (sampled["n_stones"] == plain["n_stones"]).all()  # the stones described


def test_per_row_weights_equal_the_mapping(demo_model, described) -> None:
    stones, declared = described
    weights = {pid: 2.0 + k for k, pid in enumerate(declared["parcel_id"])}
    by_map, _ = demo_model.assess_batch(stones, declared, per_stone=False, sampling=weights)
    by_row, _ = demo_model.assess_batch(stones, declared, per_stone=False,
                                        sampling=stones["parcel_id"].map(weights).to_numpy())
    pd.testing.assert_frame_equal(by_map, by_row)
    ones, _ = demo_model.assess_batch(stones, declared, per_stone=False, sampling={})
    plain, _ = demo_model.assess_batch(stones, declared, per_stone=False)
    pd.testing.assert_frame_equal(ones, plain)


def test_unequal_weights_read_the_effective_size(demo_model) -> None:
    # 30 stones described, 5 of them standing for 40 stones each: N = 225 but n_eff = 225^2 / 8025 ~ 6,
    # below the minimum parcel size, whatever the 30 rows or the 225 stones would say.
    from footprint.synth import generate_parcels, load_params

    stones, truth = generate_parcels(load_params(), seed=4, n_parcels=1, size_range=(30, 30))
    s = np.ones(len(stones))
    s[:5] = 40.0
    res, _ = demo_model.assess_batch(stones, truth, per_stone=False, sampling=s)
    assert res["verdict_code"].iloc[0] == "inconclusive.too_few_stones"
    even, _ = demo_model.assess_batch(stones, truth, per_stone=False, sampling=np.full(len(stones), 7.5))
    assert even["verdict_code"].iloc[0] != "inconclusive.too_few_stones"


@pytest.mark.parametrize("bad", [np.full(3, 2.0), np.array([2.0, 0.5]), np.array([2.0, np.nan])])
def test_bad_sampling_weights_are_input_errors(demo_model, bad) -> None:
    stones = pd.DataFrame({"parcel_id": ["P", "P"], "sample_id": ["a", "b"], "quality": ["gem", "gem"]})
    with pytest.raises(InputError, match="sampling"):
        demo_model.assess_batch(stones, sampling=bad)
    with pytest.raises(InputError, match="sampling"):
        demo_model.assess_batch(stones, sampling={"P": float(bad[-1])} if len(bad) == 2 else {"P": "x"})


def test_cells_mean_mass_is_not_read_by_the_fit_test(demo_model) -> None:
    import inspect

    from footprint.model._fit_test import cell_sizes_for_fit
    from footprint.model._patterns import MASS_FEATURE

    assert inspect.signature(cell_sizes_for_fit).parameters["mass"].default == MASS_FEATURE

    rows = pd.DataFrame({"parcel_id": ["P"] * 3, "sample_id": ["a", "b", "c"],
                         "sieve_class": ["dtc:+11", "dtc:+11", "dtc:+7"], "mass_ct": [0.2, 0.21, 0.06],
                         "quality": ["gem"] * 3})
    names = demo_model.feature_names
    X = demo_model.matrix(rows)
    mass, sieve = names.index("log10_mass_ct"), names.index("sieve_mm")
    assert np.isfinite(X[:, mass]).all() and np.isnan(X[:, sieve]).all()  # a stone with a mass: no sieve
    out = cell_sizes_for_fit(X, rows, np.array([1.0, 12.0, 30.0]), demo_model.features, names)
    np.testing.assert_array_equal(out[0], X[0])  # a stone is read as it is
    assert np.isnan(out[1:, mass]).all() and np.isfinite(out[1:, sieve]).all()  # cells: their sieve class
    assert out[1, sieve] > out[2, sieve]
    np.testing.assert_array_equal(np.delete(out, [mass, sieve], axis=1), np.delete(X, [mass, sieve], axis=1))
    assert cell_sizes_for_fit(X, rows, np.ones(3), demo_model.features, names) is X
