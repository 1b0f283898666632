"""``footprint stats check``: screen KP production and trade statistics.

Command::

    footprint stats check --production PROD.csv --trade TRADE.csv --out ANOMALIES.csv
                          [--report R.html] [--questionnaires DIR] [--lang en|fr] [--json]

Findings go to ``--out``; the summary is printed on stdout (``--json`` for
JSON); progress on stderr. Exit codes as for every command (3: bad input),
and 6 when the screening ran and found anomalies (0: none found).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import typer

from ._common import emit_json, guarded

__all__ = ["app"]

stats_app = typer.Typer(
    name="stats",
    help="KP statistics screening: mirror trade, unit values, balance, jumps, gaps, certificates.",
    no_args_is_help=True,
)


#: The group as the other command modules expose it (``cli/__init__`` joins them with ``add_typer``).
app = stats_app


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@stats_app.command("check")
@guarded
def check_cmd(
    production: Path | None = typer.Option(
        None, "--production", help="PROD.csv/.xlsx: participant, period, carats, value_usd."
    ),
    trade: Path | None = typer.Option(
        None,
        "--trade",
        help="TRADE.csv/.xlsx: participant, period, flow, partner, carats, value_usd, certificates.",
    ),
    out: Path = typer.Option(..., "--out", help="ANOMALIES.csv to write (one row per finding)."),
    report: Path | None = typer.Option(None, "--report", help="Also write a self-contained HTML report."),
    questionnaires: Path | None = typer.Option(
        None, "--questionnaires", help="Folder for one draft questionnaire per flagged participant."
    ),
    lang: str = typer.Option("en", "--lang", help="Language of the report and questionnaires: en or fr."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
) -> None:
    """Screen KP production and trade statistics and write ANOMALIES.csv (and a report, questionnaires).

    Exit code 0: nothing found; 6: anomalies found and written (to follow up); 3: bad input.
    """
    from .._io import OutputTransaction, atomic_write_bytes, guard_outputs
    from ..exceptions import OutputError
    from ..stats import (
        SEVERITY_RULES,
        country_codes,
        flow_series,
        read_production,
        read_trade,
        run_checks,
        write_anomalies,
    )

    if production is None and trade is None:
        raise typer.BadParameter("give --production, --trade or both")
    if lang not in ("en", "fr"):
        raise typer.BadParameter("--lang must be en or fr")
    inputs = [p for p in (production, trade) if p is not None]
    in_roles = {"--production": production, "--trade": trade}
    # every output checked before any work: never onto an input, folders that exist, distinct files
    new_folder = questionnaires is not None and not questionnaires.exists()
    guard_outputs(
        {"--out": out, "--report": report, "--questionnaires": questionnaires if new_folder else None},
        in_roles,
        directories=["--questionnaires"],
    )
    if questionnaires is not None and not new_folder and not questionnaires.is_dir():
        raise OutputError(f"--questionnaires {questionnaires} exists and is not a folder")
    typer.echo("reading statistics ...", err=True)
    prod = read_production(production) if production is not None else None
    trd = read_trade(trade) if trade is not None else None
    typer.echo("running checks ...", err=True)
    anomalies = run_checks(prod, trd)
    meta: dict[str, Any] = {
        "synthetic": bool(anomalies.attrs.get("synthetic")),
        "inputs": {str(p): f"sha256 {_sha256(p)}" for p in inputs},
        "settings": anomalies.attrs.get("settings"),
        "severity_rules": {k: list(v) for k, v in SEVERITY_RULES.items()},
    }
    written = [str(out)]
    with OutputTransaction() as tx:  # all outputs of the run appear together, or none
        write_anomalies(anomalies, tx.path(out))
        if report is not None or questionnaires is not None:
            from ..report import render_questionnaire, render_stats_report
            from ..stats import prepare

            if report is not None:
                typer.echo("rendering report ...", err=True)
                keys = list(dict.fromkeys(zip(anomalies["participant"], anomalies["flow"], strict=True)))
                data = prepare(prod, trd)
                series = {k: flow_series(prod, trd, k[0], k[1], data=data) for k in keys[:60]}
                series = {k: v for k, v in series.items() if len(v)}
                page = render_stats_report(anomalies, series, meta=meta, lang=lang)
                atomic_write_bytes(tx.path(report), page.encode("utf-8"))
                written.append(str(report))
            if questionnaires is not None:
                names = country_codes()
                concerned = sorted(
                    set(anomalies["participant"])
                    | set(anomalies.loc[anomalies["check"] == "mirror", "partner"])
                )
                folder = tx.directory(questionnaires) if new_folder else questionnaires
                for who in concerned:
                    rows = anomalies[
                        (anomalies["participant"] == who)
                        | ((anomalies["check"] == "mirror") & (anomalies["partner"] == who))
                    ]
                    page = render_questionnaire(who, rows, meta=meta, lang=lang, name=names.get(who))
                    name = f"questionnaire_{who}_{lang}.html"
                    if new_folder:
                        target = folder / name
                    else:
                        guard_outputs({"--questionnaires": questionnaires / name}, in_roles)
                        target = tx.path(questionnaires / name)
                    atomic_write_bytes(target, page.encode("utf-8"))
                written.append(f"{questionnaires}/ ({len(concerned)} questionnaires)")
        tx.publish()
    summary = {
        "synthetic": meta["synthetic"],
        "findings": int(len(anomalies)),
        "by_check": anomalies.attrs.get("counts", {}),
        "by_severity": {k: int(v) for k, v in anomalies["severity"].value_counts().items()},
        "participants_flagged": int(anomalies["participant"].nunique()),
        "outputs": written,
    }
    if as_json:
        emit_json(summary)
    else:
        if summary["synthetic"]:
            typer.echo("SYNTHETIC statistics")
        typer.echo(f"{summary['findings']} finding(s) for {summary['participants_flagged']} participant(s)")
        for name, n in summary["by_check"].items():
            typer.echo(f"  {name:<13} {n}")
        typer.echo(f"written: {', '.join(written)}")
    if summary["findings"]:
        raise typer.Exit(6)  # ran, and some figures need follow-up (as classify's "review needed")
