"""Evaluation on held-out lots: every figure from lots the model did not see.

The lots of the store are split into folds (whole lots, never single stones);
for each fold a model is trained on the other lots with the same options and
seed, and applied to the held-out lots:

- stones: accuracy, balanced accuracy, log loss (nats), top-label ECE (15
  bins) with the reference set's zone shares as priors (what the
  calibration targets), and Cllr (bits) from the likelihood ratios;
- parcels of 1, 5, 10, 25, 50 stones drawn from single held-out lots (from
  the lot's site when the lot is smaller): accuracy and Cllr with equal zone
  priors, and a verdict table (half the parcels declared with their true
  zone, half with another zone);
- mixture: parcels of 50 from a site of the declared zone topped up with a
  known share of another zone's held-out stones: mean absolute error of the
  foreign fraction and the coverage of its interval;
- unknown origin: parcel AUROC, each reference zone held out in turn (the
  novelty scorer retrained without it) and, on a SYNTHETIC store, the
  out-of-reference generator sources (DRC-Kasai, CMR);
- conformal: share of held-out reference stones whose novelty p-value is
  above alpha, against the nominal 1 - alpha, and the parcel-level false
  alarm rate.

Cllr with more than two zones is the class-balanced mean of ``-log2`` of the
equal-prior posterior of the true zone (it equals the usual Cllr for two).
On a SYNTHETIC store built with the bundled generator parameters, the exact
generator density (:class:`footprint.synth.ExactDensity`) is applied to the
very same stones and parcels and reported as ``bayes`` beside each figure.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import log_softmax

from ._data import read_store
from ._novelty import NoveltyScorer
from ._stone import grouped_splits
from ._train import derive_sites_and_lots, train_frames

__all__ = ["cllr", "ece", "evaluate", "evaluate_frames"]

logger = logging.getLogger(__name__)

PARCEL_SIZES = (1, 5, 10, 25, 50)
_MIX_FRACTIONS = (0.0, 0.1, 0.2, 0.3, 0.5)


def ece(proba: np.ndarray, truth: np.ndarray, n_bins: int = 15) -> float:
    """Top-label expected calibration error with equal-width confidence bins."""
    return _ece_from(proba.max(axis=1), proba.argmax(axis=1) == truth, n_bins)


def cllr(log_lik: np.ndarray, truth: np.ndarray) -> float:
    """Class-balanced mean of ``-log2`` equal-prior posterior of the true class (bits)."""
    log_post = log_softmax(np.where(np.isfinite(log_lik), log_lik, -1e300), axis=1)
    loss = -np.maximum(log_post[np.arange(len(truth)), truth], -700.0) / np.log(2.0)
    return float(np.mean([loss[truth == k].mean() for k in np.unique(truth)]))


def _scores(log_lik: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    log_post = log_softmax(log_lik, axis=1)
    return {"accuracy": float((log_post.argmax(axis=1) == truth).mean()),
            "log_loss": float(-np.maximum(log_post[np.arange(len(truth)), truth], -50).mean()),
            "cllr": cllr(log_lik, truth)}


def _auroc(novel: np.ndarray, reference: np.ndarray) -> float:
    """P(score of a novel item > score of a reference item), ties counting one half."""
    if len(novel) == 0 or len(reference) == 0:
        return float("nan")
    scores = np.concatenate([novel, reference])
    ranks = pd.Series(scores).rank().to_numpy()
    u = ranks[: len(novel)].sum() - len(novel) * (len(novel) + 1) / 2
    return float(u / (len(novel) * len(reference)))


def _exact_density(data: Mapping[str, Any], frame: pd.DataFrame, zones: list[str]) -> Any:
    """Return the bundled generator's exact density when the store is synthetic and matches it."""
    if not data.get("source", {}).get("synthetic"):
        return None
    try:
        from ..synth import ExactDensity, load_params
    except ImportError:
        return None
    params = load_params()
    known = {(s.zone, s.site) for s in params.sites}
    stored = set(zip(frame["_zone"], frame["site"].astype(str), strict=True)) if "site" in frame else set()
    if not stored or not stored <= known:
        logger.info("synthetic store does not match the bundled generator: no Bayes ceiling")
        return None
    return ExactDensity(params, zones=zones)


def _draw(idx_by_lot: list[np.ndarray], idx_by_site: dict[Any, np.ndarray], site_of_lot: list[Any],
          size: int, per_lot: int, rng: np.random.Generator) -> list[np.ndarray]:
    out = []
    for lot_idx, site in zip(idx_by_lot, site_of_lot, strict=True):
        pool = lot_idx if len(lot_idx) >= size else idx_by_site[site]
        if len(pool) < size:
            continue
        for _ in range(per_lot):
            out.append(rng.choice(pool, size, replace=False))
    return out


def evaluate_frames(
    data: Mapping[str, Any],
    *,
    config: Mapping[str, Any] | None = None,
    seed: int = 0,
    n_folds: int = 3,
    parcel_sizes: tuple[int, ...] = PARCEL_SIZES,
    parcels_per_lot: int = 4,
    summary_only: bool = False,
) -> dict[str, Any]:
    """Evaluate the training recipe on held-out lots of ``data`` (see module docs).

    Parameters
    ----------
    data : mapping
        ``stones``, ``derived_ftir``, ``spectra``, ``custom_fields``, ``source``
        (as returned by :func:`footprint.model._data.read_store`).
    config : mapping, optional
        Training options (as for :func:`~footprint.model.train`).
    seed : int
        Seed of training, folds and parcel draws.
    n_folds : int
        Folds of whole lots.
    parcel_sizes : tuple of int
        Parcel sizes evaluated.
    parcels_per_lot : int
        Parcels drawn per held-out lot and size.
    summary_only : bool
        Return only the headline figures (for a model manifest).
    """
    stones = data["stones"]
    frame, _ = derive_sites_and_lots(stones)
    frame = frame.reset_index(drop=True)
    zones = sorted(frame["_zone"].unique())
    zone_idx = frame["_zone"].map({z: k for k, z in enumerate(zones)}).to_numpy()
    lots = frame["_lot"].to_numpy()
    folds = grouped_splits(zone_idx, lots, n_folds, seed)
    if not folds:
        from ..exceptions import InsufficientDataError

        raise InsufficientDataError(f"too few lots for {n_folds}-fold evaluation")
    exact = _exact_density(data, frame, zones)
    rng = np.random.default_rng(seed)
    stone_rows: list[pd.DataFrame] = []
    parcel_rows: list[pd.DataFrame] = []
    mix_rows: list[pd.DataFrame] = []
    novelty_rows: list[dict[str, Any]] = []
    thresholds: dict[str, Any] = {}
    for fold, (train, test) in enumerate(folds):
        model = train_frames(frame.iloc[train].drop(columns=["_zone", "_site", "_lot"]),
                             data.get("derived_ftir"), data.get("spectra"), config=config, seed=seed,
                             custom_fields=tuple(data.get("custom_fields", ())))
        thresholds = model.thresholds
        model_zone = np.array([model.zones.index(z) for z in zones])  # same sorted order
        held = frame.iloc[test].reset_index(drop=True)
        X = model.matrix(held, derived_ftir=data.get("derived_ftir"), spectra=data.get("spectra"))
        truth = zone_idx[test]
        site_ll = model.layout.stone_site_loglik(model.classifier.predict_log_proba(X))
        zone_ll = model.layout.zone_logsumexp(site_ll)[:, model_zone]
        proba = model.stone_zone_proba(X, priors="reference")[:, model_zone]
        sums = model.novelty.site_sums(X)
        row = pd.DataFrame({"fold": fold, "truth": truth, "p_true": proba[np.arange(len(truth)), truth],
                            "pred": proba.argmax(axis=1), "conf": proba.max(axis=1),
                            "novelty_p": model.novelty.p_values(-sums.max(axis=1))})
        for z in range(len(zones)):
            row[f"ll_{z}"] = zone_ll[:, z]
        if exact is not None:
            bayes_ll = exact.log_p_stone_zone(held)
            row[[f"bayes_{z}" for z in range(len(zones))]] = bayes_ll
        stone_rows.append(row)

        # Parcels from single held-out lots.
        lot_codes = pd.factorize(held["_lot"])[0]
        idx_by_lot = [np.flatnonzero(lot_codes == k) for k in range(lot_codes.max() + 1)]
        site_of_lot = [held["_site"].iloc[i[0]] for i in idx_by_lot]
        idx_by_site = {s: np.flatnonzero(held["_site"].to_numpy() == s) for s in dict.fromkeys(site_of_lot)}
        parcels = []
        for size in parcel_sizes:
            parcels += _draw(idx_by_lot, idx_by_site, site_of_lot, size, parcels_per_lot, rng)
        if parcels:
            parcel_rows.append(_assess_parcels(model, held, X, parcels, truth, zones, model_zone, exact, fold,
                                               rng))
            mix_rows.append(_mixture_parcels(model, held, X, idx_by_site, truth, zones, rng))
        novelty_rows += _unknown_origin(model, held, X, idx_by_lot, idx_by_site, site_of_lot, truth, zones,
                                        frame.iloc[train], zone_idx[train], data, exact, seed, rng)

    stones_all = pd.concat(stone_rows, ignore_index=True)
    parcels_all = pd.concat(parcel_rows, ignore_index=True) if parcel_rows else pd.DataFrame()
    report = _summarise(stones_all, parcels_all, pd.concat(mix_rows, ignore_index=True) if mix_rows else None,
                        novelty_rows, zones, exact is not None, thresholds)
    report.update({"zones": zones, "n_folds": len(folds), "seed": seed,
                   "synthetic": bool(data.get("source", {}).get("synthetic", False)),
                   "store_content_hash": data.get("source", {}).get("content_hash"),
                   "thresholds_version": thresholds.get("version")})
    if summary_only:
        return {"stone": {k: report["stone"][k] for k in ("accuracy", "balanced_accuracy", "log_loss", "ece",
                                                          "cllr")},
                "parcels": {s: {k: r[k] for k in ("n_parcels", "accuracy", "cllr")}
                            for s, r in report["parcels"].items()},
                "mixture": report["mixture"], "unknown_origin": report["unknown_origin"],
                "conformal": report["conformal"], "n_folds": report["n_folds"], "seed": seed}
    return report


def _assess_parcels(model: Any, held: pd.DataFrame, X: np.ndarray, parcels: list[np.ndarray],
                    truth: np.ndarray, zones: list[str], model_zone: np.ndarray, exact: Any, fold: int,
                    rng: np.random.Generator) -> pd.DataFrame:
    flat = np.concatenate(parcels)
    pid = np.repeat([f"f{fold}-p{k}" for k in range(len(parcels))], [len(p) for p in parcels])
    frame = held.iloc[flat].reset_index(drop=True).assign(parcel_id=pid)
    true_zone = truth[[p[0] for p in parcels]]
    declared_true = np.arange(len(parcels)) % 2 == 0
    other = (true_zone + rng.integers(1, len(zones), len(parcels))) % len(zones)
    declared = np.where(declared_true, true_zone, other)
    mapping = {f"f{fold}-p{k}": zones[declared[k]] for k in range(len(parcels))}
    results, _ = model.assess_batch(frame, declared_zone=mapping, X=X[flat])
    # The model's own parcel evidence (site mixtures, tempered): log posteriors under its zone priors.
    codes = pd.factorize(frame["parcel_id"])[0]
    sizes = np.bincount(codes)
    zone_p = results[[f"p_{z}" for z in model.zones]].to_numpy()
    zone_ll = np.log(np.clip(zone_p, 1e-300, None))[:, model_zone]
    out = pd.DataFrame({"size": sizes, "truth": true_zone, "declared_true": declared_true,
                        "verdict": results["verdict"].to_numpy(),
                        "novelty_p": results["novelty_p"].to_numpy()})
    for z in range(len(zones)):
        out[f"ll_{z}"] = zone_ll[:, z]
    if exact is not None:
        bayes = exact.log_p_parcel_zone(frame).reindex(results["parcel_id"].to_numpy()).to_numpy()
        out[[f"bayes_{z}" for z in range(len(zones))]] = bayes
        naive = exact.log_p_parcel_zone(frame, site_aware=False).reindex(results["parcel_id"].to_numpy())
        out[[f"naive_{z}" for z in range(len(zones))]] = naive.to_numpy()
    return out


def _mixture_parcels(model: Any, held: pd.DataFrame, X: np.ndarray, idx_by_site: dict[Any, np.ndarray],
                     truth: np.ndarray, zones: list[str], rng: np.random.Generator, size: int = 50,
                     per_site: int = 4) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    parcels: list[np.ndarray] = []
    declared: dict[str, str] = {}
    for idx in idx_by_site.values():
        zone = truth[idx[0]]
        foreign_pool = np.flatnonzero(truth != zone)
        for fraction in _MIX_FRACTIONS:
            n_foreign = int(round(fraction * size))
            if len(idx) < size - n_foreign or len(foreign_pool) < n_foreign:
                continue
            for _ in range(per_site):
                # Foreign stones from one site of one other zone (topping up from one source).
                other_sites = [s for s, i in idx_by_site.items()
                               if truth[i[0]] != zone and len(i) >= n_foreign]
                if n_foreign and not other_sites:
                    continue
                foreign = (rng.choice(idx_by_site[other_sites[rng.integers(len(other_sites))]], n_foreign,
                                      replace=False) if n_foreign else np.zeros(0, dtype=int))
                parcel = np.concatenate([rng.choice(idx, size - n_foreign, replace=False), foreign])
                pid = f"m{len(parcels)}"
                parcels.append(parcel)
                declared[pid] = zones[zone]
                rows.append({"parcel_id": pid, "fraction": n_foreign / size})
    if not parcels:
        return pd.DataFrame(columns=["fraction", "estimate", "lo", "hi", "verdict"])
    flat = np.concatenate(parcels)
    parcel_ids = np.repeat([r["parcel_id"] for r in rows], [len(p) for p in parcels])
    frame = held.iloc[flat].reset_index(drop=True).assign(parcel_id=parcel_ids)
    results, _ = model.assess_batch(frame, declared_zone=declared, X=X[flat])
    out = pd.DataFrame(rows).merge(results[["parcel_id", "foreign_fraction", "foreign_fraction_lo",
                                            "foreign_fraction_hi", "verdict"]], on="parcel_id")
    return out.rename(columns={"foreign_fraction": "estimate", "foreign_fraction_lo": "lo",
                               "foreign_fraction_hi": "hi"})


def _parcel_scores(scorer: NoveltyScorer, X: np.ndarray, parcels: list[np.ndarray]) -> np.ndarray:
    if not parcels:
        return np.zeros(0)
    sizes = np.array([len(p) for p in parcels])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return scorer.parcel_statistic(X[np.concatenate(parcels)], starts, sizes)


def _unknown_origin(model: Any, held: pd.DataFrame, X: np.ndarray, idx_by_lot: list[np.ndarray],
                    idx_by_site: dict[Any, np.ndarray], site_of_lot: list[Any], truth: np.ndarray,
                    zones: list[str], train_frame: pd.DataFrame, train_zone: np.ndarray,
                    data: Mapping[str, Any], exact: Any, seed: int, rng: np.random.Generator,
                    size: int = 25) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    parcels = _draw(idx_by_lot, idx_by_site, site_of_lot, size, 2, rng)
    if not parcels:
        return out
    parcel_zone = truth[[p[0] for p in parcels]]
    X_train = model.matrix(train_frame, derived_ftir=data.get("derived_ftir"), spectra=data.get("spectra"))
    site_codes = pd.factorize(train_frame["_site"])[0]
    for z, zone in enumerate(zones):
        keep = train_zone != z
        if keep.sum() < 10:
            continue
        scorer = NoveltyScorer(categorical_features=model.novelty.categorical_features,
                               shrinkage=model.novelty.shrinkage, cv=model.novelty.cv,
                               n_null=model.novelty.n_null, numeric=model.novelty.numeric,
                               random_state=seed).fit(
            X_train[keep], site_codes[keep], groups=train_frame["_lot"].to_numpy()[keep],
            parents=train_frame["_zone"].to_numpy()[keep])
        scores = _parcel_scores(scorer, X, parcels)
        out.append({"name": f"{zone} held out", "novel": scores[parcel_zone == z].tolist(),
                    "reference": scores[parcel_zone != z].tolist()})
    reference_scores = _parcel_scores(model.novelty, X, parcels)
    if exact is not None:
        from ..synth import ExactDensity

        others = [z for z in exact.params.zones if z not in zones]
        for zone in others:
            foreign = ExactDensity(exact.params, zones=[zone])
            stones, _ = foreign.sample_parcels(max(20, len(parcels) // 2), size, rng)
            stones = stones.sort_values("parcel_id", kind="stable").reset_index(drop=True)
            Xf = model.matrix(stones)
            codes = stones["parcel_id"].to_numpy()
            groups = [np.flatnonzero(codes == k) for k in np.unique(codes)]
            scores = _parcel_scores(model.novelty, Xf, groups)
            out.append({"name": f"{zone} (out of reference, SYNTHETIC)", "novel": scores.tolist(),
                        "reference": reference_scores.tolist()})
    return out


def _summarise(stones: pd.DataFrame, parcels: pd.DataFrame, mix: pd.DataFrame | None,
               novelty: list[dict[str, Any]], zones: list[str], with_bayes: bool,
               thresholds: Mapping[str, Any]) -> dict[str, Any]:
    Z = len(zones)
    truth = stones["truth"].to_numpy()
    ll = stones[[f"ll_{z}" for z in range(Z)]].to_numpy()
    proba_true = stones["p_true"].to_numpy()
    correct = stones["pred"].to_numpy() == truth
    per_class = [correct[truth == k].mean() for k in np.unique(truth)]
    conf = stones["conf"].to_numpy()
    stone: dict[str, Any] = {"n_stones": int(len(stones)), "accuracy": float(correct.mean()),
             "balanced_accuracy": float(np.mean(per_class)),
             "log_loss": float(-np.log(np.clip(proba_true, 1e-15, None)).mean()),
             "ece": _ece_from(conf, correct), "cllr": cllr(ll, truth)}
    if with_bayes:
        bayes = stones[[f"bayes_{z}" for z in range(Z)]].to_numpy()
        prior = np.log(np.bincount(truth, minlength=Z) / len(truth))
        post = log_softmax(bayes + prior, axis=1)
        bcorrect = post.argmax(axis=1) == truth
        stone["bayes"] = {"accuracy": float(bcorrect.mean()),
                          "balanced_accuracy": float(np.mean([bcorrect[truth == k].mean()
                                                              for k in np.unique(truth)])),
                          "log_loss": float(-post[np.arange(len(truth)), truth].mean()),
                          "ece": _ece_from(np.exp(post.max(axis=1)), bcorrect), "cllr": cllr(bayes, truth)}
    parcel_report: dict[int, Any] = {}
    for size, block in parcels.groupby("size", sort=True) if len(parcels) else []:
        t = block["truth"].to_numpy()
        entry: dict[str, Any] = {"n_parcels": int(len(block)),
                                 **_scores(block[[f"ll_{z}" for z in range(Z)]].to_numpy(), t)}
        table: dict[str, int] = {}
        for declared_true, sub in block.groupby("declared_true"):
            label = "declared true zone" if declared_true else "declared other zone"
            for verdict, count in sub["verdict"].value_counts().sort_index().items():
                table[f"{label}: {verdict}"] = int(count)
        entry["verdicts"] = table
        if with_bayes:
            entry["bayes"] = _scores(block[[f"bayes_{z}" for z in range(Z)]].to_numpy(), t)
            entry["bayes_naive_product"] = _scores(block[[f"naive_{z}" for z in range(Z)]].to_numpy(), t)
        parcel_report[int(size)] = entry
    mixture: dict[str, Any] = {}
    if mix is not None and len(mix):
        err = (mix["estimate"] - mix["fraction"]).abs()
        inside = (mix["lo"] <= mix["fraction"]) & (mix["fraction"] <= mix["hi"])
        mixture = {"n_parcels": int(len(mix)), "parcel_size": 50, "mae": float(err.mean()),
                   "coverage": float(inside.mean()),
                   "nominal": float(thresholds.get("mixed_interval_level", 0.9)),
                   "by_fraction": {f"{f:.2f}": {"mae": float(err[mix["fraction"] == f].mean()),
                                                "mean_estimate": float(mix.loc[mix["fraction"] == f,
                                                                               "estimate"].mean()),
                                                "flagged_mixed": float(
                                                    (mix.loc[mix["fraction"] == f, "verdict"]
                                                     == "mixed").mean())}
                                   for f in sorted(mix["fraction"].unique())}}
    unknown: dict[str, Any] = {}
    for name in dict.fromkeys(r["name"] for r in novelty):
        novel = np.concatenate([r["novel"] for r in novelty if r["name"] == name])
        reference = np.concatenate([r["reference"] for r in novelty if r["name"] == name])
        unknown[name] = {"size": 25, "auroc": _auroc(novel, reference), "n_novel": int(len(novel)),
                         "n_reference": int(len(reference))}
    conformal = {}
    pvals = stones["novelty_p"].to_numpy()
    for alpha in (0.05, 0.10):
        conformal[f"{1 - alpha:.2f}"] = {"coverage": float((pvals > alpha).mean()), "nominal": 1 - alpha}
    if len(parcels):
        alpha_p = float(thresholds.get("unknown_alpha", thresholds.get("novelty_alpha_parcel", 0.01)))
        conformal["parcel_false_alarm"] = {"coverage": float((parcels["novelty_p"] < alpha_p).mean()),
                                           "nominal": alpha_p}
    return {"stone": stone, "parcels": parcel_report, "mixture": mixture, "unknown_origin": unknown,
            "conformal": conformal}


def _ece_from(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 15) -> float:
    correct = np.asarray(correct, dtype=float)
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for b in np.unique(bins):
        idx = bins == b
        total += idx.sum() * abs(correct[idx].mean() - confidence[idx].mean())
    return float(total / len(correct)) if len(correct) else float("nan")


def evaluate(db_path: Any, model_dir: str | Path | None = None, *, seed: int | None = None, n_folds: int = 3,
             config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Evaluate on held-out lots of a reference store (see module docs).

    Parameters
    ----------
    db_path : str, Path or ReferenceStore
        The reference store.
    model_dir : str or Path, optional
        A trained model: its training options, seed and thresholds are the
        ones evaluated, and the report says whether it was trained on this store.
    seed : int, optional
        Seed (default: the model's, else 0).
    n_folds : int
        Folds of whole lots.
    config : mapping, optional
        Training options (ignored when ``model_dir`` is given).

    Returns
    -------
    dict
        The report (JSON-ready).
    """
    data = read_store(db_path)
    model_info: dict[str, Any] = {}
    if model_dir is not None:
        from ._footprint import FootprintModel

        model = FootprintModel.load(model_dir)
        cfg = dict(model.manifest.get("config", {}))
        cfg["thresholds"] = dict(model.thresholds)
        cfg.pop("thresholds_path", None)
        config = cfg
        seed = int(model.manifest.get("seed", 0)) if seed is None else seed
        trained_on = model.manifest.get("source", {}).get("content_hash")
        model_info = {"model_dir": str(model_dir), "fingerprint": model.manifest.get("fingerprint"),
                      "trained_on_this_store": trained_on == data["source"].get("content_hash")}
    report = evaluate_frames(data, config=config, seed=0 if seed is None else seed, n_folds=n_folds)
    report["model"] = model_info
    return report
