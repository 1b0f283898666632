"""The model pieces follow scikit-learn's estimator contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from footprint._features import SpectralEmbedding, StoneFeatures
from footprint.model import NoveltyScorer, StoneClassifier


# StoneFeatures reads a stone table (a DataFrame with schema columns), not a numeric matrix:
# the checks that feed it arrays cannot apply. Every other check (parameters, cloning, repr,
# tags, _parameter_constraints validation) runs on it as on the other three.
_NEEDS_A_NUMERIC_MATRIX = (
    "check_complex_data", "check_dict_unchanged", "check_dont_overwrite_parameters", "check_dtype_object",
    "check_estimator_sparse_array", "check_estimator_sparse_matrix", "check_estimator_sparse_tag",
    "check_estimators_dtypes", "check_estimators_empty_data_messages", "check_estimators_fit_returns_self",
    "check_estimators_nan_inf", "check_estimators_overwrite_params", "check_estimators_pickle",
    "check_f_contiguous_array_estimator", "check_fit1d", "check_fit2d_1feature", "check_fit2d_1sample",
    "check_fit2d_predict1d", "check_fit_check_is_fitted", "check_fit_idempotent", "check_fit_score_takes_y",
    "check_methods_sample_order_invariance", "check_methods_subset_invariance", "check_n_features_in",
    "check_n_features_in_after_fitting", "check_pipeline_consistency", "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input", "check_transformer_data_not_an_array", "check_transformer_general",
    "check_transformer_preserve_dtypes",
)


def _expected_failures(estimator):
    if isinstance(estimator, StoneFeatures):
        return dict.fromkeys(_NEEDS_A_NUMERIC_MATRIX, "takes a stone table (DataFrame), not a numeric matrix")
    return {}


@parametrize_with_checks([
    StoneClassifier(cv=2),
    NoveltyScorer(cv=2, n_null=50, random_state=0),
    SpectralEmbedding(n_components=2, random_state=0),
    StoneFeatures(min_observed=1),
], expected_failed_checks=_expected_failures)
def test_sklearn_contract(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator, bad", [
    (StoneClassifier(method="knn"), "method"),
    (StoneClassifier(cv=1), "cv"),
    (NoveltyScorer(alpha=1.5), "alpha"),
    (NoveltyScorer(numeric="spline"), "numeric"),
    (SpectralEmbedding(derivative=3), "derivative"),
    (SpectralEmbedding(n_components=0), "n_components"),
])
def test_parameter_constraints_name_the_bad_parameter(estimator, bad):
    from sklearn.utils._param_validation import InvalidParameterError

    X = np.random.default_rng(0).normal(size=(40, 6))
    with pytest.raises(InvalidParameterError, match=f"'{bad}' parameter"):
        estimator.fit(X, np.arange(40) % 2)


def test_stone_features_parameter_constraints():
    from sklearn.utils._param_validation import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="'min_observed' parameter"):
        StoneFeatures(min_observed=-1).fit(pd.DataFrame({"mass_ct": [0.1, 0.2]}))


def test_hgb_method_calibrates_on_held_out_groups():
    """The gradient-boosted alternative picks its iterations and temperature on held-out groups."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 600)
    X = np.column_stack([rng.normal(y, 1.0), rng.normal(size=600)])
    X[rng.random(600) < 0.2, 0] = np.nan
    clf = StoneClassifier(method="hgb", max_iter=30, random_state=0).fit(X, y, groups=np.arange(600) // 10)
    assert 1 <= clf.n_iter_ <= 30 and clf.temperature_ > 0
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.mean(proba.argmax(axis=1) == y) > 0.6
    assert np.isfinite(clf.oof_proba_).all()


def test_spectral_embedding_keeps_missing_rows_missing():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 40)).cumsum(axis=1)
    X[[3, 7]] = np.nan
    emb = SpectralEmbedding(n_components=3, random_state=0).fit(X)
    Z = emb.transform(X)
    assert Z.shape == (30, 3)
    assert np.isnan(Z[[3, 7]]).all()
    assert np.isfinite(np.delete(Z, [3, 7], axis=0)).all()


def test_stone_features_units_and_missing():
    frame = pd.DataFrame({
        "sample_id": ["a", "b", "c", "d", "e", "f"],
        "mass_ct": [0.1, np.nan, np.nan, 10.0, np.nan, 0.2],
        "sieve_class": ["dtc:+11", "mm:2.50", None, "dtc:+3", "dtc:+11", "mm:1.00"],
        "colour": ["brown", None, "colourless", "grey", "brown", "yellow"],
        "coating": pd.array([True, False, None, True, False, True], dtype="boolean"),
    })
    feats = StoneFeatures(min_observed=1).fit(frame)
    X = feats.transform(frame)
    names = list(feats.get_feature_names_out())
    assert names == ["log10_mass_ct", "sieve_mm", "coating", "colour"]
    np.testing.assert_allclose(X[[0, 3], 0], [-1.0, 1.0])
    assert np.isnan(X[2, :3]).all()  # not measured stays NaN, no imputation
    # DTC +11 and 2.50 mm land on one mm axis (footprint._schema.sieve_to_mm).
    assert X[4, 1] == pytest.approx(2.6) and X[1, 1] == pytest.approx(2.5)
    # The sieve is a coarser measure of the size: it enters only for stones without a mass.
    assert np.isnan(X[[0, 3, 5], 1]).all()
    # Category codes follow the schema vocabulary, so another store reads the same codes.
    assert X[0, 3] == feats.vocabularies_["colour"].index("brown")
    assert feats.categorical_mask_.tolist() == [False, False, False, True]
    # Raw lab spellings (not normalised by ingest) land on the same axis; unreadable ones are "not measured".
    raw = frame.assign(sieve_class=["+11", "2.5 mm", None, "junk", "dtc:+11", "mm:1.00"], mass_ct=np.nan)
    np.testing.assert_allclose(feats.transform(raw)[:, 1], [2.6, 2.5, np.nan, np.nan, 2.6, 1.0])


def test_sieve_is_dropped_when_every_sieved_stone_was_weighed():
    frame = pd.DataFrame({"sample_id": list("abcd"), "mass_ct": [0.1, 0.2, 0.3, 0.4],
                          "sieve_class": ["dtc:+3", "dtc:+5", "dtc:+7", "dtc:+9"]})
    assert list(StoneFeatures(min_observed=1).fit(frame).get_feature_names_out()) == ["log10_mass_ct"]


def test_public_api_is_all():
    import footprint.model as public

    assert sorted(public.__all__) == sorted(n for n in dir(public) if not n.startswith("_")
                                            and n not in {"annotations"} and not _is_module(public, n))
    for name in public.__all__:
        assert getattr(public, name) is not None


def _is_module(package, name):
    import types

    return isinstance(getattr(package, name), types.ModuleType)
