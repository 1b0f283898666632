"""Schema v1: the field registry every other module reads.

One machine-readable registry of stone fields (name, unit, kind, vocabulary
or range, description) plus the synonyms labs use for column names and the
sieve-class systems. ``reference_data/schema.json`` is written from it
(``footprint.schema_document()``), and a test checks the two agree.

Sieve tables: the sieve numbers and trade bands (``-2``, stars ``+2`` to
``-6.5``, melee ``+6.5`` to ``-11``, ``+11`` and up) follow the trade sieve
chart in SRDC, *Polished Diamond Grading* (p. 24); the aperture in mm for
each sieve number is an ESTIMATE interpolated from common sieve charts, good
to about 0.1 mm, and is only used to put mm sieves and numbered sieves on one
axis.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ._text import squash
from .exceptions import Problem, SchemaError

__all__ = [
    "FIELDS",
    "FIELD_KINDS",
    "SCHEMA_VERSION",
    "SIEVE_BANDS",
    "Field",
    "canonical_column",
    "field_names",
    "get_field",
    "schema_document",
    "sieve_band",
    "sieve_to_mm",
    "normalise_sieve",
    "write_schema_json",
]

#: Version of the field registry. Bump when a field changes meaning.
SCHEMA_VERSION = 1

#: The kinds a field can have, and the Python/numpy type each is stored as.
FIELD_KINDS = {
    "text": "str",
    "category": "str",
    "integer": "int64 (nullable)",
    "number": "float64 (NaN = not measured)",
    "boolean": "bool (nullable)",
    "date": "ISO 8601 date string",
    "sieve": "normalised sieve string, e.g. 'dtc:+11' or 'mm:2.50'",
}


@dataclass(frozen=True)
class Field:
    """One column of the stone table.

    Parameters
    ----------
    name : str
        Canonical column name.
    kind : str
        One of :data:`FIELD_KINDS`.
    description : str
        What the value means, for people.
    unit : str, optional
        Unit of a number ("ct", "ppm", "cm-1", "permil", "%"); empty if none.
    vocabulary : tuple of str, optional
        The allowed words for a ``category`` field.
    minimum, maximum : float, optional
        Inclusive range for numbers and integers.
    exclusive_minimum : bool
        If true the minimum itself is not allowed (``mass_ct > 0``).
    required : {"always", "reference", "no"}
        ``always``: every row needs it; ``reference``: rows of the reference
        set need it (a parcel to classify does not); ``no``: optional.
    group : str
        "identity", "physical", "spectroscopic" or "custom".
    """

    name: str
    kind: str
    description: str
    unit: str = ""
    vocabulary: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    required: str = "no"
    group: str = "physical"
    synonyms: tuple[str, ...] = field(default=(), compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping of this field."""
        out = asdict(self)
        out["vocabulary"] = list(self.vocabulary)
        out["synonyms"] = list(self.synonyms)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Field:
        """Build a field from :meth:`to_dict` output (e.g. a store's custom fields)."""
        data = dict(data)
        data["vocabulary"] = tuple(data.get("vocabulary", ()))
        data["synonyms"] = tuple(data.get("synonyms", ()))
        return cls(**data)

    def check(self, value: Any) -> str | None:
        """Return the broken rule for one already-parsed value, or ``None``.

        Parameters
        ----------
        value : Any
            A parsed value (``None``/NaN means "not measured" and passes).
        """
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if self.kind == "category" and value not in self.vocabulary:
            return f"must be one of: {', '.join(self.vocabulary)}"
        if self.kind in ("number", "integer"):
            if self.minimum is not None:
                if self.exclusive_minimum and not value > self.minimum:
                    return f"must be > {self.minimum:g}"
                if value < self.minimum:
                    return f"must be >= {self.minimum:g}"
            if self.maximum is not None and value > self.maximum:
                return f"must be <= {self.maximum:g}"
        return None


def _cat(name: str, words: str, description: str, **kw: Any) -> Field:
    return Field(name, "category", description, vocabulary=tuple(words.split()), **kw)


_ID = "identity"
_SPEC = "spectroscopic"

FIELDS: tuple[Field, ...] = (
    # -- identity and provenance -------------------------------------------------
    Field("sample_id", "text", "Unique identifier of the stone within the store.",
          required="always", group=_ID, synonyms=("id", "sample", "stone id", "stone_id", "sample no")),
    Field("zone", "text", "Origin label the reference stone is known to come from "
          "(e.g. CAR-West). Required for reference rows.", required="reference", group=_ID,
          synonyms=("origin", "production zone", "source zone", "zone label")),
    Field("site", "text", "Mining site or locality within the zone (e.g. Berberati).", group=_ID,
          synonyms=("locality", "mine", "location", "mining site")),
    Field("country", "text", "Country of the site, ISO 3166-1 alpha-3 code (e.g. CAF).", group=_ID,
          synonyms=("country code", "iso3")),
    Field("lot_id", "text", "Lot the stone was sampled in; one lot comes from one site.", group=_ID,
          synonyms=("lot", "lot no", "lot number", "parcel lot")),
    Field("collected_on", "date", "Date the lot was collected (ISO 8601, YYYY-MM-DD).", group=_ID,
          synonyms=("date", "collection date", "collected", "date collected")),
    Field("lab", "text", "Laboratory that described or measured the stone.", group=_ID,
          synonyms=("laboratory",)),
    _cat("cleaning_state", "unwashed acid_rinsed acid_boiled",
         "Cleaning the stone had before description; surface appearance depends on it.",
         group=_ID, synonyms=("cleaning", "cleaned", "wash state")),
    Field("custody_ref", "text", "Chain-of-custody document reference (e.g. bordereau number).",
          group=_ID, synonyms=("custody", "chain of custody", "custody reference")),
    Field("notes", "text", "Free-text remarks.", group=_ID, synonyms=("remarks", "comment", "comments")),
    # -- physical description ----------------------------------------------------
    Field("mass_ct", "number", "Mass of the stone.", unit="ct", minimum=0.0, exclusive_minimum=True,
          synonyms=("mass", "weight", "weight (ct)", "mass (ct)", "carats", "ct", "weight_ct")),
    Field("sieve_class", "sieve", "Sieve the stone was sorted on: a DTC sieve number +1..+23 "
          "or a mesh aperture in mm; stored with its system ('dtc:+11', 'mm:2.50').",
          synonyms=("sieve", "sieve size", "sieve class")),
    _cat("colour", "colourless light_yellow yellow light_brown brown grey green other",
         "Body colour class.", synonyms=("color", "colour class", "color class")),
    _cat("morphology", "octahedron dodecahedron cube macle irregular aggregate carbonado",
         "Primary crystal form.", synonyms=("form", "shape", "model", "primary form", "morph")),
    _cat("quality", "gem near_gem industrial", "Quality (assortment) class.",
         synonyms=("quality class", "assortment", "grade")),
    Field("resorption", "integer", "Resorption grade, 0 (none) to 3 (strong).", minimum=0, maximum=3,
          synonyms=("resorption grade",)),
    Field("abrasion", "integer", "Abrasion / transport wear grade, 0 (none) to 3 (strong).",
          minimum=0, maximum=3, synonyms=("abrasion grade", "wear")),
    _cat("radiation_spots", "none green brown", "Radiation spots or skin, by colour.",
         synonyms=("radiation", "spots", "radiation spot")),
    Field("coating", "boolean", "Whether the stone carries a surface coating.",
          synonyms=("coated", "surface coating")),
    _cat("fluorescence", "none blue yellow green other", "Long-wave UV fluorescence colour.",
         synonyms=("fluo", "uv fluorescence", "lwuv")),
    # -- spectroscopic and isotopic values ---------------------------------------
    _cat("diamond_type", "IaA IaAB IaB Ib IIa IIb", "Diamond type from FTIR.", group=_SPEC,
         synonyms=("type", "diamond type")),
    Field("n_total_ppm", "number", "Total nitrogen (A + B + C centres).", unit="ppm", minimum=0,
          group=_SPEC, synonyms=("n (ppm)", "n ppm", "total n", "n_total", "nitrogen (ppm)", "n tot (ppm)")),
    Field("n_a_ppm", "number", "Nitrogen in A centres.", unit="ppm", minimum=0, group=_SPEC,
          synonyms=("na (ppm)", "n_a", "a (ppm)", "n a ppm")),
    Field("n_b_ppm", "number", "Nitrogen in B centres.", unit="ppm", minimum=0, group=_SPEC,
          synonyms=("nb (ppm)", "n_b", "b (ppm)", "n b ppm")),
    Field("n_b_percent", "number", "Aggregation: 100 [N_B] / ([N_A] + [N_B]).", unit="%",
          minimum=0, maximum=100, group=_SPEC, synonyms=("%b", "percent b", "b%", "%b (%)", "pct_b")),
    Field("platelet_area_cm2", "number", "Integrated area of the platelet (B') peak.", unit="cm-2",
          minimum=0, group=_SPEC, synonyms=("platelet area", "b' area", "platelet")),
    Field("h3107_area_cm2", "number", "Integrated area of the 3107 cm-1 (VN3H) hydrogen peak.",
          unit="cm-2", minimum=0, group=_SPEC, synonyms=("h3107", "3107 area", "hydrogen 3107", "h area")),
    Field("d13c_permil", "number", "Carbon isotope ratio delta13C versus VPDB.", unit="permil",
          minimum=-40, maximum=10, group=_SPEC, synonyms=("d13c", "δ13c", "delta13c", "d13c (permil)")),
)

_BY_NAME = {f.name: f for f in FIELDS}


def field_names() -> list[str]:
    """Return the canonical schema v1 field names, in registry order."""
    return [f.name for f in FIELDS]


def get_field(name: str, extra: Iterable[Field] = ()) -> Field:
    """Return the :class:`Field` called ``name`` (built-in or among ``extra``).

    Raises
    ------
    SchemaError
        If no such field is registered.
    """
    for f in extra:
        if f.name == name:
            return f
    try:
        return _BY_NAME[name]
    except KeyError:
        raise SchemaError(f"unknown field '{name}'") from None


def canonical_column(raw: str, extra: Iterable[Field] = ()) -> str | None:
    """Map a lab's column name to a canonical field name.

    Parameters
    ----------
    raw : str
        Column header as written in the lab's file ("Weight (ct)", "color").
    extra : iterable of Field
        Custom fields registered in the store; their names and synonyms count.

    Returns
    -------
    str or None
        The canonical name, or ``None`` when the column maps to no field.
    """
    key = squash(raw)
    for f in (*FIELDS, *extra):
        if key == squash(f.name) or key in {squash(s) for s in f.synonyms}:
            return f.name
    return None


# -- sieve classes ---------------------------------------------------------------

def _dtc_aperture_mm(number: float) -> float:
    # ESTIMATE: ~0.1 mm per sieve step up to +6, ~0.2 mm per step above.
    if number <= 6:
        return round(1.0 + 0.1 * number, 2)
    return round(1.6 + 0.2 * (number - 6), 2)


#: Trade bands on the DTC sieve axis: (name, lower sieve inclusive, upper exclusive).
SIEVE_BANDS: tuple[tuple[str, float, float], ...] = (
    ("-2 (fine)", 0.0, 2.0),
    ("+2-6.5 (stars)", 2.0, 6.5),
    ("+6.5-11 (melee)", 6.5, 11.0),
    ("+11-15", 11.0, 15.0),
    ("+15-19", 15.0, 19.0),
    ("+19 (coarse)", 19.0, math.inf),
)

_DTC_RE = re.compile(r"^(?:dtc\s*:?\s*)?(?:sieve\s*)?([+-]?)\s*(\d{1,2}(?:\.5)?)$", re.I)
_MM_RE = re.compile(r"^(?:mm\s*:\s*)?(\d+(?:\.\d+)?)\s*mm$|^mm\s*:\s*(\d+(?:\.\d+)?)$", re.I)


def normalise_sieve(value: Any) -> str:
    """Normalise a sieve-class value to ``'dtc:+N'`` or ``'mm:X.XX'``.

    Parameters
    ----------
    value : Any
        "+11", "11", "DTC +11", "+6.5", "2.5 mm", "mm:2.50".

    Raises
    ------
    SchemaError
        If the value is neither a DTC sieve +1..+23 nor a positive mm size.
    """
    text = str(value).strip()
    mm = _MM_RE.match(text)
    if mm:
        size = float(mm.group(1) or mm.group(2))
        if not 0.3 <= size <= 30:
            raise SchemaError(f"sieve aperture {size} mm outside 0.3..30 mm")
        return f"mm:{size:.2f}"
    dtc = _DTC_RE.match(text)
    if dtc and dtc.group(1) != "-":
        number = float(dtc.group(2))
        if 1 <= number <= 23:
            return f"dtc:+{number:g}"
    raise SchemaError(
        f"sieve class '{text}' is neither a DTC sieve number +1..+23 nor a size in mm (e.g. '2.5 mm')"
    )


def sieve_to_mm(normalised: str) -> float:
    """Return the aperture in mm of a normalised sieve class (see :func:`normalise_sieve`)."""
    system, _, number = normalised.partition(":")
    if system == "mm":
        return float(number)
    return _dtc_aperture_mm(float(number))


def _mm_to_dtc_number(size_mm: float) -> float:
    # Rounded so that 1.2 mm lands on sieve +2, not on 1.9999.
    if size_mm <= 1.6:
        return round((size_mm - 1.0) / 0.1, 6)
    return round(6 + (size_mm - 1.6) / 0.2, 6)


def sieve_band(normalised: str) -> str:
    """Return the trade size band (see :data:`SIEVE_BANDS`) of a normalised sieve class."""
    system, _, number = normalised.partition(":")
    on_dtc_axis = float(number) if system == "dtc" else _mm_to_dtc_number(float(number))
    for name, low, high in SIEVE_BANDS:
        if low <= on_dtc_axis < high:
            return name
    return SIEVE_BANDS[0][0]


def schema_document(extra: Iterable[Field] = ()) -> dict[str, Any]:
    """Return the registry as the JSON document written to ``reference_data/schema.json``."""
    return {
        "schema_version": SCHEMA_VERSION,
        "field_kinds": FIELD_KINDS,
        "fields": [f.to_dict() for f in (*FIELDS, *extra)],
        "sieve": {
            "systems": {"dtc": "DTC sieve number +1..+23", "mm": "mesh aperture in mm"},
            "dtc_aperture_mm": {f"+{n}": _dtc_aperture_mm(n) for n in range(1, 24)},
            "bands": [{"name": n, "dtc_from": lo, "dtc_to": None if math.isinf(hi) else hi}
                      for n, lo, hi in SIEVE_BANDS],
            "source": "bands: SRDC, Polished Diamond Grading p.24; apertures: ESTIMATE",
        },
    }


def write_schema_json(path: str) -> None:
    """Write :func:`schema_document` to ``path`` (sorted, stable, UTF-8)."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(schema_document(), fh, indent=2, ensure_ascii=False)
        fh.write("\n")


def problem(file: str | None, row: int | None, name: str | None, value: Any, rule: str) -> Problem:
    """Shorthand for :class:`~footprint.exceptions.Problem` used by validators."""
    return Problem(file, row, name, value, rule)
