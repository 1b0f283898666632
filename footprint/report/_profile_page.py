"""The reference profile page of a zone, site or lot, and its JSON form."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._io import atomic_write_bytes
from .._json import jsonable
from ..exceptions import InputError, Problem
from ._figures import PROFILE_PANELS, footprint_figure
from ._i18n import words
from ._pages import (
    _check_lang,
    _environment,
    _mass_figures,
    _num,
)

__all__ = ["render_profile", "write_profile"]


def render_profile(result: Mapping[str, Any], *, lang: str = "en") -> str:
    """Render a reference footprint (:func:`footprint._profile.profile`) as an HTML page.

    Parameters
    ----------
    result : mapping
        Output of :func:`footprint._profile.profile`.
    lang : {"en", "fr"}
        Page language.
    """
    _check_lang(lang)
    w = words(lang)
    summary = result["summary"]
    by_zone = result.get("by_zone") or {}
    references = by_zone if len(by_zone) > 1 else {result["selection"]["label"]: summary}
    figure = footprint_figure(references, panels=PROFILE_PANELS, lang=lang)
    blocks = [
        ("mass_ct", summary["mass"]),
        ("sieve_class", summary["sieve"]),
        ("n_total_ppm", summary["nitrogen"]),
        ("n_b_percent", summary["n_b_percent"]),
    ]
    blocks += [(name, block) for name, block in summary["categories"].items()]
    rows = [
        {"field": name, "n": block["n"], "lots": block.get("lots") if block.get("lots") is not None else "–"}
        for name, block in blocks
    ]
    gallery = [
        {**g, "src": f"data:{g['mime_type']};base64,{g['data']}", "mass": _num(g.get("mass_ct"), "{:.3f} ct")}
        for g in result.get("gallery", [])
    ]
    store = result.get("store") or {}
    return (
        _environment()
        .get_template("profile.html.j2")
        .render(
            w=w,
            lang=lang,
            synthetic=bool(store.get("synthetic")),
            selection=result["selection"],
            summary=summary,
            figure=figure,
            rows=rows,
            gallery=gallery,
            store=store,
            sizes=[{"zone": z, **s} for z, s in sorted((result.get("sizes") or {}).items())],
            median_ct=_num(summary["mass"]["median_ct"], "{:.3f} ct"),
            mean_ct=_num(summary["mass"]["mean_ct"], "{:.3f} ct"),
            # Totals that say how many stones had no mass, and the size distribution (issue 14).
            p=_mass_figures(summary, {}, int(summary["n_stones"]), lang),
        )
    )


def write_profile(result: Mapping[str, Any], out: str | os.PathLike[str], *, lang: str = "en") -> Path:
    """Write a profile as JSON (``.json``) or a self-contained HTML page (``.html``).

    Raises
    ------
    InputError
        If the extension is neither ``.json`` nor ``.html``/``.htm``.
    """
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix == ".json":
        text = json.dumps(jsonable(dict(result)), indent=2, ensure_ascii=False) + "\n"
    elif suffix in (".html", ".htm"):
        text = render_profile(result, lang=lang)
    else:
        raise InputError(
            "unknown output format",
            [Problem(str(out), None, "out", out.suffix, "must end in .html or .json")],
        )
    atomic_write_bytes(out, text.encode("utf-8"))
    return out
