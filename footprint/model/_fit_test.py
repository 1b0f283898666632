"""Population goodness of fit: does a parcel, taken as a whole, look like a mixture of reference sites.

The unknown-origin statistic of :mod:`._novelty` is a per-stone typicality:
each stone against its best reference site. A parcel whose stones are each
typical of SOME reference site, but whose population is not any mixture of
them (a neighbouring country's mine, whose stones fall inside the reference's
range in every field but with other frequencies), passes it at any size. This
module tests the population.

Every field ``j`` of the stone model is cut into a few cells (categories,
frequent exact values, quantile ranges of the pooled reference values: see
:class:`FitCells`), and every reference site ``s`` gives each cell a
probability ``P_j(b | s)``: the site's cell frequencies, shrunk towards its
zone's and the pool's as the stone model's densities are
(:func:`cell_tables`). Under "the stones come from the sites in shares ``pi``" the
cells of field ``j`` follow ``q_j(b) = sum_s pi_s P_j(b | s)``, and the
parcel's G statistic (likelihood ratio of a free multinomial against it)::

    G = 2 sum_j [ sum_b O_jb log(O_jb / n_j) - sum_i w_i log q_j(b_ij) ]

summed over the fields each stone has (``O_jb`` = stones in cell ``b`` of
field ``j``, ``n_j`` = stones measuring ``j``, ``w_i`` = stones row ``i``
stands for: a row of weight ``w`` counts exactly as ``w`` identical rows).
``G`` grows with ``n`` for a population shift no share vector ``pi`` absorbs.

The shares are the parcel's fit over EVERY reference site (the declared
zone's mixture plus the foreign sites of the "mixed" test), so a parcel
topped up with stones of another reference zone is explained by the
reference and only a population unlike every reference mixture fails: the
test's meaning is the unknown-origin one.

Its null is calibrated like the other parcel tests (:mod:`._parcel_calibration`):
held-out genuine export parcels of each size, built from whole reference lots,
each stone's cell probabilities taken from the stones of the other folds of
the stone classifier (whole lots: :func:`out_of_fold_cells`), so the null carries the lot-to-lot
variation of the reference and the estimation error of the densities (both
make ``G`` grow with ``n`` even for genuine parcels: the null is tabulated per
size, and read as a location-scale family, :func:`._nulls.scaled_null_p_values`,
whose tails come from the simulated parcels themselves). It is read per
declared zone: each zone's genuine parcels sit at their own level (with the
bundled SYNTHETIC zones CAR-West's ``G`` is about 0.5 spreads above
CAR-East's at every size, so against the pooled null genuine CAR-West
parcels of 400 stones failed it 2.3% of the time at the 0.5% level); the
pooled null's shape and size trend are kept, shifted by the zone's offset
(:func:`zone_offsets`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._density import shrunk_frequencies
from ._nulls import scaled_null_p_values

__all__ = ["FitCells", "cell_sizes_for_fit", "cell_tables", "fit_p_values", "fit_statistic",
           "out_of_fold_cells", "zone_null_p_values", "zone_offsets"]

#: Smallest pooled share of a cell: rarer categories / values are merged.
_MIN_SHARE = 0.04
#: Quantile cells of the continuous part of a continuous field.
_CONTINUOUS_CELLS = 6
#: Frequent exact values (share of the measured values) get a cell of their own (as the densities do).
_SPIKE_SHARE = 0.05
#: Floor of a cell probability.
_FLOOR = 1e-9


@dataclass
class FitCells:
    """The cells of every field and the reference sites' probabilities of them.

    Attributes
    ----------
    kinds : list of str
        ``"cat"`` (category codes) or ``"num"`` per field.
    code_cell : list of ndarray
        ("cat") cell of each code ``0..K-1``; codes ``>= K - 1`` (unseen) take the last entry's cell.
    spikes : list of ndarray
        ("num") frequent exact values, one cell each (cells ``0..len(spikes)-1``).
    cuts : list of ndarray
        ("num") cut points of the other values: cell ``len(spikes) + searchsorted(cuts, x, "right")``.
    n_cells : ndarray of int, shape (n_fields,)
        Cells of each field.
    tables : list of ndarray
        Per field, ``P_j(b | s)`` of shape (n_sites, n_cells); empty until :meth:`with_tables`.
    """

    kinds: list[str]
    code_cell: list[np.ndarray]
    spikes: list[np.ndarray]
    cuts: list[np.ndarray]
    n_cells: np.ndarray
    tables: list[np.ndarray]

    # -- building ----------------------------------------------------------------------
    @classmethod
    def from_reference(cls, X: np.ndarray, categorical: np.ndarray, *, min_share: float = _MIN_SHARE,
                       continuous_cells: int = _CONTINUOUS_CELLS) -> FitCells:
        """Cells from the pooled reference values ``X`` (n_stones, n_fields), NaN = not measured.

        Categories and the values of a field with at most 12 distinct values
        (as the densities treat them) are merged in order until each cell
        holds ``min_share`` of the measured values; frequent exact values of a
        continuous field get their own cell and the others ``continuous_cells``
        quantile ranges.
        """
        kinds, code_cell, spikes, cuts, n_cells = [], [], [], [], []
        for j in range(X.shape[1]):
            col = X[:, j]
            values = col[np.isfinite(col)]
            if categorical[j]:
                codes = values.astype(int)
                k = int(codes.max()) + 2 if len(codes) else 1
                share = np.bincount(codes, minlength=k) / max(len(codes), 1)
                frequent = share >= min_share
                cell = np.full(k, -1)
                cell[frequent] = np.arange(frequent.sum())
                rare = int(frequent.sum())
                cell[~frequent] = rare  # rare and unseen codes share one cell
                kinds.append("cat")
                code_cell.append(cell)
                spikes.append(np.zeros(0))
                cuts.append(np.zeros(0))
                n_cells.append(rare + 1)
                continue
            kinds.append("num")
            code_cell.append(np.zeros(0, dtype=int))
            uniq, counts = np.unique(values, return_counts=True)
            if len(uniq) <= 12:
                # Discrete values: cut at a value whenever the cell so far holds min_share.
                spk = np.zeros(0)
                share = counts / max(len(values), 1)
                after = share[::-1].cumsum()[::-1]  # share of the values from each one on
                cut, acc = [], 0.0
                for v, c, rest in zip(uniq, share, after, strict=True):
                    if acc >= min_share and rest >= min_share:
                        cut.append(v)
                        acc = 0.0
                    acc += c
                cut_arr = np.asarray(cut, dtype=float)
            else:
                spk = np.sort(uniq[counts >= _SPIKE_SHARE * len(values)][:3])
                cont = values[~np.isin(values, spk)]
                q = np.linspace(0.0, 1.0, continuous_cells + 1)[1:-1]
                cut_arr = np.unique(np.quantile(cont, q)) if len(cont) else np.zeros(0)
            spikes.append(spk.astype(float))
            cuts.append(cut_arr)
            n_cells.append(len(spk) + len(cut_arr) + 1)
        return cls(kinds, code_cell, spikes, cuts, np.asarray(n_cells, dtype=int), [])

    def with_tables(self, tables: list[np.ndarray]) -> FitCells:
        """Return a copy holding the sites' cell probabilities ``tables`` (see :func:`cell_tables`)."""
        return FitCells(self.kinds, self.code_cell, self.spikes, self.cuts, self.n_cells, list(tables))

    # -- applying ----------------------------------------------------------------------
    def cells(self, X: np.ndarray) -> np.ndarray:
        """Cell of every stone in every field, shape (n_stones, n_fields); -1 = not measured."""
        # Field by field over contiguous rows (a column of X is strided), every stone at once; unmeasured
        # values stand in as 0 and get -1 at the end.
        fields = np.ascontiguousarray(np.asarray(X, dtype=float).T)
        out = np.empty(fields.shape, dtype=np.int64)
        for j, kind in enumerate(self.kinds):
            seen = np.isfinite(fields[j])
            v = np.where(seen, fields[j], 0.0)
            if kind == "cat":
                table = self.code_cell[j]
                cell = table[np.clip(v.astype(np.int64), 0, len(table) - 1)]
            else:
                spk, cut = self.spikes[j], self.cuts[j]
                cell = len(spk) + np.searchsorted(cut, v, side="right")
                if len(spk):
                    cell = np.where(np.isin(v, spk), np.searchsorted(spk, v), cell)
            out[j] = np.where(seen, cell, -1)
        return out.T

    def to_parts(self) -> dict[str, Any]:
        """Plain-data form (lists of arrays) for the artefact."""
        return {"kinds": list(self.kinds), "code_cell": [np.asarray(v) for v in self.code_cell],
                "spikes": [np.asarray(v) for v in self.spikes], "cuts": [np.asarray(v) for v in self.cuts],
                "n_cells": np.asarray(self.n_cells), "tables": [np.asarray(v) for v in self.tables]}

    @classmethod
    def from_parts(cls, parts: dict[str, Any]) -> FitCells:
        """Inverse of :meth:`to_parts`."""
        return cls([str(k) for k in parts["kinds"]], [np.asarray(v) for v in parts["code_cell"]],
                   [np.asarray(v, dtype=float) for v in parts["spikes"]],
                   [np.asarray(v, dtype=float) for v in parts["cuts"]], np.asarray(parts["n_cells"]),
                   [np.asarray(v, dtype=float) for v in parts["tables"]])


def cell_tables(codes: np.ndarray, sites: np.ndarray, n_sites: int, n_cells: np.ndarray,
                parent_of_site: np.ndarray | None = None, shrinkage: float = 50.0,
                parent_shrinkage: float = 5.0) -> list[np.ndarray]:
    """``P_j(b | s)``: each site's cell frequencies, shrunk site -> zone -> pool as the densities are.

    The cells' probabilities are the reference stones' own frequencies (not
    the stone model's smooth per-field densities, whose pooled shape can
    differ from the data's by a few percent in a cell: a misfit every large
    genuine parcel would show), with the shrinkage of
    :class:`~footprint.model._density.BinnedDensities` (``shrinkage``
    pseudo-stones towards the site's zone, ``parent_shrinkage`` from the zone
    towards the pooled reference).

    Parameters
    ----------
    codes : ndarray of int, shape (n_stones, n_fields)
        Cells of the reference stones (:meth:`FitCells.cells`), -1 = not measured.
    sites : ndarray of int, shape (n_stones,)
        Site of each stone.
    n_sites : int
        Reference sites.
    n_cells : ndarray of int
        Cells per field.
    parent_of_site : ndarray of int, optional
        Zone of each site.
    shrinkage, parent_shrinkage : float
        Pseudo-stones of the two shrinkage levels.

    Returns
    -------
    list of ndarray, each (n_sites, n_cells[j]), rows summing to 1
    """
    out = []
    parent = np.zeros(n_sites, dtype=int) if parent_of_site is None else np.asarray(parent_of_site)
    for j, k in enumerate(np.asarray(n_cells, dtype=int)):
        seen = codes[:, j] >= 0
        counts = np.zeros((n_sites, k))
        np.add.at(counts, (sites[seen], codes[seen, j]), 1.0)
        table = np.maximum(shrunk_frequencies(counts, parent, shrinkage, parent_shrinkage), _FLOOR)
        out.append(table / table.sum(axis=1, keepdims=True))
    return out


def out_of_fold_cells(cells: FitCells, folds: list[tuple[np.ndarray, np.ndarray]], X: np.ndarray,
                      sites: np.ndarray, n_sites: int, parent_of_site: np.ndarray | None = None,
                      shrinkage: float = 50.0, parent_shrinkage: float = 5.0) -> np.ndarray:
    """Each stone's per-site probability of its own cells, from the stones of the other folds.

    Parameters
    ----------
    cells : FitCells
        The cells (no tables needed).
    folds : list of (train_rows, test_rows)
        Folds of whole lots (the stone classifier's).
    X : ndarray of shape (n_stones, n_fields)
        The reference stones.
    sites : ndarray of int, shape (n_stones,)
        Site of each stone.
    n_sites : int
        Reference sites.
    parent_of_site, shrinkage, parent_shrinkage
        As for :func:`cell_tables`.

    Returns
    -------
    ndarray of shape (n_stones, n_fields, n_sites), float32
        ``P_j(b_ij | s)`` (1 where the field is not measured; NaN for a stone in no fold).
    """
    out = np.full((X.shape[0], X.shape[1], n_sites), np.nan, dtype=np.float32)
    codes = cells.cells(X)
    for train, test in folds:
        tables = cell_tables(codes[train], sites[train], n_sites, cells.n_cells, parent_of_site, shrinkage,
                             parent_shrinkage)
        for j, table in enumerate(tables):
            c = codes[test, j]
            out[test, j] = np.where((c >= 0)[:, None], table[:, np.maximum(c, 0)].T, 1.0)
    return out


def fit_statistic(codes: np.ndarray, starts: np.ndarray, weights: np.ndarray, shares: np.ndarray,
                  n_cells: np.ndarray, *, tables: list[np.ndarray] | None = None,
                  stone_probs: np.ndarray | None = None, per_field: bool = False) -> np.ndarray:
    """Return the parcels' G statistics (see the module docstring), all parcels at once.

    Parameters
    ----------
    codes : ndarray of int, shape (n_stones, n_fields)
        Cells (:meth:`FitCells.cells`), stones sorted by parcel; -1 = not measured.
    starts : ndarray of shape (n_parcels,)
        First stone of each parcel.
    weights : ndarray of shape (n_stones,)
        Stones each row stands for.
    shares : ndarray of shape (n_parcels, n_sites)
        The mixture each parcel is tested against.
    n_cells : ndarray of int, shape (n_fields,)
        Cells per field.
    tables : list of ndarray, optional
        ``P_j(b | s)`` per field (the model's own): the parcel's mixture
        ``q_j = shares @ P_j`` is formed per parcel, then read per stone.
    stone_probs : ndarray of shape (n_stones, n_fields, n_sites), optional
        Each stone's own ``P_j(b_ij | s)`` (out-of-fold, for the calibration);
        used instead of ``tables``.
    per_field : bool
        Return the (n_parcels, n_fields) contributions instead of their sum.

    Returns
    -------
    ndarray of shape (n_parcels,) or (n_parcels, n_fields)
    """
    n, F = codes.shape
    P = len(starts)
    sizes = np.diff(np.append(starts, n))
    parcel = np.repeat(np.arange(P), sizes)
    seen = codes >= 0
    offset = np.concatenate([[0], np.cumsum(n_cells)[:-1]])
    total = int(np.sum(n_cells))
    # Every (stone, field) as one index into the (parcel, field, cell) table; an unmeasured field
    # points at its first cell with weight 0.
    key = (parcel * total)[:, None] + offset[None, :] + np.where(seen, codes, 0)
    w_seen = np.where(seen, weights[:, None], 0.0)
    counts = np.bincount(key.ravel(), weights=w_seen.ravel(), minlength=P * total).reshape(P, total)
    field_of_cell = np.repeat(np.arange(F), n_cells)
    n_j = np.add.reduceat(counts, offset, axis=1)  # (P, F) stones measuring each field
    with np.errstate(divide="ignore", invalid="ignore"):
        free = np.where(counts > 0, counts * np.log(counts / n_j[:, field_of_cell]), 0.0)
    free_j = np.add.reduceat(free, offset, axis=1)
    if stone_probs is not None:
        q = np.einsum("ifs,is->if", stone_probs, np.take(shares, parcel, axis=0).astype(stone_probs.dtype))
        logq = np.where(seen, np.log(np.maximum(q, _FLOOR)), 0.0)
        model_j = np.add.reduceat(w_seen * logq, starts, axis=0) if n else np.zeros((P, F))
    else:
        assert tables is not None
        mix = np.concatenate([shares @ t for t in tables], axis=1)  # (P, total): expected cell shares
        # Every stone of a cell has the cell's log share: the weighted cell counts carry the sum.
        log_mix = np.log(np.maximum(mix, _FLOOR))
        model_j = np.add.reduceat(np.where(counts > 0, counts * log_mix, 0.0), offset, axis=1)
    g = 2.0 * np.maximum(free_j - model_j, 0.0)
    return g if per_field else g.sum(axis=1)


def cell_sizes_for_fit(X: np.ndarray, stones: Any, stones_per_row: np.ndarray, features: Any,
                       names: list[str], mass: str = "log10_mass_ct") -> np.ndarray:
    """Return the feature rows the fit test reads: a cell's size class, never its mean mass.

    A row standing for several stones (an assortment cell, ``stones_per_row``
    > 1) carries their mean mass (``carats / n_stones``), which none of them
    need have: read as a mass it puts every stone of the cell in one mass
    cell where their own masses spread over two or three, a misfit that grows
    with the parcel (genuine 1,000-stone assortments with carats failed the
    test at p < 0.001, bench_assortment). Nor is a cell's carats being blank
    (whose sieve the features then read instead) a random draw, as a stone's
    missing mass is: big cells lack it more often. So for every cell the
    mass is not read and the sieve class is (exact; none for grainer and
    carat classes); the zone evidence and the novelty test still read the
    mean mass. Stones (one per row) are read as they are.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        :meth:`FootprintModel.matrix` of ``stones`` (returned as is when no row is a cell).
    stones : DataFrame
        The rows (``sieve_class`` read when present).
    stones_per_row : ndarray of shape (n_rows,)
        Stones each row stands for.
    features : StoneFeatures
        The model's fitted stone features (the first columns of ``X``).
    names : list of str
        Feature names of ``X``.
    mass : str
        Name of the mass feature (``_patterns.MASS_FEATURE``; not imported
        from there: ``_patterns`` reaches the calibration, which imports this module).
    """
    several = np.asarray(stones_per_row) > 1
    if not several.any() or mass not in names:
        return X
    X = X.copy()
    X[several, names.index(mass)] = np.nan
    if "sieve_mm" in names and "sieve_class" in stones.columns:
        rows = stones[several].assign(mass_ct=np.nan)
        X[several, names.index("sieve_mm")] = features.transform(rows)[:, names.index("sieve_mm")]
    return X


def zone_offsets(null: list[np.ndarray], null_zone: list[list[np.ndarray]]) -> np.ndarray:
    """Each zone's offset of its genuine parcels' fit statistic from the pooled null (NaN: no tables).

    The weighted mean over sizes of (the zone's median - the pooled
    median), each size weighing by the zone's parcels there (the small
    sizes, simulated by the hundred, decide it; the offset is about the same
    at every size).
    """
    out = np.full(len(null_zone), np.nan)
    for z, tables in enumerate(null_zone):
        if not len(tables):
            continue
        count = np.array([len(v) for v in tables], dtype=float)
        gap = np.array([np.median(v) - np.median(p) if len(v) else 0.0
                        for v, p in zip(tables, null, strict=True)])
        out[z] = float(np.sum(count * gap) / max(count.sum(), 1.0))
    return out


def zone_null_p_values(statistic: np.ndarray, sizes: np.ndarray, null_sizes: np.ndarray,
                       null: list[np.ndarray], null_zone: list[list[np.ndarray]] | None,
                       target: np.ndarray | None) -> np.ndarray:
    """Upper-tail p-values of fit statistics, each read against its declared zone's genuine parcels.

    With per-zone tables (``null_zone[z][k]``: zone ``z``'s genuine parcels at
    tabulated size ``k``) and a ``target`` zone per parcel, every zone's
    values are moved onto one footing by its offset (:func:`zone_offsets`)
    and pooled; a parcel's statistic, less its zone's offset, is read against
    that pool. The pool keeps the pooled null's shape and size trend, read
    from both zones' parcels, at each zone's own level. Without them: the
    pooled ``null`` as it is.
    """
    if target is None or not null_zone:
        return scaled_null_p_values(statistic, sizes, null_sizes, null)
    offsets = zone_offsets(null, null_zone)
    shifted = [np.concatenate([np.asarray(tables[k]) - offsets[z] for z, tables in enumerate(null_zone)
                               if len(tables)] or [np.asarray(null[k])]) for k in range(len(null))]
    target = np.asarray(target)
    shift = np.where((target >= 0) & (target < len(offsets)),
                     offsets[np.clip(target, 0, len(offsets) - 1)], np.nan)
    shift = np.where(np.isfinite(shift), shift, 0.0)
    return scaled_null_p_values(statistic - shift, sizes, null_sizes, shifted)


def fit_p_values(cells: FitCells | None, parcel: Any, X: np.ndarray, starts: np.ndarray, w: np.ndarray,
                 sizes: np.ndarray, shares: np.ndarray, target: np.ndarray | None = None) -> np.ndarray:
    """Return the parcels' population fit p-values against ``shares`` (NaN when the model has no fit null).

    Parameters
    ----------
    cells : FitCells or None
        The model's cells and tables (None: a model without the test).
    parcel : ParcelCalibration
        Its ``fit_null`` and ``null_sizes``.
    X : ndarray of shape (n_rows, n_features)
        Feature rows sorted by parcel (:func:`cell_sizes_for_fit` for assortment cells).
    starts : ndarray of shape (n_parcels,)
        First row of each parcel.
    w : ndarray of shape (n_rows,)
        Stones each row stands for (a subsample's test weights).
    sizes : ndarray of shape (n_parcels,)
        Size the null is read at.
    shares : ndarray of shape (n_parcels, n_sites)
        The mixture each parcel is tested against.
    target : ndarray of int, shape (n_parcels,), optional
        Declared (or best) zone of each parcel: with the model's per-zone
        tables (``fit_null_zone``) the statistic is read against its zone's
        genuine parcels (the pooled null shifted by the zone's offset,
        :func:`zone_offsets`: the pooled null's shape and size trend, read
        from both zones' parcels, the zone's own level). None or a model
        without them: the pooled null.
    """
    null = parcel.fit_null
    if cells is None or null is None or X.shape[1] != len(cells.kinds):
        return np.full(len(starts), np.nan)
    g = fit_statistic(cells.cells(X), starts, w, shares, cells.n_cells, tables=cells.tables)
    # Its null grows with size and is short at the big sizes: a location-scale family (see _nulls),
    # whose tails at 25-100 stones are read from hundreds of simulated parcels, not from two moments.
    p = zone_null_p_values(np.where(np.isfinite(g), g, 0.0), sizes, parcel.null_sizes, null,
                           getattr(parcel, "fit_null_zone", None), target)
    return np.where(np.isfinite(g), p, np.nan)
