"""Reference frames and spectra -> model matrices: the one place that knows columns.

Choices, and why:

* **Numbers** enter as measured, except mass (``log10``) and the
  nitrogen/peak-area values (``log1p``): their spread is multiplicative, and
  a log scale makes the baselines (logistic regression) and the binned
  densities behave; the gradient-boosted trees do not care.
* **Ordinals** (resorption, abrasion 0..3) are numbers; **booleans** are 0/1.
* **Categories** become integer codes in the schema's vocabulary order, with
  NaN for "not described"; the code is stable across stores, so a model
  trained on one store reads another. HistGradientBoosting splits them
  natively (see :attr:`StoneFeatures.categorical_mask_`).
* **Sieve classes** are put on one axis, the aperture in mm
  (:func:`footprint._schema.sieve_to_mm`), whatever the lab's sieve system,
  and enter only for stones without a mass: the sieve a stone is retained on
  is a coarser measure of the same size, so beside the mass it carries no
  further origin evidence, and counting both would count the size twice (the
  per-feature weights then split the size evidence between the two and
  under-use the sieve of the stones that have only a sieve).
* **FTIR values**: the value the lab reported wins; the value derived from
  the raw spectrum (:data:`footprint._batch.DERIVED_FTIR_COLUMNS`) fills the
  gaps. The lab's figure went through the lab's own quality control, the
  derived figure is available for every stored spectrum. ``prefer="derived"``
  reverses this.
* ``cleaning_state`` and the identity fields are **not** features: cleaning is
  a property of the handling, not of the origin, and using it would learn the
  habits of whoever supplied the reference lots.
* **Missing values stay NaN**; nothing is imputed.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from ._schema import FIELDS, normalise_sieve, sieve_to_mm
from .exceptions import SchemaError

__all__ = [
    "CATEGORICAL_FIELDS",
    "FTIR_VALUE_COLUMNS",
    "NUMERIC_FIELDS",
    "SpectralEmbedding",
    "StoneFeatures",
    "align_spectra",
    "merge_derived_ftir",
    "reference_stones",
]

#: Numeric table fields and the transform applied (``None``, ``"log10"``, ``"log1p"``).
NUMERIC_FIELDS: dict[str, str | None] = {
    "mass_ct": "log10",
    "n_total_ppm": "log1p",
    "n_a_ppm": "log1p",
    "n_b_ppm": "log1p",
    "n_c_ppm": "log1p",
    "n_b_percent": None,
    "platelet_area_cm2": "log1p",
    "platelet_position_cm1": None,
    "platelet_width_cm1": None,
    "h3107_area_cm2": "log1p",
    "d13c_permil": None,
    "resorption": None,
    "abrasion": None,
}

#: Categorical features and their vocabulary (codes are positions in it).
CATEGORICAL_FIELDS: dict[str, tuple[str, ...]] = {
    f.name: f.vocabulary
    for f in FIELDS
    if f.kind == "category" and f.name != "cleaning_state"
}

#: Values a derived-FTIR table can supply when the lab's table lacks them.
FTIR_VALUE_COLUMNS: tuple[str, ...] = (
    "n_c_ppm", "n_a_ppm", "n_b_ppm", "n_total_ppm", "n_b_percent", "diamond_type",
    "platelet_position_cm1", "platelet_area_cm2", "platelet_width_cm1", "h3107_area_cm2",
)

_FEATURE_NAME = {"mass_ct": "log10_mass_ct"}


def _feature_name(column: str) -> str:
    transform = NUMERIC_FIELDS.get(column)
    if column in _FEATURE_NAME:
        return _FEATURE_NAME[column]
    return f"log1p_{column}" if transform == "log1p" else column


def reference_stones(store: Any) -> pd.DataFrame:
    """Return a store's stone table with FTIR values derived from its spectra filling gaps.

    Profiles, reports and models must see the same nitrogen data: labs often
    send spectra rather than numbers, so the table alone would show no FTIR.

    Parameters
    ----------
    store : ReferenceStore
        An open store.

    Returns
    -------
    DataFrame
        :meth:`ReferenceStore.stones` with the FTIR columns filled (lab values win).
    """
    return merge_derived_ftir(store.stones(), store.derived_ftir())


def merge_derived_ftir(
    stones: pd.DataFrame, derived_ftir: pd.DataFrame | None, *, prefer: str = "lab"
) -> pd.DataFrame:
    """Fill FTIR values of ``stones`` from the derived-FTIR table.

    Parameters
    ----------
    stones : DataFrame
        Stone table with ``sample_id``; left unchanged.
    derived_ftir : DataFrame or None
        Rows with :data:`~footprint._batch.DERIVED_FTIR_COLUMNS`; several rows
        for one stone are averaged (the type is the most frequent one).
    prefer : {"lab", "derived"}
        Which source wins when both have a value.

    Returns
    -------
    DataFrame
        A copy of ``stones`` with the FTIR columns filled.
    """
    out = stones.copy()
    if derived_ftir is None or len(derived_ftir) == 0:
        return out
    present = [c for c in FTIR_VALUE_COLUMNS if c in derived_ftir.columns]
    numeric = [c for c in present if c != "diamond_type"]
    frame = derived_ftir[["sample_id", *present]]
    per_stone = frame.groupby("sample_id", sort=False)[numeric].mean()
    if "diamond_type" in present:
        types = frame.dropna(subset=["diamond_type"]).groupby("sample_id", sort=False)["diamond_type"]
        per_stone["diamond_type"] = types.agg(lambda s: s.mode().iloc[0])
    aligned = per_stone.reindex(out["sample_id"].astype(str).to_numpy())
    for column in present:
        derived = pd.Series(aligned[column].to_numpy(), index=out.index)
        if column not in out.columns:
            out[column] = derived
        elif prefer == "derived":
            out[column] = derived.where(derived.notna(), out[column])
        else:
            out[column] = out[column].where(out[column].notna(), derived)
    return out


def _numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    transform = NUMERIC_FIELDS.get(column)
    with np.errstate(divide="ignore", invalid="ignore"):
        if transform == "log10":
            values = np.log10(np.where(values > 0, values, np.nan))
        elif transform == "log1p":
            values = np.log1p(np.where(values >= 0, values, np.nan))
    return values


def _one_sieve_mm(value: Any) -> float:
    try:
        return sieve_to_mm(normalise_sieve(value))
    except (SchemaError, ValueError):
        # Validation belongs to ingest; here an unreadable sieve is "not measured".
        return float("nan")


def _sieve_mm(series: pd.Series) -> np.ndarray:
    # Few distinct sieve classes: convert each once, then map (fast on large parcels).
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    table = np.array([_one_sieve_mm(u) for u in uniques] + [np.nan], dtype=float)
    return table[np.where(codes < 0, len(uniques), codes)]


def _categorical(series: pd.Series, vocabulary: Sequence[str]) -> np.ndarray:
    # Factorise once and translate the few distinct values: twice as fast as
    # pd.Categorical(series, categories=...) on a million stones, same codes.
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    position = {word: float(i) for i, word in enumerate(vocabulary)}
    table = np.array([position.get(value, np.nan) for value in uniques] + [np.nan])
    return table[codes]  # the sentinel -1 picks the trailing NaN


def _boolean(series: pd.Series) -> np.ndarray:
    if isinstance(series.dtype, pd.BooleanDtype):  # what ingest produces: a cheap cast
        return series.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    # True == 1 and False == 0 as dict keys, so the numbers are covered too.
    mapped = series.map({True: 1.0, False: 0.0, "true": 1.0, "false": 0.0})
    return pd.to_numeric(mapped, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


class StoneFeatures(TransformerMixin, BaseEstimator):
    """Turn a stone table into a float feature matrix (NaN = not measured).

    Parameters
    ----------
    custom_fields : sequence of str
        Registered custom numeric fields to use as they are.
    min_observed : int
        A feature is kept only when at least this many training stones have
        it; a column nobody measured carries no information.

    Attributes
    ----------
    columns_ : list of str
        Source column of each output feature.
    feature_names_out_ : ndarray of str
        Output feature names.
    categorical_mask_ : ndarray of bool
        Which outputs are category codes.
    vocabularies_ : dict
        Vocabulary of each categorical output.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "custom_fields": ["array-like"],
        "min_observed": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(self, custom_fields: Sequence[str] = (), min_observed: int = 5) -> None:
        self.custom_fields = custom_fields
        self.min_observed = min_observed

    def _candidates(self, frame: pd.DataFrame) -> list[str]:
        wanted = [*NUMERIC_FIELDS, "sieve_class", "coating", *CATEGORICAL_FIELDS, *self.custom_fields]
        seen: list[str] = []
        for column in wanted:
            if column in frame.columns and column not in seen:
                seen.append(column)
        return seen

    def _column(self, frame: pd.DataFrame, column: str) -> np.ndarray:
        if column not in frame.columns:
            return np.full(len(frame), np.nan)
        if column == "sieve_class":
            return _sieve_mm(frame[column])
        if column == "coating":
            return _boolean(frame[column])
        if column in CATEGORICAL_FIELDS:
            return _categorical(frame[column], CATEGORICAL_FIELDS[column])
        return _numeric(frame, column)

    def _observed(self, frame: pd.DataFrame, column: str, mass: np.ndarray) -> int:
        """Stones with ``column`` as a feature (a sieve class counts only without a mass)."""
        values = np.isfinite(self._column(frame, column))
        if column == "sieve_class":
            values &= ~np.isfinite(mass)
        return int(values.sum())

    def fit(self, X: pd.DataFrame, y: Any = None) -> StoneFeatures:
        """Choose the features the training table actually measures.

        Parameters
        ----------
        X : DataFrame
            Stone table (schema v1 columns, derived FTIR merged in).
        y : ignored
        """
        self._validate_params()
        if not isinstance(X, pd.DataFrame):
            raise TypeError("StoneFeatures expects a pandas DataFrame of stones")
        mass = self._column(X, "mass_ct")
        mass_kept = np.isfinite(mass).sum() >= self.min_observed
        if not mass_kept:
            mass = np.full(len(X), np.nan)
        columns = [c for c in self._candidates(X) if self._observed(X, c, mass) >= self.min_observed]
        self.columns_ = columns
        names = []
        for column in columns:
            if column == "sieve_class":
                names.append("sieve_mm")
            elif column == "coating" or column in CATEGORICAL_FIELDS or column in self.custom_fields:
                names.append(column)
            else:
                names.append(_feature_name(column))
        self.feature_names_out_ = np.asarray(names, dtype=object)
        self.categorical_mask_ = np.array([c in CATEGORICAL_FIELDS for c in columns], dtype=bool)
        self.vocabularies_ = {c: list(CATEGORICAL_FIELDS[c]) for c in columns if c in CATEGORICAL_FIELDS}
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """Return the feature matrix, shape (n_stones, n_features), float64."""
        check_is_fitted(self, "columns_")
        out = np.empty((len(X), len(self.columns_)), dtype=float)
        for j, column in enumerate(self.columns_):
            out[:, j] = self._column(X, column)
        if "sieve_class" in self.columns_ and "mass_ct" in self.columns_:
            # The sieve only where there is no mass (see the module notes).
            weighed = np.isfinite(out[:, self.columns_.index("mass_ct")])
            out[weighed, self.columns_.index("sieve_class")] = np.nan
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Return the output feature names."""
        check_is_fitted(self, "columns_")
        return self.feature_names_out_.copy()


def align_spectra(
    sample_ids: Sequence[str], spectra_ids: Sequence[str], values: np.ndarray
) -> np.ndarray:
    """Rows of ``values`` in the order of ``sample_ids`` (NaN rows where a stone has none).

    Parameters
    ----------
    sample_ids : sequence of str
        Stones, in feature-matrix order.
    spectra_ids : sequence of str
        Stone of each row of ``values`` (the first row of a stone wins).
    values : ndarray of shape (n_spectra, n_grid)
        Spectra resampled to one common grid.
    """
    values = np.asarray(values, dtype=float)
    index = pd.Index([str(s) for s in spectra_ids])
    first = ~index.duplicated()
    lookup = pd.Index(index[first])
    rows = lookup.get_indexer([str(s) for s in sample_ids])
    kept = values[first] if len(values) else values.reshape(0, values.shape[-1] if values.ndim == 2 else 0)
    out = np.full((len(rows), kept.shape[1] if kept.ndim == 2 else 0), np.nan)
    hit = rows >= 0
    out[hit] = kept[rows[hit]]
    return out


class SpectralEmbedding(TransformerMixin, BaseEstimator):
    """Standard normal variate, optional derivative, then PCA of spectra.

    Rows that are all NaN (stones without a spectrum of this kind) stay NaN in
    the output, so the classifier sees "not measured".

    Parameters
    ----------
    n_components : int
        Number of principal components kept (fewer when there are fewer spectra).
    derivative : {0, 1, 2}
        Order of the finite-difference derivative taken after SNV; the first
        derivative removes a constant baseline offset.
    random_state : int or None
        Seed of the randomized PCA solver.

    Attributes
    ----------
    pca_ : PCA
        The fitted projection.
    n_features_in_ : int
        Length of the spectral grid.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "derivative": [Interval(Integral, 0, 2, closed="both")],
        "random_state": ["random_state"],
    }

    def __init__(self, n_components: int = 5, derivative: int = 1, random_state: int | None = None) -> None:
        self.n_components = n_components
        self.derivative = derivative
        self.random_state = random_state

    def __sklearn_tags__(self) -> Any:
        """Declare that NaN rows (no spectrum) are accepted."""
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _preprocess(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        X = np.where(np.isfinite(X), X, np.nan)
        mean = np.nanmean(X, axis=1, keepdims=True)
        sd = np.nanstd(X, axis=1, keepdims=True)
        sd[~(sd > 0)] = 1.0
        Z = np.nan_to_num((X - mean) / sd)
        for _ in range(int(self.derivative)):
            Z = np.diff(Z, axis=1)
        return Z

    def fit(self, X: np.ndarray, y: Any = None) -> SpectralEmbedding:
        """Fit the projection on the rows that hold a spectrum.

        Parameters
        ----------
        X : ndarray of shape (n_stones, n_grid)
            Spectra on a common grid; NaN rows mean "no spectrum".
        y : ignored
        """
        self._validate_params()
        # NaN and inf both mean "no value here" (see _preprocess); sets n_features_in_.
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite=False)
        has = np.isfinite(X).any(axis=1)
        if has.sum() < 2:
            raise ValueError(
                f"SpectralEmbedding needs at least two spectra to fit (n_samples = {int(has.sum())})")
        if X.shape[1] <= int(self.derivative):
            raise ValueError(f"SpectralEmbedding needs more grid points than the derivative order "
                             f"{self.derivative} (n_features = {X.shape[1]})")
        Z = self._preprocess(X[has])
        k = int(min(self.n_components, Z.shape[0] - 1, Z.shape[1]))
        self.pca_ = PCA(n_components=k, random_state=self.random_state).fit(Z)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Return the embedding, shape (n_stones, n_components)."""
        check_is_fitted(self, "pca_")
        X = validate_data(self, X, reset=False, dtype=np.float64, ensure_all_finite=False,
                          ensure_min_samples=0)
        out = np.full((X.shape[0], self.pca_.n_components_), np.nan)
        has = np.isfinite(X).any(axis=1)
        if has.any():
            out[has] = self.pca_.transform(self._preprocess(X[has]))
        return out
