"""The discriminative partner of the stone model: calibrated gradient boosting, stacked on held-out lots.

The generative stone model (per-field densities and the joint block) is
exact when its form is right; gradient-boosted trees make no assumption of
form but need more data. This module turns a calibrated
HistGradientBoosting site classifier (``StoneClassifier(method="hgb")``:
iterations and temperature chosen on folds of whole lots, out-of-fold
probabilities cross-fitted the same way) into site log likelihood ratios,
``log p_hgb(s | x) - log pi_s`` (dividing by the training priors), and stacks
them with the generative scores ``g_s(x)``::

    score_s(x) = a g_s(x) + b (log p_hgb(s | x) - log pi_s)

with ``a, b >= 0`` fitted on the out-of-fold (held-out lot) scores by log
loss. The partner is kept only when the stacking lowers the held-out Cllr,
measured by cross-validation over folds of lots of those out-of-fold scores
(weights fitted on the other folds); otherwise ``b = 0`` and the partner is
dropped. The parcel layer consumes ``score_s`` as stone log likelihoods
whatever their source.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax

from ._folds import grouped_splits

__all__ = ["fit_partner", "stacked_scores"]

logger = logging.getLogger(__name__)

_FLOOR = 1e-6


def _site_cllr(scores: np.ndarray, y: np.ndarray) -> float:
    """Class-balanced mean of -log2 of the equal-prior posterior of the true class (bits)."""
    loss = -log_softmax(scores, axis=1)[np.arange(len(y)), y] / np.log(2.0)
    return float(np.mean([loss[y == k].mean() for k in np.unique(y)]))


def _fit_weights(gen: np.ndarray, lr: np.ndarray, y: np.ndarray, log_prior: np.ndarray) -> np.ndarray:
    rows = np.arange(len(y))

    def loss(w: np.ndarray) -> float:
        return float(-log_softmax(w[0] * gen + w[1] * lr + log_prior, axis=1)[rows, y].mean())

    res = minimize(loss, np.array([1.0, 0.2]), method="L-BFGS-B", bounds=[(0.0, 3.0), (0.0, 3.0)])
    return np.asarray(res.x, dtype=float)


def fit_partner(clf: Any, X: np.ndarray, y: np.ndarray, groups: Any, gen: np.ndarray, valid: np.ndarray,
                keep: str = "auto") -> tuple[Any, np.ndarray, np.ndarray]:
    """Fit the calibrated HGB partner and the stacking weights on held-out lots.

    Parameters
    ----------
    clf : StoneClassifier
        The generative classifier being fitted (its boosting options, folds and prior are used).
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of int, shape (n_samples,)
        Encoded classes.
    groups : array-like or None
        Lot of each stone.
    gen : ndarray of shape (n_samples, n_classes)
        Out-of-fold generative scores (NaN rows where not ``valid``).
    valid : ndarray of bool
        Stones with out-of-fold scores.
    keep : {"auto", "always"}
        Keep the partner only when it lowers the cross-validated held-out Cllr, or always.

    Returns
    -------
    partner : StoneClassifier or None
    weights : ndarray of shape (2,)
        ``[a, b]`` (``[1, 0]`` when the partner is dropped).
    stacked : ndarray of shape (n_samples, n_classes)
        Out-of-fold stacked scores (``gen`` when dropped).
    """
    # The partner is a StoneClassifier of its own (type(clf): _stone imports this module, not the reverse).
    partner = type(clf)(
        method="hgb", learning_rate=clf.learning_rate, max_iter=clf.max_iter,
        max_leaf_nodes=clf.max_leaf_nodes,
        min_samples_leaf=clf.min_samples_leaf, l2_regularization=clf.l2_regularization,
        categorical_features=clf.categorical_features, cv=min(int(clf.cv), 5),
        random_state=clf.random_state)
    # Out-of-fold probabilities first; the final trees only for a partner that is kept.
    partner._defer_refit = True
    partner.fit(X, y, groups=groups)
    refit_data = partner.__dict__.pop("_refit_data", None)
    del partner._defer_refit
    lr = np.log(np.clip(partner.oof_proba_, _FLOOR, None)) - clf.log_prior_[None, :]
    ok = valid & np.isfinite(partner.oof_proba_).all(axis=1)
    none = (None, np.array([1.0, 0.0]), gen)
    if ok.sum() < 20:
        return none
    rows = np.flatnonzero(ok)
    sub_groups = None if groups is None else np.asarray(groups)[rows]
    folds = grouped_splits(y[rows], sub_groups, 5, clf.random_state)
    if not folds:
        return none
    held = np.empty((len(rows), gen.shape[1]))
    for train, test in folds:
        w = _fit_weights(gen[rows[train]], lr[rows[train]], y[rows[train]], clf.log_prior_)
        held[test] = w[0] * gen[rows[test]] + w[1] * lr[rows[test]]
    cllr_gen = _site_cllr(gen[rows], y[rows])
    cllr_stack = _site_cllr(held, y[rows])
    weights = _fit_weights(gen[rows], lr[rows], y[rows], clf.log_prior_)
    kept = keep == "always" or cllr_stack < cllr_gen
    logger.info("discriminative partner: held-out site Cllr %.4f generative, %.4f stacked "
                "(a=%.3f, b=%.3f): %s",
                cllr_gen, cllr_stack, weights[0], weights[1], "kept" if kept else "dropped")
    clf.partner_cllr_ = {"generative": cllr_gen, "stacked": cllr_stack}
    if not kept or weights[1] == 0:
        return none
    if refit_data is not None:
        partner.refit_trees(*refit_data)
    stacked = np.full_like(gen, np.nan)
    stacked[ok] = weights[0] * gen[ok] + weights[1] * lr[ok]
    stacked[valid & ~ok] = gen[valid & ~ok]
    return partner, weights, stacked


def stacked_scores(clf: Any, gen: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Return ``a g + b (log p_hgb - log pi)`` for new stones, shape (n, n_classes)."""
    lr = clf.partner_.predict_log_proba(X) - clf.log_prior_[None, :]
    return clf.stack_[0] * gen + clf.stack_[1] * np.maximum(lr, np.log(_FLOOR) - clf.log_prior_[None, :])
