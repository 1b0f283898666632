"""``footprint classify``: a thin command over :func:`footprint.classify`.

Exit codes of ``classify`` (see :mod:`footprint.cli`): 0 every parcel is
consistent with its declared zone; 6 it ran and some parcels need expert
review (any other verdict); 3 input errors (file, row, field, value, rule);
4 store errors; 5 model errors (missing, tampered or mismatched model).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ._common import Lang, check_jobs, emit_json, guarded

__all__ = ["app"]

_CAVEAT = (
    "No method proves the origin of a single diamond (GIA, Gems & Gemology, Fall 2022): "
    "verdicts are opinions on whole parcels, with stone-level figures as supporting evidence."
)


CLASSIFY_HELP = (
    "Assess every parcel of a stones file against its declared zone.\n\n"
    "Writes RESULTS.csv (parcel_id, n_stones, declared_zone, verdict, best_zone, p_<zone>..., log10_lr, "
    "foreign_fraction, foreign_fraction_lo, foreign_fraction_hi, novelty_p, mixed_p, fit_p, flags, "
    "typical_sites (the zone's sites with shares and 90% intervals), top_fields (the fields moving the "
    "evidence most)), "
    "optional per-stone results (parcel_id, sample_id, best_zone, p_<zone>..., novelty_p, p_foreign) and an "
    "HTML report, and <out>.audit.json "
    "(input, model and store hashes, thresholds, user, time, output hashes). Re-running on the same inputs "
    "reproduces the outputs byte for byte, whatever --jobs or --scheduler.\n\n"
    "The stones of a parcel must be contiguous in the stones file (sorted or grouped by parcel_id): the "
    "file is streamed in chunks of whole parcels, so memory does not grow with the file.\n\n"
    "--assortment A.csv: parcels described as carats and stones per size class x quality x colour (one "
    "weighted row per cell; with STONES too, a mixed batch, both read whole). --price-book PB.csv adds "
    "expected_value_usd, its interval, declared_value_usd, value_ratio, value_flag and valuation_method.\n\n"
    "Exit codes: 0 every parcel consistent with its declared zone; 6 ran, and some parcels need expert "
    "review; 3 input error (file, row, field, value, rule); 4 store error; 5 model error.\n\n"
    "No method proves the origin of a single diamond (GIA, Gems & Gemology, Fall 2022): verdicts are "
    "opinions on whole parcels."
)



def _progress_bar(enabled: bool) -> Any:
    """Return ``(callback, bar)``: a rich progress bar on stderr, or no-ops."""
    if not enabled:
        return None, None
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    bar = Progress(
        "classify",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task("classify", total=None)

    def callback(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return callback, bar


def _exit_without_final_collection() -> None:
    """Let this process exit without a final garbage collection over its whole heap.

    At exit the interpreter collects garbage once more, walking every object
    of scikit-learn, scipy, pandas and the model: about 0.4 s for nothing,
    since the process is ending (its files are closed and its memory goes back
    to the system anyway). Freezing the heap from an exit handler skips that
    walk; exit handlers and module clean-up still run as usual. Only for the
    ``footprint`` process itself, never when the command runs embedded.
    """
    import atexit
    import gc

    atexit.unregister(gc.freeze)  # once, however often the command runs
    atexit.register(gc.freeze)


def _check_scheduler(value: str | None) -> str | None:
    """Typer callback for ``--scheduler``: a Dask address such as ``tcp://host:8786``."""
    import re

    if value is not None and not re.fullmatch(r"(tcp|tls|inproc|ucx|ws|wss)://[^\s/]+", value.strip()):
        raise typer.BadParameter(f"{value!r} is not a Dask scheduler address (e.g. tcp://host:8786)")
    return value


def classify_command(
    model_dir: Path = typer.Argument(..., help="Model directory (verified against its manifest on load)."),
    stones: Path | None = typer.Argument(
        None,
        help="Stones CSV or XLSX: schema v1 fields plus parcel_id; the stones "
        "of a parcel must be contiguous (e.g. sorted by parcel_id). May be left out with --assortment.",
    ),
    out: Path = typer.Option(..., "--out", help="Results CSV, one row per parcel."),
    assortment: Path | None = typer.Option(
        None, "--assortment",
        help="Parcels described as assortments: parcel_id, size_class (dtc:+11, mm:2.50, gr:4, ct:1-2), "
        "n_stones, carats, and categorical fields (quality, colour, ...). With STONES too: a mixed batch.",
    ),
    price_book: Path | None = typer.Option(
        None, "--price-book",
        help="Price book CSV (size_class, quality, colour, usd_per_ct[, low, high, effective_from]): adds "
        "expected value, interval, declared value, ratio and flag per parcel.",
    ),
    valuation_date: str | None = typer.Option(
        None, "--valuation-date", help="ISO date the price book is read at (default: today)."),
    parcels: Path | None = typer.Option(
        None,
        "--parcels",
        help="Parcels CSV/XLSX: parcel_id, declared_zone, "
        "kp_certificate, exporter, declared_value_usd, cleaning_state, described_carats, total_carats "
        "(a described subsample weighs total/described), valuation_method.",
    ),
    spectra: Path | None = typer.Option(
        None,
        "--spectra",
        help="FTIR spectra (file or folder) for some stones; processed with the model's recorded recipe.",
    ),
    stones_out: Path | None = typer.Option(None, "--stones-out", help="Per-stone results CSV."),
    report: Path | None = typer.Option(None, "--report", help="Self-contained HTML report to write."),
    db: Path | None = typer.Option(
        None,
        "--db",
        help="Reference store for the report's reference footprints "
        "and thumbnails (default: the store recorded in the model manifest).",
    ),
    lang: Annotated[Lang, typer.Option("--lang", help="Report language: en or fr.")] = Lang.en,
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON on stdout."),
    jobs: int = typer.Option(1, "--jobs", "-j", help="Parallel joblib workers (-1: all cores).",
                             callback=check_jobs),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Dask scheduler address (tcp://host:8786); needs the dask extra.",
        callback=_check_scheduler,
    ),
    chunk_size: int = typer.Option(
        20_000, "--chunk-size", min=1, help="Stones per chunk (parcels are never split)."
    ),
    max_detail: int = typer.Option(100, "--max-detail", min=0,
                                   help="Parcels given a full section in the report."),
    accept_unverified_store: bool = typer.Option(
        False, "--accept-unverified-store",
        help="Use a store that fails `footprint db verify` anyway (recorded in the audit)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary on stderr."),
    register_to: str | None = typer.Option(
        None, "--register", help="Also add the results to this review register (file or URL); needs "
        "--certificates (see footprint review add)."
    ),
    certificates: Path | None = typer.Option(
        None, "--certificates", help="KP certificates CSV of the parcels, for --register."
    ),
    images: Path | None = typer.Option(
        None, "--images", help="Folder of the parcels' photos (names start with the parcel id), shown in "
        "the report beside the reference photos."
    ),
) -> None:
    """Assess every parcel of a stones file (help text: :data:`CLASSIFY_HELP`)."""
    from ..classify import classify
    from ..report import render_classify_report

    if register_to is not None and certificates is None:
        raise typer.BadParameter("--register needs --certificates")

    callback, bar = _progress_bar(not quiet and sys.stderr.isatty())
    # The command line as typed, for the audit record (sys.argv is someone else's when embedded).
    typed = Path(sys.argv[0]).name == "footprint" and sys.argv[1:2] == ["classify"]
    command = "footprint classify " + (" ".join(shlex.quote(a) for a in sys.argv[2:]) if typed else
                                       f"{shlex.quote(str(model_dir))} {shlex.quote(str(stones or ''))} "
                                       "--out "
                                       f"{shlex.quote(str(out))}")
    if typed:
        _exit_without_final_collection()
    if bar is not None:
        bar.start()
    try:
        run = classify(
            model_dir,
            stones,
            out,
            assortment=assortment,
            price_book=price_book,
            valuation_date=valuation_date,
            parcels=parcels,
            spectra=spectra,
            stones_out=stones_out,
            report=report,
            db=db,
            lang=lang.value,
            n_jobs=jobs,
            scheduler=scheduler,
            chunk_size=chunk_size,
            max_detail=max_detail,
            progress=callback,
            command=command,
            accept_unverified_store=accept_unverified_store,
            render_report=render_classify_report,
            images=images,
        )
    finally:
        if bar is not None:
            bar.stop()
    if register_to is not None and certificates is not None:
        from ..review import Register

        with Register.open(register_to, create=True) as reg:
            added = reg.add_batch(certificates, out, parcels=parcels, stones=stones)
        if not quiet:
            typer.echo(f"register {register_to}: batch {added['batch_id']}, {added['parcels']} parcel(s), "
                       f"flags {added['flags'] or 'none'}", err=True)
    if as_json:
        payload: dict[str, Any] = {
            "parcels": run.results.to_dict("records"),
            "summary": {
                "parcels": len(run.results),
                "stones": run.n_stones,
                "exit_code": run.exit_code,
                "synthetic": run.synthetic,
                "verdicts": run.results["verdict"].value_counts().sort_index().to_dict(),
            },
            "outputs": [str(p) for p in run.outputs],
            "warnings": run.warnings,
        }
        if run.stones_path is not None:
            import pandas as pd

            payload["stones"] = pd.read_csv(run.stones_path).to_dict("records")
        emit_json(payload)
    elif not quiet:
        counts = dict(sorted(run.verdicts.items()))  # (not run.results: rebuilding every row costs memory)
        typer.echo(
            f"{run.n_parcels} parcels, {run.n_stones} stones: "
            + ", ".join(f"{v} {n}" for v, n in counts.items()),
            err=True,
        )
        typer.echo(
            f"results: {out}   audit: {run.audit}" + (f"   report: {report}" if report else ""), err=True
        )
        if run.synthetic:
            typer.echo("SYNTHETIC: the model or reference set is synthetic; not for real decisions", err=True)
        typer.echo(_CAVEAT, err=True)
    if run.exit_code:
        raise typer.Exit(run.exit_code)


#: ``classify`` (merged into the root app by :mod:`footprint.cli`).
app = typer.Typer()
app.command("classify", help=CLASSIFY_HELP)(guarded(classify_command))
