"""What both pages share: the jinja2 environment, languages, value bands, compliant zones, cell formats."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import pandas as pd

from ._i18n import LANGUAGES

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
