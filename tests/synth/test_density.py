"""The sampler and the exact density agree; the density normalises; its Bayes rule is optimal."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from scipy.special import logsumexp

from footprint.synth import ExactDensity, generate_reference
from footprint.synth._generate import sample_site_stones
from footprint.synth._params import CATEGORICAL, ORDINAL

N_DRAWS = 20_000


@pytest.fixture(scope="module")
def carnot(params):
    return params.site("CAR-West", "Carnot")


@pytest.fixture(scope="module")
def carnot_draws(params, carnot) -> pd.DataFrame:
    return sample_site_stones(carnot, params, N_DRAWS, np.random.default_rng(11))


def _site_column(density: ExactDensity, zone: str, site: str) -> int:
    return density.sites.index((zone, site))


# -- sampler vs parameters -------------------------------------------------------------


def _check_shares(values: pd.Series, vocab: tuple[str, ...], shares: np.ndarray) -> None:
    values = values.astype(str)
    observed = np.array([(values == v).sum() for v in vocab])
    expected = shares * len(values)
    live = expected > 0
    assert observed[~live].sum() == 0  # a zero share is never drawn (carbonado in the East, ...)
    p = stats.chisquare(observed[live], expected[live]).pvalue
    assert p > 1e-3, (observed, expected.round(1))


@pytest.mark.parametrize("name", [n for n in [*CATEGORICAL, *ORDINAL] if n != "colour"])
def test_category_frequencies_match_the_parameters(carnot, carnot_draws, name) -> None:
    _check_shares(carnot_draws[name], {**CATEGORICAL, **ORDINAL}[name], carnot.cat[name])


def test_colour_frequencies_match_given_the_form(params, carnot, carnot_draws) -> None:
    carbonado = carnot_draws["morphology"] == "carbonado"
    assert carbonado.sum() > 100
    _check_shares(carnot_draws.loc[~carbonado, "colour"], CATEGORICAL["colour"], carnot.cat["colour"])
    _check_shares(carnot_draws.loc[carbonado, "colour"], CATEGORICAL["colour"], params.carbonado_colour)


def test_coating_rate_matches(carnot, carnot_draws) -> None:
    k = int(carnot_draws["coating"].sum())
    assert stats.binomtest(k, N_DRAWS, carnot.num["coating_p"]).pvalue > 1e-3


def _trunc_lognorm_cdf(mu: float, sd: float, lo: float, hi: float):
    a, b = stats.norm.cdf((math.log(lo) - mu) / sd), stats.norm.cdf((math.log(hi) - mu) / sd)
    return lambda x: (stats.norm.cdf((np.log(x) - mu) / sd) - a) / (b - a)


def test_mass_is_truncated_lognormal(params, carnot, carnot_draws) -> None:
    mass = carnot_draws["mass_ct"].to_numpy()
    assert mass.min() >= params.cutoff_ct
    cdf = _trunc_lognorm_cdf(carnot.num["mass_ln_mu"], carnot.num["mass_ln_sigma"], params.cutoff_ct, 1e9)
    assert stats.kstest(mass, cdf).pvalue > 1e-3


def test_nitrogen_and_aggregation_distributions(params, carnot, carnot_draws) -> None:
    n = carnot_draws["n_total_ppm"].to_numpy()
    iia = n == 0
    assert stats.binomtest(int(iia.sum()), N_DRAWS, carnot.num["iia_p"]).pvalue > 1e-3
    cdf = _trunc_lognorm_cdf(carnot.num["n_ln_mu"], carnot.num["n_ln_sigma"], params.n_min_ppm,
                             carnot.num["n_max_ppm"])
    assert n[~iia].max() <= carnot.num["n_max_ppm"]
    assert stats.kstest(n[~iia], cdf).pvalue > 1e-3
    a, b = carnot.beta_ab
    frac = carnot_draws["n_b_percent"].to_numpy()[~iia] / 100
    assert stats.kstest(frac, stats.beta(a, b).cdf).pvalue > 1e-3
    # derived values are consistent with N and %B
    np.testing.assert_allclose(carnot_draws["n_a_ppm"] + carnot_draws["n_b_ppm"], n, rtol=1e-12)
    types = carnot_draws["diamond_type"].to_numpy()
    assert set(types[iia]) == {"IIa"} and "IIa" not in set(types[~iia])


def test_hydrogen_presence_rises_with_nitrogen(carnot_draws) -> None:
    typed = carnot_draws[carnot_draws["n_total_ppm"] > 0]
    low = typed[typed["n_total_ppm"] < 100]["h3107_area_cm2"].gt(0).mean()
    high = typed[typed["n_total_ppm"] > 300]["h3107_area_cm2"].gt(0).mean()
    assert high > low + 0.1


def test_sieve_bins_match_the_density_bin_probabilities(params, density, carnot_draws) -> None:
    counts = carnot_draws["sieve_class"].value_counts()
    bins = sorted(counts.index, key=lambda s: int(s.split("+")[1]))
    frame = pd.DataFrame({"sieve_class": bins})
    col = _site_column(density, "CAR-West", "Carnot")
    probs = np.exp(density.log_p_stone_site(frame)[:, col])
    assert probs.sum() == pytest.approx(1.0, abs=1e-9)  # every bin with mass is among the drawn ones
    expected = probs * N_DRAWS
    observed = counts.loc[bins].to_numpy()
    keep = expected > 5
    assert stats.chisquare(observed[keep], expected[keep] * observed[keep].sum() / expected[keep].sum()
                           ).pvalue > 1e-3


# -- the density normalises ------------------------------------------------------------


@pytest.mark.parametrize("name", [*CATEGORICAL, *ORDINAL])
def test_categorical_terms_sum_to_one(density, name) -> None:
    vocab = {**CATEGORICAL, **ORDINAL}[name]
    values = [int(v) for v in vocab] if name in ORDINAL else list(vocab)
    frame = pd.DataFrame({name: values})
    total = np.exp(density.log_p_stone_site(frame)).sum(axis=0)
    np.testing.assert_allclose(total, 1.0, atol=1e-9)


@pytest.mark.parametrize("form", ["carbonado", "octahedron", None])
def test_colour_given_form_sums_to_one(density, form) -> None:
    colours = list(CATEGORICAL["colour"])
    frame = pd.DataFrame({"colour": colours, "morphology": [form] * len(colours)})
    west = [i for i, (zone, _) in enumerate(density.sites) if zone == "CAR-West"]  # carbonado possible
    base = density.log_p_stone_site(frame.assign(colour=None))[:, west]  # the form's own term
    total = np.exp(density.log_p_stone_site(frame)[:, west] - base).sum(axis=0)
    np.testing.assert_allclose(total, 1.0, atol=1e-9)


def test_all_missing_stone_has_log_density_zero(density) -> None:
    frame = pd.DataFrame({"mass_ct": [np.nan], "colour": [None]})
    np.testing.assert_array_equal(density.log_p_stone_site(frame), 0.0)


def _integrate(density: ExactDensity, column: int, build, lo: float, hi: float, *, log_scale: bool) -> float:
    def f(t: float) -> float:
        x = math.exp(t) if log_scale else t
        value = math.exp(density.log_p_stone_site(build(x))[0, column])
        return value * x if log_scale else value

    a, b = (math.log(lo), math.log(hi)) if log_scale else (lo, hi)
    return integrate.quad(f, a, b, limit=200)[0]


def test_numeric_terms_integrate_to_one(params, density) -> None:
    col = _site_column(density, "CAR-East", "Bria")
    site = params.site("CAR-East", "Bria")
    mass = _integrate(density, col, lambda x: pd.DataFrame({"mass_ct": [x]}), params.cutoff_ct, 1e4,
                      log_scale=True)
    assert mass == pytest.approx(1.0, abs=1e-6)
    d13c = _integrate(density, col, lambda x: pd.DataFrame({"d13c_permil": [x]}), -40, 10, log_scale=False)
    assert d13c == pytest.approx(1.0, abs=1e-6)
    # type I nitrogen density + the type IIa point mass
    n_i = _integrate(density, col, lambda x: pd.DataFrame({"n_total_ppm": [x]}), params.n_min_ppm,
                     site.num["n_max_ppm"], log_scale=True)
    assert n_i + site.num["iia_p"] == pytest.approx(1.0, abs=1e-6)
    # %B given N (divide out the N term)
    base = density.log_p_stone_site(pd.DataFrame({"n_total_ppm": [200.0]}))[0, col]
    pct = integrate.quad(lambda x: math.exp(density.log_p_stone_site(pd.DataFrame(
        {"n_total_ppm": [200.0], "n_b_percent": [x]}))[0, col] - base), 0, 100, limit=200)[0]
    assert pct == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("column", ["platelet_area_cm2", "h3107_area_cm2"])
def test_peak_areas_point_mass_plus_density_is_one(density, column) -> None:
    col = _site_column(density, "CAR-West", "Nola")
    given = {"n_total_ppm": [320.0], "n_b_percent": [45.0]}
    base = density.log_p_stone_site(pd.DataFrame(given))[0, col]

    def term(x: float) -> float:
        return math.exp(density.log_p_stone_site(pd.DataFrame({**given, column: [x]}))[0, col] - base)

    absent = term(0.0)
    present = integrate.quad(lambda t: term(math.exp(t)) * math.exp(t), math.log(1e-6), math.log(1e6),
                             limit=200)[0]
    assert 0 < absent < 1
    assert absent + present == pytest.approx(1.0, abs=1e-6)


def test_zone_marginal_is_the_site_mixture(params, density) -> None:
    stones = generate_reference(params, seed=3, lots_per_site=1, stones_per_lot=5)
    per_site = density.log_p_stone_site(stones)
    by_zone = density.log_p_stone_zone(stones)
    for z, zone in enumerate(density.zones):
        cols = [i for i, (zz, _) in enumerate(density.sites) if zz == zone]
        manual = logsumexp(per_site[:, cols] + np.log(density.site_weights[cols]), axis=1)
        np.testing.assert_allclose(by_zone[:, z], manual)
    singles = density.log_p_parcel_zone(stones.assign(parcel_id=stones["sample_id"]))
    np.testing.assert_allclose(singles.loc[stones["sample_id"]].to_numpy(), by_zone)


def test_carbonado_is_proof_of_west(density) -> None:
    lp = density.log_p_stone_zone(pd.DataFrame({"morphology": ["carbonado"]}))
    assert np.isfinite(lp[0, 0]) and lp[0, 1] == -np.inf


def test_missingness_is_independent_of_zone(params) -> None:
    stones = generate_reference(params, seed=5, lots_per_site=4, stones_per_lot=60)
    for name in ("mass_ct", "colour", "fluorescence", "n_total_ppm", "d13c_permil"):
        table = pd.crosstab(stones["zone"], stones[name].isna())
        assert stats.chi2_contingency(table).pvalue > 1e-3, name
        rate = stones[name].isna().mean()
        expected = params.missing["ftir" if name == "n_total_ppm" else name]
        assert rate == pytest.approx(expected, abs=0.03)


# -- Bayes optimality ------------------------------------------------------------------


def _features(stones: pd.DataFrame) -> np.ndarray:
    cols = []
    for name in ("mass_ct", "n_total_ppm", "n_b_percent", "platelet_area_cm2", "h3107_area_cm2",
                 "d13c_permil"):
        cols.append(pd.to_numeric(stones[name]).astype(float).to_numpy())
    for name in ("resorption", "abrasion"):
        cols.append(stones[name].astype("Float64").to_numpy(dtype=float, na_value=np.nan))
    cols.append(stones["coating"].astype("Float64").to_numpy(dtype=float, na_value=np.nan))
    cols.append(stones["sieve_class"].map(lambda v: np.nan if v is None else float(v.split("+")[1]))
                .to_numpy(dtype=float))
    for name, vocab in CATEGORICAL.items():
        codes = stones[name].map(lambda v, vocab=vocab: np.nan if v is None else float(vocab.index(v)))
        cols.append(codes.to_numpy(dtype=float))
    return np.column_stack(cols)


@pytest.mark.slow
def test_bayes_rule_beats_a_fitted_gradient_boosting_model(density) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import log_loss

    rng = np.random.default_rng(2024)
    train, y_train = density.sample_parcels(30_000, 1, rng)
    test, y_test = density.sample_parcels(20_000, 1, rng)
    n_cat = len(CATEGORICAL)
    x_train, x_test = _features(train), _features(test)
    cat_mask = np.r_[np.zeros(x_train.shape[1] - n_cat, bool), np.ones(n_cat, bool)]
    model = HistGradientBoostingClassifier(categorical_features=cat_mask, random_state=0, max_iter=200,
                                           early_stopping=True)
    model.fit(x_train, y_train)
    p_model = model.predict_proba(x_test)
    lik = density.log_p_parcel_zone(test).reindex(np.arange(len(y_test))).to_numpy()
    p_bayes = np.exp(lik - logsumexp(lik, axis=1, keepdims=True))
    acc_model = np.mean(p_model.argmax(1) == y_test)
    acc_bayes = np.mean(p_bayes.argmax(1) == y_test)
    se = math.sqrt(0.25 / len(y_test))
    assert acc_bayes >= acc_model - 2 * se, (acc_bayes, acc_model)
    assert log_loss(y_test, p_bayes) <= log_loss(y_test, p_model) + 0.002
    assert acc_model > 0.58  # the model did learn something: the comparison is not empty


def test_site_aware_parcels_are_calibrated_and_the_zone_product_is_overconfident(density) -> None:
    from footprint.synth import score_posteriors

    stones, truth = density.sample_parcels(2000, 50, np.random.default_rng(8))
    aware = score_posteriors(density.log_p_parcel_zone(stones).reindex(np.arange(2000)).to_numpy(), truth)
    naive = score_posteriors(density.log_p_parcel_zone(stones, site_aware=False)
                             .reindex(np.arange(2000)).to_numpy(), truth)
    assert naive["log_loss"] > aware["log_loss"] + 0.02
    assert naive["mean_max_posterior"] - naive["accuracy"] > 3 * naive["accuracy_se"]
    assert abs(aware["mean_max_posterior"] - aware["accuracy"]) < 3 * aware["accuracy_se"] + 0.002


def test_bayes_ceiling_reflects_weak_stones_and_strong_parcels(density) -> None:
    result = density.bayes_ceiling(parcel_sizes=(1, 5, 25), n_stones=30_000, seed=1)
    sizes = result["sizes"]
    assert 0.58 <= sizes[1]["accuracy"] <= 0.72
    assert sizes[25]["accuracy"] >= 0.95
    assert sizes[1]["accuracy"] < sizes[5]["accuracy"] < sizes[25]["accuracy"]
    assert sizes[1]["cllr"] > sizes[5]["cllr"] > sizes[25]["cllr"]
    assert result["synthetic"] is True and result["priors"] == "equal"
    again = density.bayes_ceiling(parcel_sizes=(1, 5, 25), n_stones=30_000, seed=1)
    assert again == result


def test_out_of_reference_parcels_fit_their_own_zone_best(params) -> None:
    everything = ExactDensity(params, zones=params.zones)
    assert everything.zones == ["CAR-West", "CAR-East", "DRC-Kasai", "CMR"]
    for z, zone in enumerate(everything.zones):
        only = ExactDensity(params, zones=[zone])
        stones, _ = only.sample_parcels(200, 40, np.random.default_rng(z))
        lik = everything.log_p_parcel_zone(stones).to_numpy()
        assert np.mean(lik.argmax(axis=1) == z) > 0.9, zone


def test_generated_reference_has_every_schema_field(params) -> None:
    from footprint.schema import field_names

    stones = generate_reference(params, seed=0, lots_per_site=1, stones_per_lot=3)
    assert set(field_names()) <= set(stones.columns)
    assert set(stones["zone"]) == {"CAR-West", "CAR-East"}
    assert stones["resorption"].dtype == "Int64" and stones["coating"].dtype == "boolean"
    assert stones["mass_ct"].dtype == "float64" and stones["colour"].dtype == object


@pytest.mark.parametrize(("source", "target"), [(("CAR-West", "Carnot"), ("CAR-West", "Nola")),
                                                (("CAR-East", "Bria"), ("CAR-East", "Ouadda"))])
def test_likelihood_ratio_has_mean_one_under_the_sampler(params, density, source, target) -> None:
    """E_{x ~ site s}[p_t(x) / p_s(x)] = 1 only if both densities are exact and normalised jointly."""
    from footprint.synth._generate import apply_missingness

    rng = np.random.default_rng(17)
    stones = sample_site_stones(params.site(*source), params, 20_000, rng)
    for frame in (stones, apply_missingness(stones, params, rng)):
        lp = density.log_p_stone_site(frame)
        ratio = np.exp(lp[:, density.sites.index(target)] - lp[:, density.sites.index(source)])
        se = ratio.std() / math.sqrt(len(ratio))
        assert abs(ratio.mean() - 1.0) < max(4 * se, 0.01), (ratio.mean(), se)
