"""The discriminative partner: calibrated HGB likelihood ratios stacked on held-out lots.

Kept only if better.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.estimator_checks import parametrize_with_checks

from footprint.model import StoneClassifier


@parametrize_with_checks([StoneClassifier(cv=2, partner="hgb", max_iter=5, joint_features=[0],
                                          random_state=0)])
def test_sklearn_contract_with_joint_block_and_partner(estimator, check):
    check(estimator)


def _interaction(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sites differ only in how a category flips a continuous field: per-field densities cannot see it."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    cat = rng.integers(0, 2, n)
    sign = np.where(cat == y, 1.0, -1.0)
    x = sign * 1.5 + rng.standard_normal(n)
    return np.column_stack([x, cat]), y, np.arange(n) // 25


def test_partner_kept_where_it_lowers_held_out_cllr():
    X, y, lots = _interaction(1500, 0)
    Xt, yt, _ = _interaction(2000, 1)
    plain = StoneClassifier(cv=5, categorical_features=[1], random_state=0).fit(X, y, groups=lots)
    stacked = StoneClassifier(cv=5, categorical_features=[1], partner="auto", max_iter=60,
                              random_state=0).fit(X, y, groups=lots)
    assert stacked.partner_ is not None and stacked.stack_[1] > 0
    assert stacked.partner_cllr_["stacked"] < stacked.partner_cllr_["generative"]
    assert np.mean(stacked.predict(Xt) == yt) > np.mean(plain.predict(Xt) == yt) + 0.2
    np.testing.assert_allclose(stacked.predict_proba(Xt).sum(axis=1), 1.0)


def test_partner_dropped_where_it_does_not_help():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 900)
    X = rng.normal(y[:, None] * 0.8, 1.0, size=(900, 2))  # independent normal fields: the product is right
    clf = StoneClassifier(cv=5, partner="auto", max_iter=40, random_state=0)
    clf.fit(X, y, groups=np.arange(900) // 30)
    kept = clf.partner_ is not None
    assert kept == (clf.partner_cllr_["stacked"] < clf.partner_cllr_["generative"])
    if not kept:
        np.testing.assert_array_equal(clf.stack_, [1.0, 0.0])
        np.testing.assert_allclose(clf.predict_log_proba(X[:5]),
                                   StoneClassifier(cv=5, random_state=0).fit(
                                       X, y, groups=np.arange(900) // 30).predict_log_proba(X[:5]))
