"""The ``footprint`` command line: thin typer commands over the library.

Each command group lives in its own private module as a typer app, added to
the one :data:`app` with ``add_typer`` (a named group such as ``db`` becomes
``footprint db ...``; an unnamed one adds its commands at the top level).
Commands parse options, call the library, and render: results on stdout
(text, CSV or ``--json``), progress and messages on stderr.
A :class:`~footprint.exceptions.FootprintError` becomes a one-paragraph
message and its documented exit code:

====  ==========================================================
code  meaning
====  ==========================================================
0     success
1     unexpected error (a bug: one line, FOOTPRINT_DEBUG=1 for the traceback)
2     usage error: a bad option or argument, or an output that is an
      input, has no folder, or exists without ``--force``
3     input error: a file, row, field or value breaks a rule
4     store error: locked, wrong version, failed verification
5     model error: too little data, tampered or mismatched model
6     ``classify`` ran, and some parcels need expert review (``value``: some flagged)
====  ==========================================================
"""

from __future__ import annotations

import typer

from . import _classify, _db, _ftir, _model, _profile, _review, _stats, _synth, _value

__all__ = ["app", "main"]

app = typer.Typer(
    name="footprint",
    help=(
        "Rough-diamond footprint reference database and parcel origin assessment.\n\n"
        "No method proves the origin of a single diamond: footprints are population "
        "profiles, and the parcel is the unit of judgement."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)



@app.command("version")
def version() -> None:
    """Print the package, schema and store-format versions."""
    from .._schema import SCHEMA_VERSION
    from .._version import __version__

    typer.echo(f"footprint {__version__} (schema v{SCHEMA_VERSION})")


# Command groups (db, synth, review, stats) and the top-level commands of each module, as typer sub-apps.
_COMMAND_APPS = (
    _ftir.app, _model.app, _classify.app, _value.app, _profile.app, _db.app, _synth.app, _review.app,
    _stats.app,
)
for _sub in _COMMAND_APPS:
    app.add_typer(_sub)


def main() -> None:
    """Entry point of the ``footprint`` console script."""
    app()
