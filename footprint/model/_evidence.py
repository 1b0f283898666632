"""Stone-level evidence of :class:`~._footprint.FootprintModel`: one pass over the fitted densities.

The classifier's site log-probabilities, the novelty scorer's centred sums,
the raw site scores the parcel unknown-origin statistic needs and, when asked,
each field's zone log densities summed per parcel (the "why" block's
``top_fields``) all come from the same per-feature terms when the classifier
and the novelty scorer hold the same fitted densities (training fits both
alike), so each term is computed once per batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import log_softmax, logsumexp

from ._assessment import _spread
from ._explain import add_zone_field_sums, field_evidence_from_sums, parcel_field_evidence
from ._novelty import NoveltyScorer
from ._site import SiteLayout
from ._stone import StoneClassifier

__all__ = ["StoneEvidenceMixin"]

_LN10 = np.log(10.0)
#: Stones explained per chunk (the per-feature terms are n x features x sites).
_EXPLAIN_CHUNK = 4096


class StoneEvidenceMixin:
    """The stone-evidence methods of :class:`~._footprint.FootprintModel` (which sets the attributes)."""

    classifier: StoneClassifier
    novelty: NoveltyScorer
    layout: SiteLayout
    zones: list[str]
    _shared: bool | None

    @property
    def feature_names(self) -> list[str]:  # pragma: no cover - FootprintModel's own wins
        raise NotImplementedError

    def _shares_densities(self) -> bool:
        """Whether the classifier and the novelty scorer hold the same fitted densities.

        Training fits both with the same options on the same stones, so their
        per-feature terms are computed once per batch (a third of the time).
        """
        if getattr(self, "_shared", None) is None:
            a = getattr(self.classifier, "estimator_", None)
            b = getattr(self.novelty, "densities_", None)
            # A joint block or a stacked partner add terms the novelty densities do not hold (pair
            # tables do too, but they are added to the classifier's scores below, as generative_scores does).
            # Thin zones' widening is applied by the classifier's own path only.
            widen = getattr(self.classifier, "widen_", None)
            extra = (getattr(self.classifier, "joint_", None) is not None
                     or getattr(self.classifier, "partner_", None) is not None
                     or (widen is not None and bool(np.any(np.asarray(widen) != 1.0))))
            same = (self.classifier.method == "binned" and a is not None and b is not None
                    and a.modes == b.modes and a.n_sites == b.n_sites and not extra)
            if same:
                for name in ("edges", "tables", "mu", "sd", "tail_scale", "base_edges", "base_log_density",
                             "base_points", "standardise", "coef", "log_norm"):
                    same = same and all(np.array_equal(x, y) for x, y in
                                        zip(getattr(a, name), getattr(b, name), strict=True))
            self._shared = bool(same)
        return bool(self._shared)

    def _stone_evidence(self, X: np.ndarray, *, novelty: bool = True,
                        field_sums: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
                        ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, list[Any] | None]:
        """Classifier site log-probabilities, centred novelty sums, raw site scores; all (n, n_sites).

        With ``novelty=False`` the novelty sums (needed only for per-stone
        p-values) are not computed and None is returned in their place. The
        raw scores ``sum_j alpha_j log p_j(x_j | s)`` are what the parcel
        unknown-origin statistic needs of the reference sites (None when the
        densities are not shared and the novelty scorer computes its own),
        and so are the per-feature bins and shared parts found on the way
        (the fourth item: ``(index, shared)`` per feature, None where skipped).

        With ``field_sums = (parcel, weights, out)``, also adds each field's
        zone log densities to its parcel's sums (:func:`._explain.add_zone_field_sums`)
        from the terms computed here; ``out`` is left untouched when the
        densities are not shared (then see :meth:`_field_evidence`).
        """
        if not self._shares_densities() or X.shape[1] != self.classifier.n_features_in_:
            return (self.classifier.predict_log_proba(X), self.novelty.site_sums(X) if novelty else None,
                    None, None)
        dens, alpha, centre = self.classifier.estimator_, self.classifier.alpha_, self.novelty.centre_
        n = X.shape[0]
        scores = np.zeros((n, dens.n_sites))
        sums = np.zeros_like(scores) if novelty else None
        # Scratch space reused by every feature: the feature's terms (plus a zero
        # row for the stones without it) and their spread over all stones.
        part = np.empty((n + 1, dens.n_sites))
        spread = np.empty_like(scores)
        pieces: list[Any] = [None] * X.shape[1]
        for j in range(X.shape[1]):
            if alpha[j] == 0 and sums is None and field_sums is None:
                continue  # the feature weighs nothing in the classifier
            seen, terms, index, shared = dens.feature_pieces(X, j)
            pieces[j] = (index, shared)
            if terms is None:
                continue
            if field_sums is not None:
                add_zone_field_sums(terms, seen, j, field_sums, self.layout.log_weight, self.layout.site_zone)
            m = terms.shape[0]
            # Stones without the feature add +0.0, which leaves every sum unchanged
            # (a sum that starts at +0.0 is never -0.0): the same additions in the
            # same order as adding into the measured rows only, but as one gather
            # (np.take) and one contiguous add instead of a fancy-indexed update.
            where = None if m == n else np.where(seen, np.cumsum(seen) - 1, m)
            part[m] = 0.0
            if sums is not None:
                np.subtract(terms, centre[j], out=part[:m])
                sums += _spread(part, m, where, spread)
            if alpha[j] != 0:
                np.multiply(alpha[j], terms, out=part[:m])
                scores += _spread(part, m, where, spread)
        pairs = self.classifier.pair_scores(X)
        generative = scores if pairs is None else scores + pairs
        return log_softmax(generative + self.classifier.log_prior_, axis=1), sums, scores, pieces

    def _field_evidence(self, X: np.ndarray, codes: np.ndarray, w: np.ndarray, field_zone: np.ndarray | None,
                        target: np.ndarray, other: np.ndarray) -> np.ndarray:
        """Per-field log10 evidence per parcel: from the stone evidence's sums, else from ``X`` (_explain)."""
        if field_zone is None or not self._shares_densities() or X.shape[1] != self.classifier.n_features_in_:
            return parcel_field_evidence(self, X, codes, target, other, w)
        return field_evidence_from_sums(field_zone, target, other)

    def _contributions(self, X: np.ndarray, target: np.ndarray, other: np.ndarray) -> np.ndarray:
        """Naive per-feature log10 evidence for ``target`` against ``other`` zone, shape (n, n_features).

        Each feature's term is its per-site binned density (from the novelty
        scorer) mixed over the zone's sites: a one-feature-at-a-time view,
        good for "which features weighed most", not a decomposition of the
        classifier's output.
        """
        out = np.zeros(X.shape)
        weight = self.layout.log_weight
        zone_of_site = self.layout.site_zone
        for start in range(0, X.shape[0], _EXPLAIN_CHUNK):
            part = slice(start, start + _EXPLAIN_CHUNK)
            terms = self.novelty.feature_terms(X[part]) + weight[None, None, :]
            t_mask = zone_of_site[None, :] == target[part][:, None]
            o_mask = zone_of_site[None, :] == other[part][:, None]
            lt = logsumexp(np.where(t_mask[:, None, :], terms, -np.inf), axis=2)
            lo = logsumexp(np.where(o_mask[:, None, :], terms, -np.inf), axis=2)
            diff = (lt - lo) / _LN10
            out[part] = np.nan_to_num(diff, nan=0.0)
        return out

    def _top_features(self, contrib: np.ndarray, target: np.ndarray, other: np.ndarray,
                      k: int = 3) -> list[str]:
        names = self.feature_names
        order = np.argsort(-np.abs(contrib), axis=1)[:, :k]
        out = []
        for i, row in enumerate(order):
            parts = []
            for j in row:
                value = contrib[i, j]
                if value == 0:
                    continue
                toward = self.zones[target[i]] if value > 0 else self.zones[other[i]]
                parts.append(f"{names[j]} ({abs(value):.2f} toward {toward})")
            out.append("; ".join(parts))
        return out
