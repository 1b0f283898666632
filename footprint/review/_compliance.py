"""Compliance as data: which sub-prefectures (or sites) may export, from when to when.

The list is a CSV a user edits (``country, zone, subprefecture, site,
compliant_from, compliant_to, decision_ref``); the bundled one,
``footprint/data/compliance_CAF_SYNTHETIC.csv``, is a SYNTHETIC example
built from shared/DOMAIN.md 2.3 with illustrative dates. A blank ``site``
covers the whole sub-prefecture, a blank ``compliant_from`` means never
compliant, a blank ``compliant_to`` means compliant until further notice.
A declared origin names a site or a sub-prefecture; names are matched
without regard to case, accents, spaces or hyphens (``Berbérati`` =
``BERBERATI``).
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..exceptions import Problem, SchemaError

__all__ = ["COMPLIANCE_COLUMNS", "ComplianceList", "Place", "bundled_compliance_path", "load_compliance"]

COMPLIANCE_COLUMNS = (
    "country",
    "zone",
    "subprefecture",
    "site",
    "compliant_from",
    "compliant_to",
    "decision_ref",
)
_BUNDLED = "compliance_CAF_SYNTHETIC.csv"

#: Compliance status words stored in the register.
COMPLIANT, NOT_COMPLIANT, UNKNOWN_PLACE = "compliant", "not_compliant", "unknown_place"


def fold(name: str) -> str:
    """Fold a place name for matching: no accents, case, spaces, hyphens or apostrophes."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^0-9a-z]+", "", text.lower())


def bundled_compliance_path() -> Path:
    """Return the path of the bundled SYNTHETIC example list."""
    return Path(str(resources.files("footprint") / "data" / _BUNDLED))


@dataclass(frozen=True)
class _Row:
    row: int
    country: str
    zone: str
    subprefecture: str
    site: str | None
    start: str | None
    end: str | None
    ref: str


@dataclass(frozen=True)
class Place:
    """Where a declared origin lies and whether it could export on a date.

    Attributes
    ----------
    declared : str
        The origin as declared on the certificate.
    zone, subprefecture, site : str or None
        Where the list puts it (``None`` when the place is not on the list).
    status : {"compliant", "not_compliant", "unknown_place"}
        Its status on the date asked.
    decision_ref : str or None
        The reference of the list row that decided it.
    """

    declared: str
    zone: str | None
    subprefecture: str | None
    site: str | None
    status: str
    decision_ref: str | None


class ComplianceList:
    """A compliance list read from CSV.

    Parameters
    ----------
    path : path, optional
        The CSV; default the bundled SYNTHETIC example.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        from ..ingest import parse_date, read_plain_table

        self.path = Path(path) if path is not None else bundled_compliance_path()
        table = read_plain_table(self.path, required=COMPLIANCE_COLUMNS, what="compliance list")
        self.synthetic = table.synthetic
        file = str(path) if path is not None else f"(bundled) {_BUNDLED}"
        problems: list[Problem] = []
        rows: list[_Row] = []
        for i, rec in enumerate(table.frame.to_dict("records"), start=1):
            dates: dict[str, str | None] = {}
            for col in ("compliant_from", "compliant_to"):
                try:
                    dates[col] = parse_date(rec[col])
                except ValueError as exc:
                    problems.append(Problem(file, i, col, rec[col], str(exc)))
            for col in ("country", "zone", "subprefecture"):
                if not rec[col]:
                    problems.append(Problem(file, i, col, None, "must not be blank"))
            start, end = dates.get("compliant_from"), dates.get("compliant_to")
            if start and end and end < start:
                problems.append(Problem(file, i, "compliant_to", end, "is before compliant_from"))
            if end and not start:
                problems.append(Problem(file, i, "compliant_to", end, "needs a compliant_from"))
            rows.append(
                _Row(
                    i,
                    rec["country"],
                    rec["zone"],
                    rec["subprefecture"],
                    rec["site"] or None,
                    start,
                    end,
                    rec["decision_ref"],
                )
            )
        if problems:
            raise SchemaError(f"{file}: the compliance list has errors", problems)
        self.rows = rows
        from .._audit import file_sha256

        self.sha256 = file_sha256(self.path)

    def locate(self, declared: str, on: str) -> Place:
        """Find a declared site or sub-prefecture and its status on the ISO date ``on``.

        A site row decides for that site; otherwise the sub-prefecture rows
        decide (for a site, those of the sub-prefecture the site belongs to).
        Several rows for one place are periods: compliant when any period
        covers the date.
        """
        key = fold(declared)
        site_rows = [r for r in self.rows if r.site and fold(r.site) == key]
        if site_rows:
            sub = site_rows[0].subprefecture
            site: str | None = site_rows[0].site
        else:
            sub_rows = [r for r in self.rows if fold(r.subprefecture) == key]
            if not sub_rows:
                return Place(declared, None, None, None, UNKNOWN_PLACE, None)
            sub, site = sub_rows[0].subprefecture, None
        own = site_rows or [r for r in self.rows if r.subprefecture == sub and r.site is None]
        zone = own[0].zone if own else site_rows[0].zone
        covering = [r for r in own if r.start and r.start <= on and (r.end is None or on <= r.end)]
        if covering:
            return Place(declared, zone, sub, site, COMPLIANT, covering[0].ref)
        latest = max(own, key=lambda r: r.start or "")
        return Place(declared, zone, sub, site, NOT_COMPLIANT, latest.ref)


def load_compliance(path: str | os.PathLike[str] | None = None) -> ComplianceList:
    """Read a compliance list (default: the bundled SYNTHETIC example)."""
    return ComplianceList(path)
