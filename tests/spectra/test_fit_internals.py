"""The batched solvers and the baseline operator equal their reference implementations."""

from __future__ import annotations

import numpy as np
from pybaselines import Baseline
from scipy.optimize import nnls

from footprint.spectra._baseline import PolyBaselineOperator
from footprint.spectra._fit import batched_lstsq, batched_nnls


def _reference_nnls(design, y, weights=None):
    """scipy NNLS with a free last coefficient (split into +/- columns)."""
    w = np.ones_like(y) if weights is None else np.sqrt(weights)
    aug = np.column_stack([design[:, :-1], design[:, -1], -design[:, -1]]) * w[:, None]
    coef = nnls(aug, y * w)[0]
    return np.r_[coef[:-2], coef[-2] - coef[-1]]


def test_batched_nnls_is_the_exact_optimum():
    rng = np.random.default_rng(0)
    design = np.column_stack([rng.random((60, 5)), np.ones(60)])
    truth = np.abs(rng.normal(size=(100, 6))) * (rng.random((100, 6)) > 0.4)
    y = truth @ design.T + rng.normal(0, 0.3, (100, 60))
    weights = (rng.random((100, 60)) > 0.2).astype(float)
    nonneg = np.array([True] * 5 + [False])
    coef, sse = batched_nnls(design, y, nonneg)
    coef_w, _ = batched_nnls(design, y, nonneg, weights)
    for i in range(100):
        np.testing.assert_allclose(coef[i], _reference_nnls(design, y[i]), atol=1e-8)
        np.testing.assert_allclose(coef_w[i], _reference_nnls(design, y[i], weights[i]), atol=1e-8)
        assert np.isclose(sse[i], np.sum((y[i] - design @ coef[i]) ** 2))
    assert np.all(coef[:, :5] >= 0)


def test_batched_lstsq_matches_numpy():
    rng = np.random.default_rng(1)
    design = rng.random((40, 3))
    y = rng.random((7, 40))
    coef, _ = batched_lstsq(design, y)
    np.testing.assert_allclose(coef, np.linalg.lstsq(design, y.T, rcond=None)[0].T, atol=1e-10)


def test_baseline_operator_equals_pybaselines_poly():
    x = np.arange(1000.0, 3981.0, 2.0)
    mask = ((x > 1425) & (x < 1800)) | ((x > 2700) & (x < 2800)) | (x > 3200)
    rng = np.random.default_rng(2)
    y = rng.normal(size=(4, x.size)) + np.linspace(0, 2, x.size) ** 2
    fitter = Baseline(x)
    for order in (1, 2, 3):
        operator = PolyBaselineOperator(x, mask, order)
        direct = np.stack([fitter.poly(row, poly_order=order, weights=mask.astype(float))[0] for row in y])
        np.testing.assert_allclose(operator(y), direct, atol=1e-10)
