"""``footprint review``: the monthly export review register.

Commands::

    footprint review add REGISTER --certificates C.csv --results R.csv [--parcels P.csv] [--stones S.csv]
                         [--photos DIR] [--compliance F.csv] [--by NAME] [--checked-on YYYY-MM-DD] [--json]
    footprint review decide REGISTER PARCEL --decision approve|hold|refer [--reason TEXT] --by NAME [--json]
    footprint review list REGISTER [--month YYYY-MM] [--status S] [--exporter X] [--json]
    footprint review history REGISTER [--exporter X] [--site S | --subprefecture S | --zone Z]
                             [--from YYYY-MM --to YYYY-MM] --out F.html|F.json [--lang en|fr]
    footprint review report REGISTER --month YYYY-MM --out F.html|F.json [--lang en|fr]
    footprint review synth-months OUT_DIR --model MODEL_DIR [--seed N]
    footprint review synth-certificates PARCELS_DIR --out C.csv [--seed N]

REGISTER is a SQLite file path or a database URL (``postgresql+psycopg://user@host/db``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ._common import check_not_blank, emit_json, guarded

__all__ = ["app"]

review_app = typer.Typer(
    name="review",
    help="The monthly export review register: certificates, verdicts, expert decisions, history.",
    no_args_is_help=True,
)

_REGISTER = typer.Argument(
    ..., help="Register: a SQLite file path or a database URL (postgresql+psycopg://...)."
)
_JSON = typer.Option(False, "--json", help="Print the result as JSON on stdout.")
_LANG = typer.Option("en", "--lang", help="Page language: en or fr.")


#: The group as the other command modules expose it (``cli/__init__`` joins them with ``add_typer``).
app = review_app


def _register_file(target: str) -> Path | None:
    """Return the register's file for a SQLite register (a path or a ``sqlite:///`` URL), else None."""
    if "://" not in target:
        return Path(target)
    if target.startswith("sqlite:///"):
        return Path(target[len("sqlite:///") :])
    return None


def _guard_page(out: Path, register_target: str) -> None:
    """Refuse, before any work, an --out that is the register or cannot be written (exit 2)."""
    from .._io import guard_outputs

    guard_outputs({"--out": out}, {"REGISTER": _register_file(register_target)})


def _write_output(out: Path, text: str) -> None:
    """Write a page atomically (temporary file and rename, :func:`footprint._io.atomic_write_bytes`)."""
    from .._io import atomic_write_bytes

    atomic_write_bytes(out, text.encode("utf-8"))


def _page_kind(out: Path) -> str:
    suffix = out.suffix.lower()
    if suffix not in (".html", ".htm", ".json"):
        raise typer.BadParameter("--out must end in .html or .json")
    return "json" if suffix == ".json" else "html"


@review_app.command("add")
@guarded
def add_cmd(
    target: str = _REGISTER,
    certificates: Path = typer.Option(..., "--certificates", help="KP certificates CSV."),
    results: Path = typer.Option(
        ..., "--results", help="footprint classify results CSV (its audit beside it)."
    ),
    parcels: Path | None = typer.Option(None, "--parcels", help="The parcels sheet given to classify."),
    stones: Path | None = typer.Option(
        None, "--stones", help="The stones file given to classify (measured carats, quality mix, sizes)."
    ),
    photos: Path | None = typer.Option(
        None, "--photos", help="Folder of parcel pictures (names start with the parcel id)."
    ),
    compliance: Path | None = typer.Option(
        None, "--compliance", help="Compliance list CSV (default: the bundled SYNTHETIC example)."
    ),
    by: str | None = typer.Option(
        None, "--by", help="Who adds the batch (default: login name).", callback=check_not_blank
    ),
    checked_on: str | None = typer.Option(
        None, "--checked-on", help="Day of the check, YYYY-MM-DD (default: today)."
    ),
    as_json: bool = _JSON,
) -> None:
    """Add certificates and the classify results of their parcels; check every certificate."""
    from .._io import guard_outputs
    from ..review import Register

    # the register is written: it must not be one of the files it is filled from
    guard_outputs(
        {"REGISTER": _register_file(target)},
        {"--certificates": certificates, "--results": results, "--parcels": parcels, "--stones": stones,
         "--photos": photos, "--compliance": compliance},
    )
    with Register.open(target, create=True) as reg:
        out = reg.add_batch(
            certificates,
            results,
            parcels=parcels,
            stones=stones,
            photos=photos,
            compliance=compliance,
            by=by,
            checked_on=checked_on,
        )
    if as_json:
        emit_json(out)
        return
    typer.echo(
        f"batch {out['batch_id']}: {out['parcels']} parcel(s), {out['certificates']} certificate(s), "
        f"month(s) {', '.join(out['months'])}"
    )
    for code, n in out["flags"].items():
        typer.echo(f"  flag {code:<22} {n}")
    if out["synthetic"] or out["compliance_synthetic"]:
        typer.echo(
            "SYNTHETIC: synthetic data or the SYNTHETIC example compliance list; not for real decisions",
            err=True,
        )


@review_app.command("decide")
@guarded
def decide_cmd(
    target: str = _REGISTER,
    parcel: str = typer.Argument(..., help="Parcel id."),
    decision: str = typer.Option(..., "--decision", help="approve, hold or refer."),
    reason: str | None = typer.Option(
        None, "--reason", help="Why (required for hold, refer, and to approve a flagged parcel)."
    ),
    by: str = typer.Option(..., "--by", help="The expert's name."),
    as_json: bool = _JSON,
) -> None:
    """Record an expert's decision (appended; approval needs two different experts)."""
    from ..review import Register

    with Register.open(target) as reg:
        row = reg.decide(parcel, decision, by=by, reason=reason)
    if as_json:
        emit_json(row)
        return
    typer.echo(
        f"{row['parcel_id']}: {row['decision']} by {row['decided_by']} at {row['decided_at']} "
        f"(decision {row['id']}) -> status {row['status']}"
    )


def _list_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = (
        "parcel_id",
        "month",
        "exporter",
        "kp_certificate",
        "declared_origin",
        "subprefecture",
        "compliance",
        "n_stones",
        "carats",
        "usd_per_ct",
        "verdict",
        "status",
    )
    out = []
    for r in rows:
        item = {k: r[k] for k in keys}
        item["approvers"] = r["approvers"]
        item["flags"] = [f["code"] for f in r["flags"]]
        out.append(item)
    return out


@review_app.command("list")
@guarded
def list_cmd(
    target: str = _REGISTER,
    month: str | None = typer.Option(None, "--month", help="YYYY-MM."),
    status: str | None = typer.Option(None, "--status", help="pending, approved, held or referred."),
    exporter: str | None = typer.Option(None, "--exporter", help="Exporter name, as on the certificates."),
    as_json: bool = _JSON,
) -> None:
    """List parcels with their verdict, status and flags."""
    from ..review import Register

    with Register.open(target) as reg:
        rows = _list_rows(reg.list(month=month, status=status, exporter=exporter))
    if as_json:
        emit_json(rows)
        return
    typer.echo(f"{'parcel':<24} {'month':<7} {'verdict':<15} {'status':<9} {'origin':<14} flags")
    for r in rows:
        typer.echo(
            f"{r['parcel_id']:<24} {r['month']:<7} {r['verdict']:<15} {r['status']:<9} "
            f"{r['declared_origin'][:14]:<14} {','.join(r['flags'])}"
        )
    typer.echo(f"{len(rows)} parcel(s)", err=True)


@review_app.command("history")
@guarded
def history_cmd(
    target: str = _REGISTER,
    out: Path = typer.Option(..., "--out", help="F.html (control charts) or F.json."),
    exporter: str | None = typer.Option(None, "--exporter"),
    site: str | None = typer.Option(None, "--site"),
    subprefecture: str | None = typer.Option(None, "--subprefecture"),
    zone: str | None = typer.Option(None, "--zone"),
    start: str | None = typer.Option(None, "--from", help="First month YYYY-MM."),
    end: str | None = typer.Option(None, "--to", help="Last month YYYY-MM."),
    lang: str = _LANG,
) -> None:
    """Monthly control charts per exporter, limits from the preceding months, flagged months marked."""
    import json

    from ..review import Register

    kind = _page_kind(out)
    _guard_page(out, target)
    if sum(x is not None for x in (site, subprefecture, zone)) > 1:
        raise typer.BadParameter("give at most one of --site, --subprefecture, --zone")
    with Register.open(target) as reg:
        history = reg.history(
            exporter=exporter, site=site, subprefecture=subprefecture, zone=zone, start=start, end=end
        )
    if kind == "json":
        from .._json import jsonable

        text = json.dumps(jsonable(history), indent=2, ensure_ascii=False) + "\n"
    else:
        from ..report import render_history

        text = render_history(history, lang=lang)
    _write_output(out, text)
    for f in history["flagged"]:
        typer.echo(f"flagged {f['month']} {f['exporter']}: {', '.join(f['metrics'])}")
    typer.echo(
        f"history of {history['n_parcels']} parcel(s), {len(history['flagged'])} flagged month(s): {out}",
        err=True,
    )


@review_app.command("report")
@guarded
def report_cmd(
    target: str = _REGISTER,
    month: str = typer.Option(..., "--month", help="YYYY-MM."),
    out: Path = typer.Option(..., "--out", help="F.html or F.json."),
    lang: str = _LANG,
) -> None:
    """Write the month's summary for the KP monitoring team: parcels, verdicts, decisions, open items."""
    import json

    from ..review import Register

    kind = _page_kind(out)
    _guard_page(out, target)
    with Register.open(target) as reg:
        rep = reg.month_report(month)
    if kind == "json":
        from .._json import jsonable

        text = json.dumps(jsonable(rep), indent=2, ensure_ascii=False) + "\n"
    else:
        from ..report import render_month_report

        text = render_month_report(rep, lang=lang)
    _write_output(out, text)
    typer.echo(
        f"{month}: {rep['n_parcels']} parcel(s), {len(rep['open_items'])} open item(s), "
        f"flags {rep['flags'] or 'none'}"
    )


@review_app.command("synth-months")
@guarded
def synth_months_cmd(
    out_dir: Path = typer.Argument(..., help="Folder to write (one sub-folder per month)."),
    model: Path = typer.Option(..., "--model", help="Model directory that classifies the months."),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed (0 or more)."),
    months: int = typer.Option(12, "--months", min=5),
    as_json: bool = _JSON,
) -> None:
    """Write SYNTHETIC months of exports with known drifts (drifts.json), classified by MODEL."""
    from .._io import guard_outputs
    from ..review import write_export_months

    guard_outputs({"OUT_DIR": out_dir}, {"--model": model}, directories=["OUT_DIR"])

    typer.echo(f"writing SYNTHETIC export months to {out_dir} ...", err=True)
    result = write_export_months(out_dir, model, seed=seed, n_months=months)
    if as_json:
        emit_json(result)
        return
    for m in result["months"]:
        typer.echo(f"{m['month']}  {m['folder']}  (check date {m['checked_on']})")
    for d in result["drifts"]:
        typer.echo(f"drift {d['kind']:<11} {d['month']}  {d['exporter']}")


@review_app.command("synth-certificates")
@guarded
def synth_certificates_cmd(
    parcels_dir: Path = typer.Argument(..., help="A 'footprint synth reference/parcels' folder."),
    out: Path = typer.Option(..., "--out", help="Certificates CSV to write."),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed (0 or more)."),
) -> None:
    """Write SYNTHETIC KP certificates for the parcels of a synth folder (one declared non-compliant)."""
    from .._io import guard_outputs
    from ..review import synth_certificates

    guard_outputs({"--out": out}, {"PARCELS_DIR": parcels_dir})

    result = synth_certificates(parcels_dir, out, seed=seed)
    typer.echo(f"{result['n_certificates']} SYNTHETIC certificate(s): {result['certificates']}")
