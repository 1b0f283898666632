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
  with spreadsheet-formula-safe cells (:func:`write_csv_safe`);
- :func:`flow_series`: a participant's series with its partners' mirror
  figures, for the plots of the report (rendered by
  :func:`footprint.report.render_stats_report`).

Command line: ``footprint stats check`` (see ``footprint stats check --help``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import pandas as pd

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
from ._write import neutralise, refuse_input_overwrite, write_csv_safe, write_text_atomic

__all__ = [
    "ANOMALY_COLUMNS",
    "CHECKS",
    "SEVERITY_RULES",
    "Settings",
    "country_codes",
    "flow_series",
    "neutralise",
    "prepare",
    "read_production",
    "read_trade",
    "refuse_input_overwrite",
    "run_checks",
    "write_anomalies",
    "write_csv_safe",
    "write_text_atomic",
]


def write_anomalies(
    anomalies: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    inputs: Iterable[str | os.PathLike[str] | None] = (),
) -> None:
    """Write ANOMALIES.csv (the :data:`ANOMALY_COLUMNS`), atomically and never onto an input.

    Parameters
    ----------
    anomalies : DataFrame
        :func:`run_checks` output.
    path : path-like
        Output file.
    inputs : iterable of path-like
        The files the findings came from; writing onto one is refused.

    Raises
    ------
    InputError
        If ``path`` is one of ``inputs``.
    """
    refuse_input_overwrite(path, inputs)
    comments = []
    if anomalies.attrs.get("synthetic"):
        comments.append("SYNTHETIC: screening of synthetic KP statistics; not real figures")
    write_csv_safe(anomalies, path, columns=ANOMALY_COLUMNS, comments=comments)
