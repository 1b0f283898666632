"""``footprint value``: expected against declared parcel values, from a price book (a thin command).

Exit codes: 0 every declared value inside its expected interval (or none
declared); 6 some parcel's declared value is outside it or could not be
checked (``incomplete``); 3 input errors.
"""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import emit_json, guarded

__all__ = ["app"]

VALUE_HELP = (
    "Value every parcel of a stones file or an assortment against a price book.\n\n"
    "Writes V.csv: parcel_id, n_stones, carats, expected value with its interval (price book low..high), "
    "declared value, US$/ct, ratio declared/expected, value_flag (inside, under, over, not_declared, "
    "incomplete) and the valuation_method named in the parcels file. A declared value outside the interval "
    "is a prompt for questions (KP participants monitor large differences), never evidence of origin.\n\n"
    "Exit codes: 0 all inside (or not declared); 6 some parcel flagged; 3 input error."
)


def value_command(
    stones: Path | None = typer.Argument(None, help="Stones CSV/XLSX with parcel_id (or use --assortment)."),
    price_book: Path = typer.Option(
        ...,
        "--price-book",
        help="Price book CSV: size_class, quality, colour, usd_per_ct[, low, high, effective_from].",
    ),
    assortment: Path | None = typer.Option(
        None, "--assortment", help="Assortment CSV/XLSX instead of STONES."
    ),
    parcels: Path | None = typer.Option(
        None,
        "--parcels",
        help="Parcels file: declared_value_usd, valuation_method, described_carats, total_carats.",
    ),
    out: Path = typer.Option(..., "--out", help="Valuation CSV, one row per parcel."),
    valuation_date: str | None = typer.Option(None, "--valuation-date", help="ISO date (default: today)."),
    as_json: bool = typer.Option(False, "--json", help="Print the table as JSON on stdout."),
) -> None:
    """Value parcels against a price book (help text: :data:`VALUE_HELP`)."""
    from .._io import guard_outputs
    from ..ingest import read_parcels
    from ..valuation import value_files

    # before any input is read: never onto an input, into a folder that exists
    guard_outputs(
        {"--out": out},
        {"--price-book": price_book, "STONES": stones, "--assortment": assortment, "--parcels": parcels},
    )
    table, meta = value_files(
        price_book,
        out,
        stones=stones,
        assortment=assortment,
        parcels=parcels,
        parcels_table=read_parcels(parcels, None) if parcels is not None else None,
        valuation_date=valuation_date,
    )
    flagged = int(table["value_flag"].isin(["under", "over", "incomplete"]).sum())
    if as_json:
        emit_json(
            {
                "parcels": table.to_dict("records"),
                "summary": meta | {"parcels": len(table), "flagged": flagged},
            }
        )
    else:
        typer.echo(
            f"{len(table)} parcels valued: "
            + ", ".join(f"{k} {v}" for k, v in meta["flags"].items())
            + f" -> {out}",
            err=True,
        )
        if meta["synthetic"]:
            typer.echo("SYNTHETIC: synthetic price book or data; not real values", err=True)
    if flagged:
        raise typer.Exit(6)


#: ``value`` (merged into the root app by :mod:`footprint.cli`).
app = typer.Typer()
app.command("value", help=VALUE_HELP)(guarded(value_command))
