"""Continuous fields as one joint block per site: shrunk Gaussian mixtures, missing fields marginalised.

Diamonds from one mine come from several populations (peridotitic and
eclogitic parageneses, several growth events), so nitrogen, delta13C and the
aggregation state are correlated and multimodal within a site; a product of
per-field densities misses that. :class:`JointMixture` models the chosen
continuous columns of a stone together, in transformed coordinates (``logit``
of a percentage, the stone table's own log of nitrogen), as a Gaussian
mixture per site::

    p_s(x) = (1 - eps) sum_k w_sk N(x; mu_sk, S_k) + eps b(x)

- the components' covariances ``S_k`` are shared by all sites and fitted
  from the *within-site* scatter (each stone about its own site's component
  mean), alternating with the zone level a few rounds: a pooled fit's
  covariances would also hold the spread of the zones' and sites' means and
  make every site's density too broad (on the realistic variant that alone
  cost 0.03 nats a stone of held-out site log loss);
- their weights ``w_sk`` and means ``mu_sk`` are the site's own, estimated by
  EM on the site's stones with a Dirichlet prior centred on its zone's
  weights (``shrinkage`` pseudo-stones) and a normal prior of
  ``mean_shrinkage`` pseudo-stones per component at its zone's means; the
  zone's on the pool's (``parent_shrinkage``): a thin site or zone is its
  parent's mixture, reweighted and shifted as far as its stones support;
- EM finds a local optimum: the pooled mixture starts from several k-means++
  seeds and the start whose site mixtures give the training stones the
  highest likelihood is kept; the refits on cross-validation folds start
  from the full fit's pooled mixture (same optimum, a quarter of the cost);
- a missing field is marginalised exactly: a stone's density is the Gaussian
  of its observed sub-vector (means and covariances restricted to the
  observed coordinates), and EM uses the conditional expectations of the
  missing coordinates. Values at a point mass (a value repeated exactly in
  at least 1% of the stones, e.g. nitrogen 0 of type IIa) are left to the
  per-field densities and count as missing here;
- ``b`` is a broad background (the pooled mixture with covariances scaled by
  4) with weight ``eps``, which bounds what one outlying stone can say
  (DESIGN.md: robust stone evidence);
- the number of components and ``eps`` are chosen on held-out lots (folds of
  whole lots), by the held-out site log loss;
- lot drift (the "sub-site" layer): the stones of one lot share that lot's
  component weights, which scatter around the site's (a mine's lots differ
  in their share of each paragenesis). A lot's stones are then not
  independent draws from ``p_s``: their joint density is
  ``int prod_i [(1 - eps) sum_k pi_k N_k(x_i) + eps b(x_i)] Dir(pi | c w_s) dpi``.
  :func:`._drift.drift_correction` gives its log ratio to the independent product
  (per parcel and site, by Chib's identity at the posterior-mean shares);
  the concentration ``c`` (``inf``: no drift) is chosen on held-out
  single-lot parcels by their zone log loss (:func:`._drift.choose_lot_concentration`).

The estimator follows scikit-learn's contract; the stone classifier uses its
:meth:`JointMixture.site_loglik` as one more term of its weighted sum.
"""

from __future__ import annotations

import logging
from numbers import Integral, Real
from typing import Any

import numpy as np
from scipy.special import log_softmax, logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ._folds import grouped_splits

__all__ = ["JointMixture", "transform_columns"]

logger = logging.getLogger(__name__)

_LOG2PI = float(np.log(2.0 * np.pi))
#: Candidate numbers of components and background weights searched on held-out lots.
_K_GRID = (1, 2, 3, 4, 6, 8, 12, 16)
_EPS_GRID = (0.002, 0.01, 0.05)
#: Stones (whole lots) on which the number of components and the background weight are chosen.
_SELECT_STONES = 6000
#: Rounds of (zone level, site level with the shared covariances refitted from within-site scatter).
_COV_ROUNDS = 3
#: EM stops once the stones' mean log-likelihood moves less than this (nats) in a step.
_LL_TOL = 1e-4
#: Starts of the pooled mixture's EM (the best pooled likelihood is kept).
_N_INIT = 4
def transform_columns(X: np.ndarray, transforms: Any) -> np.ndarray:
    """Apply per-column transforms (``"logit100"``: logit of a percentage; ``"none"``) to a copy of ``X``."""
    Z = np.array(X, dtype=float, copy=True)
    if transforms is None:
        return Z
    for j, kind in enumerate(transforms):
        if kind == "logit100":
            with np.errstate(divide="ignore", invalid="ignore"):
                p = np.clip(Z[:, j] / 100.0, 1e-4, 1 - 1e-4)
                Z[:, j] = np.log(p) - np.log1p(-p)
    return Z


def _patterns(Z: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Missingness patterns of ``Z``: (observed columns, missing columns, rows) of each."""
    seen = np.isfinite(Z)
    code = seen.astype(np.int64) @ (np.int64(1) << np.arange(Z.shape[1], dtype=np.int64))
    order = np.argsort(code, kind="stable")
    uniq, starts = np.unique(code[order], return_index=True)
    bounds = np.append(starts, len(code))
    out = []
    for u, a, b in zip(uniq, bounds[:-1], bounds[1:], strict=True):
        pattern = (int(u) >> np.arange(Z.shape[1])) & 1 == 1
        out.append((np.flatnonzero(pattern), np.flatnonzero(~pattern), order[a:b]))
    return out


def _kmeanspp(points: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeds: ``k`` rows of ``points``, drawn with probability ~ squared distance to the chosen."""
    if len(points) <= k:
        return points.copy()
    chosen = [int(rng.integers(len(points)))]
    dist = ((points - points[chosen[0]]) ** 2).sum(axis=1)
    for _ in range(k - 1):
        total = dist.sum()
        nxt = int(rng.choice(len(points), p=dist / total)) if total > 0 else int(rng.integers(len(points)))
        chosen.append(nxt)
        dist = np.minimum(dist, ((points - points[nxt]) ** 2).sum(axis=1))
    return points[chosen].copy()


class _Mixtures:
    """Per-group Gaussian mixtures with shared covariances (plain data).

    ``weights`` (n_groups, K), ``means`` (n_groups, K, d), ``covs`` (K, d, d).
    """

    def __init__(self, weights: np.ndarray, means: np.ndarray, covs: np.ndarray) -> None:
        self.weights, self.means, self.covs = weights, means, covs

    def component_logpdf(self, Z: np.ndarray, group: np.ndarray | None = None, with_cond: bool = False,
                         with_ccov: bool = False, patterns: list[Any] | None = None
                         ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Log N of the observed sub-vector per row and component.

        With ``group`` (one group per row): shape (n, K) under each row's own
        group; without: (n, n_groups, K) under every group. With
        ``with_cond`` (``group`` required) also the conditional means of the
        missing coordinates (n, K, d; observed values where observed), and
        with ``with_ccov`` the conditional covariances (n, K, d, d; zero on
        observed coordinates).
        """
        n, d = Z.shape
        K = self.covs.shape[0]
        G = self.means.shape[0]
        out = np.zeros((n, K) if group is not None else (n, G, K))
        cmean = np.repeat(np.nan_to_num(Z)[:, None, :], K, axis=1) if with_cond else None
        ccov = np.zeros((n, K, d, d)) if with_ccov else None
        for obs, mis, rows in (patterns if patterns is not None else _patterns(Z)):
            if len(obs):
                S_oo = self.covs[:, obs][:, :, obs]                           # (K, o, o)
                prec = np.linalg.inv(S_oo)
                logdet = np.linalg.slogdet(S_oo)[1]                           # (K,)
                const = -0.5 * logdet - 0.5 * len(obs) * _LOG2PI
                x = Z[np.ix_(rows, obs)]
                if group is not None:
                    mu = self.means[group[rows]]                               # (r, K, d)
                    diff = x[:, None, :] - mu[:, :, obs]                       # (r, K, o)
                    q = np.einsum("rki,kij,rkj->rk", diff, prec, diff)
                    out[rows] = -0.5 * q + const[None]
                else:
                    diff = x[:, None, None, :] - self.means[None][:, :, :, obs]  # (r, G, K, o)
                    q = np.einsum("rgki,kij,rgkj->rgk", diff, prec, diff)
                    out[rows] = -0.5 * q + const[None, None]
            if with_cond and len(mis) and group is not None:
                mu = self.means[group[rows]]
                if len(obs):
                    gain = np.einsum("kmo,kop->kmp", self.covs[:, mis][:, :, obs], prec)   # (K, m, o)
                    cond = mu[:, :, mis] + np.einsum("kmo,rko->rkm", gain, diff)
                    cc = self.covs[:, mis][:, :, mis] - np.einsum("kmo,kop->kmp", gain,
                                                                  self.covs[:, obs][:, :, mis])
                else:
                    cond, cc = mu[:, :, mis], self.covs[:, mis][:, :, mis]
                cmean[rows[:, None], :, mis[None, :]] = cond.transpose(0, 2, 1)  # type: ignore[index]
                if ccov is not None:
                    sub = ccov[rows]
                    sub[:, :, mis[:, None], mis[None, :]] = cc[None]
                    ccov[rows] = sub
        return out, cmean, ccov

    def loglik(self, Z: np.ndarray) -> np.ndarray:
        """Log density of every row under every group's mixture, (n, n_groups); 0 if nothing observed."""
        comp, _, _ = self.component_logpdf(Z)
        with np.errstate(divide="ignore"):
            return logsumexp(comp + np.log(self.weights)[None], axis=2)


def _em(Z: np.ndarray, group: np.ndarray, n_groups: int, prior: _Mixtures, prior_group: np.ndarray,
        m: float, update_covs: bool, n_iter: int, reg: float, init: _Mixtures | None = None,
        m_mean: float | None = None) -> _Mixtures:
    """MAP EM for per-group weights and means (and, with ``update_covs``, the shared covariances).

    Missing data are handled exactly. Priors: each group's weights
    Dirichlet(``m * w_parent``) and component means normal with ``m *
    w_parent_k`` pseudo-stones at the parent's mean (``prior`` indexed by
    ``prior_group``); ``m_mean`` (if given) replaces ``m * w_parent_k`` as
    the means' pseudo-stones. Starts from ``init`` (default: the parents'
    mixtures) and stops after ``n_iter`` steps or once the stones' mean
    log-likelihood moves by less than ``_LL_TOL`` in a step.
    """
    K, d = prior.covs.shape[0], Z.shape[1]
    pw = prior.weights[prior_group]            # (G, K)
    pm = prior.means[prior_group]              # (G, K, d)
    cur = (_Mixtures(pw.copy(), pm.copy(), prior.covs.copy()) if init is None
           else _Mixtures(init.weights.copy(), init.means.copy(), init.covs.copy()))
    rows_seen = np.isfinite(Z).any(axis=1)
    Zs, gs = Z[rows_seen], group[rows_seen]
    patterns = _patterns(Zs)
    order = np.argsort(gs, kind="stable")
    present, starts = np.unique(gs[order], return_index=True)

    def by_group(values: np.ndarray) -> np.ndarray:
        out = np.zeros((n_groups, *values.shape[1:]))
        if len(order):
            out[present] = np.add.reduceat(values[order], starts, axis=0)
        return out

    last_ll = -np.inf
    for _ in range(n_iter):
        comp, cmean, ccov = cur.component_logpdf(Zs, gs, with_cond=True, with_ccov=update_covs,
                                                 patterns=patterns)
        with np.errstate(divide="ignore"):
            logr = comp + np.log(cur.weights[gs])
        norm = logsumexp(logr, axis=1, keepdims=True)
        r = np.exp(logr - norm)                                            # (n, K)
        mean_ll = float(norm.mean()) if len(norm) else 0.0
        if abs(mean_ll - last_ll) < _LL_TOL:
            break  # the stones' mean log-likelihood has stopped moving: converged for all purposes
        last_ll = mean_ll
        nk = by_group(r)
        sx = by_group(r[:, :, None] * cmean)                               # type: ignore[index]
        pseudo = m * pw
        weights = (nk + pseudo) / (nk.sum(1, keepdims=True) + m)
        pseudo_mean = pseudo if m_mean is None else np.full_like(pseudo, m_mean)
        denom = (nk + pseudo_mean)[:, :, None]
        means = np.where(denom > 1e-9, (sx + pseudo_mean[:, :, None] * pm) / np.maximum(denom, 1e-9),
                         cur.means)
        covs = cur.covs
        if update_covs:
            covs = np.empty_like(cur.covs)
            for k in range(K):
                diff = cmean[:, k] - means[gs, k]                          # type: ignore[index]
                scatter = (r[:, k, None, None] * (diff[:, :, None] * diff[:, None, :] + ccov[:, k])).sum(0)  # type: ignore[index]
                covs[k] = (scatter + reg * np.eye(d)) / (nk[:, k].sum() + 1.0)
        cur = _Mixtures(np.maximum(weights, 1e-12), means, covs)
    return cur


class JointMixture(ClassifierMixin, BaseEstimator):
    """Per-class Gaussian mixtures of a block of continuous fields, shrunk class -> parent -> pool.

    Parameters
    ----------
    n_components : int or "auto"
        Mixture components shared by all classes; ``"auto"`` picks from
        (1, 2, 3, 4, 6, 8, 12, 16), in that order, by held-out site log loss on folds of whole groups.
    background : float or "auto"
        Weight of the broad background density (bounds each stone's
        evidence); ``"auto"`` picks from (0.002, 0.01, 0.05) on held-out groups.
    transforms : list of {"none", "logit100"} or None
        Per-column transform before modelling (None: none).
    shrinkage : float
        Pseudo-stones pulling a class's component weights towards its parent's.
    mean_shrinkage : float
        Pseudo-stones pulling each of a class's component means towards its
        parent's (per component, whatever its weight: a component a site has
        few stones of is its zone's, shifted as far as those stones support).
    parent_shrinkage : float
        Pseudo-stones pulling a parent's towards the pool's.
    n_iter : int
        EM iterations at each level.
    cv : int
        Folds (of whole groups) for the ``"auto"`` choices.
    lot_drift : float or "none"
        Concentration ``c`` of a lot's component weights around its site's
        (:func:`._drift.drift_correction`); ``"none"``: lots do not drift. Training
        chooses it on held-out single-lot parcels (:func:`._drift.choose_lot_concentration`)
        and sets ``lot_concentration_``. (The reference lots' own marginal
        likelihood is no guide: the sites' weights were fitted on those lots,
        and a Dirichlet over every component also lets components of one
        paragenesis drift apart, which the data do not do; on the realistic
        variant it chose almost no drift where held-out parcels want ``c`` ~ 16.)
    random_state : int or None
        Seed of the initialisation and the folds.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_components_ : int
    background_ : float
    centre_, scale_ : ndarray of shape (n_features,)
        Standardisation of the transformed columns.
    spikes_ : list of ndarray
        Point-mass values per column, treated as missing here.
    mixtures_ : _Mixtures
        Per-class weights (n_classes, K), means (n_classes, K, d), shared covariances.
    pool_ : _Mixtures
        The pooled mixture (one group), the background's shape.
    log_prior_ : ndarray of shape (n_classes,)
    lot_concentration_ : float
        ``c`` in use (``inf``: no drift).
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "background": [Interval(Real, 0, 1, closed="left"), StrOptions({"auto"})],
        "transforms": [list, tuple, None],
        "shrinkage": [Interval(Real, 0, None, closed="left")],
        "parent_shrinkage": [Interval(Real, 0, None, closed="left")],
        "mean_shrinkage": [Interval(Real, 0, None, closed="left")],
        "n_iter": [Interval(Integral, 1, None, closed="left")],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "lot_drift": [Interval(Real, 0, None, closed="neither"), StrOptions({"none"})],
        "random_state": ["random_state"],
    }

    def __init__(self, n_components: Any = "auto", background: Any = "auto", transforms: Any = None,
                 shrinkage: float = 20.0, parent_shrinkage: float = 10.0, mean_shrinkage: float = 15.0,
                 n_iter: int = 15, cv: int = 3, lot_drift: Any = "none",
                 random_state: int | None = None) -> None:
        self.n_components = n_components
        self.background = background
        self.transforms = transforms
        self.shrinkage = shrinkage
        self.parent_shrinkage = parent_shrinkage
        self.mean_shrinkage = mean_shrinkage
        self.n_iter = n_iter
        self.cv = cv
        self.lot_drift = lot_drift
        self.random_state = random_state

    def __sklearn_tags__(self) -> Any:
        """NaN means "not measured" and is accepted."""
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    # -- fitting ---------------------------------------------------------------------------------
    def _standardise(self, X: np.ndarray) -> np.ndarray:
        Z = transform_columns(X, self.transforms)
        for j, spikes in enumerate(self.spikes_):
            if len(spikes):
                Z[np.isin(X[:, j], spikes), j] = np.nan
        return (Z - self.centre_) / self.scale_

    def _fit_levels(self, Z: np.ndarray, y: np.ndarray, n_classes: int, parent_of: np.ndarray, K: int,
                    start: _Mixtures | None = None) -> tuple[_Mixtures, _Mixtures]:
        """Pooled, zone and site mixtures of ``K`` components.

        Without ``start``: several k-means++ starts (EM finds a local optimum), the one whose site
        mixtures give the training stones the highest likelihood kept (every start has the same
        parameters). With ``start`` (a pooled mixture fitted on a superset of the stones, e.g. all
        the reference when this is one fold of it): one run from it, so the folds of a
        cross-validation land in the same optimum as the final fit, at a quarter of the cost.
        """
        d = Z.shape[1]
        rng = np.random.default_rng(self.random_state)
        seen = np.isfinite(Z).any(axis=1)
        complete = np.isfinite(Z).all(axis=1)
        start_rows = np.flatnonzero(complete) if complete.sum() >= K else np.flatnonzero(seen)
        reg = 1e-2
        zeros = np.zeros(len(Z), dtype=int)
        candidates = []
        for _ in range(1 if start is not None or K == 1 else _N_INIT):
            if start is None:
                init = _kmeanspp(np.where(np.isfinite(Z[start_rows]), Z[start_rows], 0.0), K, rng)
                if len(init) < K:
                    init = np.vstack([init, rng.normal(size=(K - len(init), d))])
                pool0 = _Mixtures(np.full((1, K), 1.0 / K), init[None], np.repeat(np.eye(d)[None], K, axis=0))
            else:
                pool0 = start
            pool = _em(Z, zeros, 1, pool0, np.zeros(1, dtype=int), 0.0, True,
                       max(self.n_iter, 30) if start is None else self.n_iter, reg)
            candidates.append((pool, *self._levels_round(Z, y, n_classes, parent_of, pool, pool.covs, None)))
        if len(candidates) > 1:
            # Each start ran one round; the one whose site mixtures give the training stones the
            # highest likelihood goes on.
            rows = np.flatnonzero(seen)
            scores = []
            for _, _, site in candidates:
                comp, _, _ = site.component_logpdf(Z[rows], y[rows])
                scores.append(float(logsumexp(comp + np.log(site.weights[y[rows]]), axis=1).sum()))
            candidates = [candidates[int(np.argmax(scores))]]
        pool, _, site = candidates[0]
        for _ in range(_COV_ROUNDS - 1):
            site = self._levels_round(Z, y, n_classes, parent_of, pool, site.covs, site)[1]
        return pool, site

    def _levels_round(self, Z: np.ndarray, y: np.ndarray, n_classes: int, parent_of: np.ndarray,
                      pool: _Mixtures, covs: np.ndarray, site: _Mixtures | None
                      ) -> tuple[_Mixtures, _Mixtures]:
        """One round: zone mixtures around the pool's (with ``covs``), then site mixtures and covariances.

        The pooled fit's covariances hold the spread of the zones' and sites'
        component means as well as the spread within a site; the stones of a
        site spread only by the latter. So the shared covariances are refitted
        from the within-site scatter (site means), alternating with the zone level.
        """
        reg = 1e-2
        n_parents = int(parent_of.max()) + 1
        parent = _em(Z, parent_of[y], n_parents, _Mixtures(pool.weights, pool.means, covs),
                     np.zeros(n_parents, dtype=int), float(self.parent_shrinkage), False, self.n_iter, reg)
        site = _em(Z, y, n_classes, parent, parent_of, float(self.shrinkage), True, self.n_iter, reg,
                   init=None if site is None else _Mixtures(site.weights, site.means, covs),
                   m_mean=float(self.mean_shrinkage))
        return parent, site

    def _score(self, Z: np.ndarray, pool: _Mixtures, site: _Mixtures, eps: float) -> np.ndarray:
        own = site.loglik(Z)
        broad = _Mixtures(pool.weights, pool.means, pool.covs * 4.0).loglik(Z)
        if eps <= 0:
            return own
        return np.logaddexp(np.log1p(-eps) + own, np.log(eps) + broad)

    def fit(self, X: Any, y: Any, groups: Any = None, parents: Any = None) -> JointMixture:
        """Fit the pooled, parent and class mixtures.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The block's columns, NaN = not measured.
        y : array-like of shape (n_samples,)
            Class (site) of each stone.
        groups : array-like of shape (n_samples,), optional
            Lot of each stone (held-out choices use folds of whole lots).
        parents : array-like of shape (n_samples,), optional
            Parent (zone) of each stone's class.
        """
        self._validate_params()
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan")
        check_classification_targets(y)
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        n_classes = len(self.classes_)
        if self.transforms is not None and len(self.transforms) != X.shape[1]:
            raise ValueError(f"transforms has {len(self.transforms)} entries for {X.shape[1]} columns")
        counts = np.bincount(y_enc, minlength=n_classes)
        self.log_prior_ = np.log(counts / counts.sum())
        parent_of = np.zeros(n_classes, dtype=int)
        if parents is not None:
            parent_of[y_enc] = np.unique(np.asarray(parents, dtype=str), return_inverse=True)[1]
        # Point masses (exact values repeated in >= 1% of stones) are the per-field densities' business.
        self.spikes_ = []
        for j in range(X.shape[1]):
            col = X[:, j][np.isfinite(X[:, j])]
            uniq, cnt = np.unique(col, return_counts=True)
            self.spikes_.append(uniq[(cnt >= max(3, 0.01 * len(col))) & (len(uniq) > 12)])
        self.centre_ = np.zeros(X.shape[1])
        self.scale_ = np.ones(X.shape[1])
        Z = self._standardise(X)
        self.centre_ = np.array([np.nanmedian(c) if np.isfinite(c).any() else 0.0 for c in Z.T])
        sd = np.array([np.nanstd(c) if np.isfinite(c).sum() > 1 else 1.0 for c in Z.T])
        self.scale_ = np.where(sd > 0, sd, 1.0)
        Z = (Z - self.centre_) / self.scale_
        n_seen = int(np.isfinite(Z).any(axis=1).sum())
        k_grid = [k for k in (_K_GRID if self.n_components == "auto" else (int(self.n_components),))
                  if k == 1 or n_seen >= 15 * k * Z.shape[1]] or [1]
        eps_grid = _EPS_GRID if self.background == "auto" else (float(self.background),)
        self.n_components_, self.background_ = k_grid[0], eps_grid[0]
        self.cv_scores_: dict[str, float] = {}
        if len(k_grid) * len(eps_grid) > 1:
            # The choice is made on whole lots drawn until about _SELECT_STONES stones (all of a
            # smaller set), so it costs the same on a large reference as on a small one.
            keep = np.arange(len(y_enc))
            if groups is not None and len(y_enc) > _SELECT_STONES:
                lot_codes = np.unique(np.asarray(groups, dtype=str), return_inverse=True)[1]
                perm = np.random.default_rng(self.random_state).permutation(lot_codes.max() + 1)
                sizes = np.bincount(lot_codes)[perm]
                chosen_lots = perm[: int(np.searchsorted(np.cumsum(sizes), _SELECT_STONES)) + 1]
                keep = np.flatnonzero(np.isin(lot_codes, chosen_lots))
            kept_groups = None if groups is None else np.asarray(groups)[keep]
            folds = [(keep[a], keep[b]) for a, b in grouped_splits(
                y_enc[keep], kept_groups, self.cv, self.random_state)]
            if folds:
                # Components in increasing number; stop once two more have not lowered the held-out
                # loss. The folds of each number start from its fit on all the selection stones.
                best, worse = (np.inf, k_grid[0], eps_grid[0]), 0
                starts: dict[int, _Mixtures] = {}
                for K in k_grid:
                    starts[K] = self._fit_levels(Z[keep], y_enc[keep], n_classes, parent_of, K)[0]
                    loss = np.zeros(len(eps_grid))
                    for train, test in folds:
                        pool, site = self._fit_levels(Z[train], y_enc[train], n_classes, parent_of, K,
                                                      start=starts[K])
                        rows = np.arange(len(test))
                        for b, eps in enumerate(eps_grid):
                            ll = self._score(Z[test], pool, site, eps) + self.log_prior_
                            loss[b] -= log_softmax(ll, axis=1)[rows, y_enc[test]].sum()
                    loss /= len(keep)
                    for b, eps in enumerate(eps_grid):
                        self.cv_scores_[f"K={K},eps={eps}"] = float(loss[b])
                    b = int(np.argmin(loss))
                    if loss[b] < best[0] - 1e-4:
                        best, worse = (float(loss[b]), K, eps_grid[b]), 0
                    else:
                        worse += 1
                        if worse >= 2:
                            break
                self.n_components_, self.background_ = best[1], best[2]
        self.pool_, self.mixtures_ = self._fit_levels(Z, y_enc, n_classes, parent_of, self.n_components_)
        self.lot_concentration_ = float(self.lot_drift) if self.lot_drift != "none" else float("inf")
        logger.debug("joint block: %d components, background %.3f, lot concentration %s", self.n_components_,
                     self.background_, self.lot_concentration_)
        return self

    @staticmethod
    def _ratios(Z: np.ndarray, pool: _Mixtures, site: _Mixtures, eps: float) -> tuple[np.ndarray, np.ndarray]:
        """``(1 - eps) N_k(x) / p_s(x)`` (n, n_classes, K) and ``eps b(x) / p_s(x)`` (n, n_classes)."""
        comp, _, _ = site.component_logpdf(Z)
        with np.errstate(divide="ignore"):
            own = logsumexp(comp + np.log(site.weights)[None], axis=2)
        broad = _Mixtures(pool.weights, pool.means, pool.covs * 4.0).loglik(Z)[:, :1]
        if eps > 0:
            total = np.logaddexp(np.log1p(-eps) + own, np.log(eps) + broad)
            rest = np.exp(np.log(eps) + broad - total)
        else:
            total, rest = own, np.zeros_like(own)
        return np.exp(np.log1p(-eps) + comp - total[:, :, None]), rest

    def drift_terms(self, X: Any) -> tuple[np.ndarray, np.ndarray] | None:
        """Per-stone pieces of :func:`._drift.drift_correction` and nothing else; None when lots do not drift.

        Returns ``(ratio, rest)`` of shapes (n, n_classes, K) and (n, n_classes).
        """
        check_is_fitted(self, "mixtures_")
        if not np.isfinite(getattr(self, "lot_concentration_", np.inf)):
            return None
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        return self._ratios(self._standardise(X), self.pool_, self.mixtures_, self.background_)

    def drift_prior(self) -> np.ndarray | None:
        """Dirichlet parameters ``c w_s`` of a lot's component weights, shape (1, n_classes, K), or None."""
        c = getattr(self, "lot_concentration_", np.inf)
        return None if not np.isfinite(c) else c * self.mixtures_.weights[None]

    # -- scoring ---------------------------------------------------------------------------------
    def site_loglik(self, X: Any) -> np.ndarray:
        """``log p(x | class)`` of the block, shape (n_samples, n_classes); 0 where nothing is observed."""
        check_is_fitted(self, "mixtures_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        return self._score(self._standardise(X), self.pool_, self.mixtures_, self.background_)

    def fold_loglik(self, X: np.ndarray, y: np.ndarray, n_classes: int, parents: np.ndarray | None,
                    X_test: np.ndarray, with_drift: bool = False) -> Any:
        """Refit on one fold's stones (classes 0 .. n_classes - 1, some absent) and score ``X_test``.

        The fitted estimator is left unchanged: the fold's mixtures use its
        standardisation, point masses, number of components and background,
        and start from its pooled mixture (see :meth:`_fit_levels`).

        Returns the ``(len(X_test), n_classes)`` class log-densities; a class
        without training stones gets the fold's pooled density (it carries no evidence).
        With ``with_drift`` also the fold's ``(ratio, rest)`` of the test stones
        (:meth:`drift_terms`; a class without training stones: no drift).
        """
        check_is_fitted(self, "mixtures_")
        Z = self._standardise(np.asarray(X, dtype=float))
        Zt = self._standardise(np.asarray(X_test, dtype=float))
        y = np.asarray(y, dtype=int)
        parent_of = np.zeros(n_classes, dtype=int)
        if parents is not None:
            parent_of[y] = np.unique(np.asarray(parents, dtype=str), return_inverse=True)[1]
        pool, site = self._fit_levels(Z, y, n_classes, parent_of, self.n_components_, start=self.pool_)
        out = self._score(Zt, pool, site, self.background_)
        absent = np.bincount(y, minlength=n_classes) == 0
        if absent.any():
            out[:, absent] = self._score(Zt, pool, pool, self.background_)[:, :1]
        if not with_drift:
            return np.nan_to_num(out)
        ratio, rest = self._ratios(Zt, pool, site, self.background_)
        ratio[:, absent], rest[:, absent] = 1.0, 0.0
        return np.nan_to_num(out), ratio, rest

    def pool_loglik(self, X: Any) -> np.ndarray:
        """``log p(x)`` of the block under the pooled mixture (with the background), shape (n_samples,)."""
        check_is_fitted(self, "mixtures_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        return self._score(self._standardise(X), self.pool_, self.pool_, self.background_)[:, 0]

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Class log-probabilities with the training class shares as prior, shape (n, n_classes)."""
        return log_softmax(self.site_loglik(X) + self.log_prior_, axis=1)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n, n_classes)."""
        return np.exp(self.predict_log_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class."""
        check_is_fitted(self, "mixtures_")
        return self.classes_[np.argmax(self.predict_log_proba(X), axis=1)]
