"""``footprint synth``: the SYNTHETIC reference set, test parcels and Bayes ceilings.

Commands::

    footprint synth reference OUT_DIR [--seed N] [--lots-per-site N] [--stones-per-lot N]
                              [--photo-fraction F] [--parcels N] [--min-size N] [--max-size N]
                              [--month YYYY-MM] [--ftir-in-table] [--params FILE]
                              [--variant bundled|realistic] [--json]
    footprint synth parcels OUT_DIR [--seed N] [--parcels N] [--min-size N] [--max-size N]
                            [--month YYYY-MM] [--photo-fraction F] [--params FILE] [--json]
    footprint synth ceiling [--sizes 1,5,10,25,50] [--n-stones N] [--seed N] [--params FILE] [--json]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ._common import emit_json, guarded

__all__ = ["app"]

app = typer.Typer(
    name="synth",
    help="SYNTHETIC reference data (CAR-West / CAR-East and neighbours) and its exact Bayes ceilings.",
    no_args_is_help=True,
)

_JSON = typer.Option(False, "--json", help="Print the result as JSON on stdout.")
_PARAMS = typer.Option(None, "--params", help="Generator parameters JSON (default: the bundled file).")
_SEED = typer.Option(0, "--seed", help="Random seed; the same seed gives byte-identical files.")
_PARCELS = typer.Option(30, "--parcels", min=0, help="Number of test export parcels.")
_MIN = typer.Option(1, "--min-size", min=1, help="Smallest parcel, stones.")
_MAX = typer.Option(100, "--max-size", min=1, help="Largest parcel, stones.")
_MONTH = typer.Option("2024-06", "--month", help="Export month of the parcels, YYYY-MM.")
_PHOTO = typer.Option(0.10, "--photo-fraction", min=0.0, max=1.0, help="Share of stones that get a picture.")


def _load(params: Path | None) -> Any:
    from ..synth import load_params

    return load_params(params)


def _summary(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json({"synthetic": True, **{k: str(v) if isinstance(v, Path) else v for k, v in result.items()}})
        return
    for key, value in result.items():
        typer.echo(f"{key:<18} {value}")


def _check_out_dir(out_dir: Path) -> Path:
    """Refuse an OUT_DIR that is a file or whose parent folder does not exist (exit 2)."""
    from ..exceptions import OutputError

    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"OUT_DIR {out_dir} is a file, not a folder; refusing to overwrite it")
    if not out_dir.parent.is_dir():
        raise OutputError(f"OUT_DIR {out_dir}: the folder {out_dir.parent} does not exist (create it first)")
    return out_dir


def _check_sizes(min_size: int, max_size: int) -> tuple[int, int]:
    if not 1 <= min_size <= max_size:
        raise typer.BadParameter("need 1 <= --min-size <= --max-size")
    return min_size, max_size


@app.command("reference")
@guarded
def reference_cmd(
    out_dir: Path = typer.Argument(..., help="Folder to write (new, empty, or a previous synth output)."),
    seed: int = _SEED,
    # The bundled size (footprint.synth.BUNDLED_*; literals so that --help imports no numpy).
    lots_per_site: int = typer.Option(120, "--lots-per-site", min=1,
                                      help="Lots at every reference site (the bundled set: 120)."),
    stones_per_lot: int = typer.Option(40, "--stones-per-lot", min=1,
                                       help="Stones per lot (the bundled set: 40)."),
    photo_fraction: float = _PHOTO,
    lot_sd: float = typer.Option(0.0, "--lot-sd", min=0.0, max=1.0,
                                 help="Lot-to-lot variation of the reference lots: each lot's centres move "
                                      "by this many spreads (0: the bundled set, none; an estimate)."),
    parcels: int = typer.Option(30, "--parcels", min=0, help="Test export parcels (0: none)."),
    min_size: int = _MIN,
    max_size: int = _MAX,
    month: str = _MONTH,
    ftir_in_table: bool = typer.Option(False, "--ftir-in-table",
                                       help="Also write the true FTIR values into the stone tables."),
    params: Path | None = _PARAMS,
    variant: str = typer.Option(
        "bundled", "--variant",
        help="'bundled' (the demo set, CAR zones) or 'realistic' (parageneses per site: correlated, "
             "multimodal nitrogen, delta13C and %B, lot-to-lot drift; stones.csv + site_weights.csv only)."),
    as_json: bool = _JSON,
) -> None:
    """Write the SYNTHETIC reference set: stones.csv, spectra/, images/, parcels, truth.csv."""
    if variant not in ("bundled", "realistic"):
        raise typer.BadParameter(f"--variant must be 'bundled' or 'realistic', got {variant!r}")
    if variant == "realistic":
        from ..synth import write_realistic_set

        typer.echo(f"writing SYNTHETIC reference set (realistic variant) to {out_dir} ...", err=True)
        # The variant's own default size (12 lots of 25 stones a site) unless the options are given.
        lots = lots_per_site if lots_per_site != 120 else 12
        per_lot = stones_per_lot if stones_per_lot != 40 else 25
        _summary(write_realistic_set(out_dir, seed=seed, lots_per_site=lots, stones_per_lot=per_lot), as_json)
        return
    from ..synth import write_reference_set

    _check_out_dir(out_dir)
    typer.echo(f"writing SYNTHETIC reference set to {out_dir} ...", err=True)
    result = write_reference_set(out_dir, seed=seed, params=_load(params), lots_per_site=lots_per_site,
                                 stones_per_lot=stones_per_lot, photo_fraction=photo_fraction,
                                 n_parcels=parcels, parcel_size_range=_check_sizes(min_size, max_size),
                                 month=month, ftir_in_table=ftir_in_table, lot_sd=lot_sd)
    _summary(result, as_json)


@app.command("parcels")
@guarded
def parcels_cmd(
    out_dir: Path = typer.Argument(..., help="Folder to write (new, empty, or a previous synth output)."),
    seed: int = typer.Option(1, "--seed", help="Random seed."),
    parcels: int = _PARCELS,
    min_size: int = _MIN,
    max_size: int = _MAX,
    month: str = _MONTH,
    photo_fraction: float = _PHOTO,
    params: Path | None = _PARAMS,
    as_json: bool = _JSON,
) -> None:
    """Write SYNTHETIC test parcels only: parcels_stones.csv, parcels.csv, spectra, truth."""
    from ..synth import write_parcel_set

    _check_out_dir(out_dir)
    typer.echo(f"writing SYNTHETIC parcels to {out_dir} ...", err=True)
    result = write_parcel_set(out_dir, seed=seed, params=_load(params), n_parcels=parcels,
                              parcel_size_range=_check_sizes(min_size, max_size), month=month,
                              photo_fraction=photo_fraction)
    _summary(result, as_json)


@app.command("kp-stats")
@guarded
def kp_stats_cmd(
    out_dir: Path = typer.Argument(..., help="Folder to write (new, empty, or a previous kp-stats output)."),
    seed: int = _SEED,
    participants: int = typer.Option(40, "--participants", min=5, help="Participants (about 40)."),
    years: int = typer.Option(10, "--years", min=3, help="Years of figures."),
    clean: bool = typer.Option(False, "--clean", help="Inject no anomaly (for false-positive rates)."),
    as_json: bool = _JSON,
) -> None:
    """Write SYNTHETIC KP statistics (PROD.csv, TRADE.csv) with injected anomalies and truth.csv."""
    from ..synth import write_kp_stats

    typer.echo(f"writing SYNTHETIC KP statistics to {out_dir} ...", err=True)
    _summary(write_kp_stats(out_dir, seed=seed, n_participants=participants, n_years=years, inject=not clean),
             as_json)


@app.command("ceiling")
@guarded
def ceiling_cmd(
    sizes: str = typer.Option("1,5,10,25,50", "--sizes", help="Parcel sizes, comma-separated (1 = stone)."),
    n_stones: int = typer.Option(100_000, "--n-stones", min=1000, help="Monte Carlo stones per size."),
    seed: int = _SEED,
    params: Path | None = _PARAMS,
    as_json: bool = _JSON,
) -> None:
    """Print the Bayes-optimal accuracy, log loss and Cllr (equal zone priors), by parcel size."""
    from ..synth import ExactDensity

    try:
        size_list = tuple(int(s) for s in sizes.split(",") if s.strip())
    except ValueError:
        raise typer.BadParameter(f"--sizes must be integers separated by commas, got {sizes!r}") from None
    if not size_list or min(size_list) < 1:
        raise typer.BadParameter("--sizes must be positive integers")
    typer.echo("Monte Carlo over the exact SYNTHETIC density ...", err=True)
    result = ExactDensity(_load(params)).bayes_ceiling(parcel_sizes=size_list, n_stones=n_stones, seed=seed)
    if as_json:
        emit_json(result)
        return
    typer.echo(f"Bayes ceiling (SYNTHETIC generator; zones {' vs '.join(result['zones'])}; equal priors; "
               f"seed {seed})")
    typer.echo(f"{'size':>5} {'parcels':>8} {'accuracy':>9} {'+-se':>7} {'log loss':>9} {'Cllr':>7}")
    for size, row in result["sizes"].items():
        label = "stone" if size == 1 else str(size)
        typer.echo(f"{label:>5} {row['n_parcels']:>8} {row['accuracy']:>9.4f} {row['accuracy_se']:>7.4f} "
                   f"{row['log_loss']:>9.4f} {row['cllr']:>7.4f}")
