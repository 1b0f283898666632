"""``footprint ftir``: nitrogen features of ad hoc diamond FTIR spectra.

Results (a table, or ``--json``) go to stdout; refused files and messages go
to stderr. Exit code 3 when any file was refused (the others still print).
"""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import check_jobs, emit_json, guarded

__all__ = ["app"]

#: Columns of the text table, with their headers.
_TABLE = {
    "sample_id": "sample", "n_total_ppm": "N_ppm", "n_a_ppm": "NA_ppm", "n_b_ppm": "NB_ppm",
    "n_c_ppm": "NC_ppm", "n_b_percent": "%B", "diamond_type": "type", "platelet_position_cm1": "B'_pos",
    "platelet_area_cm2": "B'_area", "platelet_width_cm1": "B'_fwhm", "h3107_area_cm2": "H3107",
    "fit_residual": "resid", "flags": "flags",
}


@guarded
def ftir(
    paths: list[Path] = typer.Argument(..., help="JCAMP-DX (or x,y CSV) files, or folders of JCAMP-DX files.",
                                       exists=True, metavar="FILE_OR_DIR"),
    json_out: bool = typer.Option(False, "--json", help="Print JSON on stdout."),
    plot: Path | None = typer.Option(None, "--plot", help="PNG of the first accepted fit."),
    jobs: int = typer.Option(-1, "--jobs", help="Worker processes for reading files (-1: all cores).",
                             callback=check_jobs),
) -> None:
    """Derive nitrogen (C, A, B, total, %B), type, platelet and 3107 cm-1 features from FTIR spectra.

    Method as in QUIDDIT (Speich & Kohn 2020): pybaselines baseline, scaling to absorption
    coefficient against the type IIa two-phonon absorption, non-negative C/A/X/B/D fit of
    the one-phonon region. Non-diamond spectra are refused, one message per file.
    """
    import json

    import pandas as pd

    from ..spectra import analyse_files, expand_paths, fit_details, plot_fit

    if plot is not None:
        from .._io import guard_outputs

        guard_outputs({"--plot": plot}, {"FILE_OR_DIR": list(paths)})
    if not expand_paths(list(paths)):
        typer.echo("error: no JCAMP-DX files (.jdx, .dx, .jcamp, .jcm) found", err=True)
        raise typer.Exit(3)
    features, problems, files = analyse_files(list(paths), n_jobs=jobs)
    for problem in problems:
        typer.echo(f"refused: {problem}", err=True)
    if json_out:
        records = []
        for _, row in features.iterrows():
            record = row.to_dict()
            record["recipe"] = json.loads(record["recipe"])
            records.append(record)
        emit_json({"spectra": records,
                   "refused": [{"file": p.file, "field": p.field, "value": p.value, "rule": p.rule}
                               for p in problems]})
    elif len(features):
        table = features.loc[:, list(_TABLE)].rename(columns=_TABLE)
        with pd.option_context("display.max_rows", None, "display.width", 200):
            typer.echo(table.to_string(index=False, float_format=lambda v: f"{v:.4g}", na_rep="-"))
    if plot is not None:
        if len(features):
            from ..ingest import read_spectrum

            first = files[int(features.index[0])]
            plot_fit(fit_details(read_spectrum(first)), plot, title=Path(first).name)
            typer.echo(f"plot of {first} written to {plot}", err=True)
        else:
            typer.echo("no plot: every file was refused", err=True)
    typer.echo(f"{len(features)} spectra fitted, {len(problems)} refused", err=True)
    if problems:
        raise typer.Exit(3)


#: The ``ftir`` command (merged into the root app by :mod:`footprint.cli`).
app = typer.Typer()
app.command("ftir")(ftir)
