"""``footprint train`` and ``footprint evaluate``: thin commands over :mod:`footprint.model`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from ._common import emit_json, guarded

__all__ = ["app"]


def _config(config_path: Path | None, thresholds: Path | None) -> dict[str, Any] | None:
    from ..exceptions import InputError

    config: dict[str, Any] = {}
    if config_path is not None:
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"{config_path}: not a readable JSON training configuration ({exc})") from None
        if not isinstance(config, dict):
            raise InputError(f"{config_path}: the training configuration must be a JSON object")
    if thresholds is not None:
        config["thresholds_path"] = str(thresholds)
    return config or None


def _train_summary(model: Any, out: Path) -> dict[str, Any]:
    manifest = model.manifest
    return {
        "model_dir": str(out), "zones": model.zones, "sites": [list(s) for s in model.sites],
        "features": model.feature_names, "training": manifest.get("training", {}),
        "thresholds_version": model.thresholds.get("version"), "synthetic": manifest.get("synthetic", False),
        "fingerprint": manifest.get("fingerprint"), "model_sha256": manifest.get("model_sha256"),
        "store_content_hash": manifest.get("source", {}).get("content_hash"),
        "evaluation": manifest.get("evaluation"),
    }


def _print_evaluation(report: dict[str, Any]) -> None:
    def fmt(value: Any) -> str:
        return "-" if value is None else (f"{value:.3f}" if isinstance(value, float) else str(value))

    def pair(block: dict[str, Any], key: str) -> str:
        ceiling = block.get("bayes", {}).get(key) if isinstance(block.get("bayes"), dict) else None
        text = fmt(block.get(key))
        return f"{text} (Bayes {fmt(ceiling)})" if ceiling is not None else text

    if report.get("synthetic"):
        typer.echo("SYNTHETIC reference store: figures describe the synthetic generator, not real zones.")
    stone = report["stone"]
    typer.echo(f"held-out lots, {report['n_folds']} folds, zones: {', '.join(report['zones'])}")
    typer.echo("stones: " + ", ".join(f"{k} {pair(stone, k)}" for k in
                                      ("accuracy", "balanced_accuracy", "log_loss", "ece", "cllr")))
    typer.echo("parcels (built from held-out lots):")
    typer.echo(f"  {'size':>5} {'n':>5} {'accuracy':>22} {'cllr':>22}  verdicts")
    for size, row in report["parcels"].items():
        verdicts = ", ".join(f"{k} {v}" for k, v in row["verdicts"].items())
        typer.echo(f"  {size:>5} {row['n_parcels']:>5} {pair(row, 'accuracy'):>22} {pair(row, 'cllr'):>22}  "
                   f"{verdicts}")
    mix = report.get("mixture", {})
    if mix:
        typer.echo(f"mixture: mean absolute error of the foreign fraction {fmt(mix.get('mae'))}, "
                   f"interval coverage {fmt(mix.get('coverage'))} (nominal {fmt(mix.get('nominal'))})")
    for name, row in report.get("unknown_origin", {}).items():
        typer.echo(f"unknown origin, {name}: AUROC {fmt(row.get('auroc'))} (parcels of {row.get('size')}, "
                   f"{row.get('n_novel')} novel vs {row.get('n_reference')} reference)")
    for level, row in report.get("conformal", {}).items():
        if level == "parcel_false_alarm":
            typer.echo(f"parcel unknown-origin false alarms on held-out reference parcels: "
                       f"{fmt(row['coverage'])} (nominal {fmt(row['nominal'])})")
        else:
            typer.echo(f"conformal coverage at {level}: {fmt(row['coverage'])} "
                       f"(nominal {fmt(row['nominal'])})")


#: ``train`` and ``evaluate`` (merged into the root app by :mod:`footprint.cli`).
app = typer.Typer()

_ACCEPT = typer.Option(False, "--accept-unverified-store",
                       help="Use a store that fails `footprint db verify` anyway (recorded in the output).")


def _require_files(files: dict[str, Path | None]) -> None:
    from ..exceptions import InputError, Problem

    for option, path in files.items():
        if path is not None and not path.is_file():
            raise InputError(f"{option} {path}: no such file",
                             [Problem(str(path), None, None, None, "file not found or not a regular file")])

@app.command("train")
@guarded
def train_command(
    db: Path = typer.Argument(..., help="Reference store (HDF5) to learn from."),
    out: Path = typer.Option(..., "--out", "-o",
                             help="Model directory to write (skops + manifest.json)."),
    seed: int = typer.Option(0, "--seed",
                             help="Random seed; the same store and seed give the same model."),
    config: Path | None = typer.Option(None, "--config", help="JSON file of training options."),
    thresholds: Path | None = typer.Option(None, "--thresholds",
                                           help="JSON verdict thresholds (default: bundled v2)."),
    site_weights: Path | None = typer.Option(
        None, "--site-weights",
        help="CSV of zone, site, weight: each site's share of its zone's production (the prior of "
             "the site mixture; default: the share of reference lots)."),
    evaluate: bool = typer.Option(False, "--evaluate",
                                  help="Also evaluate on held-out lots and record it in the manifest."),
    force: bool = typer.Option(False, "--force", help="Replace an existing model directory OUT."),
    accept_unverified_store: bool = _ACCEPT,
    min_zone_stones: int | None = typer.Option(
        None, "--min-zone-stones", min=2,
        help="Floor: refuse a zone with fewer reference stones (default 10). Zones above it but "
             "below 100 stones or 5 lots train, marked thin, with widened evidence."),
    min_zone_lots: int | None = typer.Option(
        None, "--min-zone-lots", min=1, help="Floor: refuse a zone with fewer reference lots (default 1)."),
    joint_fields: str | None = typer.Option(
        None, "--joint-fields",
        help="Comma-separated continuous fields modelled jointly per site (opt-in; e.g. "
             "n_total_ppm,n_b_percent,d13c_permil; default: none, each field on its own)."),
    partner: str | None = typer.Option(
        None, "--partner",
        help="Discriminative partner stacked on the stone model: none (default), auto (kept only "
             "where it lowers the held-out Cllr) or hgb (always)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Train a footprint model on a reference store and save it.

    Refuses (exit 4) a store that fails verification unless --accept-unverified-store (recorded
    in the manifest), and (exit 5) when a zone is below the floor (--min-zone-stones,
    --min-zone-lots); thin zones above it train, are marked thin in the manifest and their
    evidence is widened. The model directory is written whole or not at all; an existing one is
    replaced only with --force. No method proves the origin of a single diamond: the model's unit
    of judgement is the parcel.
    """
    from .. import db as dbapi
    from .._io import OutputTransaction, guard_outputs
    from ..model import read_site_weights, train

    inputs = {"DB": db, "--config": config, "--thresholds": thresholds, "--site-weights": site_weights}
    guard_outputs({"--out": out}, inputs, force=force, directories=["--out"])
    _require_files({k: v for k, v in inputs.items() if k != "DB"})
    store = dbapi.check_store(db, accept_unverified=accept_unverified_store)
    typer.echo(f"training on {db} ...", err=True)
    options = _config(config, thresholds) or {}
    if site_weights is not None:
        options["site_weights"] = read_site_weights(site_weights)
    if min_zone_stones is not None:
        options["min_stones_per_zone"] = min_zone_stones
    if min_zone_lots is not None:
        options["min_lots_per_zone"] = min_zone_lots
    if joint_fields is not None:
        options["joint_fields"] = [f.strip() for f in joint_fields.split(",") if f.strip()]
    if partner is not None:
        if partner not in ("none", "auto", "hgb"):
            raise typer.BadParameter(f"--partner must be none, auto or hgb, got {partner!r}")
        options["partner"] = partner
    model = train(db, config=options or None, seed=seed, evaluate=evaluate)
    model.manifest.setdefault("source", {})["store_check"] = {
        k: store.get(k) for k in ("sha256", "chain", "sealed", "verified", "accepted_unverified", "problems",
                                  "warnings") if k in store}
    with OutputTransaction() as tx:
        model.save(tx.directory(out))
        tx.publish()
    summary = _train_summary(model, out)
    if as_json:
        emit_json(summary)
        return
    if summary["synthetic"]:
        typer.echo("SYNTHETIC: trained on synthetic reference data; not for real KP decisions.")
    typer.echo(f"model saved to {out}")
    typer.echo(f"zones: {', '.join(model.zones)}; sites: {len(model.sites)}; features: "
               f"{len(model.feature_names)}; thresholds v{summary['thresholds_version']}")
    for zone, row in summary["training"].get("zones", {}).items():
        typer.echo(f"  {zone}: {row['stones']} stones, {row['lots']} lots, "
                   f"sites {', '.join(row['sites'])}")
    pairs = summary["training"].get("stone_model", {}).get("categorical_pairs")
    if pairs and pairs["tested"]:
        dependent = "; ".join(
            f"{' x '.join(r['fields'])} (G={r['g']:.1f}, df={r['df']}, Holm p={r['p_holm']:.2g})"
            for r in pairs["dependent"]) or "none"
        typer.echo(f"categorical pairs tested for dependence within site: {pairs['tested']}; dependent, "
                   f"modelled jointly: {dependent}")
    for warning in summary["training"].get("warnings", []):
        typer.echo(f"warning: {warning}", err=True)


@app.command("evaluate")
@guarded
def evaluate_command(
    db: Path = typer.Argument(..., help="Reference store (HDF5) to evaluate on."),
    model: Path | None = typer.Option(None, "--model", "-m",
                                      help="Model directory whose training options to evaluate "
                                           "(default: the default options)."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the folds and parcel draws."),
    folds: int = typer.Option(3, "--folds", min=2, help="Folds of whole lots (at least 2)."),
    accept_unverified_store: bool = _ACCEPT,
    as_json: bool = typer.Option(False, "--json", help="Print the full report as JSON."),
) -> None:
    """Measure the model on held-out lots (stones, parcels, mixture, unknown origin, coverage).

    Every figure comes from lots the model did not see. On a SYNTHETIC store the Bayes
    ceiling (the exact generator density) is printed beside each figure.
    """
    from .. import db as dbapi
    from ..model import evaluate

    dbapi.check_store(db, accept_unverified=accept_unverified_store)
    typer.echo(f"evaluating on {db} (retraining on each fold) ...", err=True)
    report = evaluate(db, model_dir=model, seed=seed, n_folds=folds)
    if as_json:
        emit_json(report)
    else:
        _print_evaluation(report)
