"""``footprint profile``: the statistical footprint of a zone or site of the reference store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import Lang, emit_json, guarded

__all__ = ["app"]

PROFILE_HELP = (
    "Write the statistical footprint of a zone or site of the reference store.\n\n"
    "Size-frequency by sieve class and mass, colour, morphology, quality, surface features, nitrogen and "
    "%B distributions (each with the stones and lots behind it) and a gallery of typical stones, as a "
    "self-contained HTML page (--out FILE.html) or JSON (--out FILE.json)."
)


def profile_command(
    db: Path = typer.Argument(..., help="Reference store (HDF5)."),
    out: Path = typer.Option(..., "--out", help="FILE.html (self-contained page) or FILE.json."),
    zone: str | None = typer.Option(None, "--zone", help="Zone to profile (default: every zone)."),
    site: str | None = typer.Option(None, "--site", help="Site to profile."),
    lang: Annotated[Lang, typer.Option("--lang", help="Page language: en or fr.")] = Lang.en,
    gallery: int = typer.Option(12, "--gallery", min=0, help="Typical stones shown in the image gallery."),
    as_json: bool = typer.Option(False, "--json", help="Also print the profile as JSON on stdout."),
) -> None:
    """Write a zone's or site's footprint (help text: :data:`PROFILE_HELP`)."""
    from .._io import guard_outputs
    from .._profile import profile
    from ..report import write_profile

    guard_outputs({"--out": out}, {"DB": db})
    if out.suffix.lower() not in (".html", ".htm", ".json"):
        raise typer.BadParameter(f"{out}: give a .html or .json file name", param_hint="--out")
    result = profile(db, zone=zone, site=site, n_gallery=gallery)
    write_profile(result, out, lang=lang.value)
    if as_json:
        emit_json(
            {k: v for k, v in result.items() if k != "gallery"}
            | {"gallery": [{k: v for k, v in g.items() if k != "data"} for g in result["gallery"]]}
        )
    else:
        summary = result["summary"]
        typer.echo(
            f"{result['selection']['label']}: {summary['n_stones']} stones, {summary['n_lots']} lots "
            f"-> {out}",
            err=True,
        )


#: ``profile`` (merged into the root app by :mod:`footprint.cli`).
app = typer.Typer()
app.command("profile", help=PROFILE_HELP)(guarded(profile_command))
