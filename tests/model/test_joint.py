"""The joint continuous block: scikit-learn contract, exact marginals, correlations the product misses."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad
from sklearn.utils.estimator_checks import parametrize_with_checks

from footprint.model import StoneClassifier
from footprint.model._joint import JointMixture


@parametrize_with_checks([JointMixture(n_components=2, background=0.01, n_iter=5, cv=2, random_state=0)])
def test_sklearn_contract(estimator, check):
    check(estimator)


def _crossed(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two sites with the same marginals, opposite correlation: only a joint density tells them apart."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    z = rng.standard_normal((n, 2))
    rho = np.where(y == 0, 0.8, -0.8)
    X = np.column_stack([z[:, 0], rho * z[:, 0] + np.sqrt(1 - rho**2) * z[:, 1]])
    return X, y, np.arange(n) // 20


def test_joint_block_sees_correlation_the_product_misses():
    X, y, lots = _crossed(1200, 0)
    Xt, yt, _ = _crossed(2000, 1)
    product = StoneClassifier(cv=3, random_state=0).fit(X, y, groups=lots)
    joint = StoneClassifier(cv=3, random_state=0, joint_features=[0, 1]).fit(X, y, groups=lots)
    acc_product = np.mean(product.predict(Xt) == yt)
    acc_joint = np.mean(joint.predict(Xt) == yt)
    assert acc_product < 0.58  # the marginals are the same: a product of per-field densities guesses
    assert acc_joint > 0.70
    assert joint.joint_alpha_ > 0.5 and joint.joint_ is not None
    # The held-out weighting switched the joint block off nowhere it helps, and calibrated it.
    np.testing.assert_allclose(joint.predict_proba(Xt).sum(axis=1), 1.0)


def test_missing_field_marginalised_exactly():
    X, y, lots = _crossed(800, 2)
    est = JointMixture(n_components=2, background=0.0, random_state=0).fit(X, y, groups=lots)
    x0 = 0.7
    got = est.site_loglik(np.array([[x0, np.nan]]))[0]
    for s in range(2):
        def density(x1: float, s: int = s) -> float:
            return float(np.exp(est.site_loglik(np.array([[x0, x1]]))[0, s]))

        integral, _ = quad(density, -30, 30, limit=200)
        # site_loglik is the density of the standardised block: the Jacobian of the scale is a constant
        assert got[s] == pytest.approx(np.log(integral) - np.log(est.scale_[1]), abs=1e-6)
    # Nothing observed: no evidence at all.
    np.testing.assert_allclose(est.site_loglik(np.array([[np.nan, np.nan]])), 0.0, atol=1e-12)


def test_background_bounds_an_outlier():
    X, y, lots = _crossed(600, 3)
    est = JointMixture(n_components=2, background=0.05, random_state=0).fit(X, y, groups=lots)
    far = est.site_loglik(np.array([[40.0, -40.0]]))[0]
    assert abs(far[0] - far[1]) < 0.5  # the background carries a far stone: it vetoes neither site


def test_components_chosen_on_held_out_lots():
    rng = np.random.default_rng(4)
    centres = np.array([[-3.0, 0.0], [3.0, 0.0], [0.0, 3.0]])
    y = rng.integers(0, 2, 900)
    # Site 0 from centres 0 and 1, site 1 from centres 1 and 2: three modes tell them apart.
    k = np.where(y == 0, rng.integers(0, 2, 900), rng.integers(1, 3, 900))
    X = centres[k] + 0.5 * rng.standard_normal((900, 2))
    est = JointMixture(random_state=0).fit(X, y, groups=np.arange(900) // 30)
    # Each site has two modes (component means are a site's own, shrunk to its zone's): at least two
    # components, the number with the lowest held-out loss of those tried.
    assert est.n_components_ >= 2
    assert est.cv_scores_  # the held-out losses it chose from are kept
    best = min(est.cv_scores_, key=est.cv_scores_.get)
    assert best.startswith(f"K={est.n_components_},")
    # The sites' mixtures put their components on the sites' own modes.
    means = est.mixtures_.means * est.scale_ + est.centre_
    for site, modes in ((0, centres[[0, 1]]), (1, centres[[1, 2]])):
        near = np.linalg.norm(means[site][:, None, :] - modes[None], axis=2).min(axis=0)
        assert np.all(near < 0.3), (site, means[site])


def _dirichlet_multinomial(counts: np.ndarray, alpha: np.ndarray) -> float:
    from scipy.special import gammaln

    return float(gammaln(alpha.sum()) - gammaln(alpha.sum() + counts.sum())
                 + (gammaln(alpha + counts) - gammaln(alpha)).sum())


def test_drift_correction_follows_the_dirichlet_multinomial_for_hard_components():
    """Hard components: the lot's density is the Dirichlet-multinomial of its component counts."""
    from footprint.model._drift import drift_correction

    w = np.array([0.5, 0.3, 0.2])
    c = 12.0
    # One lot, richer in component 0 than its site.
    comps = np.array([0, 0, 0, 1, 2, 0, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0])
    ratio = np.full((len(comps), 1, 3), 1e-12)
    ratio[np.arange(len(comps)), 0, comps] = 1.0 / w[comps]  # N_k(x) / p(x) with one N_k nonzero
    got = drift_correction(ratio, np.zeros((len(comps), 1)), (c * w)[None, None], np.array([0]))[0, 0]
    counts = np.bincount(comps, minlength=3).astype(float)
    want = _dirichlet_multinomial(counts, c * w) - float((counts * np.log(w)).sum())
    assert got == pytest.approx(want, abs=0.05)  # Laplace in softmax coordinates
    assert got > 0.5  # a lot off its site's shares is more probable with drift than without
    # No drift (c -> inf) is the product: the correction vanishes.
    flat = drift_correction(ratio, np.zeros((len(comps), 1)), (1e9 * w)[None, None], np.array([0]))[0, 0]
    assert abs(flat) < 1e-3


def test_drift_correction_matches_monte_carlo_and_weights_count_stones():
    from footprint.model._drift import drift_correction

    rng = np.random.default_rng(3)
    w = np.array([0.6, 0.4])
    n = 25
    dens = rng.gamma(2.0, 1.0, size=(n, 2))  # overlapping components
    eps = 0.01
    p = (1 - eps) * dens @ w + eps * 1.0
    ratio = ((1 - eps) * dens / p[:, None])[:, None, :]
    rest = (eps / p)[:, None]
    c = 16.0
    got = drift_correction(ratio, rest, (c * w)[None, None], np.array([0]))[0, 0]
    pis = rng.dirichlet(c * w, size=200_000)
    logs = np.log(rest[:, 0][:, None] + ratio[:, 0, :] @ pis.T).sum(axis=0)
    mc = float(np.log(np.mean(np.exp(logs - logs.max()))) + logs.max())
    assert got == pytest.approx(mc, abs=0.03)
    # A row of weight 2 is two identical stones.
    doubled = drift_correction(np.repeat(ratio[:1], 2, axis=0), np.repeat(rest[:1], 2, axis=0),
                               (c * w)[None, None], np.array([0]))
    weighted = drift_correction(ratio[:1], rest[:1], (c * w)[None, None], np.array([0]), np.array([2.0]))
    np.testing.assert_allclose(weighted, doubled, atol=1e-10)


def test_drift_correction_of_one_stone_is_zero():
    """A parcel of one stone: averaging its density over a lot's weights gives its site density."""
    from footprint.model._drift import drift_correction

    rng = np.random.default_rng(0)
    w = np.array([0.2, 0.5, 0.3])
    dens = rng.gamma(1.0, 1.0, size=(3, 3))
    ratio = (dens / (dens @ w)[:, None])[:, None, :]
    out = drift_correction(ratio, np.zeros((3, 1)), (8.0 * w)[None, None], np.array([0, 1, 2]))
    np.testing.assert_array_equal(out, 0.0)
