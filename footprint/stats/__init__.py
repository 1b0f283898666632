"""KP statistics screening: mirror trade, unit values, production balance, jumps, gaps, certificates.

The KP statistics working group screens every participant's production
(half-yearly) and trade (quarterly, by partner, with certificate counts)
figures before its annual analysis, and sends a questionnaire to each
participant whose figures show anomalies. This package does that screening:

- :func:`read_production`, :func:`read_trade`: CSV/XLSX tables validated
  cell by cell (ISO 3166-1 alpha-3 codes or ``EUR``, periods ``YYYY``,
  ``YYYY-H1``, ``YYYY-Q3``, flows, non-negative numbers, duplicates and
  overlapping periods), every problem named by file, row, field, value, rule;
- :func:`run_checks`: the checks of :data:`CHECKS` (rules and thresholds in
  :mod:`footprint.stats._checks` and :class:`Settings`), one row per finding
  with the :data:`ANOMALY_COLUMNS`;
- :func:`write_anomalies`: ANOMALIES.csv, atomically, never onto an input,
  with spreadsheet-formula-safe cells (the project's one writer,
  :func:`footprint._io.write_csv`);
- :func:`flow_series`: a participant's series with its partners' mirror
  figures, for the plots of the report (rendered by
  :func:`footprint.report.render_stats_report`).

Command line: ``footprint stats check`` (see ``footprint stats check --help``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import IO

import pandas as pd

from .._io import guard_outputs, neutralise_frame, write_csv
from ._checks import (
    ANOMALY_COLUMNS,
    CHECKS,
    SEVERITY_RULES,
    Settings,
    flow_series,
    prepare,
    run_checks,
)
from ._read import country_codes, read_production, read_trade

__all__ = [
    "ANOMALY_COLUMNS",
    "CHECKS",
    "SEVERITY_RULES",
    "Settings",
    "country_codes",
    "flow_series",
    "prepare",
    "read_production",
    "read_trade",
    "run_checks",
    "write_anomalies",
]


def write_anomalies(
    anomalies: pd.DataFrame,
    path: str | os.PathLike[str] | IO[str],
    *,
    inputs: Iterable[str | os.PathLike[str] | None] = (),
) -> None:
    """Write ANOMALIES.csv (the :data:`ANOMALY_COLUMNS`), atomically and never onto an input.

    Parameters
    ----------
    anomalies : DataFrame
        :func:`run_checks` output.
    path : path-like or text stream
        Output file (written atomically), or an open text stream (the
        command line writes to an :class:`footprint._io.OutputTransaction`
        temporary so that all outputs of a run appear together).
    inputs : iterable of path-like
        The files the findings came from; writing onto one is refused.

    Raises
    ------
    OutputError
        If ``path`` is one of ``inputs`` or cannot be written (its folder
        does not exist, it is a folder).
    """
    if isinstance(path, (str, os.PathLike)):
        guard_outputs({"--out": path}, {"input": [p for p in inputs if p is not None]})
    comment = None
    if anomalies.attrs.get("synthetic"):
        comment = "SYNTHETIC: screening of synthetic KP statistics; not real figures"
    frame = neutralise_frame(anomalies.reindex(columns=list(ANOMALY_COLUMNS))).copy()
    # a lone CR inside a cell would split the row in most readers: it becomes LF, which is quoted
    for c in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[c].dtype):
            frame[c] = frame[c].map(
                lambda v: v.replace("\r\n", "\n").replace("\r", "\n") if isinstance(v, str) else v
            )
    write_csv(frame, path, comment=comment, float_format="%.6g", lineterminator="\n")
