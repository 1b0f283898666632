"""Training: from a reference store (or frames) to a :class:`FootprintModel`.

Steps, in order:

1. ``require_zones``: every reference stone has a zone; at least two zones;
   each zone has at least ``min_stones_per_zone`` stones and
   ``min_lots_per_zone`` lots, the floor (else :class:`InsufficientDataError`
   listing every such zone and naming ``footprint train --min-zone-stones``);
   a zone below ``thin_*`` trains but is thin: a warning, the manifest's
   ``training.thin_zones``, and its sites' evidence widened by a factor
   fitted on held-out lots (see ``StoneClassifier(thin_classes=...)``).
2. ``derive_sites_and_lots``: the class of a stone is its site (``zone/site``;
   a stone without a site gets ``zone/(unspecified)``); the group of a stone
   is its lot (without ``lot_id``: its site, with a warning, because
   cross-validation then holds out whole sites).
3. ``build_features``: :class:`~footprint._features.StoneFeatures` plus one
   :class:`~footprint._features.SpectralEmbedding` per spectrum kind with at
   least ``min_spectra`` spectra.
4. ``fit_stone_classifier``: :class:`StoneClassifier` over sites: per-field
   densities, weighted on held-out lots; opt-in, the joint block of
   ``joint_fields`` (e.g. nitrogen, %B, delta13C: per-site Gaussian
   mixtures, see ``_joint``) and the calibrated HistGradientBoosting partner
   stacked where it lowers the held-out Cllr (``partner``, see
   ``_discriminative``). Both are off by default (``joint_fields`` empty,
   ``partner="none"``): training and classification keep their fast path.
5. ``fit_novelty``: :class:`NoveltyScorer` with lot-held-out calibration.
6. ``fit_parcel_calibration``: the parcel layer (:mod:`._parcel`) on export
   parcels built from held-out lots (out-of-fold stone evidence and novelty
   scores): tempering ``tau0``, ``rho``, the mixed-test and unknown-origin
   nulls at 25 to 10,000 stones, the foreign-fraction interval scale, and
   the null of the population goodness-of-fit test (:mod:`._fit_test`: its
   cells' out-of-fold probabilities come from the stone classifier's folds).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._features import SpectralEmbedding, StoneFeatures, align_spectra, merge_derived_ftir
from .._schema import SCHEMA_VERSION
from .._version import __version__
from ..exceptions import InputError, InsufficientDataError, Problem
from ._drift import lot_drift
from ._fit_patterns import fit_assortment_null, sized_rows
from ._fit_test import FitCells, cell_tables
from ._footprint import FootprintModel
from ._novelty import NoveltyScorer, common_patterns, fit_pattern_parcel_nulls
from ._parcel_calibration import (
    CALIBRATION_SIZES,
    DEFAULT_PER_ZONE,
    fit_parcel_calibration,
)
from ._site import SiteLayout, sample_lot_parcels
from ._stone import StoneClassifier
from ._verdict import load_thresholds

__all__ = ["DEFAULT_CONFIG", "joint_block", "read_site_weights", "site_log_weights", "thin_zones",
           "train_frames"]

logger = logging.getLogger(__name__)

#: Training configuration; ``train(config=...)`` overrides any key.
DEFAULT_CONFIG: dict[str, Any] = {
    # The floor below which training refuses a zone (``footprint train --min-zone-stones N``,
    # ``--min-zone-lots N``); between the floor and ``thin_*`` a zone trains but is marked thin.
    "min_stones_per_zone": 10,
    "min_lots_per_zone": 1,
    "thin_stones_per_zone": 100,
    "thin_lots_per_zone": 5,
    "method": "binned",
    "shrinkage": 50.0,
    "parent_shrinkage": 5.0,
    "numeric": "tilt",
    "gauss_shrinkage": 10.0,
    # Opt-in: continuous fields modelled together, per site (see _joint.JointMixture), e.g.
    # ["n_total_ppm", "n_b_percent", "d13c_permil"]; those the stones have become one joint block
    # whose weight is fitted on held-out lots with the others. Empty (default): no joint block.
    "joint_fields": [],
    "joint_components": "auto",
    # Lot drift of the joint block's component weights (the stones of one lot share that lot's
    # weights; see _joint.drift_correction): "auto" chooses its concentration on held-out single-lot
    # parcels (possibly "no drift"), "none" leaves it out.
    "joint_lot_drift": "auto",
    # Opt-in: calibrated HistGradientBoosting partner stacked with the generative model ("none":
    # off, the default; "auto": kept only where it lowers the held-out Cllr; "hgb": always).
    "partner": "none",
    # Pairs of categorical fields tested for dependence within site on the reference; the dependent
    # ones are modelled with a joint table per site ("none": no test). See _pairs.
    "categorical_pairs": "auto",
    "learning_rate": 0.1,
    "max_iter": 150,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 20,
    "l2_regularization": 1.0,
    # Folds of whole lots for the stone weights and the parcel tempering: more folds train each
    # fold on nearly all lots, so the held-out calibration is not tuned for a thinner model
    # than the final one (3 folds made parcels of 25 markedly under-confident).
    "cv": 10,
    "novelty_shrinkage": 50.0,
    "novelty_n_null": 1000,
    "novelty_cv": 5,
    "spectral_components": 5,
    "spectral_derivative": 1,
    "min_spectra": 20,
    "tempering_sizes": [1, 5, 10, 25, 50],
    "tempering_parcels_per_lot": 2,
    # Parcel layer (see _parcel): share-prior pseudo-stones, and the held-out export-parcel
    # simulation (sizes, genuine parcels per zone and size) the nulls and tempering are fitted on.
    "share_prior_strength": 2.0,
    "parcel_sizes": list(CALIBRATION_SIZES),
    "parcel_per_zone": list(DEFAULT_PER_ZONE),
    "thresholds_path": None,
    "thresholds": None,
    "site_weights": None,
}

_UNSPECIFIED = "(unspecified)"


def _config(config: Mapping[str, Any] | None) -> dict[str, Any]:
    cfg = dict(DEFAULT_CONFIG)
    if config:
        unknown = sorted(set(config) - set(DEFAULT_CONFIG))
        if unknown:
            raise InputError(f"unknown training option(s): {', '.join(unknown)}; "
                             f"known: {', '.join(sorted(DEFAULT_CONFIG))}")
        cfg.update(config)
    if cfg["joint_lot_drift"] not in ("auto", "none"):
        raise InputError("training option joint_lot_drift must be 'auto' or 'none', "
                         f"got {cfg['joint_lot_drift']!r}")
    return cfg


def _text(series: pd.Series) -> pd.Series:
    return series.astype(object).where(series.notna(), None).map(
        lambda v: None if v is None or str(v).strip() == "" else str(v).strip())


def require_zones(stones: pd.DataFrame, cfg: Mapping[str, Any]) -> list[str]:
    """Check the zones have enough stones and lots; return the warnings (one per thin zone).

    A zone between the floor (``min_stones_per_zone``, ``min_lots_per_zone``)
    and ``thin_stones_per_zone`` / ``thin_lots_per_zone`` trains but is thin:
    see :func:`thin_zones`.

    Raises
    ------
    InsufficientDataError
        Fewer than two zones, or a zone below the floor; the message names
        the options that change the floor.
    """
    if "zone" not in stones.columns or stones["zone"].isna().all():
        raise InsufficientDataError(
            "the reference stones have no 'zone' column: nothing to learn origins from")
    counts = stones.groupby("_zone").size()
    lots = stones.groupby("_zone")["_lot"].nunique()
    if len(counts) < 2:
        raise InsufficientDataError(
            f"the reference set has one zone ({counts.index[0]}); at least two zones are needed")
    low = [f"{z}: {counts[z]} stones in {lots[z]} lots" for z in counts.index
           if counts[z] < cfg["min_stones_per_zone"] or lots[z] < cfg["min_lots_per_zone"]]
    if low:
        raise InsufficientDataError(
            f"too little reference data to train (each zone needs at least {cfg['min_stones_per_zone']} "
            f"stones from at least {cfg['min_lots_per_zone']} lot(s)): " + "; ".join(low)
            + ". Add reference lots for these zones, or lower the floor with `footprint train "
              "--min-zone-stones N` (and `--min-zone-lots N`; training options min_stones_per_zone, "
              "min_lots_per_zone): such zones are then trained, marked thin, and their evidence widened")
    warnings = [f"zone {z} is thin: {counts[z]} stones in {lots[z]} lots; its evidence is widened and "
                "its likelihoods are uncertain" for z in thin_zones(stones, cfg)]
    for w in warnings:
        logger.warning(w)
    return warnings


def thin_zones(stones: pd.DataFrame, cfg: Mapping[str, Any]) -> list[str]:
    """Return the zones below ``thin_stones_per_zone`` stones or ``thin_lots_per_zone`` lots.

    ``stones`` has the ``_zone`` and ``_lot`` columns of :func:`derive_sites_and_lots`.
    """
    counts = stones.groupby("_zone").size()
    lots = stones.groupby("_zone")["_lot"].nunique()
    return [str(z) for z in counts.index
            if counts[z] < cfg["thin_stones_per_zone"] or lots[z] < cfg["thin_lots_per_zone"]]


def joint_block(columns: list[str], fields: Any) -> tuple[list[int] | None, list[str] | None]:
    """Columns of the joint continuous block (the configured ``joint_fields`` the stones have) and transforms.

    A percentage (``*_percent``) is modelled on the logit scale; nitrogen
    already comes log-transformed from :class:`~footprint._features.StoneFeatures`.
    Returns ``(None, None)`` when none of the fields is a feature.
    """
    cols = [k for k, c in enumerate(columns) if c in set(fields or ())]
    if not cols:
        return None, None
    return cols, ["logit100" if columns[k].endswith("_percent") else "none" for k in cols]


def derive_sites_and_lots(stones: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Add ``_zone``, ``_site`` (zone/site) and ``_lot`` columns; return (frame, warnings)."""
    frame = stones.copy()
    warnings: list[str] = []
    zone = _text(frame["zone"]) if "zone" in frame else pd.Series([None] * len(frame), index=frame.index)
    keep = zone.notna()
    if (~keep).any():
        warnings.append(f"{int((~keep).sum())} stone(s) without a zone were left out of training")
    frame, zone = frame[keep].copy(), zone[keep]
    site = _text(frame["site"]) if "site" in frame else pd.Series([None] * len(frame), index=frame.index)
    frame["_zone"] = zone
    frame["_site"] = zone + "/" + site.fillna(_UNSPECIFIED)
    lot = _text(frame["lot_id"]) if "lot_id" in frame else pd.Series([None] * len(frame), index=frame.index)
    if lot.isna().any():
        warnings.append(f"{int(lot.isna().sum())} stone(s) have no lot_id: their site stands in for the lot, "
                        "so cross-validation holds out whole sites for them")
    frame["_lot"] = (zone + "|" + lot.fillna("site:" + frame["_site"])).to_numpy()
    for w in warnings:
        logger.warning(w)
    return frame, warnings


def read_site_weights(path: str | Path) -> dict[str, float]:
    """Read a site-weights table (``zone, site, weight``) into ``{"zone/site": weight}``.

    The weight of a site is its share of its zone's production (any positive
    scale; weights are normalised within each zone). Lines starting with
    ``#`` are comments (a SYNTHETIC banner, a source note).

    Raises
    ------
    InputError
        Unreadable file, missing column, duplicate site, or a weight that is
        not a positive number; every problem names the file, row and field.
    """
    path = Path(path)
    try:
        table = pd.read_csv(path, comment="#", dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable site-weights CSV ({exc})") from None
    missing = [c for c in ("zone", "site", "weight") if c not in table.columns]
    if missing:
        raise InputError(f"{path}: not a site-weights table",
                         [Problem(str(path), None, c, None, "required column of a site-weights table")
                          for c in missing])
    problems: list[Problem] = []
    weights: dict[str, float] = {}
    for k, row in enumerate(table.itertuples(index=False), start=1):  # data rows, as Problem counts them
        zone, site, raw = str(row.zone).strip(), str(row.site).strip(), str(row.weight).strip()
        for field, value in (("zone", zone), ("site", site)):
            if not value:
                problems.append(Problem(str(path), k, field, value, "must not be empty"))
        try:
            weight = float(raw)
        except ValueError:
            weight = float("nan")
        if not np.isfinite(weight) or weight <= 0:
            problems.append(Problem(str(path), k, "weight", raw, "must be a positive number"))
        key = f"{zone}/{site}"
        if key in weights:
            problems.append(Problem(str(path), k, "site", key, "duplicate site"))
        weights[key] = weight
    if problems:
        raise InputError(f"{path}: site weights rejected", problems)
    if not weights:
        raise InputError(f"{path}: the site-weights table has no rows")
    return weights


def site_log_weights(sites: list[str], site_zone: np.ndarray, lots_per_site: np.ndarray,
                     given: Mapping[str, float] | None) -> tuple[np.ndarray, list[str]]:
    """Within-zone log weight of each site, the prior of the site mixture.

    A parcel comes from a site in proportion to what the site produces, not to
    how many of its lots the laboratory happened to analyse: ``given`` (site
    -> production share, ``"zone/site"`` keys) sets the weights when known;
    without it the share of reference lots stands in.

    Parameters
    ----------
    sites : list of str
        ``"zone/site"`` labels in class order.
    site_zone : ndarray of int
        Zone index of each site.
    lots_per_site : ndarray
        Reference lots of each site.
    given : mapping, optional
        Site weights (any positive scale).

    Returns
    -------
    log_weight : ndarray
        Log weights, summing to one within each zone.
    warnings : list of str
        Weights given for sites the reference set does not have.

    Raises
    ------
    InputError
        ``given`` misses a reference site, or a weight is not positive.
    """
    warnings: list[str] = []
    if given is None:
        raw = np.asarray(lots_per_site, dtype=float)
    else:
        absent = [s for s in sites if s not in given]
        if absent:
            raise InputError(f"site_weights gives no weight for reference site(s) {', '.join(absent)}: "
                             "give every reference site a weight, or none to use reference lot shares")
        raw = np.array([float(given[s]) for s in sites])
        if not np.all(np.isfinite(raw) & (raw > 0)):
            raise InputError("site_weights must all be positive numbers")
        extra = sorted(set(given) - set(sites))
        if extra:
            warnings.append(f"site_weights for site(s) without reference stones ignored: {', '.join(extra)}")
    per_zone = np.bincount(site_zone, weights=raw)
    return np.log(raw / per_zone[site_zone]), warnings


def _ftir_recipe(derived_ftir: pd.DataFrame | None) -> dict[str, Any] | None:
    """Return the FTIR derivation recipe of the training values (classify re-derives with it)."""
    if derived_ftir is None or "recipe" not in derived_ftir or not len(derived_ftir):
        return None
    import json

    recipes = derived_ftir["recipe"].dropna()
    if not len(recipes):
        return None
    try:
        recipe = json.loads(str(recipes.iloc[0]))
    except json.JSONDecodeError:
        return {"raw": str(recipes.iloc[0])}
    return recipe if isinstance(recipe, dict) else {"raw": recipe}


def _fingerprint(model: FootprintModel, X: np.ndarray) -> str:
    """Hash of the model's behaviour on its training matrix (skops files embed object ids, not stable)."""
    proba = model.classifier.predict_proba(X)
    parts = [np.round(proba, 10).tobytes(), np.round(model.novelty.calibration_scores_, 10).tobytes(),
             np.round(np.concatenate(model.novelty.null_scores_), 10).tobytes(),
             np.round([model.tau0, model.rho, model.parcel.interval_scale, model.parcel.interval_floor],
                      10).tobytes(),
             np.round(np.concatenate(model.parcel.mixed_null + model.parcel.novelty_null), 8).tobytes()]
    # The unknown-origin nulls of stones and parcels described on fewer fields (issue 14).
    novelty = model.novelty
    for null in [*getattr(novelty, "pattern_nulls_", []),
                 *(n for k in getattr(novelty, "parcel_pattern_nulls_", []) for n in k)]:
        parts.append(np.round(np.asarray(null, dtype=float), 5).tobytes())
    if model.parcel.fit_null is not None:  # the population fit test (models before it have none)
        parts.append(np.round(np.concatenate(model.parcel.fit_null), 6).tobytes())
    if model.parcel.tau_table is not None:  # the per-size tempering (models before it have none)
        parts.append(np.round(np.concatenate(model.parcel.tau_table), 8).tobytes())
    if model.assortment_fit is not None:  # the assortment's population fit test (issue 14)
        parts.append(np.round(np.concatenate(model.assortment_fit.null), 6).tobytes())
    joint = getattr(model.classifier, "joint_", None)
    if joint is not None and np.isfinite(getattr(joint, "lot_concentration_", np.inf)):  # lot drift (opt-in)
        parts.append(np.round([joint.lot_concentration_], 8).tobytes())
    return hashlib.sha256(b"".join(parts)).hexdigest()


def train_frames(
    stones: pd.DataFrame,
    derived_ftir: pd.DataFrame | None = None,
    spectra: Mapping[str, tuple[Any, Any, Any]] | None = None,
    *,
    config: Mapping[str, Any] | None = None,
    seed: int = 0,
    custom_fields: tuple[str, ...] = (),
    source: Mapping[str, Any] | None = None,
) -> FootprintModel:
    """Train a footprint model from in-memory frames.

    Parameters
    ----------
    stones : DataFrame
        Reference stones: ``sample_id``, ``zone``, ``site``, ``lot_id`` and any
        schema v1 / custom fields.
    derived_ftir : DataFrame, optional
        FTIR values derived from spectra (``DERIVED_FTIR_COLUMNS``).
    spectra : mapping, optional
        kind -> (sample_ids, grid, values) spectra on a common grid.
    config : mapping, optional
        Overrides of :data:`DEFAULT_CONFIG`.
    seed : int
        Seed of every random choice; the same data and seed give the same model.
    custom_fields : tuple of str
        Registered custom numeric fields to use as features.
    source : mapping, optional
        Provenance written to the manifest (store path, content hash, synthetic flag).

    Returns
    -------
    FootprintModel

    Raises
    ------
    InsufficientDataError
        Too few zones, stones or lots (see :func:`require_zones`).
    """
    cfg = _config(config)
    frame, warnings = derive_sites_and_lots(stones)
    warnings += require_zones(frame, cfg)
    thin = thin_zones(frame, cfg)
    frame = merge_derived_ftir(frame, derived_ftir)

    features = StoneFeatures(custom_fields=tuple(custom_fields)).fit(frame)
    blocks = [features.transform(frame)]
    embeddings: dict[str, SpectralEmbedding] = {}
    for kind, (ids, _grid, values) in sorted((spectra or {}).items()):
        aligned = align_spectra(frame["sample_id"].astype(str).tolist(), ids, values)
        n_have = int(np.isfinite(aligned).any(axis=1).sum()) if aligned.size else 0
        if n_have < cfg["min_spectra"]:
            warnings.append(f"{kind}: only {n_have} reference spectra, no spectral embedding learned")
            continue
        emb = SpectralEmbedding(n_components=cfg["spectral_components"],
                                derivative=cfg["spectral_derivative"], random_state=seed).fit(aligned)
        embeddings[kind] = emb
        blocks.append(emb.transform(aligned))
    X = np.hstack(blocks)
    if X.shape[1] == 0:
        raise InsufficientDataError("the reference stones have no measured feature to learn from")
    mask = np.concatenate([features.categorical_mask_, np.zeros(X.shape[1] - len(features.columns_), bool)])

    zones = sorted(frame["_zone"].unique())
    sites_labels = sorted(frame["_site"].unique(), key=lambda s: (zones.index(s.split("/", 1)[0]), s))
    site_index = {s: k for k, s in enumerate(sites_labels)}
    y = frame["_site"].map(site_index).to_numpy()
    lots = frame["_lot"].to_numpy()
    site_zone = np.array([zones.index(s.split("/", 1)[0]) for s in sites_labels])

    joint_cols, joint_transforms = joint_block(features.columns_, cfg["joint_fields"])
    # Cells of the population goodness-of-fit test (binned stone model only; see _fit_test).
    fit_cells = FitCells.from_reference(X, mask) if cfg["method"] == "binned" else None
    classifier = StoneClassifier(
        method=cfg["method"], shrinkage=cfg["shrinkage"], parent_shrinkage=cfg["parent_shrinkage"],
        numeric=cfg["numeric"], gauss_shrinkage=cfg["gauss_shrinkage"],
        learning_rate=cfg["learning_rate"], max_iter=cfg["max_iter"], max_leaf_nodes=cfg["max_leaf_nodes"],
        min_samples_leaf=cfg["min_samples_leaf"], l2_regularization=cfg["l2_regularization"],
        categorical_features=mask if mask.any() else None, cv=cfg["cv"], random_state=seed,
        joint_features=joint_cols, joint_transforms=joint_transforms,
        joint_components=cfg["joint_components"], partner=cfg["partner"],
        categorical_pairs=cfg["categorical_pairs"], feature_names=list(features.columns_) + [
            f"{kind}_pc{k + 1}" for kind, emb in sorted(embeddings.items())
            for k in range(emb.pca_.n_components_)],
    ).fit(X, y, groups=lots, parents=frame["_zone"].to_numpy(),
          thin_classes=[site_index[s] for s in sites_labels if s.split("/", 1)[0] in thin],
          fit_cells=fit_cells)

    n_sites = len(sites_labels)
    stone_share = np.bincount(y, minlength=n_sites) / len(y)
    lot_site = frame.drop_duplicates("_lot")["_site"].map(site_index).to_numpy()
    lots_per_site = np.bincount(lot_site, minlength=n_sites).astype(float)
    log_weight, weight_warnings = site_log_weights(sites_labels, site_zone, lots_per_site,
                                                   cfg["site_weights"])
    for w in weight_warnings:
        logger.warning(w)
    warnings += weight_warnings
    layout = SiteLayout(zones, site_zone, np.log(stone_share), log_weight)

    valid = np.isfinite(classifier.oof_proba_).all(axis=1)
    rng = np.random.default_rng(seed)
    parcels = sample_lot_parcels(lots[valid], tuple(cfg["tempering_sizes"]), cfg["tempering_parcels_per_lot"],
                                 rng)
    oof_ll = layout.stone_site_loglik(np.log(np.clip(classifier.oof_proba_[valid], 1e-12, None)))
    drift = lot_drift(classifier, cfg["joint_lot_drift"], valid, oof_ll, parcels, site_zone[y[valid]],
                      site_zone, log_weight, len(zones), float(cfg["share_prior_strength"]))

    # The parcel unknown-origin statistic weighs features as the classifier learned to (see _newsite).
    weights = classifier.alpha_ if cfg["method"] == "binned" else None
    novelty = NoveltyScorer(categorical_features=mask, shrinkage=cfg["novelty_shrinkage"],
                            cv=cfg["novelty_cv"], n_null=cfg["novelty_n_null"], numeric=cfg["numeric"],
                            feature_weights=weights, random_state=seed)
    # Reference parcels for the null come from the sites as the model's prior says (equal zones,
    # the site weights within each): that is what "a parcel from a reference site" means here.
    site_prior = np.exp(layout.log_weight) / len(zones)
    # Nulls for stones measured on fewer fields (assortment cells, stones without spectra): issue 14.
    names = [str(n) for n in features.get_feature_names_out()] + [""] * (X.shape[1] - len(features.columns_))
    novelty.fit(X, y, groups=lots, parents=frame["_zone"].to_numpy(), site_weights=site_prior,
                patterns=common_patterns(names))
    # The parcel layer: export parcels of held-out lots (out-of-fold stone evidence and novelty scores).
    if len(cfg["parcel_sizes"]) != len(cfg["parcel_per_zone"]):
        raise InputError("parcel_sizes and parcel_per_zone must have the same length")
    thresholds = load_thresholds(cfg["thresholds_path"], cfg["thresholds"])
    # Out-of-fold cell probabilities for the fit test's null, used here only (not kept in the model).
    oof_cells = classifier.__dict__.pop("oof_cells_", None)
    fit_pieces = None
    if fit_cells is not None and oof_cells is not None:
        codes = fit_cells.cells(X)
        fit_cells = fit_cells.with_tables(cell_tables(codes, y, n_sites, fit_cells.n_cells, site_zone,
                                                      cfg["shrinkage"], cfg["parent_shrinkage"]))
        fit_pieces = (codes[valid], oof_cells[valid], fit_cells.n_cells)
    calibration = fit_parcel_calibration(
        oof_ll, novelty.oof_standardised_[valid], lots[valid], y[valid], site_zone, log_weight, len(zones),
        rng,
        prior_strength=float(cfg["share_prior_strength"]), level=float(thresholds["mixed_interval_level"]),
        sizes=tuple(int(v) for v in cfg["parcel_sizes"]),
        per_zone=tuple(int(v) for v in cfg["parcel_per_zone"]),
        extra_parcels=parcels, fold=getattr(classifier, "oof_fold_", np.full(len(y), -1))[valid],
        fit_pieces=fit_pieces, drift=drift)
    tau0, rho = calibration.tau0, calibration.rho
    # Unknown-origin nulls of parcels described by their assortment only (issue 14).
    fit_pattern_parcel_nulls(novelty, valid, lots[valid], y[valid], site_zone, log_weight,
                             calibration.null_sizes, calibration.report["per_zone"], seed)
    # The population fit test of parcels described by their assortment: its null on those fields (issue 14).
    assortment_fit = None
    if fit_pieces is not None and fit_cells is not None:
        assortment_fit = fit_assortment_null(
            fit_cells, sized_rows(X, frame, features, names, sieve_of_mass=True, dtc=True), names, y,
            getattr(classifier, "oof_fold_", np.full(len(y), -1)), valid, lots[valid], site_zone,
            log_weight, len(zones), calibration.null_sizes, calibration.report["per_zone"],
            prior_strength=float(cfg["share_prior_strength"]), shrinkage=cfg["shrinkage"],
            parent_shrinkage=cfg["parent_shrinkage"], seed=seed)
    logger.info("parcel layer: tau0=%.3f rho=%.5f interval scale %.2f (held-out export parcels of %s stones "
                "and single-lot parcels of %s)", tau0, rho, calibration.interval_scale,
                ", ".join(map(str, calibration.null_sizes)),
                ", ".join(map(str, sorted({len(p) for p in parcels}))))
    parts = {
        "features": features, "embeddings": embeddings, "classifier": classifier, "novelty": novelty,
        "zones": zones, "sites": [s.split("/", 1) for s in sites_labels], "site_zone": site_zone,
        "log_prior": layout.log_prior, "log_weight": layout.log_weight, "tau0": tau0, "rho": rho,
        "parcel": calibration.to_parts(),
        **({"fit_cells": fit_cells.to_parts()} if fit_pieces is not None and fit_cells is not None else {}),
        **({"assortment_fit": assortment_fit.to_parts()} if assortment_fit is not None else {}),
    }
    model = FootprintModel(parts, thresholds)
    summary = {
        zone: {"stones": int((frame["_zone"] == zone).sum()), "lots": int(frame.loc[frame["_zone"] == zone,
                                                                                    "_lot"].nunique()),
               "sites": sorted({s.split("/", 1)[1] for s in sites_labels if s.startswith(zone + "/")})}
        for zone in zones
    }
    cfg_out = {k: v for k, v in cfg.items() if k not in ("thresholds",)}
    model.manifest = {
        "seed": int(seed), "config": cfg_out, "footprint_version": __version__,
        "schema_version": SCHEMA_VERSION, "zones": zones, "sites": [list(s) for s in model.sites],
        "classes": sites_labels, "features": model.feature_names,
        "categorical_features": [n for n, m in zip(model.feature_names, mask, strict=True) if m],
        "spectral_kinds": sorted(embeddings), "custom_fields": list(custom_fields),
        "thresholds": thresholds,
        "training": {"n_stones": int(len(frame)), "zones": summary, "warnings": warnings,
                     "n_iter": int(classifier.n_iter_), "temperature": classifier.temperature_,
                     "tau0": tau0, "rho": rho, "parcel": calibration.report,
                     "thin_zones": _thin_summary(classifier, thin, summary, sites_labels, site_index),
                     "stone_model": _stone_summary(classifier)},
        "source": dict(source or {}), "synthetic": bool((source or {}).get("synthetic", False)),
        "fingerprint": "",
        "ftir_recipe": _ftir_recipe(derived_ftir),
    }
    model.manifest["fingerprint"] = _fingerprint(model, X)
    return model


def _thin_summary(classifier: StoneClassifier, thin: list[str], summary: Mapping[str, Any],
                  sites_labels: list[str], site_index: Mapping[str, int]) -> dict[str, Any]:
    """Per thin zone: stones, lots, the widening of its sites' evidence and whether it was measured."""
    widen = getattr(classifier, "widen_", np.ones(len(sites_labels)))
    out = {}
    for zone in thin:
        factors = [float(widen[site_index[s]]) for s in sites_labels if s.split("/", 1)[0] == zone]
        out[zone] = {"stones": summary[zone]["stones"], "lots": summary[zone]["lots"],
                     "widening": max(factors) if factors else 1.0,
                     "widening_measured": bool(getattr(classifier, "widen_measured_", True))}
    return out


def _stone_summary(classifier: StoneClassifier) -> dict[str, Any]:
    """Summarise the stone model: joint block (components, weight), partner (kept, weights, Cllr)."""
    joint = getattr(classifier, "joint_", None)
    out: dict[str, Any] = {"method": classifier.method,
                           "joint_alpha": float(getattr(classifier, "joint_alpha_", 0.0))}
    if joint is not None:
        out["joint_components"] = int(joint.n_components_)
        out["joint_background"] = float(joint.background_)
        c = float(getattr(joint, "lot_concentration_", np.inf))
        out["joint_lot_concentration"] = c if np.isfinite(c) else None
    from ._pairs import LEVEL

    report = getattr(classifier, "pair_report_", [])
    alpha = getattr(classifier, "pair_alpha_", np.zeros(0))
    out["categorical_pairs"] = {
        "tested": len(report),
        "dependent": [{"fields": r["fields"], "g": r["g"], "df": r["df"], "p_holm": r["p_holm"],
                       "heldout_gain": r["heldout_gain"],
                       "weight": float(alpha[k]) if k < len(alpha) else 0.0}
                      for k, r in enumerate(x for x in report if x["dependent"])],
        "level": LEVEL,
        "flagged_not_confirmed": [r["fields"] for r in report if r["p_holm"] < LEVEL and not r["dependent"]],
    }
    out["partner"] = getattr(classifier, "partner_", None) is not None
    out["stack"] = [float(v) for v in getattr(classifier, "stack_", [1.0, 0.0])]
    if hasattr(classifier, "partner_cllr_"):
        out["partner_cllr"] = {k: float(v) for k, v in classifier.partner_cllr_.items()}
    return out

