"""Folds of whole lots, shared by the stone model, its joint block and partner, novelty and evaluation.

A module of its own below :mod:`._stone`, :mod:`._joint` and
:mod:`._discriminative`, so that those do not import each other.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import GroupKFold, StratifiedKFold

__all__ = ["grouped_splits"]


def grouped_splits(
    y: np.ndarray, groups: np.ndarray | None, n_splits: int, random_state: int | None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return train/test index pairs, whole groups (lots) on one side.

    With fewer groups than ``n_splits``, each group is a fold of its own;
    without groups, stratified folds; no folds (an empty list) when there is
    too little data to hold any out.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Encoded class labels.
    groups : ndarray of shape (n_samples,) or None
        Group (lot) of each sample.
    n_splits : int
        Wanted number of folds.
    random_state : int or None
        Seed for the shuffled group assignment.
    """
    n = len(y)
    if groups is not None:
        uniq, codes = np.unique(np.asarray(groups, dtype=str), return_inverse=True)
        # Fewer groups than folds: one group per fold (leave-one-lot-out) rather than no folds.
        n_splits = min(n_splits, len(uniq))
        if n_splits < 2 or n < 2 * n_splits:
            return []
        # Shuffle the group order with the seed so folds are not alphabetical.
        perm = np.random.default_rng(random_state).permutation(len(uniq))
        splitter = GroupKFold(n_splits=n_splits)
        return list(splitter.split(np.zeros(n), y, perm[codes]))
    if n_splits < 2 or n < 2 * n_splits:
        return []
    counts = np.bincount(y)
    if counts[counts > 0].min() < n_splits:
        return []
    splitter_s = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    return list(splitter_s.split(np.zeros(n), y))
