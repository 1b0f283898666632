"""``footprint db``: create, fill, inspect and verify the reference store.

Results go to stdout (text, CSV or ``--json``); processing reports, progress
and messages go to stderr. Exit codes are those of :mod:`footprint.cli`:
0 success, 3 bad input (nothing written), 4 store error (locked, wrong
version, verification failed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ._common import SpectrumKind, check_jobs, check_not_blank, emit_json, guarded

__all__ = ["app"]

app = typer.Typer(
    name="db",
    help="The reference database: init, add lab files, info, list, show, export, verify, fields.",
    no_args_is_help=True,
)

_DB = typer.Argument(..., help="Reference store file (HDF5).")
_JSON = typer.Option(False, "--json", help="Print JSON on stdout.")


def _err(text: str) -> None:
    typer.echo(text, err=True)


@app.command("init")
@guarded
def init_cmd(db: Path = _DB, by: str = typer.Option("", "--by", help="Who creates the store.")) -> None:
    """Create an empty reference store (never overwrites an existing file)."""
    from .. import db as dbapi

    path = dbapi.init(db, by=by)
    _err(f"created empty reference store {path}")


@app.command("add")
@guarded
def add_cmd(
    db: Path = _DB,
    stones: Path | None = typer.Option(None, "--stones", help="Stone table, CSV or XLSX."),
    assortments: Path | None = typer.Option(
        None, "--assortments",
        help="Reference lots as assortments: lot_id, zone, size_class, n_stones, carats, "
        "categorical fields; stored one record per stone."),
    spectra: Path | None = typer.Option(None, "--spectra", help="Spectrum file, folder, or wide/long CSV."),
    kind: Annotated[SpectrumKind, typer.Option("--kind", help="Spectrum kind: ftir, uvvis, pl, raman.")] = (
        SpectrumKind.ftir),
    manifest: Path | None = typer.Option(None, "--manifest", help="CSV sample_id,file for the spectra."),
    images: Path | None = typer.Option(None, "--images", help="Folder of <sample_id>[_<view>].png/jpg."),
    by: str | None = typer.Option(None, "--by", help="Who adds the batch (default: the login name).",
                                  callback=check_not_blank),
    replace: bool = typer.Option(False, "--replace", help="Store changed records as new versions."),
    reason: str | None = typer.Option(None, "--reason", help="Why records are replaced (with --replace)."),
    lock_timeout: float = typer.Option(60.0, "--lock-timeout", min=0.0,
                                       help="Seconds to wait for another writer."),
    jobs: int = typer.Option(-1, "--jobs", "-j", help="Processes for parsing (-1: all cores).",
                             callback=check_jobs),
    as_json: bool = _JSON,
) -> None:
    """Validate lab files and add them to the store as one batch (all or nothing)."""
    from .. import db as dbapi
    from ..store import whoami

    if stones is None and spectra is None and images is None and assortments is None:
        raise typer.BadParameter("give at least one of --stones, --assortments, --spectra, --images")
    report = dbapi.add(db, stones=stones, spectra=spectra, assortments=assortments, kind=kind.value,
                       manifest=manifest, images=images,
                       by=by or whoami(), replace=replace, reason=reason, lock_timeout=lock_timeout,
                       n_jobs=jobs)
    _err(_render_report(report.to_dict()))
    if as_json:
        emit_json(report.to_dict())


def _render_report(rep: dict[str, Any]) -> str:
    lines = [
        "processing report",
        f"  rows read   {rep['rows_read']}",
        f"  added       {rep['added']}",
        f"  unchanged   {rep['unchanged']}",
        f"  replaced    {rep['replaced']}",
        f"  rejected    {rep['rejected']}",
        f"  spectra     {rep['spectra_read']} read",
        f"  images      {rep['images_read']} read",
    ]
    if rep["steps"]:
        lines.append("  steps: " + ", ".join(f"{k} {v}" for k, v in rep["steps"].items()))
    lines += [f"  rejected: {r}" for r in rep["rejections"]]
    lines += [f"  warning: {w}" for w in rep["warnings"]]
    return "\n".join(lines)


@app.command("info")
@guarded
def info_cmd(db: Path = _DB, as_json: bool = _JSON) -> None:
    """Summarise the store: zones, sites, lots, field coverage, spectra, images, content hash."""
    from .. import db as dbapi

    info = dbapi.info(db)
    if as_json:
        emit_json(info)
        return
    out = []
    if info["synthetic"]:
        out.append("*** SYNTHETIC data: not real stones ***")
    out += [
        f"store           {info['path']}",
        f"format          {info['format']} v{info['format_version']}, schema v{info['schema_version']}",
        f"content hash    {info['content_hash']}",
        "sealed          " + (f"chain {info['chain']}" if info["sealed"]
                                 else "no (legacy store: footprint db verify DB --seal)"),
        f"stones          {info['stones']} ({info['record_versions']} record versions, "
        f"{info['batches']} batches)",
    ]
    for title, key in (("zones", "zones"), ("sites", "sites"), ("lots", "lots")):
        counts = info[key]
        shown = list(counts.items())[:20]
        more = f" ... and {len(counts) - 20} more" if len(counts) > 20 else ""
        out.append(f"{title:<15} " + (", ".join(f"{k}: {v}" for k, v in shown) or "-") + more)
    spectra = ", ".join(f"{k}: {v}" for k, v in info["spectra"].items()) or "-"
    out.append(f"spectra         {spectra} ({info['stones_with_spectra']} stones; "
               f"{info['derived_ftir_rows']} derived FTIR rows)")
    out.append(f"images          {info['images']}"
               + (f" ({', '.join(f'{k}: {v}' for k, v in info['image_views'].items())})"
                  if info["image_views"] else ""))
    out.append("coverage        field: measured / stones")
    for name, cov in info["coverage"].items():
        unit = f" [{cov['unit']}]" if cov["unit"] else ""
        tag = " (custom)" if cov["custom"] else ""
        out.append(f"  {name + unit + tag:<32} {cov['measured']:>8}  {100 * cov['fraction']:5.1f} %")
    typer.echo("\n".join(out))


@app.command("list")
@guarded
def list_cmd(
    db: Path = _DB,
    zone: str | None = typer.Option(None, "--zone", help="Only stones of this zone.",
                                    callback=check_not_blank),
    as_json: bool = _JSON,
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV on stdout."),
) -> None:
    """List the current stone records."""
    import sys

    from .. import db as dbapi
    from .._io import write_csv

    frame = dbapi.list_samples(db, zone=zone)
    if as_json:
        emit_json(frame.astype(object).where(frame.notna(), None).to_dict(orient="records"))
    elif as_csv:
        write_csv(frame, sys.stdout)
    else:
        cols = [c for c in ("sample_id", "zone", "site", "lot_id", "mass_ct", "colour", "morphology",
                            "diamond_type", "n_total_ppm") if c in frame.columns]
        typer.echo(frame[cols].to_string(index=False) if len(frame) else "(no stones)")
    _err(f"{len(frame)} stone(s)")


@app.command("show")
@guarded
def show_cmd(
    db: Path = _DB,
    sample_id: str = typer.Argument(..., help="The stone's sample_id."),
    extract_images: Path | None = typer.Option(None, "--extract-images", help="Write its photos here."),
    as_json: bool = _JSON,
) -> None:
    """Show one stone: record, version history with reasons, spectra, derived features, images."""
    from .. import db as dbapi

    data = dbapi.show(db, sample_id, extract_images=extract_images)
    if as_json:
        emit_json(data)
        return
    out = ["*** SYNTHETIC data ***"] if data["synthetic"] else []
    out.append(f"{sample_id} (version {data['version']})")
    for key, value in data["record"].items():
        if value is not None:
            out.append(f"  {key:<20} {value}")
    out.append("history")
    for h in data["history"]:
        why = f": {h['reason']}" if h["reason"] else ""
        out.append(f"  v{h['version']}  batch {h['batch']}  {h['when_utc']}  by {h['by']}{why}")
    out.append(f"spectra ({len(data['spectra'])})")
    for s in data["spectra"]:
        out.append(f"  {s['kind']:<6} {s['source']}  {s['n_points']} points  "
                   f"{s['x_min']:g}..{s['x_max']:g} {s['x_unit']}  {s['y_unit']}  sha256 {s['sha256'][:12]}")
    out.append(f"derived FTIR features ({len(data['derived_ftir'])})")
    for row in data["derived_ftir"]:
        shown = {k: v for k, v in row.items() if k not in ("sample_id", "recipe", "spectrum_sha256")
                 and v is not None and v == v}  # v == v drops NaN
        out.append("  " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                    for k, v in shown.items()))
    out.append(f"images ({len(data['images'])})")
    for i in data["images"]:
        out.append(f"  {i['view']:<8} {i['mime_type']}  {i['width']}x{i['height']}  {i['source']}")
    typer.echo("\n".join(out))
    for path in data.get("extracted", []):
        _err(f"wrote {path}")


@app.command("export")
@guarded
def export_cmd(
    db: Path = _DB,
    out: Path = typer.Argument(..., help="CSV file to write (not the store; --force to replace a file)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing OUT file."),
) -> None:
    """Export the current stone records to CSV (text cells a spreadsheet would run are neutralised)."""
    from .. import db as dbapi

    path = dbapi.export(db, out, force=force)
    _err(f"wrote {path}")


@app.command("verify")
@guarded
def verify_cmd(
    db: Path = _DB,
    seal: bool = typer.Option(False, "--seal", help="Legacy store (no content digests): after the checks "
                              "pass, record its content as the first seal, so later edits are caught."),
    by: str | None = typer.Option(None, "--by", help="Who seals the store (with --seal).",
                                  callback=check_not_blank),
    as_json: bool = _JSON,
) -> None:
    """Check checksums, schema, references, the audit log and every commit's content seal (exit 4 on failure).

    A value changed outside footprint (with h5py, say) is named with the commit that wrote it.
    """
    from .. import db as dbapi
    from ..exceptions import StoreIntegrityError

    try:
        result = dbapi.verify(db, seal=seal, by=by or "")
    except StoreIntegrityError as exc:
        problems = getattr(exc, "problems", [str(exc)])
        if as_json:
            emit_json({"ok": False, "path": str(db), "problems": problems})
        else:
            typer.echo("\n".join(["FAILED", *problems]))
        _err(f"error: {db}: verification failed ({len(problems)} problem(s))")
        raise typer.Exit(exc.exit_code) from None
    if as_json:
        emit_json(result)
    else:
        typer.echo("OK " + ", ".join(f"{k}: {v}" for k, v in result["checked"].items()))
        if result.get("chain"):
            typer.echo(f"sealed: chain {result['chain']}")
    if result.get("legacy"):
        _err(f"warning: {result['legacy']}")


@app.command("fields")
@guarded
def fields_cmd(
    db: Path = _DB,
    add: str | None = typer.Option(None, "--add", help="Register a custom numeric field of this name."),
    unit: str = typer.Option("", "--unit", help="Unit of the new field (e.g. ppm)."),
    description: str = typer.Option("", "--description", help="What the new field means."),
    minimum: float | None = typer.Option(None, "--min", help="Smallest allowed value."),
    maximum: float | None = typer.Option(None, "--max", help="Largest allowed value."),
    by: str = typer.Option("", "--by", help="Who registers the field."),
    as_json: bool = _JSON,
) -> None:
    """List the store's fields, or register a custom numeric one with --add."""
    from .. import db as dbapi

    if add is not None:
        if not description:
            raise typer.BadParameter("--add needs --description")
        dbapi.add_field(db, add, unit, description, minimum, maximum, by=by)
        _err(f"registered field '{add}' [{unit}]")
    fields = dbapi.fields(db)
    if as_json:
        emit_json([f.to_dict() for f in fields])
        return
    lines = []
    for f in fields:
        rng = ""
        if f.minimum is not None or f.maximum is not None:
            low = "" if f.minimum is None else f"{f.minimum:g}"
            high = "" if f.maximum is None else f"{f.maximum:g}"
            rng = f" [{low}..{high}]"
        unit_s = f" ({f.unit})" if f.unit else ""
        lines.append(f"{f.name:<20} {f.kind:<9} {f.group:<13}{unit_s}{rng}  {f.description}")
    typer.echo("\n".join(lines))
