"""Self-contained HTML reports: the classify batch report and reference profiles.

Both pages are rendered with jinja2 from plain data (result tables and
:func:`footprint._profile.summarise` summaries), with figures embedded as
base64 PNG and CSS inline, so one file can be archived with a KP certificate
and printed. English and French wording live in :mod:`._i18n`.

Nothing time-dependent is written into a page: the same inputs give the
same bytes (the time of a run is in its audit record).
"""

from __future__ import annotations

from ..classify import DEFAULT_MAX_DETAIL
from ._classify_page import render_classify_report, render_report
from ._i18n import LANGUAGES, verdict_text
from ._pages import compliant_zones, load_value_bands
from ._profile_page import render_profile, write_profile
from ._review import render_history, render_month_report
from ._stats import render_questionnaire, render_stats_report

__all__ = [
    "DEFAULT_MAX_DETAIL",
    "LANGUAGES",
    "compliant_zones",
    "load_value_bands",
    "render_classify_report",
    "render_history",
    "render_month_report",
    "render_profile",
    "render_questionnaire",
    "render_report",
    "render_stats_report",
    "verdict_text",
    "write_profile",
]
