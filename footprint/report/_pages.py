"""What both pages share: the jinja2 environment, languages, value bands, compliant zones, cell formats."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import pandas as pd

from ._i18n import LANGUAGES, words

__all__ = ["FEW_REFERENCE_LOTS", "compliant_zones", "load_value_bands"]

#: A zone with fewer reference lots than this gets a caution in the report (DOMAIN §5.9).
FEW_REFERENCE_LOTS = 10


@cache
def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("footprint.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


@cache
def load_value_bands() -> dict[str, Any]:
    """Return the $/ct reference bands (``footprint/data/value_bands.json``).

    The bands are country-level KP export statistics widened by about 10 %,
    one per origin zone; the file states each band's basis.
    """
    text = resources.files("footprint").joinpath("data/value_bands.json").read_text(encoding="utf-8")
    return json.loads(text)


def compliant_zones() -> list[str]:
    """Return the zones whose exports come from KP compliant zones ("zones conformes").

    Read from ``footprint/data/value_bands.json`` (the ``compliant`` flag of each zone).
    """
    return sorted(z for z, band in load_value_bands()["bands"].items() if band.get("compliant"))


def _check_lang(lang: str) -> None:
    if lang not in LANGUAGES:
        from ..exceptions import InputError, Problem

        raise InputError("unknown report language", [Problem(None, None, "lang", lang, "must be en or fr")])


def _num(value: Any, fmt: str = "{:.2f}", missing: str = "–") -> str:
    if value is None:
        return missing
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return missing
    return fmt.format(number)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA:
        return None
    text = str(value).strip()
    return text or None


def _mass_figures(summary: Mapping[str, Any] | None, info: Mapping[str, Any], n_stones: int,
                  lang: str) -> dict[str, Any]:
    """Total and mean mass that say how many stones they cover, and the carats $/ct is computed on (issue 14).

    The parcels file's ``total_carats`` (the whole parcel) wins; otherwise the
    weighed stones' total, with how many stones had no mass, and the mean over
    the weighed stones only (never a partial total divided by all stones).
    Shared by the classify report and the profile page.
    """
    w = words(lang)
    if summary is None:
        return {"total_ct": "–", "mean_ct": "–", "basis": 0.0, "missing": (0, 0), "size": None}
    weighed = float(summary["total_ct"])
    n_all = int(summary.get("n_stones", n_stones))
    n_mass = int(summary["mass"]["n"])
    missing = n_all - n_mass
    declared_total = info.get("total_carats")
    if declared_total is not None and declared_total == declared_total:
        declared_total = float(declared_total)
    else:
        declared_total = None
    if declared_total is not None:
        total = f"{declared_total:.2f} ct ({w['total_declared'].format(described=f'{weighed:.2f} ct')})"
        basis, gap = declared_total, (0, n_all)
    elif not n_mass:  # no stone weighed: no total to show (issue 11), and none to price
        total, basis, gap = "–", 0.0, (missing, n_all)
    else:
        total = f"{weighed:.2f} ct" + (f" ({w['weighed_of'].format(n=n_mass, total=n_all, missing=missing)})"
                                       if missing else "")
        basis, gap = weighed, (missing, n_all)
    mean = _num(weighed / n_mass if n_mass else None, "{:.3f} ct")
    if missing and n_mass:
        mean += f" ({w['weighed_of'].format(n=n_mass, total=n_all, missing=missing)})"
    size = summary.get("size") or {}
    rows = [{"label": k, **v} for k, v in (size.get("classes") or {}).items()]
    notes = [w["no_mass_note"].format(n=size["n_no_mass"])] if size.get("n_no_mass") else []
    if size.get("no_class"):
        notes.append(w["no_class_note"].format(n=size["no_class"]))
    size_block = {"rows": rows, "note": "; ".join(notes)} if rows else None
    return {"total_ct": total, "mean_ct": mean, "basis": basis, "missing": gap, "size": size_block}


def _float(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) else 0.0


def _flatten(mapping: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Flatten nested metadata into sorted ``(key, value)`` rows for a table."""
    rows: list[tuple[str, str]] = []
    for key in sorted(mapping):
        value = mapping[key]
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            rows.extend(_flatten(value, name + "."))
        elif isinstance(value, (list, tuple)):
            rows.append((name, ", ".join(str(v) for v in value)))
        else:
            rows.append((name, str(value)))
    return rows
