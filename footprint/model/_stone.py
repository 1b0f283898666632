"""The stone-level classifier, calibrated on held-out lots.

Two methods share one estimator:

``method="binned"`` (default): a *weighted naive Bayes* over per-site binned
densities (:class:`~footprint.model._density.BinnedDensities`): ``log p(s|x)
= sum_j alpha_j log p_j(x_j|s) + log pi_s`` up to normalisation. Missing
fields drop out exactly. The per-feature weights ``alpha_j`` are fitted on
out-of-fold terms (folds of whole lots), so they both calibrate the output
and discount redundant fields (mass and sieve class, the FTIR block). On the
stone data this project sees (weak per-stone signal, a few thousand
reference stones, 5-30 sites), it estimates site likelihoods with far less
variance than trees: held-out site log loss of HistGradientBoosting was
barely below the uniform one on the synthetic set.

``method="hgb"``: HistGradientBoosting (partial rows and category codes
natively; captures interactions); the number of boosting iterations and a
temperature are chosen on out-of-fold predictions.

Folds are always made of whole lots (``groups``), never of single stones:
stones of one lot in both the training and the test part is leakage.
"""

from __future__ import annotations

import logging
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from scipy.optimize import minimize, minimize_scalar
from scipy.special import log_softmax, logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ._density import BinnedDensities, categorical_mask
from ._folds import grouped_splits

__all__ = ["StoneClassifier", "fit_temperature", "grouped_splits"]

logger = logging.getLogger(__name__)

#: Probabilities are floored here before taking logs (a held-out stone may
#: fall where the trees saw none of its class).
_FLOOR = 1e-6


def fit_temperature(log_proba: np.ndarray, y: np.ndarray) -> float:
    """Return the temperature T minimising the log loss of ``softmax(log_proba / T)``.

    Parameters
    ----------
    log_proba : ndarray of shape (n_samples, n_classes)
        Held-out log-probabilities.
    y : ndarray of shape (n_samples,)
        Encoded true classes.
    """
    if len(y) == 0:
        return 1.0
    rows = np.arange(len(y))

    def loss(log_t: float) -> float:
        return float(-log_softmax(log_proba / np.exp(log_t), axis=1)[rows, y].mean())

    result = minimize_scalar(loss, bounds=(-2.5, 2.5), method="bounded", options={"xatol": 1e-4})
    return float(np.exp(result.x))


def _joint_columns(spec: Any, n_features: int) -> np.ndarray | None:
    """Column indices of the joint block (None: no joint block)."""
    if spec is None:
        return None
    cols = np.flatnonzero(categorical_mask(spec, n_features))
    return cols if len(cols) else None


def _per_stone(parent_of: np.ndarray | None, y: np.ndarray) -> np.ndarray | None:
    """Parent (zone) code of every stone from the per-class table."""
    return None if parent_of is None else parent_of[y]


#: Widening of thin classes when no held-out lot of theirs exists to measure it (one lot each).
_THIN_DEFAULT = 2.0


def _widened(scores: np.ndarray, widen: np.ndarray, log_prior: np.ndarray) -> np.ndarray:
    """Pull each class's log-likelihood towards the pooled one by its factor: ``r + (l_s - r) / T_s``.

    ``r(x) = log sum_s pi_s p(x | s)`` is the reference set's pooled density:
    a class with ``T_s > 1`` says less, for or against, than its density alone would.
    """
    ref = logsumexp(scores + log_prior[None, :], axis=1, keepdims=True)
    return ref + (scores - ref) / widen[None, :]


def _fit_widening(scores: np.ndarray, y: np.ndarray, valid: np.ndarray, thin: np.ndarray,
                  log_prior: np.ndarray) -> tuple[np.ndarray, bool]:
    """One factor ``T >= 1`` for the thin classes, fitted on held-out (out-of-fold) stones.

    The log loss weighs the stones of thin classes and the others equally.
    When no thin class has a held-out stone (each is one lot), nothing can be
    measured: ``T`` is :data:`_THIN_DEFAULT` and the second value is False.
    """
    widen = np.ones(len(thin))
    rows = np.flatnonzero(valid)
    is_thin = thin[y[rows]]
    if not is_thin.any() or is_thin.all():
        widen[thin] = _THIN_DEFAULT
        return widen, False
    weight = np.where(is_thin, 0.5 / is_thin.sum(), 0.5 / (~is_thin).sum())

    def loss(log_t: float) -> float:
        w = np.where(thin, np.exp(log_t), 1.0)
        lp = log_softmax(_widened(scores[rows], w, log_prior) + log_prior, axis=1)
        return float(-(lp[np.arange(len(rows)), y[rows]] * weight).sum())

    res = minimize_scalar(loss, bounds=(0.0, float(np.log(10.0))), method="bounded", options={"xatol": 1e-3})
    widen[thin] = float(np.exp(res.x))
    return widen, True


class AcceptsMissingMixin:
    """Estimator tag shared by the model's estimators: NaN means "not measured" and is accepted."""

    def __sklearn_tags__(self) -> Any:
        """Declare that NaN (not measured) is accepted."""
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        tags.input_tags.allow_nan = True
        return tags


class StoneClassifier(AcceptsMissingMixin, ClassifierMixin, BaseEstimator):
    """Calibrated classifier for single stones (classes: sites, or zones).

    Parameters
    ----------
    method : {"binned", "hgb"}
        Weighted naive Bayes over binned densities, or gradient-boosted trees.
    shrinkage : float
        ("binned") pseudo-stones pulling a site's histograms towards its zone's.
    parent_shrinkage : float
        ("binned") pseudo-stones pulling a zone's histograms towards the pool.
    numeric : {"tilt", "gaussian", "histogram"}
        ("binned") density of continuous features (plus point masses at
        frequent exact values such as 0 = peak absent): an exponential tilt of
        the pooled reference density per site (two parameters a site, keeps
        the pooled shape: truncated, capped or bounded values), a per-site
        normal, or quantile-bin histograms (see
        :class:`~footprint.model._density.BinnedDensities`). The first two have
        far fewer parameters than histograms, so they are estimated much
        better from a few hundred stones per site.
    gauss_shrinkage : float
        ("binned") pseudo-stones pulling a site's tilt or normal towards its zone's.
    learning_rate : float
        Boosting learning rate.
    max_iter : int
        Largest number of boosting iterations tried; the number used
        (``n_iter_``) is the one with the lowest held-out log loss.
    max_leaf_nodes : int
        Leaves per tree.
    min_samples_leaf : int
        Smallest leaf.
    l2_regularization : float
        L2 penalty on leaf values.
    categorical_features : array-like of bool or int, or None
        Which columns are category codes (passed to HistGradientBoosting).
    cv : int
        Folds (of whole groups) used to choose ``n_iter_`` and the temperature.
    calibrate : bool
        Fit a temperature on the held-out predictions (else T = 1).
    random_state : int or None
        Seed of the fold assignment and of the trees.
    joint_features : array-like of int, or None
        ("binned") continuous columns modelled together as one joint block per
        site (:class:`~footprint.model._joint.JointMixture`: shrunk Gaussian
        mixtures, missing fields marginalised); its log-density is one more
        term of the weighted sum, with its own weight ``joint_alpha_`` fitted
        with the others on held-out lots (0 when it does not help).
    joint_transforms : list of {"none", "logit100"}, or None
        Transform of each joint column before modelling.
    joint_components : int or "auto"
        Mixture components of the joint block ("auto": chosen on held-out lots).
    partner : {"none", "hgb", "auto"}
        ("binned") a discriminative partner (calibrated HistGradientBoosting,
        cross-fitted on folds of lots) stacked with the generative scores
        (:mod:`~footprint.model._discriminative`); "auto" keeps it only where
        the stacking lowers the cross-validated held-out Cllr.
    categorical_pairs : {"auto", "none"}
        ("binned") test every pair of categorical columns for dependence
        within site on the reference (Holm-corrected G-tests, confirmed on
        held-out lots) and model the failing pairs with a joint table per site
        (see :mod:`~footprint.model._pairs`); "none": no test.
    feature_names : array-like of str, optional
        Column names, for the pair report.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, in ``predict_proba`` column order.
    estimator_ : HistGradientBoostingClassifier or BinnedDensities
        The trees (refitted on all data with ``n_iter_`` iterations) or the
        binned densities.
    alpha_ : ndarray of shape (n_features,)
        ("binned") per-feature weights.
    log_prior_ : ndarray of shape (n_classes,)
        ("binned") log class shares of the training stones.
    n_iter_ : int
        Boosting iterations used ("hgb"), or optimiser iterations of the weights ("binned").
    temperature_ : float
        Divides the log-probabilities (T > 1 softens over-confident output).
    joint_ : JointMixture or None
        The joint block (None without ``joint_features``).
    joint_alpha_ : float
        Weight of the joint block's term.
    pair_report_ : list of dict
        ("binned") the pairwise test of the categorical columns (see
        :func:`~footprint.model._pairs.check_pairs`).
    pairs_ : ndarray of int, shape (n_pairs, 2)
        Column pairs modelled jointly (the dependent ones).
    pair_tables_ : list of ndarray
        Their interaction tables (n_classes, n_levels_a, n_levels_b).
    pair_alpha_ : ndarray of shape (n_pairs,)
        Weights of their interaction terms.
    stack_ : ndarray of shape (2,)
        Weights of the generative scores and of the partner's log likelihood
        ratios (``[1, 0]``: no partner).
    partner_ : StoneClassifier or None
        The calibrated HistGradientBoosting partner, when kept.
    widen_ : ndarray of shape (n_classes,)
        Widening factor of each class's evidence (1 = none; > 1 for thin
        classes, see ``fit(thin_classes=...)``).
    widen_measured_ : bool
        Whether the thin classes' factor was measured on held-out lots (False:
        every thin class has one lot, the default factor 2 stands).
    oof_proba_ : ndarray of shape (n_samples, n_classes)
        Calibrated out-of-fold probabilities of the training samples (NaN
        rows where a sample's class was absent from its training fold, or no
        folds could be made).
    oof_fold_ : ndarray of shape (n_samples,)
        Fold whose model gave each training sample its out-of-fold
        probabilities (-1 where none; not saved with the model).
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "method": [StrOptions({"binned", "hgb"})],
        "shrinkage": [Interval(Real, 0, None, closed="left")],
        "parent_shrinkage": [Interval(Real, 0, None, closed="left")],
        "numeric": [StrOptions({"tilt", "gaussian", "histogram"})],
        "gauss_shrinkage": [Interval(Real, 0, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "max_leaf_nodes": [Interval(Integral, 2, None, closed="left")],
        "min_samples_leaf": [Interval(Integral, 1, None, closed="left")],
        "l2_regularization": [Interval(Real, 0, None, closed="left")],
        "categorical_features": ["array-like", None],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "calibrate": ["boolean"],
        "random_state": ["random_state"],
        "joint_features": ["array-like", None],
        "joint_transforms": ["array-like", None],
        "joint_components": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "partner": [StrOptions({"none", "hgb", "auto"})],
        "categorical_pairs": [StrOptions({"none", "auto"})],
        "feature_names": ["array-like", None],
    }

    def __init__(
        self,
        method: str = "binned",
        shrinkage: float = 50.0,
        parent_shrinkage: float = 5.0,
        numeric: str = "tilt",
        gauss_shrinkage: float = 10.0,
        learning_rate: float = 0.1,
        max_iter: int = 200,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 20,
        l2_regularization: float = 1.0,
        categorical_features: Any = None,
        cv: int = 3,
        calibrate: bool = True,
        random_state: int | None = None,
        joint_features: Any = None,
        joint_transforms: Any = None,
        joint_components: Any = "auto",
        partner: str = "none",
        categorical_pairs: str = "auto",
        feature_names: Any = None,
    ) -> None:
        self.method = method
        self.shrinkage = shrinkage
        self.parent_shrinkage = parent_shrinkage
        self.numeric = numeric
        self.gauss_shrinkage = gauss_shrinkage
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.categorical_features = categorical_features
        self.cv = cv
        self.calibrate = calibrate
        self.random_state = random_state
        self.joint_features = joint_features
        self.joint_transforms = joint_transforms
        self.joint_components = joint_components
        self.partner = partner
        self.categorical_pairs = categorical_pairs
        self.feature_names = feature_names

    def _trees(self, max_iter: int) -> HistGradientBoostingClassifier:
        return HistGradientBoostingClassifier(
            learning_rate=self.learning_rate, max_iter=max_iter, max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf, l2_regularization=self.l2_regularization,
            categorical_features=self.categorical_features, early_stopping=False,
            random_state=self.random_state,
        )

    def fit(self, X: Any, y: Any, groups: Any = None, parents: Any = None,
            thin_classes: Any = None, fit_cells: Any = None) -> StoneClassifier:
        """Fit on stones ``X`` with labels ``y``; folds are made of whole ``groups``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Feature matrix, NaN where not measured.
        y : array-like of shape (n_samples,)
            Class of each stone (a site, or a zone).
        groups : array-like of shape (n_samples,), optional
            Lot of each stone.
        parents : array-like of shape (n_samples,), optional
            ("binned") parent class (zone) of each stone's class, for shrinkage.
        thin_classes : array-like of labels, optional
            ("binned") classes with thin reference data (a zone of one or two
            lots): their evidence is widened (``widen_``) as far as held-out
            lots support.
        fit_cells : FitCells, optional
            ("binned") cells of the population goodness-of-fit test
            (:mod:`._fit_test`): each stone's per-site probability of its own
            cells, from the folds that did not see its lot, is kept in
            ``oof_cells_`` (training passes it to the parcel calibration, then drops it).
        """
        self._validate_params()
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan")
        check_classification_targets(y)
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"need samples of at least 2 classes to fit, got 1 class: {self.classes_[0]!r}")
        n_classes = len(self.classes_)
        folds = grouped_splits(y_enc, None if groups is None else np.asarray(groups), self.cv,
                               self.random_state)
        self.oof_fold_ = np.full(len(y_enc), -1)
        for k, (_, test) in enumerate(folds):
            self.oof_fold_[test] = k
        self.widen_ = np.ones(n_classes)
        self.widen_measured_ = True
        if self.method == "binned":
            thin = np.zeros(n_classes, dtype=bool)
            if thin_classes is not None:
                thin = np.isin(self.classes_, np.asarray(thin_classes, dtype=self.classes_.dtype))
            return self._fit_binned(X, y_enc, folds, parents, groups, thin, fit_cells)
        self.n_iter_ = int(self.max_iter)
        self.temperature_ = 1.0
        oof = np.full((len(y_enc), n_classes), np.nan)
        if folds:
            fold_models, losses = [], np.zeros(self.max_iter)
            valid = np.zeros(len(y_enc), dtype=bool)
            for train, test in folds:
                model = self._trees(self.max_iter).fit(X[train], y_enc[train])
                seen = np.isin(y_enc[test], model.classes_)
                fold_models.append((model, test, seen))
                valid[test[seen]] = True
                for k, proba in enumerate(model.staged_predict_proba(X[test[seen]])):
                    full = self._widen(proba, model.classes_, n_classes)
                    losses[k] -= np.log(full[np.arange(seen.sum()), y_enc[test[seen]]]).sum()
            self.n_iter_ = int(np.argmin(losses)) + 1
            raw = np.full((len(y_enc), n_classes), np.nan)
            for model, test, _ in fold_models:
                for k, proba in enumerate(model.staged_predict_proba(X[test])):
                    if k + 1 == self.n_iter_:
                        raw[test] = np.log(self._widen(proba, model.classes_, n_classes))
                        break
            if self.calibrate and valid.any():
                self.temperature_ = fit_temperature(raw[valid], y_enc[valid])
            oof[valid] = np.exp(log_softmax(raw[valid] / self.temperature_, axis=1))
        self.oof_proba_ = oof
        if getattr(self, "_defer_refit", False):
            # fit_partner refits only a partner it keeps (see refit_trees): a dropped one costs no final fit.
            self._refit_data = (X, y_enc)
            return self
        return self.refit_trees(X, y_enc)

    def refit_trees(self, X: np.ndarray, y_enc: np.ndarray) -> StoneClassifier:
        """("hgb") Fit the final trees on all stones, ``n_iter_`` iterations (chosen on held-out lots)."""
        self.estimator_ = self._trees(self.n_iter_).fit(X, y_enc)
        logger.debug("stone classifier: %d iterations, temperature %.3f", self.n_iter_, self.temperature_)
        return self

    def _densities(self, X: np.ndarray, y: np.ndarray, parent_of: np.ndarray | None) -> BinnedDensities:
        mask = categorical_mask(self.categorical_features, X.shape[1])
        return BinnedDensities(X, y, len(self.classes_), mask, self.shrinkage,
                               parent_of, self.parent_shrinkage, numeric=self.numeric,
                               gauss_shrinkage=self.gauss_shrinkage)

    def _fit_binned(self, X: np.ndarray, y: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]],
                    parents: Any, groups: Any = None, thin: np.ndarray | None = None,
                    fit_cells: Any = None) -> StoneClassifier:
        n_classes = len(self.classes_)
        parent_of = None
        if parents is not None:
            parent_codes = np.unique(np.asarray(parents, dtype=str), return_inverse=True)[1]
            parent_of = np.zeros(n_classes, dtype=int)
            parent_of[y] = parent_codes
        counts = np.bincount(y, minlength=n_classes)
        self.log_prior_ = np.log(counts / counts.sum())
        self.n_iter_ = 1
        self.temperature_ = 1.0
        # The joint block's weight is fitted on held-out lots: without folds it is not used.
        joint_cols = _joint_columns(self.joint_features, X.shape[1]) if folds else None
        # Pairs of categorical fields dependent within site (tested on the reference, confirmed on
        # held-out lots): each adds its interaction term, weighted like the others (see _pairs).
        self.pair_report_: list[dict[str, Any]] = []
        self.pairs_ = np.zeros((0, 2), dtype=int)
        self.pair_tables_: list[np.ndarray] = []
        if self.categorical_pairs == "auto" and folds:
            from ._pairs import check_pairs

            self.pair_report_ = check_pairs(
                X, y, groups, categorical_mask(self.categorical_features, X.shape[1]), n_classes, parent_of,
                shrinkage=self.shrinkage, parent_shrinkage=self.parent_shrinkage,
                names=None if self.feature_names is None else list(self.feature_names),
                cv=min(int(self.cv), 5), random_state=self.random_state)
            self.pairs_ = np.array([r["columns"] for r in self.pair_report_ if r["dependent"]],
                                   dtype=int).reshape(-1, 2)
        n_pairs = len(self.pairs_)
        n_terms = X.shape[1] + n_pairs + (1 if joint_cols is not None else 0)
        alpha = np.ones(n_terms)
        self.joint_ = None
        self.stack_ = np.array([1.0, 0.0])
        self.partner_ = None
        oof = np.full((len(y), n_classes), np.nan)
        gen = np.full((len(y), n_classes), np.nan)
        valid = np.zeros(len(y), dtype=bool)
        if joint_cols is not None:
            template = self._joint().fit(X[:, joint_cols], y, groups=groups,
                                         parents=_per_stone(parent_of, y))
        oof_drift: tuple[np.ndarray, np.ndarray] | None = None
        if folds:
            terms = np.zeros((len(y), n_terms, n_classes))
            for train, test in folds:
                terms[test, :X.shape[1]] = self._densities(X[train], y[train], parent_of).all_terms(X[test])
                if n_pairs:
                    terms[test, X.shape[1]:X.shape[1] + n_pairs] = self._pair_terms(
                        X[test], self._pair_tables(X[train], y[train], parent_of))
                if joint_cols is not None:
                    terms[test, -1], ratio, rest = template.fold_loglik(
                        X[train][:, joint_cols], y[train], n_classes, _per_stone(parent_of, y[train]),
                        X[test][:, joint_cols], with_drift=True)
                    if oof_drift is None:
                        oof_drift = (np.ones((len(y), *ratio.shape[1:])), np.zeros((len(y), n_classes)))
                    oof_drift[0][test], oof_drift[1][test] = ratio, rest
                valid[test] = np.isin(y[test], y[train])
            if fit_cells is not None:
                from ._fit_test import out_of_fold_cells

                self.oof_cells_ = out_of_fold_cells(fit_cells, folds, X, y, n_classes, parent_of,
                                                    self.shrinkage, self.parent_shrinkage)
            if self.calibrate and valid.any():
                alpha, self.n_iter_ = self._fit_alpha(terms[valid], y[valid])
            gen[valid] = np.einsum("njs,j->ns", terms[valid], alpha)
            oof[valid] = np.exp(log_softmax(gen[valid] + self.log_prior_, axis=1))
        self.alpha_ = alpha[:X.shape[1]]
        self.pair_alpha_ = alpha[X.shape[1]:X.shape[1] + n_pairs]
        if n_pairs:
            self.pair_tables_ = self._pair_tables(X, y, parent_of)
        self.joint_alpha_ = float(alpha[-1]) if joint_cols is not None else 0.0
        if joint_cols is not None and self.joint_alpha_ > 0:
            self.joint_ = template
        self.estimator_ = self._densities(X, y, parent_of)
        if self.partner != "none" and folds and valid.any():
            from ._discriminative import fit_partner

            self.partner_, self.stack_, stacked = fit_partner(
                self, X, y, groups, gen, valid, keep="auto" if self.partner == "auto" else "always")
            if self.partner_ is not None:
                gen = stacked
        if thin is not None and thin.any():
            self.widen_, self.widen_measured_ = _fit_widening(gen, y, valid, thin, self.log_prior_)
            if valid.any():
                gen[valid] = _widened(gen[valid], self.widen_, self.log_prior_)
        if valid.any():
            oof[valid] = np.exp(log_softmax(gen[valid] + self.log_prior_, axis=1))
        self.oof_proba_ = oof
        if oof_drift is not None and self.joint_ is not None:
            # Out-of-fold pieces of the joint block's lot-drift correction: training chooses its
            # concentration and fits the tempering with them, then drops them (not kept in the model).
            self.oof_drift_ = oof_drift
        return self

    def _pair_tables(self, X: np.ndarray, y: np.ndarray, parent_of: np.ndarray | None) -> list[np.ndarray]:
        from ._pairs import fit_pair_tables

        return fit_pair_tables(X, y, len(self.classes_), [tuple(p) for p in self.pairs_], parent_of,
                               self.shrinkage, self.parent_shrinkage)

    def _pair_terms(self, X: np.ndarray, tables: list[np.ndarray]) -> np.ndarray:
        from ._pairs import pair_terms

        return pair_terms(X, [tuple(p) for p in self.pairs_], tables)

    def _joint(self) -> Any:
        from ._joint import JointMixture

        return JointMixture(n_components=self.joint_components, background="auto",
                            transforms=self.joint_transforms, random_state=self.random_state,
                            cv=max(2, min(self.cv, 3)))

    def generative_scores(self, X: np.ndarray) -> np.ndarray:
        """``sum_j alpha_j log p_j(x_j | s)`` plus the joint block's weighted term, shape (n, n_classes)."""
        scores = self.estimator_.summed(X, self.alpha_)
        pairs = self.pair_scores(X)
        if pairs is not None:
            scores = scores + pairs
        joint = getattr(self, "joint_", None)
        if joint is not None and self.joint_alpha_ != 0:
            scores = scores + self.joint_alpha_ * np.nan_to_num(
                joint.site_loglik(X[:, _joint_columns(self.joint_features, X.shape[1])]))
        return scores

    def pair_scores(self, X: np.ndarray) -> np.ndarray | None:
        """Weighted interaction terms of the modelled categorical pairs, shape (n, n_classes), or None."""
        tables = getattr(self, "pair_tables_", None)
        if not tables:
            return None
        return np.einsum("nps,p->ns", self._pair_terms(X, tables), self.pair_alpha_)

    def _fit_alpha(self, terms: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, int]:
        rows = np.arange(len(y))

        def loss(alpha: np.ndarray) -> tuple[float, np.ndarray]:
            scores = np.einsum("njs,j->ns", terms, alpha) + self.log_prior_
            log_p = log_softmax(scores, axis=1)
            # Gradient: sum over stones of (observed term - expected term under p).
            expected = np.einsum("njs,ns->nj", terms, np.exp(log_p))
            grad = -(terms[rows, :, y] - expected).mean(axis=0)
            return float(-log_p[rows, y].mean()), grad

        start = np.full(terms.shape[1], 0.5)
        result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=[(0.0, 3.0)] * terms.shape[1])
        return np.asarray(result.x, dtype=float), max(1, int(result.nit))

    @staticmethod
    def _widen(proba: np.ndarray, fitted: np.ndarray, n_classes: int) -> np.ndarray:
        full = np.full((proba.shape[0], n_classes), _FLOOR)
        full[:, fitted] = np.maximum(proba, _FLOOR)
        return full / full.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Calibrated log-probabilities, shape (n_samples, n_classes)."""
        check_is_fitted(self, "estimator_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        if self.method == "binned":
            scores = self.generative_scores(X)
            if getattr(self, "partner_", None) is not None:
                from ._discriminative import stacked_scores

                scores = stacked_scores(self, scores, X)
            widen = getattr(self, "widen_", None)
            if widen is not None and np.any(widen != 1.0):
                scores = _widened(scores, widen, self.log_prior_)
            return log_softmax(scores + self.log_prior_, axis=1)
        proba = self._widen(self.estimator_.predict_proba(X), self.estimator_.classes_, len(self.classes_))
        return log_softmax(np.log(proba) / self.temperature_, axis=1)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Calibrated probabilities, shape (n_samples, n_classes), columns as ``classes_``."""
        return np.exp(self.predict_log_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class of each sample."""
        check_is_fitted(self, "estimator_")
        return self.classes_[np.argmax(self.predict_log_proba(X), axis=1)]
