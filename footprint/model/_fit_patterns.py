"""The population fit test of parcels described by their assortment (size class x quality x colour).

The population fit test (:mod:`._fit_test`) sums a G statistic over every
field a parcel's stones have, and its null (``ParcelCalibration.fit_null``)
is tabulated on held-out genuine parcels described on every field. A parcel
described by its assortment has three fields (the cells' size class,
quality and colour: :func:`._fit_test.cell_sizes_for_fit` reads a cell's
sieve, never its mean mass), so its G is a sum of three fields' terms read
against the spread of a sum of twenty: the test keeps only the power of a
misfit large enough to beat the all-field null. A whole parcel of a few
thousand stones from an unknown mine still fails it; a described quarter
of the same parcel (issue 14, ``assess_batch(sampling=...)``) does not
(bench_assortment: out-of-reference parcels flagged in full read fit p
~0.5 on their 25 % subsample).

So training builds the test's null on the assortment's own fields
(:func:`fit_assortment_null`), as :func:`._patterns.fit_pattern_parcel_nulls`
does for the unknown-origin test:

- every reference stone gets the size class a sorter would give it: its
  reported sieve, else the DTC sieve of its mass (``sieve_for_carats``;
  the stone model's sieve feature exists only for stones without a mass);
- the sites' cell probabilities of the three fields are the reference
  stones' shrunk frequencies (:func:`._fit_test.cell_tables`), each held-out
  stone's own from the stones of the other folds of the stone classifier
  (whole lots: :func:`._fit_test.out_of_fold_cells`);
- genuine parcels are simulated from held-out lots as the parcel layer's
  (:func:`._parcel_calibration.simulate_parcels`, a generator of their own),
  their mixture over every reference site fitted as the parcel layer's null
  fits it (from the stones' out-of-fold evidence), and the G statistic on
  the three fields tabulated at the parcel layer's sizes.

The mixture of a null parcel is fitted on the three fields, as an
assortment's is (each held-out stone's per-site evidence its cell
probabilities): fitted on all the stones' fields, the null parcels' site
shares were sharper than an assortment's can be, their G smaller, and fresh
genuine assortments failed the test too often. At assessment (:meth:`AssortmentFit.p_values`)
a parcel nearly all of whose stones (by weight, 90 %) have no field outside
the three is read against this null at its effective size ``n_eff``; every
other parcel keeps the all-field test unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import InputError
from ._fit_test import FitCells, cell_tables, fit_statistic, out_of_fold_cells, zone_null_p_values

__all__ = ["ASSORTMENT_FIT_FEATURES", "AssortmentFit", "fit_assortment_null", "sized_rows"]

#: The assortment's fields as the fit test reads them (a cell's size class, never its mean mass).
ASSORTMENT_FIT_FEATURES = ("sieve_mm", "quality", "colour")
#: Name of the mass feature (as ``_patterns.MASS_FEATURE``).
MASS_FEATURE = "log10_mass_ct"
#: Share of a parcel's stones (by weight) with no field outside the assortment's for its null to apply.
SHARE = 0.9


def _sub_cells(cells: FitCells, fields: np.ndarray) -> FitCells:
    """Return the cells of ``fields`` only (tables, when ``cells`` has them, too)."""
    pick = [int(j) for j in fields]
    return FitCells([cells.kinds[j] for j in pick], [cells.code_cell[j] for j in pick],
                    [cells.spikes[j] for j in pick], [cells.cuts[j] for j in pick],
                    np.asarray(cells.n_cells)[pick], [cells.tables[j] for j in pick] if cells.tables else [])


def _on_dtc(labels: pd.Series) -> pd.Series:
    """Size classes as the DTC sieve of their nominal mass (None where unreadable or not a sieve)."""
    from ..ingest import parse_size_class, sieve_for_carats

    def one(value: Any) -> Any:
        try:
            size = parse_size_class(value)
        except (ValueError, TypeError, KeyError, InputError):
            return None
        return sieve_for_carats(size.ct_nominal) if size.sieve is not None else None

    codes, uniques = pd.factorize(labels, use_na_sentinel=True)
    table = np.array([one(u) for u in uniques] + [None], dtype=object)
    return pd.Series(table[np.where(codes < 0, len(uniques), codes)], index=labels.index, dtype=object)


def sized_rows(X: np.ndarray, stones: pd.DataFrame, features: Any, names: list[str], *,
               every_row: bool = True, sieve_of_mass: bool = False, dtc: bool = False) -> np.ndarray:
    """Feature rows with a size class in place of a mass (the rows the assortment's fit test reads).

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        Feature rows of ``stones``.
    stones : DataFrame
        The rows (``sieve_class``, ``mass_ct`` read when present).
    features : StoneFeatures
        The fitted stone features (the first columns of ``X``).
    names : list of str
        Feature names of ``X``.
    every_row : bool
        Put the size class in place of the mass on every row that has one
        (assortment cells with carats: a one-stone cell too); False returns
        ``X``. Rows with no size class (grainer and carat classes) keep
        their mass.
    sieve_of_mass : bool
        Rows with a mass but no sieve class get the DTC sieve of their mass
        (reference stones).
    dtc : bool
        Put every sieve on the DTC system (the DTC sieve of its nominal
        mass: ``mm:2.50`` and ``dtc:+10`` fall in one cell of the fit test
        only when both read as DTC sieves; reference lots sieved on mm
        sieves and export parcels on DTC sieves must meet in the same cells).
    """
    if not every_row or "sieve_mm" not in names:
        return X
    X = X.copy()
    mass = np.full(len(stones), np.nan)
    if "mass_ct" in stones.columns:
        mass = pd.to_numeric(stones["mass_ct"], errors="coerce").to_numpy(dtype=float)
    sieve = (stones["sieve_class"].astype(object) if "sieve_class" in stones.columns
             else pd.Series([None] * len(stones), index=stones.index, dtype=object))
    sieve = sieve.where(sieve.notna(), None)
    if dtc:
        sieve = _on_dtc(sieve)
    if sieve_of_mass:
        from ..ingest import sieve_for_carats

        need = sieve.isna().to_numpy() & np.isfinite(mass) & (mass > 0)
        if need.any():
            values, inverse = np.unique(mass[need], return_inverse=True)
            labels = np.array([sieve_for_carats(float(v)) for v in values], dtype=object)
            sieve = sieve.copy()
            sieve.iloc[np.flatnonzero(need)] = labels[inverse]
    j = names.index("sieve_mm")
    sized = features.transform(stones.assign(sieve_class=sieve.to_numpy(), mass_ct=np.nan))[:, j]
    # Rows with no size class (grainer and carat classes have no sieve) keep their mass.
    has = np.isfinite(sized)
    X[has, j] = sized[has]
    if MASS_FEATURE in names:
        X[has, names.index(MASS_FEATURE)] = np.nan
    return X


def _only(X: np.ndarray, columns: Any) -> np.ndarray:
    """Per row: is nothing observed outside ``columns``."""
    outside = np.ones(X.shape[1], dtype=bool)
    outside[np.asarray(columns, dtype=int)] = False
    return ~(np.isfinite(X) & outside).any(axis=1)


def _mostly(rows: np.ndarray, w: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per parcel (rows sorted by parcel): do rows meeting ``rows`` carry at least ``SHARE`` of its weight."""
    total = np.add.reduceat(w, starts)
    return np.add.reduceat(w * rows, starts) / np.maximum(total, 1e-300) >= SHARE


@dataclass
class AssortmentFit:
    """The assortment's population fit test: its fields, cells, the sites' tables and its null.

    Attributes
    ----------
    fields : ndarray of int
        Columns of the model's feature rows the test reads.
    cells : FitCells
        Cells and site tables of those fields (size class from every reference stone).
    sizes : ndarray
        Tabulated parcel sizes.
    null : list of ndarray
        G statistics of simulated genuine parcels per size.
    null_zone : list of list of ndarray
        The same per zone (``null_zone[z][k]``); empty for a zone without
        held-out parcels, or for a model saved before they were kept (the
        pooled ``null`` is read then).
    """

    fields: np.ndarray
    cells: FitCells
    sizes: np.ndarray
    null: list[np.ndarray]
    null_zone: list[list[np.ndarray]] = field(default_factory=list)

    def applies(self, X: np.ndarray, w: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Per parcel (rows sorted by parcel): do nearly all its stones have only the assortment's fields."""
        within = _only(X, self.fields) & np.isfinite(X[:, self.fields]).any(axis=1)
        return _mostly(within, w, starts)

    def could_apply(self, X: np.ndarray, w: np.ndarray, starts: np.ndarray, names: list[str]) -> bool:
        """Return whether the test may apply to any parcel, read on the rows before :func:`sized_rows`.

        :func:`sized_rows` only fills the size class (one of the test's
        fields) and empties the mass, so a parcel it applies to has, before,
        nearly all its stones with no field outside the test's and the mass.
        False lets a batch of stones described on other fields skip building
        the sized rows (a second feature transform of every stone).
        """
        allowed = [*self.fields, *([names.index(MASS_FEATURE)] if MASS_FEATURE in names else [])]
        return bool(_mostly(_only(X, allowed), w, starts).any())

    def p_values(self, X: np.ndarray, starts: np.ndarray, w: np.ndarray, sizes: np.ndarray,
                 shares: np.ndarray, target: np.ndarray | None = None) -> np.ndarray:
        """Return population fit p-values on the assortment's fields (NaN where it does not apply).

        Parameters
        ----------
        X : ndarray of shape (n_rows, n_features)
            Feature rows sorted by parcel (:func:`sized_rows` for assortment cells).
        starts, w, sizes, shares, target
            As for :func:`._fit_test.fit_p_values`: with ``target`` each
            parcel is read against its declared zone's genuine parcels
            (:func:`._fit_test.zone_null_p_values`).
        """
        out = np.full(len(starts), np.nan)
        on = self.applies(X, w, starts)
        if not on.any():
            return out
        g = fit_statistic(self.cells.cells(X[:, self.fields]), starts, w, shares, self.cells.n_cells,
                          tables=self.cells.tables)
        p = zone_null_p_values(np.where(np.isfinite(g), g, 0.0), sizes, self.sizes, self.null,
                               self.null_zone, target)
        return np.where(on & np.isfinite(g), p, np.nan)

    def to_parts(self) -> dict[str, Any]:
        """Plain-data form for the artefact."""
        return {"fields": np.asarray(self.fields), "cells": self.cells.to_parts(),
                "sizes": np.asarray(self.sizes), "null": [np.asarray(v) for v in self.null],
                "null_zone": [[np.asarray(v) for v in tables] for tables in self.null_zone]}

    @classmethod
    def from_parts(cls, parts: dict[str, Any]) -> AssortmentFit:
        """Inverse of :meth:`to_parts`."""
        return cls(np.asarray(parts["fields"], dtype=int), FitCells.from_parts(parts["cells"]),
                   np.asarray(parts["sizes"], dtype=float),
                   [np.asarray(v, dtype=float) for v in parts["null"]],
                   [[np.asarray(v, dtype=float) for v in tables] for tables in parts.get("null_zone", [])])


def fit_assortment_null(fit_cells: FitCells, X_sized: np.ndarray, names: list[str], y: np.ndarray,
                        fold: np.ndarray, valid: np.ndarray, lots: np.ndarray,
                        site_zone: np.ndarray, log_weight: np.ndarray, n_zones: int, sizes: np.ndarray,
                        per_zone: list[int], *, prior_strength: float, shrinkage: float,
                        parent_shrinkage: float, seed: int | None) -> AssortmentFit | None:
    """Build the assortment's fit test and its null (module docstring); None when the model lacks its fields.

    Parameters
    ----------
    fit_cells : FitCells
        The model's fit-test cells (all fields).
    X_sized : ndarray of shape (n_stones, n_features)
        Reference stones with a size class on every stone (:func:`sized_rows`).
    names : list of str
        Feature names.
    y, fold : ndarray of shape (n_stones,)
        Site of each reference stone and the stone classifier's fold that held it out (-1: none).
    valid : ndarray of bool, shape (n_stones,)
        Stones with held-out stone evidence (the parcel layer's).
    lots : ndarray of shape (n_valid,)
        Lot of each valid stone.
    site_zone, log_weight, n_zones
        The site layout.
    sizes, per_zone
        The parcel layer's tabulated sizes and genuine parcels per zone.
    prior_strength, shrinkage, parent_shrinkage
        As the parcel layer and the fit test's tables use them.
    seed : int or None
        Seed of the simulation.
    """
    from ._parcel import mixed_evidence, stack_parcels, zone_evidence
    from ._parcel_calibration import simulate_parcels

    if "sieve_mm" not in names:
        return None
    fields = np.array([names.index(n) for n in ASSORTMENT_FIT_FEATURES if n in names], dtype=int)
    cells = _sub_cells(fit_cells, fields)
    X_pat = np.ascontiguousarray(X_sized[:, fields])
    n_sites = len(site_zone)
    codes = cells.cells(X_pat)
    cells = cells.with_tables(cell_tables(codes, y, n_sites, cells.n_cells, site_zone, shrinkage,
                                          parent_shrinkage))
    folds = [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in np.unique(fold[fold >= 0])]
    if not folds:
        return None
    probs = out_of_fold_cells(cells, folds, X_pat, y, n_sites, site_zone, shrinkage, parent_shrinkage)
    codes, probs = codes[valid], probs[valid]
    # The mixture is fitted on the three fields, as an assortment's is: each stone's per-site evidence is
    # its held-out cell probabilities (fitted on all its fields, the null parcels' shares would be
    # sharper than an assortment's, and their G smaller: 2.9% of fresh genuine assortments of 100-2,000
    # stones fell below p = 0.005 against such a null).
    ok_stone = np.isfinite(probs).all(axis=(1, 2))
    safe = np.maximum(np.where(np.isfinite(probs), probs, 1.0).astype(float), 1e-300)
    pattern_ll = np.where(ok_stone[:, None], np.log(safe).sum(axis=1), 0.0)
    site_of_stone = y[valid]
    zone_of_stone = site_zone[site_of_stone]
    rng = np.random.default_rng(None if seed is None else [int(seed), 14, 2])
    weight = np.exp(log_weight)
    null: list[np.ndarray] = []
    null_zone: list[list[np.ndarray]] = [[] for _ in range(n_zones)]
    for size, count in zip(np.asarray(sizes, dtype=int), per_zone, strict=True):
        gof = []
        for z in np.unique(zone_of_stone):
            parcels = simulate_parcels(lots, zone_of_stone, site_of_stone, int(z), int(size), int(count), rng,
                                       weight)
            rows, starts, _ = stack_parcels(parcels)
            w = np.ones(len(rows))
            _, _, shares, prepared = zone_evidence(pattern_ll[rows], starts, w, site_zone, log_weight,
                                                   n_zones, prior_strength)
            target = np.full(len(parcels), int(z))
            f_em, theta, _, _ = mixed_evidence(prepared, starts, w, site_zone, target, shares[int(z)])
            every_site = shares[int(z)] * (1 - f_em[:, None]) + theta
            ok = ok_stone[rows]
            g = fit_statistic(codes[rows], starts, np.where(ok, 1.0, 0.0), every_site, cells.n_cells,
                              stone_probs=np.where(ok[:, None, None], probs[rows], 1.0))
            gof.append(g)
            null_zone[int(z)].append(np.sort(g))
        null.append(np.sort(np.concatenate(gof)))
    return AssortmentFit(fields, cells, np.asarray(sizes, dtype=float), null, null_zone)
